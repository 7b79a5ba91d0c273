"""The hot paths' statements (login, refresh, audit), run on SQLite without SQLAlchemy's
per-execution work.

SQLAlchemy caches a statement's compiled form, but each ``Connection.execute`` still
builds a cache key, an execution context and a result object: about 20 µs a statement
here, several times SQLite's own work for a lookup by key or a one-row INSERT (a login's
transaction: ~230 µs through ``execute``, ~165 µs this way). A :class:`Prepared`
statement is compiled once per set of parameter names and, on SQLite, run straight
through the ``sqlite3`` cursor of the same connection, inside the same transaction; its
parameters go through the same type processors SQLAlchemy would apply, and driver errors
come out as the same SQLAlchemy exceptions (``IntegrityError``...). On other databases
it is ``Connection.execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = ["Prepared"]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters, in the order of the SQL's placeholders
    processors: tuple[Callable[[Any], Any] | None, ...]  # ... and their type processors


class Prepared:
    """``statement`` for :meth:`first`, :meth:`run` and :meth:`inserted_id`; rows come
    back as tuples in the order of ``statement``'s columns (``names``)."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        columns = getattr(statement, "exported_columns", ())  # SELECT or ... RETURNING
        self.names: tuple[str, ...] = tuple(column.name for column in columns)
        self._compiled: dict[frozenset[str], _Compiled] = {}

    def _sqlite(self, conn: Connection, params: Mapping[str, Any]) -> _Compiled | None:
        """The compiled form for these parameter names, or None off SQLite."""
        if conn.dialect.name != "sqlite":
            return None
        key = frozenset(params)
        found = self._compiled.get(key)
        if found is None:
            compiled = self.statement.compile(dialect=conn.dialect, column_keys=list(params))
            names = tuple(compiled.positiontup or ())
            found = _Compiled(
                sql=str(compiled),
                names=names,
                processors=tuple(
                    compiled.binds[name].type.bind_processor(conn.dialect) for name in names
                ),
            )
            self._compiled[key] = found
        return found

    def _execute(self, conn: Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = [
            params[name] if process is None else process(params[name])
            for name, process in zip(compiled.names, compiled.processors, strict=True)
        ]
        driver = conn.connection.driver_connection
        assert driver is not None
        dbapi = conn.dialect.loaded_dbapi
        try:
            return driver.execute(compiled.sql, values)
        except dbapi.Error as exc:
            # the exception SQLAlchemy would raise (IntegrityError, OperationalError...)
            raise sa.exc.DBAPIError.instance(
                compiled.sql, values, exc, dbapi.Error, dialect=conn.dialect
            ) from exc

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row's values (the statement should find at most one)."""
        compiled = self._sqlite(conn, params)
        if compiled is None:
            row = conn.execute(self.statement, params).first()
            return None if row is None else tuple(row)
        cursor = self._execute(conn, compiled, params)
        try:
            found: Sequence[Any] | None = cursor.fetchone()
        finally:
            cursor.close()  # ends the statement (and with it a read's snapshot)
        return found

    def first_mapping(self, conn: Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first row as a dict by column name (the statement's columns are unique)."""
        row = self.first(conn, params)
        return None if row is None else dict(zip(self.names, row, strict=True))

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        """Execute (a write without RETURNING)."""
        compiled = self._sqlite(conn, params)
        if compiled is None:
            conn.execute(self.statement, params)
            return
        self._execute(conn, compiled, params).close()

    def inserted_id(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Execute an INSERT into a table with an integer key; the new row's key."""
        compiled = self._sqlite(conn, params)
        if compiled is None:
            key = conn.execute(self.statement, params).inserted_primary_key
            assert key is not None
            return int(key[0])
        cursor = self._execute(conn, compiled, params)
        try:
            return int(cursor.lastrowid)
        finally:
            cursor.close()
