"""Request size limits as pure ASGI middleware: 431 past the header limit, 413 past the body.

The body is read here (up to the limit) and replayed to the app, so no route ever sees
more than ``max_body`` bytes, whatever ``Content-Length`` claims.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_json_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SizeLimits:
    def __init__(self, app: ASGIApp, *, max_body: int, max_headers: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        header_bytes += len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
        if header_bytes > self.max_headers:
            await send_json_error(
                send,
                431,
                "headers_too_large",
                f"request headers exceed {self.max_headers} bytes",
            )
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await send_json_error(send, 413, "payload_too_large", self._too_large())
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS") and not declared:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await send_json_error(send, 413, "payload_too_large", self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, replaying(message, receive), send)

    def _too_large(self) -> str:
        return f"request body exceeds {self.max_body} bytes"


def replaying(first: Message, receive: Receive) -> Receive:
    """``receive`` that gives ``first`` once more, then the server's next messages."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return again


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
