"""Server logging (JSON lines by default, or plain text: ``TOKENSMITH_LOG_FORMAT``), and
an access log that never sees a secret.

The access log writes method, path (no query string), status, duration and client address;
never the query string, the ``Authorization`` header, cookies or a body (S27).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from .limits import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("tokensmith.access")


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        message = record.getMessage()
        parsed = _json_object(message)
        if parsed is not None:  # a logger that already speaks JSON (the audit log)
            entry.update({k: v for k, v in parsed.items() if k not in entry})
        else:
            entry["msg"] = message
        return json.dumps(entry, default=str)


def _json_object(message: str) -> dict[str, Any] | None:
    if not message.startswith("{"):
        return None
    try:
        value = json.loads(message)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class TextFormatter(logging.Formatter):
    """``2026-01-01T10:00:00Z info tokensmith.access: GET /healthz 200``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")


_FORMATTERS = {"json": JSONFormatter, "text": TextFormatter}


def uvicorn_log_config(level: str, log_format: str = "json") -> dict[str, Any]:
    """uvicorn's own loggers in the server's format too (its access log stays off)."""
    formatter = _FORMATTERS[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "main"}},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
        },
    }


def configure_logging(level: str, log_format: str = "json") -> None:
    """The ``tokensmith`` loggers write to stderr at ``level`` in ``log_format`` (the
    metrics count audit events without the audit logger: below ``level`` no audit log
    record is even built)."""
    handler = logging.StreamHandler()
    handler.setFormatter(_FORMATTERS[log_format]())
    handler.setLevel(level.upper())
    root = logging.getLogger("tokensmith")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


class AccessLog:
    """Logs every HTTP request; ``observe(scope, status, seconds)``, when given, is told
    of each too (the metrics' request counters, server/metrics.py)."""

    def __init__(
        self, app: ASGIApp, observe: Callable[[Scope, int, float], None] | None = None
    ) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - start
            if self.observe is not None:
                self.observe(scope, status or 500, seconds)
            if access_log.isEnabledFor(logging.INFO):
                _log_request(scope, status or 500, seconds)


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    client = scope.get("client")
    access_log.info(
        "%s %s %s",
        scope["method"],
        scope["path"],
        status,
        extra={
            "fields": {
                "event": "http",
                "method": scope["method"],
                "path": scope["path"][:256],
                "status": status,
                "ms": round(seconds * 1000, 2),
                "client": client[0] if client else None,
            }
        },
    )
