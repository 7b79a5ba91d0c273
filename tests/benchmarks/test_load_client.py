"""The benchmark's load generator (benchmarks/server/load.py): its answer parser, its
connection and its repeating clients, against small asyncio HTTP servers on 127.0.0.1
that split their answers into pieces, use chunked encoding, close connections and answer
late."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

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
encode_request, repeat, run_async = load.encode_request, load.repeat, load.run_async  # type: ignore[attr-defined]

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


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    """One request as it came: its head and its ``Content-Length`` bytes of body."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


async def _serve(answers: list[bytes]) -> tuple[asyncio.Server, list[bytes]]:
    """A server that reads one request at a time and writes the next of ``answers`` in
    two pieces (closing the connection when the answer says so)."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            seen.append(await _read_request(reader))
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


FAILED = b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


async def _counting_server(
    *, fail_every: int = 0, delay: float = 0.0
) -> tuple[asyncio.Server, dict[str, Any]]:
    """A keep-alive server that answers each request with PLAIN (in two pieces), after
    ``delay`` s; every ``fail_every``-th request overall gets a 503 and the connection is
    closed. It notes every request and how many connections it saw."""
    seen: dict[str, Any] = {"requests": [], "connections": 0}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen["connections"] += 1
        try:
            while True:
                seen["requests"].append(await _read_request(reader))
                number = len(seen["requests"])
                await asyncio.sleep(delay)
                if fail_every and number % fail_every == 0:
                    writer.write(FAILED)
                    await writer.drain()
                    break
                writer.write(PLAIN[:30])
                await writer.drain()
                writer.write(PLAIN[30:])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, seen


async def test_repeat_sends_each_clients_request_again_and_counts_every_answer() -> None:
    server, seen = await _counting_server(fail_every=5)
    port = server.sockets[0].getsockname()[1]
    messages = [encode_request("POST", f"/c{i}", {"i": i}) for i in range(3)]
    try:
        run = await repeat(port, messages, 0.4)
    finally:
        server.close()
        await server.wait_closed()
    requests = seen["requests"]
    assert set(requests) == set(messages)  # each client sends its own request, unchanged
    assert run.answered == len(requests)  # every request got its answer, counted once
    failed = len(requests) // 5
    assert failed >= 1
    assert run.errors == failed  # each 503 is an error ...
    assert run.first_error.startswith("HTTPError: 503")
    # ... and the connection it closed is opened again (unless the run was over by then)
    assert 3 + failed - 3 <= seen["connections"] <= 3 + failed
    # the 200s, less the last of a client when it came after the deadline
    assert run.answered - failed - 3 <= len(run.latencies) <= run.answered - failed
    assert all(0 < latency < 0.4 for latency in run.latencies)


async def test_repeat_pauses_and_leaves_out_answers_after_the_deadline() -> None:
    server, seen = await _counting_server(delay=0.15)
    port = server.sockets[0].getsockname()[1]
    try:
        run = await repeat(port, [encode_request("GET", "/slow")], 0.4, pause=0.05)
    finally:
        server.close()
        await server.wait_closed()
    # requests at 0, 0.2 and 0.4 - (answers at 0.15, 0.35, none): the second's answer
    # is in time, a third is either not sent or answered after the deadline
    assert len(run.latencies) == 2
    assert run.answered == len(seen["requests"]) - (len(seen["requests"]) > run.answered)
    assert run.errors == 0
    assert all(latency >= 0.15 for latency in run.latencies)


def test_run_async_runs_a_coroutine_on_a_new_loop_each_time() -> None:
    async def which() -> asyncio.AbstractEventLoop:
        await asyncio.sleep(0)
        return asyncio.get_running_loop()

    first, second = run_async(which()), run_async(which())
    assert first is not second
    assert first.is_closed()
