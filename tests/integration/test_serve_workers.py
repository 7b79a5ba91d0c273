"""``tokensmith serve`` as an operator runs it: graceful shutdown with a request in flight
(one process, and ``--workers 2`` on PostgreSQL), a worker killed and replaced, metrics
summed over the workers, and ``--workers`` refused on the embedded SQLite default."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import postgres_database

from .server_process import PASSWORD, TOKENSMITH, Server, until

DEADLINE = 30.0


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


class SlowLogin:
    """A login whose body has not been sent yet, held in flight: the headers carry
    ``Expect: 100-continue`` and the server answers ``100 Continue`` only once the app is
    reading the body, so after :meth:`in_flight` the request is being served for sure."""

    def __init__(self, port: int, username: str) -> None:
        self.body = json.dumps({"username": username, "password": PASSWORD}).encode()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
            b"Content-Length: " + str(len(self.body)).encode() + b"\r\n\r\n"
        )

    def in_flight(self) -> None:
        interim = self.sock.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100"), interim

    def finish(self) -> tuple[int, dict[str, Any]]:
        self.sock.sendall(self.body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            assert chunk, data
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split()[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            assert chunk
            rest += chunk
        self.sock.close()
        return status, json.loads(rest[:length])


def _register(server: Server, username: str) -> None:
    with server.client() as client:
        answer = client.post("/auth/register", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 201, answer.text


def test_sigterm_lets_an_in_flight_request_finish_and_refuses_new_connections(
    server: Server,
) -> None:
    _register(server, "patient")
    slow = SlowLogin(server.port, "patient")
    slow.in_flight()
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    until(lambda: _refused(server.port), "the listener to close")
    assert server.process.poll() is None  # still finishing the request
    status, body = slow.finish()
    assert status == 200
    assert body["token_type"].lower() == "bearer"
    assert body["access_token"]
    server.process.wait(timeout=DEADLINE)
    assert "Application shutdown complete" in server.output()


def _serve_refused(tmp_path: Path, workers: str, **settings: str) -> str:
    """``serve --workers N`` exits 2 before any first-start work; its stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env.update({f"TOKENSMITH_{k.upper()}": v for k, v in settings.items()})
    proc = subprocess.run(
        [*TOKENSMITH, "serve", "--workers", workers, "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert not (tmp_path / "data").exists()
    return proc.stderr


def test_workers_are_refused_on_the_embedded_sqlite_default(tmp_path: Path) -> None:
    stderr = _serve_refused(tmp_path, "2")
    assert "needs PostgreSQL" in stderr
    assert "migrate-data" in stderr


def test_workers_on_postgresql_without_redis_are_refused(tmp_path: Path) -> None:
    stderr = _serve_refused(
        tmp_path, "3", database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    assert "TOKENSMITH_REDIS_URL" in stderr


# --- several workers on PostgreSQL ---------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("tokensmith_workers") as url:
        yield url


def _workers(supervisor: int) -> set[int]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    out = set()
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            out.add(int(child))
    return out


def _metric(text: str, name: str, labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.mark.services
def test_two_workers_share_the_socket_sum_their_metrics_survive_a_kill_and_stop_gracefully(
    make_server: Any, pg_url: str, shared_redis: tuple[str, str]
) -> None:
    url, prefix = shared_redis
    server: Server = make_server(
        database_url=pg_url,
        redis_url=url,
        redis_prefix=prefix,
        master_key="W" * 43,
        workers="2",
        metrics="loopback",
    )
    assert server.process is not None
    supervisor = server.process.pid
    until(lambda: len(_workers(supervisor)) == 2, "two workers")
    until(lambda: "(2 workers)" in server.output(), "the announcement")
    assert server.output().count("one-time setup token") == 1  # said once, by the supervisor

    _register(server, "worker-user")
    for _ in range(20):  # fresh connections: the kernel spreads them over the workers
        with server.client() as client:
            assert client.get("/healthz").status_code == 200
    with server.client() as client:
        scraped = client.get("/metrics").text
    # whichever worker answered, the count is every worker's sum
    assert _metric(scraped, "tokensmith_http_requests_total", 'route="/healthz"') == 20

    victim = min(_workers(supervisor))
    os.kill(victim, signal.SIGKILL)
    until(
        lambda: victim not in _workers(supervisor) and len(_workers(supervisor)) == 2,
        "a replacement worker",
    )
    for _ in range(10):
        with server.client() as client:
            login = client.post(
                "/auth/login", json={"username": "worker-user", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text

    slow = SlowLogin(server.port, "worker-user")
    slow.in_flight()
    workers = _workers(supervisor)
    server.process.send_signal(signal.SIGTERM)
    status, body = slow.finish()
    assert status == 200
    assert body["access_token"]
    assert server.process.wait(timeout=DEADLINE) == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=2)
