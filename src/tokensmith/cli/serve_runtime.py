"""How ``tokensmith serve`` runs uvicorn: one process, or a supervisor and N workers.

Graceful shutdown (both modes): on SIGTERM or SIGINT a server stops accepting
connections, tells its long-lived streams (the revocation feed) to end, lets in-flight
requests finish for up to ``shutdown_timeout`` seconds, then closes the issuer and the
database. Idle keep-alive connections are closed at once.

``--workers N`` (N > 1): the supervisor binds the listening socket, then starts N worker
processes (``spawn``: a fresh interpreter each, no state inherited from the parent's
event loop or threads); each runs uvicorn on that shared socket and the kernel spreads
the connections. First-start work (migrations, keys, the master key file, the setup
token) is done by the supervisor once, before any worker starts (``serve_cmd.preflight``).
A worker that dies is replaced; one that dies before it ever served (a broken database,
say) stops everything with exit 1. SIGTERM/SIGINT to the supervisor is passed to every
worker, which shuts down gracefully; the supervisor exits when they have. Prometheus
values of all workers go to one ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary directory
unless set), so any worker's ``/metrics`` shows the sum.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event as EventType
from typing import Any

import uvicorn

from ..server import create_app
from ..server.logs import configure_logging, uvicorn_log_config
from ..server.metrics import MULTIPROC_ENV
from ..settings import Settings

log = logging.getLogger("tokensmith.server")

_CONTEXT = multiprocessing.get_context("spawn")


def uvicorn_config(settings: Settings, app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level, settings.log_format),
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
        h11_max_incomplete_event_size=settings.max_header_bytes + 16384,
        lifespan="on",
    )


class GracefulServer(uvicorn.Server):
    """uvicorn's server that also ends the app's streams when shutdown begins (they watch
    ``app.state.stopping``), so a connected revocation feed does not hold the shutdown for
    the whole timeout; and calls ``on_started`` once the socket serves."""

    def __init__(
        self, config: uvicorn.Config, app: Any, on_started: Callable[[], Any] | None = None
    ) -> None:
        super().__init__(config)
        self.app = app
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)  # exits 3 if the app's startup fails
        if self.started and self.on_started is not None:
            result = self.on_started()
            if hasattr(result, "__await__"):
                await result

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.app.state.stopping.set()
        await super().shutdown(sockets=sockets)


def run_single(settings: Settings, on_started: Callable[[Any], Any]) -> bool:
    """Serve in this process; ``on_started(issuer)`` once listening. False when the
    server never started (the port could not be bound)."""
    app = create_app(settings)
    server = GracefulServer(
        uvicorn_config(settings, app), app, lambda: on_started(app.state.issuer)
    )
    server.run()
    return server.started


def _worker(settings: Settings, sock: socket.socket, started: EventType) -> None:
    """One worker process (spawned): uvicorn on the supervisor's socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor sends SIGTERM
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    config = uvicorn_config(settings, app)
    server = GracefulServer(config, app, started.set)
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


class _Worker:
    def __init__(self, settings: Settings, sock: socket.socket) -> None:
        self.started = _CONTEXT.Event()
        self.process = _CONTEXT.Process(
            target=_worker, args=(settings, sock, self.started), name="tokensmith-worker"
        )
        self.process.start()


def run_workers(settings: Settings, sock: socket.socket, on_listening: Callable[[], None]) -> int:
    """Supervise ``settings.workers`` workers on ``sock`` until SIGTERM/SIGINT; the exit
    status (0 after a requested stop, 1 when a worker could not start)."""
    own_dir = None
    if not os.environ.get(MULTIPROC_ENV):
        own_dir = tempfile.mkdtemp(prefix="tokensmith-metrics-")
        os.environ[MULTIPROC_ENV] = own_dir  # inherited by the spawned workers
    stop: list[int] = []

    def request_stop(signum: int, _frame: Any) -> None:
        stop.append(signum)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers: list[_Worker] = []
    status = 0
    try:
        workers = [_Worker(settings, sock) for _ in range(settings.workers)]
        announced = False
        while not stop:
            if not announced and all(w.started.is_set() for w in workers):
                on_listening()
                announced = True
            for i, worker in enumerate(workers):
                if worker.process.is_alive():
                    continue
                code = worker.process.exitcode
                if not worker.started.is_set():
                    log.error("a worker exited (status %s) before serving; stopping", code)
                    stop.append(0)
                    status = 1
                    break
                log.error("worker %s exited (status %s); replacing it", worker.process.pid, code)
                workers[i] = _Worker(settings, sock)
            time.sleep(0.1)
    finally:
        for worker in workers:
            if worker.process.is_alive() and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + settings.shutdown_timeout + 10
        for worker in workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        if own_dir is not None:
            shutil.rmtree(own_dir, ignore_errors=True)
            os.environ.pop(MULTIPROC_ENV, None)
    return status
