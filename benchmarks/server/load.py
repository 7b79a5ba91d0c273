"""The load generator: asyncio keep-alive HTTP/1.1 connections over raw sockets.

Each virtual client owns one connection and runs its own scenario step in a closed loop
(send, wait for the answer, send again); every answered request's latency is recorded.
A hand-rolled client rather than httpx: on a two-core machine the client shares the CPU
with the servers, and httpx spends several times more CPU per request than this loop,
time the servers would lose alike (it would flatten the difference between them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast


class HTTPError(Exception):
    """An answer other than the expected status."""


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:``port``.

    An ``asyncio.Protocol`` rather than streams: an answer is parsed where its bytes
    arrive and handed to the waiting client in one step (the streams' ``readuntil`` and
    ``readexactly`` cost about twice the CPU, taken from the servers under test)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._protocol: _Answers | None = None

    async def _open(self) -> _Answers:
        if self._protocol is None or self._protocol.lost:
            loop = asyncio.get_running_loop()
            _, self._protocol = await loop.create_connection(_Answers, "127.0.0.1", self.port)
        return self._protocol

    async def close(self) -> None:
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            await protocol.close()

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send one request (``body`` as JSON, extra ``headers``) and return the decoded
        JSON answer (or None for an empty body); a status other than ``expect`` raises
        HTTPError."""
        message = encode_request(method, path, body, headers)
        for attempt in (0, 1):
            protocol = await self._open()
            try:
                status, data, keep = await protocol.exchange(message)
                break
            except ConnectionError:
                await self.close()  # the server closed an idle connection: reopen once
                if attempt:
                    raise
        if not keep:
            await self.close()
        if status != expect:
            raise HTTPError(f"{method} {path}: {status} {data[:200]!r}")
        return json.loads(data) if data else None


