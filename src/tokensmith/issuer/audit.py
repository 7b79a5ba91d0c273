"""Audit events: stored, and logged as one JSON line each on the ``tokensmith.audit``
logger; observers (the server's metrics) are told each stored event's kind. Callers pass
only identifiers and reasons, never a token or a password (S27)."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

from tokensmith.store import AuditRecord, AuditStore

from .accounts import clean_text, storable

__all__ = ["AuditLog", "audit_logger"]

audit_logger = logging.getLogger("tokensmith.audit")


class AuditLog:
    def __init__(self, store: AuditStore, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._observers: tuple[Callable[[str], None], ...] = ()

    def watch(self, observer: Callable[[str], None]) -> Callable[[], None]:
        """Call ``observer(kind)`` for each event stored from now on (it must not raise
        and must be quick: it runs on the caller's path); returns what stops it."""
        self._observers = (*self._observers, observer)

        def stop() -> None:
            self._observers = tuple(o for o in self._observers if o is not observer)

        return stop

    def event(
        self,
        kind: str,
        *,
        user_id: str | None = None,
        username: str | None = None,
        session_id: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        **details: Any,
    ) -> AuditRecord:
        """An event to store with another store operation, in its transaction (a
        session's creation, a rotation); call :meth:`stored` once it is stored."""
        return AuditRecord(
            kind=kind,
            at=self._clock(),
            user_id=clean_text(user_id, 36),
            username=storable(username, 256),
            session_id=clean_text(session_id, 64),
            ip=storable(ip, 64),
            user_agent=storable(user_agent, 512),
            details=details,
        )

    async def record(self, kind: str, **fields: Any) -> None:
        """Store an event on its own, and log it (``fields`` as :meth:`event` takes them)."""
        await self.store(self.event(kind, **fields))

    async def store(self, record: AuditRecord) -> None:
        """Store an event built with :meth:`event` on its own, and log it."""
        self.stored(record, await self._store.append(record))

    def stored(self, record: AuditRecord, record_id: int | None) -> None:
        """Tell the observers of ``record``, stored with the id ``record_id``, and log
        it. The log record carries the event's kind as ``audit_event``; its message, the
        JSON line, is built only when a handler formats it."""
        for observer in self._observers:
            observer(record.kind)
        if not audit_logger.isEnabledFor(logging.INFO):
            return
        record = dataclasses.replace(record, id=record_id)
        line = {k: v for k, v in record.__dict__.items() if v is not None and k != "details"}
        line.update({k: v for k, v in record.details.items() if k not in line})
        line["event"] = line.pop("kind")
        audit_logger.info("%s", _Line(line), extra={"audit_event": record.kind})


class _Line:
    """An audit log line: JSON (sorted keys) once something formats it."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    def __str__(self) -> str:
        return json.dumps(self._fields, sort_keys=True, default=str)
