"""Fetching a remote JSON document (discovery, JWKS, introspection) under S4's rules.

- Only the configured URL is ever fetched: a token's ``jku``/``x5u`` never is.
- ``https`` only; ``http`` only to a loopback host (127.0.0.0/8, ::1, ``localhost``).
- Redirects are never followed (a 3xx is a failure, not a new URL).
- The body is read in chunks and abandoned past ``max_bytes``; a ``Content-Length``
  above it is refused before reading.
- A connect/read timeout per operation, and an overall deadline, so that a server
  dripping its headers or its body one byte at a time is cut off:
  - :func:`fetch_async` runs the whole fetch (name lookup, connect, TLS handshake,
    request and response) in a cancel scope of ``deadline`` seconds;
  - :func:`fetch` (blocking) runs on a daemon thread that the caller waits for until
    the deadline, and then shuts the connection's socket down, which wakes a read
    blocked on it, so that the thread ends too (it learns the socket from httpx's
    ``trace`` events as the connection is opened). A name lookup, connect or TLS
    handshake still under way then ends at its own timeout, on that thread, and so do
    the reads of a connection reused from the client's pool (not opened by this fetch,
    so its socket is not known).
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import anyio
import httpx

from .errors import FetchError

_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds of one fetch: body size, connect/read timeout, overall deadline."""

    max_bytes: int = 512 * 1024
    timeout: float = 5.0
    deadline: float = 10.0
    allow_http_loopback: bool = True

    def __post_init__(self) -> None:
        if type(self.max_bytes) is not int or self.max_bytes <= 0:
            raise ValueError("max_bytes must be a positive int")
        if not 0 < self.timeout <= 120 or not 0 < self.deadline <= 300:
            raise ValueError("timeout and deadline must be positive (and at most minutes)")


@dataclass(frozen=True, slots=True)
class Fetched:
    """A successful fetch: the body and the ``Cache-Control`` header (or None)."""

    body: bytes
    cache_control: str | None


def is_loopback_host(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_http_loopback: bool = True) -> str:
    """``url`` if it may be fetched (S4), else ``ValueError`` (a configuration mistake)."""
    if type(url) is not str or not url:
        raise ValueError("the URL must be a non-empty string")
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{url!r} has no host")
    if parts.username or parts.password:
        raise ValueError("credentials in a URL are refused")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_http_loopback and is_loopback_host(host):
        return url
    raise ValueError(f"{url!r}: only https (or http to a loopback host) is fetched")


def _check_response_head(url: str, response: httpx.Response, limits: FetchLimits) -> None:
    if response.is_redirect or 300 <= response.status_code < 400:
        raise FetchError(f"{url} answered a redirect ({response.status_code}); not followed")
    if response.status_code != 200:
        raise FetchError(f"{url} answered HTTP {response.status_code}")
    length = response.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limits.max_bytes):
        raise FetchError(f"{url}: body larger than {limits.max_bytes} bytes")


def _request(
    url: str,
    limits: FetchLimits,
    form: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    """The arguments of ``client.stream`` for one fetch, sync or async."""
    return {
        "method": "GET" if form is None else "POST",
        "url": url,
        "data": form,
        "follow_redirects": False,
        "timeout": httpx.Timeout(limits.timeout, connect=limits.timeout),
        "headers": {"Accept": "application/json", **(headers or {})},
    }


class _Watchdog:
    """Stops a blocking fetch's thread at the deadline: :meth:`trace` (httpx's ``trace``
    extension) learns the connection's socket when the connection is opened and again
    after the TLS handshake; :meth:`fire` shuts that socket down, which wakes a read
    blocked on it with an error. A socket learnt after :meth:`fire` is shut down at
    once."""

    _OPENED: Final = frozenset({"connection.connect_tcp.complete", "connection.start_tls.complete"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._fired = False

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in self._OPENED:
            sock = info["return_value"].get_extra_info("socket")
            with self._lock:
                self._socket = sock if isinstance(sock, socket.socket) else None
                if self._fired:
                    self._shut_down()

    def fire(self) -> None:
        with self._lock:
            self._fired = True
            self._shut_down()

    def _shut_down(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to wake
                # the plain socket's method: on a TLS socket it leaves the TLS object alone
                socket.socket.shutdown(self._socket, socket.SHUT_RDWR)


def fetch(
    client: httpx.Client,
    url: str,
    limits: FetchLimits,
    *,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """GET ``url`` with ``client`` under ``limits`` (POST ``form`` when given, e.g. to an
    introspection endpoint); :class:`FetchError` on any failure. Runs on a daemon thread
    that this one waits for until the deadline (the module's docstring)."""
    watchdog = _Watchdog()
    outcome: list[Fetched | Exception] = []

    def run() -> None:
        try:
            outcome.append(_fetch_blocking(client, url, limits, form, headers, watchdog))
        except Exception as exc:  # handed to the calling thread below
            outcome.append(exc)

    worker = threading.Thread(
        target=contextvars.copy_context().run,  # the caller's context (tracing, logging)
        args=(run,),
        name="tokensmith-fetch",
        daemon=True,
    )
    worker.start()
    worker.join(limits.deadline)
    if not outcome:
        watchdog.fire()
        raise FetchError(f"{url}: took longer than {limits.deadline:g} s")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


def _fetch_blocking(
    client: httpx.Client,
    url: str,
    limits: FetchLimits,
    form: Mapping[str, str] | None,
    headers: Mapping[str, str] | None,
    watchdog: _Watchdog,
) -> Fetched:
    started = time.monotonic()
    try:
        with client.stream(
            **_request(url, limits, form, headers), extensions={"trace": watchdog.trace}
        ) as response:
            _check_response_head(url, response, limits)
            body = bytearray()
            for chunk in response.iter_bytes():
                _add_chunk(url, body, chunk, started, limits)
            return Fetched(bytes(body), response.headers.get("cache-control"))
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None


async def fetch_async(
    client: httpx.AsyncClient,
    url: str,
    limits: FetchLimits,
    *,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Fetched:
    """:func:`fetch` for an :class:`httpx.AsyncClient`; the whole fetch, name lookup
    included, runs under the deadline."""
    started = time.monotonic()
    try:
        with anyio.fail_after(limits.deadline):
            async with client.stream(**_request(url, limits, form, headers)) as response:
                _check_response_head(url, response, limits)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    _add_chunk(url, body, chunk, started, limits)
                return Fetched(bytes(body), response.headers.get("cache-control"))
    except TimeoutError:
        raise FetchError(f"{url}: took longer than {limits.deadline:g} s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None


def _add_chunk(
    url: str, body: bytearray, chunk: bytes, started: float, limits: FetchLimits
) -> None:
    body += chunk
    if len(body) > limits.max_bytes:
        raise FetchError(f"{url}: body larger than {limits.max_bytes} bytes")
    if time.monotonic() - started > limits.deadline:
        raise FetchError(f"{url}: took longer than {limits.deadline:g} s")


__all__ = ["FetchLimits", "Fetched", "check_url", "fetch", "fetch_async", "is_loopback_host"]
