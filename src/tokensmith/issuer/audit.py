"""Audit events: stored, and logged as one JSON line each on the ``tokensmith.audit``
logger. Callers pass only identifiers and reasons, never a token or a password (S27)."""

from __future__ import annotations

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

    async def record(
        self,
        kind: str,
        *,
        user_id: str | None = None,
        username: str | None = None,
        session_id: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        **details: Any,
    ) -> None:
        record = AuditRecord(
            kind=kind,
            at=self._clock(),
            user_id=clean_text(user_id, 36),
            username=storable(username, 256),
            session_id=clean_text(session_id, 64),
            ip=storable(ip, 64),
            user_agent=storable(user_agent, 512),
            details=details,
        )
        record = AuditRecord(**{**record.__dict__, "id": await self._store.append(record)})
        if audit_logger.isEnabledFor(logging.INFO):
            line = {k: v for k, v in record.__dict__.items() if v is not None and k != "details"}
            line.update({k: v for k, v in details.items() if k not in line})
            line["event"] = line.pop("kind")
            audit_logger.info(json.dumps(line, sort_keys=True, default=str))
