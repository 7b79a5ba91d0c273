"""Request size limits: 413 past the body limit, 431 past the header limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request

from tokensmith.server.limits import SizeLimits

pytestmark = pytest.mark.anyio


def _app() -> SizeLimits:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"ok": "yes"}

    return SizeLimits(app, max_body=1024, max_headers=2048)


async def _client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t")


async def test_body_within_the_limit_reaches_the_route() -> None:
    async with await _client() as client:
        response = await client.post("/echo", content=b"x" * 1024)
    assert response.json() == {"received": 1024}


async def test_s22_body_over_the_limit_is_413() -> None:
    async with await _client() as client:
        response = await client.post("/echo", content=b"x" * 1025)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_s22_chunked_body_over_the_limit_is_413_without_content_length() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 200

    async with await _client() as client:
        response = await client.post("/echo", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


async def test_s22_a_lying_small_content_length_cannot_smuggle_a_big_body() -> None:
    app = _app()
    sent: list[dict[str, object]] = []
    messages = [
        {"type": "http.request", "body": b"z" * 800, "more_body": True},
        {"type": "http.request", "body": b"z" * 800, "more_body": False},
    ]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"",
        "headers": [(b"content-length", b"10")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("t", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 413


async def test_headers_over_the_limit_are_431() -> None:
    async with await _client() as client:
        ok = await client.get("/ping", headers={"x-pad": "a" * 1000})
        big = await client.get("/ping", headers={"x-pad": "a" * 3000})
    assert ok.status_code == 200
    assert big.status_code == 431
    assert big.json()["error"] == "headers_too_large"


async def test_a_long_query_string_counts_against_the_header_limit() -> None:
    async with await _client() as client:
        response = await client.get("/ping", params={"q": "b" * 3000})
    assert response.status_code == 431
