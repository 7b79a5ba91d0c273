"""Copy an embedded SQLite database into PostgreSQL (``tokensmith migrate-data``).

Every table of the schema (``schema.metadata``, parents before children) is copied row
for row: users, sessions, refresh tokens (hashes), signing keys (still encrypted under the
master key that encrypted them), revocations, audit events, invites, setup tokens,
clients and replay caches. The source is read in one SQLite read transaction (one
consistent snapshot); the target is written in one PostgreSQL transaction that also
checks the row counts before it commits. Any failure rolls the whole copy back: the
target is left with the migrated, empty schema, and the command can simply run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .engine import (
    create_engine,
    create_sqlite_engine,
    current_revision,
    head_revision,
    is_sqlite,
    migrate,
)
from .schema import metadata

__all__ = ["CopyError", "TableCount", "copy_database", "count_rows"]

BATCH = 1000


class CopyError(Exception):
    """The copy was refused or failed; nothing was committed. ``code`` is stable:
    ``not_sqlite``, ``not_postgresql``, ``source_schema``, ``target_not_empty``,
    ``count_mismatch``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TableCount:
    table: str
    rows: int


def count_rows(conn: Connection) -> list[TableCount]:
    """The rows of every schema table, parents first."""
    return [
        TableCount(
            t.name, int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        )
        for t in metadata.sorted_tables
    ]


def _serial_tables() -> list[sa.Table]:
    """Tables whose integer ``id`` PostgreSQL numbers from a sequence."""
    return [t for t in metadata.sorted_tables if "id" in t.c and t.c.id.autoincrement is True]


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    started: Callable[[list[TableCount]], None] = lambda counts: None,
    progress: Callable[[str, int], None] = lambda table, rows: None,
) -> list[TableCount]:
    """Copy ``source_url`` (SQLite, at the newest schema) into ``target_url``
    (PostgreSQL, migrated here first). ``started(counts)`` is told the source's rows
    before the copy, ``progress(table, n)`` after each batch. A target holding rows is
    refused unless ``force``, which deletes them in the same transaction. Returns the
    copied counts (equal in source and target)."""
    if not is_sqlite(source_url):
        raise CopyError("not_sqlite", "the source must be an embedded SQLite data dir")
    if sa.engine.make_url(target_url).get_backend_name() != "postgresql":
        raise CopyError("not_postgresql", "the target must be a postgresql+asyncpg:// URL")
    source = create_sqlite_engine(source_url)
    target = create_engine(target_url)
    try:
        with source.connect() as src:
            src.exec_driver_sql("BEGIN")  # one snapshot for every read below
            try:
                revision, head = current_revision(src), head_revision()
                if revision != head:
                    raise CopyError(
                        "source_schema",
                        f"the source database is at schema {revision or 'none'}, not {head}: "
                        "run `tokensmith db upgrade --data-dir DATA_DIR` first",
                    )
                counts = count_rows(src)
                await migrate(target)
                started(counts)
                async with target.begin() as dst:
                    await dst.run_sync(_copy, src, counts, force, progress)
            finally:
                src.rollback()
        return counts
    finally:
        source.dispose()
        await target.dispose()


def _copy(
    dst: Connection,
    src: Connection,
    counts: list[TableCount],
    force: bool,
    progress: Callable[[str, int], None],
) -> None:
    present = [c for c in count_rows(dst) if c.rows]
    if present and not force:
        held = ", ".join(f"{c.table} ({c.rows})" for c in present)
        raise CopyError(
            "target_not_empty",
            f"the target database holds rows already: {held}. Use an empty database, "
            "or --force to replace them",
        )
    for table in reversed(metadata.sorted_tables):
        dst.execute(table.delete())
    for table in metadata.sorted_tables:
        result = src.execution_options(yield_per=BATCH).execute(sa.select(table))
        for part in result.partitions(BATCH):
            dst.execute(table.insert(), [row._asdict() for row in part])
            progress(table.name, len(part))
    for table in _serial_tables():
        # the next id continues after the copied ones (ids only grow: the revocation feed)
        highest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
        sequence = sa.func.pg_get_serial_sequence(table.name, "id")
        dst.execute(sa.select(sa.func.setval(sequence, sa.func.coalesce(highest, 0) + 1, False)))
    copied = count_rows(dst)
    if copied != counts:
        wrong = ", ".join(
            f"{want.table}: {want.rows} in the source, {got.rows} copied"
            for want, got in zip(counts, copied, strict=True)
            if want != got
        )
        raise CopyError("count_mismatch", f"row counts differ ({wrong}); nothing was committed")
