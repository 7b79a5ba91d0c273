"""A real ``tokensmith serve`` process on a free 127.0.0.1 port, with its own data dir.

Time moves through ``TOKENSMITH_TEST_CLOCK_FILE`` (``+SECONDS`` offset), never by
sleeping. argon2 runs with small parameters so the suite stays quick; everything else
is the embedded default (SQLite under the data dir).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

_SCRIPT = Path(sys.executable).with_name("tokensmith")
TOKENSMITH = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from tokensmith.cli import main; main()"]
)
START_TIMEOUT = 60.0
PASSWORD = "correct horse battery"
FAST_ARGON2 = {
    "TOKENSMITH_ARGON2_MEMORY_COST": "1024",
    "TOKENSMITH_ARGON2_TIME_COST": "1",
    "TOKENSMITH_ARGON2_PARALLELISM": "1",
}


def until(predicate: Any, what: str, timeout: float = 20.0) -> None:
    """Poll ``predicate`` until it is true (waiting for a process to react, never for
    time to pass); AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server process; ``restart()`` keeps the data dir, port and settings."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.clock_file = data_dir.parent / f"{data_dir.name}.clock"
        self.clock_file.write_text("+0")
        self.offset = 0.0
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")},
            **FAST_ARGON2,
            "TOKENSMITH_DATA_DIR": str(data_dir),
            "TOKENSMITH_TEST_CLOCK_FILE": str(self.clock_file),
            "TOKENSMITH_ISSUER": self.url,
            "TOKENSMITH_KEY_MAINTENANCE_INTERVAL": "1",
            **env,
        }
        self.log_path = data_dir.parent / f"{data_dir.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    # ---- process -------------------------------------------------------------------

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*TOKENSMITH, "serve", "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tokensmith serve exited early:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    self._wait_for_banner()
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tokensmith serve not ready in {START_TIMEOUT}s:\n{self.output()}")

    def _wait_for_banner(self, timeout: float = 10.0) -> None:
        """The "listening on" banner (and setup token) is printed once the socket serves,
        after a database read, so it can land a moment after /readyz first answers: wait
        for this start's banner, a bounded while (a start whose store was down prints
        none, and the tests that read the banner then say what they saw)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output().count("tokensmith listening on") >= self.starts:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # ---- helpers -------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward (the test-only clock file)."""
        self.offset += seconds
        self.clock_file.write_text(f"+{self.offset}")

    def now(self) -> float:
        return time.time() + self.offset

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``tokensmith ARGS`` against this server's data dir and settings."""
        return subprocess.run(
            [*TOKENSMITH, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def register_and_login(
        self, client: httpx.Client, username: str, password: str = PASSWORD
    ) -> dict[str, Any]:
        created = client.post("/auth/register", json={"username": username, "password": password})
        assert created.status_code == 201, created.text
        login = client.post("/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200, login.text
        body: dict[str, Any] = login.json()
        return body


def start_pair(make_server: Any, **settings: str) -> tuple[Server, Server]:
    """Two servers on the same settings (a shared ``database_url`` and master key): the
    second uses the first's issuer URL and clock file, as instances behind one URL do."""
    first: Server = make_server(**settings)
    second: Server = make_server(start=False, issuer=first.url, **settings)
    second.clock_file = first.clock_file
    second.env["TOKENSMITH_TEST_CLOCK_FILE"] = str(first.clock_file)
    second.start()
    return first, second
