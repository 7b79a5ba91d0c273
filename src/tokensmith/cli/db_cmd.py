"""``tokensmith db upgrade`` and ``tokensmith migrate-data``: the database's schema, and
moving an embedded SQLite data dir into PostgreSQL.

Exit codes: 0 done, 1 refused or failed (``error: <code>: <message>``; nothing
committed), 2 bad settings or a database that cannot be reached.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ..store.sql.copy import CopyError, TableCount, copy_database
from ..store.sql.engine import describe, is_sqlite, revisions_between, upgrade
from .server_common import echo_table, settings_options, settings_or_exit


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


@click.group("db")
def db_group() -> None:
    """The database's schema (Alembic migrations)."""


@db_group.command("upgrade")
@settings_options
def db_upgrade(data_dir: str | None, config_file: str | None) -> None:
    """Apply the schema migrations the database lacks, and say which.

    \b
    The database is TOKENSMITH_DATABASE_URL, else DATA_DIR/tokensmith.db. Servers also
    migrate at start (serialised on PostgreSQL); run this before a rolling upgrade so no
    server waits on it. Migrations only add: older servers keep working meanwhile.
    """
    settings = settings_or_exit(config_file, data_dir=data_dir)
    url = settings.database
    if is_sqlite(url) and not (settings.data_dir / "tokensmith.db").exists():
        click.echo(
            f"error: no database at {settings.data_dir / 'tokensmith.db'} "
            "(`tokensmith serve` creates it; or set TOKENSMITH_DATABASE_URL)",
            err=True,
        )
        raise SystemExit(2)
    try:
        before, after = asyncio.run(upgrade(url))
    except Exception as exc:
        click.echo(
            f"error: cannot upgrade {describe(url)}: {type(exc).__name__}: {_first_line(exc)}",
            err=True,
        )
        raise SystemExit(2) from None
    applied = revisions_between(before, after)
    click.echo(f"database: {describe(url)}")
    if not applied:
        click.echo(f"already at the newest schema ({after})")
        return
    for revision, doc in applied:
        click.echo(f"applied {revision}: {doc}")
    click.echo(f"schema now at {after} (was {before or 'empty'})")


@click.command("migrate-data")
@click.option(
    "--from",
    "source_dir",
    required=True,
    type=click.Path(file_okay=False, exists=True),
    help="The embedded data dir (holding tokensmith.db).",
)
@click.option(
    "--to",
    "target_url",
    required=True,
    help="The PostgreSQL URL, postgresql+asyncpg://USER:PASSWORD@HOST/DB.",
)
@click.option("--force", is_flag=True, help="Replace the rows a non-empty target holds.")
def migrate_data(source_dir: str, target_url: str, force: bool) -> None:
    """Copy an embedded SQLite data dir into PostgreSQL, every table, in one transaction.

    \b
    Stop the servers using the data dir first (rows they write during the copy are not
    copied). The target is migrated to the newest schema, must be empty (or --force),
    and is committed only after the row counts match; any failure leaves it empty, so
    run the command again once the cause is fixed. The signing keys stay encrypted under
    the data dir's master key: start the PostgreSQL servers with that same master key.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    database = Path(source_dir) / "tokensmith.db"
    if not database.is_file():
        click.echo(f"error: no embedded database at {database}", err=True)
        raise SystemExit(2)
    source_url = f"sqlite:///{database.resolve()}"
    click.echo(f"copying {database} into {describe(target_url)}")
    bar = Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        console=Console(stderr=True),
    )
    tasks: dict[str, int] = {}
    overall: list[int] = []

    def started(counts: list[TableCount]) -> None:
        overall.append(bar.add_task("all tables", total=sum(c.rows for c in counts)))
        for count in counts:
            tasks[count.table] = bar.add_task(count.table, total=count.rows or 1)
            if not count.rows:
                bar.update(tasks[count.table], completed=1)

    def progress(table: str, rows: int) -> None:
        bar.advance(tasks[table], rows)
        bar.advance(overall[0], rows)

    try:
        with bar:
            counts = asyncio.run(
                copy_database(
                    source_url, target_url, force=force, started=started, progress=progress
                )
            )
    except CopyError as exc:
        click.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise SystemExit(1) from None
    except OSError as exc:
        click.echo(f"error: cannot reach {describe(target_url)}: {_first_line(exc)}", err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        click.echo(
            f"error: copy_failed: {type(exc).__name__}: {_first_line(exc)}; nothing was "
            "committed: fix the cause and run again",
            err=True,
        )
        raise SystemExit(1) from None
    echo_table([("table", "rows"), *((c.table, str(c.rows)) for c in counts)])
    total = sum(c.rows for c in counts)
    click.echo(f"verified: {total} rows in {len(counts)} tables, the same in both databases")
    key_file = Path(source_dir) / "master.key"
    if key_file.exists():
        how = f"TOKENSMITH_MASTER_KEY=$(cat {key_file})"
    else:
        how = "the TOKENSMITH_MASTER_KEY the data dir's servers used"
    click.echo(
        "The signing keys were copied still encrypted under the data dir's master key. "
        "Start every server on PostgreSQL with that same master key:\n"
        f"  {how} TOKENSMITH_DATABASE_URL='{describe(target_url)}' tokensmith serve"
    )
