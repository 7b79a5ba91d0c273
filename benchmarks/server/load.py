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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class HTTPError(Exception):
    """An answer other than the expected status."""


class Connection:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:``port``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

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
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        for attempt in (0, 1):
            reader, writer = await self._open()
            try:
                writer.write(head.encode() + b"\r\n" + payload)
                status, data, keep = await _read_response(reader)
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()  # the server closed an idle connection: reopen once
                if attempt:
                    raise
        if not keep:
            await self.close()
        if status != expect:
            raise HTTPError(f"{method} {path}: {status} {data[:200]!r}")
        return json.loads(data) if data else None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(chunks), keep
    length = int(headers.get("content-length", "0"))
    return status, await reader.readexactly(length) if length else b"", keep


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
                except (HTTPError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
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
