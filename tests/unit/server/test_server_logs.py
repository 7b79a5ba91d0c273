"""JSON-line logs; the access log never records a query string or a header (S27)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from tokensmith.server.logs import AccessLog, JSONFormatter

pytestmark = pytest.mark.anyio


def _format(message: str, **fields: object) -> dict[str, object]:
    record = logging.LogRecord("tokensmith.x", logging.INFO, __file__, 1, message, None, None)
    if fields:
        record.fields = fields
    parsed: dict[str, object] = json.loads(JSONFormatter().format(record))
    return parsed


def test_formatter_writes_one_json_object_per_line() -> None:
    line = _format("plain text", event="http", status=200)
    assert line["msg"] == "plain text"
    assert (line["event"], line["status"], line["level"]) == ("http", 200, "info")


def test_formatter_merges_a_message_that_is_already_json() -> None:
    line = _format('{"event": "login_ok", "user_id": "u1", "level": "spoofed"}')
    assert line["event"] == "login_ok"
    assert line["user_id"] == "u1"
    assert line["level"] == "info"  # a message cannot overwrite the record's own fields
    assert "msg" not in line


async def test_s27_access_log_has_path_but_no_query_string_or_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()

    @app.get("/userinfo")
    async def userinfo() -> dict[str, str]:
        return {"ok": "yes"}

    transport = httpx.ASGITransport(app=AccessLog(app))
    with caplog.at_level(logging.INFO, logger="tokensmith.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await client.get(
                "/userinfo?access_token=SECRET-IN-QUERY",
                headers={"Authorization": "Bearer SECRET-IN-HEADER", "Cookie": "a=SECRET-C"},
            )
    records = [r for r in caplog.records if r.name == "tokensmith.access"]
    assert len(records) == 1
    text = JSONFormatter().format(records[0])
    assert '"path": "/userinfo"' in text
    assert '"status": 200' in text
    assert "SECRET" not in text
