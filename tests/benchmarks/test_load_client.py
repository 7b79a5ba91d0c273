"""The benchmark's load generator (benchmarks/server/load.py): its answer parser and its
connection, against a small asyncio HTTP server on 127.0.0.1 that splits its answers
into pieces, uses chunked encoding and closes connections."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path

import pytest


def _load_module() -> object:
    """benchmarks/server/load.py by its path (the project root is not on sys.path under
    pytest; the benchmarks run as ``python -m benchmarks.server`` from there)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "server" / "load.py"
    spec = importlib.util.spec_from_file_location("_benchmark_load", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


load = _load_module()
Connection, HTTPError, _parse = load.Connection, load.HTTPError, load._parse  # type: ignore[attr-defined]

pytestmark = pytest.mark.anyio

PLAIN = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}'
CHUNKED = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    b'4\r\n{"b"\r\n3;ext=1\r\n:2}\r\n0\r\n\r\n'
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize("answer", [PLAIN, CHUNKED], ids=["content-length", "chunked"])
def test_an_answer_is_parsed_only_once_whole_and_the_rest_is_kept(answer: bytes) -> None:
    buffer = bytearray()
    for byte in answer[:-1]:
        buffer.append(byte)
        assert _parse(buffer) is None
    buffer += answer[-1:] + b"HTTP/1.1 next"
    status, body, keep = _parse(buffer) or (0, b"", True)
    assert json.loads(body) in ({"a": 1}, {"b": 2})
    assert (status, keep) == ((200, True) if answer is PLAIN else (201, False))
    assert bytes(buffer) == b"HTTP/1.1 next"


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[bytes]]:
    """A server that reads one request at a time and writes the next of ``answers`` in
    two pieces (closing the connection when the answer says so)."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            seen.append(head + await reader.readexactly(length))
            answer = answers.pop(0)
            writer.write(answer[:20])
            await writer.drain()
            await asyncio.sleep(0.01)
            writer.write(answer[20:])
            await writer.drain()
            if b"Connection: close" in answer:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


async def test_requests_over_one_connection_and_a_reopen_after_close() -> None:
    server, seen = await _serve([PLAIN, CHUNKED, PLAIN])
    port = server.sockets[0].getsockname()[1]
    conn = Connection(port)
    try:
        assert await conn.request("POST", "/x", {"k": "v"}) == {"a": 1}
        assert await conn.request("GET", "/y", expect=201, headers={"X-T": "1"}) == {"b": 2}
        assert await conn.request("GET", "/z") == {"a": 1}  # a new connection
    finally:
        await conn.close()
        server.close()
        await server.wait_closed()
    assert seen[0].startswith(b"POST /x HTTP/1.1\r\n")
    assert seen[0].endswith(b'\r\n\r\n{"k": "v"}')
    assert b"Content-Length: 10\r\n" in seen[0]
    assert b"X-T: 1\r\n" in seen[1]


async def test_an_unexpected_status_raises() -> None:
    server, _ = await _serve([PLAIN])
    conn = Connection(server.sockets[0].getsockname()[1])
    try:
        with pytest.raises(HTTPError, match="200"):
            await conn.request("GET", "/", expect=204)
    finally:
        await conn.close()
        server.close()
        await server.wait_closed()
