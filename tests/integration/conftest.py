"""Fixtures: ``make_server(**settings)`` and ``server`` (see server_process.py), and
``shared_redis``: the machine's Redis URL with a key prefix of the test's own, whose keys
are deleted afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services import delete_prefix, redis_prefix, redis_url

from .server_process import Server


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Any]:
    """``make_server(**env)`` starts a server; every one started is stopped afterwards."""
    servers: list[Server] = []

    def make(start: bool = True, **env: str) -> Server:
        data_dir = tmp_path / f"data{len(servers)}"
        server = Server(data_dir, {f"TOKENSMITH_{k.upper()}": v for k, v in env.items()})
        servers.append(server)
        if start:
            server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Any) -> Server:
    started: Server = make_server()
    return started


@pytest.fixture
def shared_redis() -> Iterator[tuple[str, str]]:
    """(url, prefix) on the machine's Redis; the prefix's keys are deleted afterwards."""
    url, prefix = redis_url(), redis_prefix()
    yield url, prefix
    asyncio.run(delete_prefix(url, prefix))
