"""Fixtures of the resource tests (helpers live in resource_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from resource_helpers import Clock, FeedServer, JWKSServer


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    server = JWKSServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    try:
        yield server
    finally:
        server.close()