def encode_request(
    method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 request to 127.0.0.1: ``body`` as JSON, extra ``headers``."""
    payload = b"" if body is None else json.dumps(body).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return head.encode() + b"\r\n" + payload


class _Answers(asyncio.Protocol):
    """The client side of one connection: one request in flight, its answer parsed as
    its bytes arrive (``Content-Length`` or chunked)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.lost = False
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but they are one
        self.transport = cast(asyncio.Transport, transport)

    def exchange(self, message: bytes) -> asyncio.Future[tuple[int, bytes, bool]]:
        """Send ``message``; the future of its answer: (status, body, keep-alive)."""
        if self.lost or self.transport is None:
            raise ConnectionResetError("the connection is closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(message)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            answer = _parse(self.buffer)
        except ValueError as exc:
            waiter.set_exception(exc)
            return
        if answer is not None:
            self.waiter = None
            waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionResetError("the server closed the connection"))
        if not self._closed.done():
            self._closed.set_result(None)

    async def close(self) -> None:
        if self.transport is not None and not self.lost:
            self.transport.close()
            with contextlib.suppress(OSError):
                await self._closed


def _parse(buffer: bytearray) -> tuple[int, bytes, bool] | None:
    """The first whole answer in ``buffer`` (removed from it), or None while it is
    incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close"
    start = end + 4
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        at = start
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                return None
            size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
            if len(buffer) < line_end + 2 + size + 2:
                return None
            if size == 0:
                del buffer[: line_end + 4]
                return status, b"".join(chunks), keep
            chunks.append(bytes(buffer[line_end + 2 : line_end + 2 + size]))
            at = line_end + 2 + size + 2
    length = int(headers.get("content-length", "0"))
    if len(buffer) < start + length:
        return None
    data = bytes(buffer[start : start + length])
    del buffer[: start + length]
    return status, data, keep


#: one step of a virtual client: a request (or a few) on its connection
Step = Callable[[Connection], Awaitable[None]]


@dataclass
class Run:
    """What one load run measured: answered requests and their latencies."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    server_cpu_s: float | None = None  # the server's CPU time over the run (/proc)
    answered: int = 0  # every answer, also those after the deadline (their CPU is counted)

    @property
    def requests_per_s(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile_ms(self, q: float) -> float | None:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1e3 if self.latencies else None
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[round(q * 1000) - 1] * 1e3

    @property
    def cpu_ms_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.answered:
            return None
        return self.server_cpu_s / self.answered * 1e3


async def drive(
    port: int | list[int],
    steps: list[Step],
    seconds: float,
    *,
    pause: float = 0.0,
    recover: Callable[[int, Connection], Awaitable[None]] | None = None,
) -> Run:
    """Run each step in its own virtual client, one connection each, for ``seconds``;
    ``pause`` seconds between a client's requests (0: a closed loop at full speed).
    After a failed step, ``recover(i, conn)`` (if given) restores client ``i``'s state
    (e.g. logs in again for a fresh refresh chain); the failure counts as an error.
    Several ports (instances behind no balancer): client ``i`` connects to the
    ``i % len(port)``-th, as a round-robin balancer spreads connections."""
    ports = port if isinstance(port, list) else [port]
    run = Run(seconds=seconds)
    deadline = time.perf_counter() + seconds

    async def client(i: int, step: Step) -> None:
        conn = Connection(ports[i % len(ports)])
        try:
            while True:
                started = time.perf_counter()
                if started >= deadline:
                    break
                try:
                    await step(conn)
                except (HTTPError, OSError, ValueError) as exc:
                    run.errors += 1
                    run.first_error = run.first_error or f"{type(exc).__name__}: {exc}"
                    await conn.close()
                    if recover is not None:
                        await recover(i, conn)
                    continue
                ended = time.perf_counter()
                run.answered += 1
                if ended <= deadline:  # an answer after the deadline is not counted
                    run.latencies.append(ended - started)
                if pause:
                    await asyncio.sleep(pause)
        finally:
            await conn.close()

    await asyncio.gather(*(client(i, step) for i, step in enumerate(steps)))
    return run


async def repeat(
    port: int | list[int],
    messages: list[bytes],
    seconds: float,
    *,
    expect: int = 200,
    pause: float = 0.0,
) -> Run:
    """Like :func:`drive` for requests that never change (a login, the JWKS): client
    ``i`` sends ``messages[i]`` again each time its answer arrives (``pause`` seconds
    later), on its own keep-alive connection, for ``seconds``.

    No task or future per request: the connection's protocol sends the next request
    from the callback that parses the answer. That costs the generator 25-35% less CPU
    per request than :func:`drive`'s coroutines (measured on the login runs), CPU the
    servers under test share.
    An answer other than ``expect`` counts as an error (and the client goes on); a
    connection the server closes is opened again."""
    ports = port if isinstance(port, list) else [port]
    run = Run(seconds=seconds)
    loop = asyncio.get_running_loop()
    deadline = time.perf_counter() + seconds
    clients = [
        _Repeater(run, deadline, message, expect, pause, loop.create_future())
        for message in messages
    ]

    async def client(i: int, repeater: _Repeater) -> None:
        while True:
            await loop.create_connection(lambda: repeater, "127.0.0.1", ports[i % len(ports)])
            if not await repeater.finished:  # the server closed the connection early
                repeater.finished = loop.create_future()
                continue
            return

    await asyncio.gather(*(client(i, repeater) for i, repeater in enumerate(clients)))
    return run


class _Repeater(asyncio.Protocol):
    """One virtual client of :func:`repeat`, across the connections it opens. Its
    ``finished`` future says True when the run is over, False when the server closed the
    connection before that."""

    def __init__(
        self,
        run: Run,
        deadline: float,
        message: bytes,
        expect: int,
        pause: float,
        finished: asyncio.Future[bool],
    ) -> None:
        self.run, self.deadline, self.message = run, deadline, message
        self.expect, self.pause, self.finished = expect, pause, finished
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.started = 0.0
        self.waiting = False  # a request is in flight

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # (uvloop's are not subclasses)
        self.buffer.clear()
        self.send()

    def send(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.started = time.perf_counter()
        if self.started >= self.deadline:
            self.transport.close()  # the run is over
            return
        self.waiting = True
        self.transport.write(self.message)

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:
            return
        self.buffer += data
        try:
            answer = _parse(self.buffer)
        except ValueError as exc:
            self.waiting = False
            self.error(f"ValueError: {exc}")
            transport.close()
            return
        if answer is None:
            return
        ended = time.perf_counter()
        self.waiting = False
        status, body, keep = answer
        run = self.run
        run.answered += 1
        if status != self.expect:
            self.error(f"HTTPError: {status} {body[:200]!r}")
        elif ended <= self.deadline:  # an answer after the deadline is not counted
            run.latencies.append(ended - self.started)
        if not keep:
            transport.close()
        elif self.pause:
            asyncio.get_running_loop().call_later(self.pause, self.send)
        else:
            self.send()

    def error(self, text: str) -> None:
        self.run.errors += 1
        self.run.first_error = self.run.first_error or text

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiting:  # the server closed it with a request in flight
            self.waiting = False
            self.error(f"ConnectionResetError: {exc or 'the server closed the connection'}")
        if not self.finished.done():
            self.finished.set_result(time.perf_counter() >= self.deadline)


T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on a new event loop: uvloop's when it is installed (the server
    extra brings it), which costs the load generator 10-30% less CPU per request than
    asyncio's own loop (measured on the login runs)."""
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)
