"""Client of the auth server's revocation feed (``GET /auth/revocations``, Server-Sent
Events), keeping a :class:`~.denylist.Denylist` current so that no verification needs
a request to the auth server.

The server sends ``id: N`` / ``event: revocation`` / ``data: {json}`` blocks (data is
``{"id", "kind", "value", "created_at", "expires_at"[, "not_before"]}``) and
``: keep-alive`` comments every 15 s. This client:

- authenticates with ``Authorization: Bearer <token>`` (the server's
  ``revocation_feed_secret``, or an admin access token);
- resumes after a reconnect with ``Last-Event-ID`` (the last applied event id), so
  nothing is missed and nothing is applied twice; an ``event: reset`` (the server's
  ids are not ours: another database) starts the ids over, and an ``event: ready``
  marks the end of the backlog (:meth:`RevocationFeed.wait_synced`);
- reconnects with exponential back-off and jitter; a stream silent for
  ``read_timeout`` (3 keep-alives) counts as broken;
- runs as a daemon thread with its own event loop (:meth:`RevocationFeed.start`, for
  sync apps) or as a task on the caller's loop (:meth:`RevocationFeed.start_async`);
- knows how long it has been down: :meth:`RevocationFeed.check` raises
  :class:`FeedUnavailableError` when the feed is down longer than ``max_outage`` and
  the policy is ``"fail_closed"``; with ``"serve"``, tokens keep being accepted on the
  denylist as it was.

Entries are pruned (wall clock) when the tokens they deny have expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx

from .denylist import Denylist
from .errors import FeedUnavailableError, FetchError
from .fetch import check_url

FEED_PATH: Final = "/auth/revocations"
_MAX_LINE: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class FeedOptions:
    """How the feed client behaves. Seconds throughout."""

    max_outage: float = 60.0
    on_outage: Literal["fail_closed", "serve"] = "fail_closed"
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    read_timeout: float = 45.0
    connect_timeout: float = 5.0
    prune_interval: float = 60.0
    allow_http_loopback: bool = True
    monotonic: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if self.on_outage not in ("fail_closed", "serve"):
            raise ValueError("on_outage is 'fail_closed' or 'serve'")
        for name in ("max_outage", "backoff_initial", "backoff_max", "read_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        if self.backoff_initial > self.backoff_max:
            raise ValueError("backoff_initial must not exceed backoff_max")


class RevocationFeed:
    """See the module docstring. ``url`` is the feed's URL, or the issuer's base URL
    (``/auth/revocations`` is then appended)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | Callable[[], str],
        options: FeedOptions | None = None,
        denylist: Denylist | None = None,
    ) -> None:
        self.options = options if options is not None else FeedOptions()
        if not url.rstrip("/").endswith(FEED_PATH):
            url = url.rstrip("/") + FEED_PATH
        self.url = check_url(url, allow_http_loopback=self.options.allow_http_loopback)
        if not (callable(token) or (type(token) is str and token)):
            raise TypeError("token must be a non-empty string or a callable returning one")
        self._token = token
        self.denylist = denylist if denylist is not None else Denylist()
        self._connected = False
        self._down_since: float = self.options.monotonic()
        self._ever_connected = threading.Event()
        self._synced = threading.Event()
        self._last_prune = 0.0
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        self.events_applied = 0
        self.events_rejected = 0
        self.connects = 0
        self.resets = 0

    # ---- health ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected

    def down_for(self) -> float:
        """Seconds the feed has been disconnected (0 while connected)."""
        if self._connected:
            return 0.0
        return max(0.0, self.options.monotonic() - self._down_since)

    def check(self) -> None:
        """Raise :class:`FeedUnavailableError` when the denylist cannot be trusted:
        the feed is down longer than ``max_outage`` and the policy fails closed."""
        if (
            not self._connected
            and self.options.on_outage == "fail_closed"
            and self.options.monotonic() - self._down_since > self.options.max_outage
        ):
            raise FeedUnavailableError(
                f"the revocation feed has been down for more than {self.options.max_outage:g} s"
            )

    def wait_connected(self, timeout: float) -> bool:
        """Block until the feed connected once (the backlog then streams in at once)."""
        return self._ever_connected.wait(timeout)

    def wait_synced(self, timeout: float) -> bool:
        """Block until the server marked the end of its backlog (an ``event: ready``);
        False on timeout, or when the server sends no such marker."""
        return self._synced.wait(timeout)

    # ---- running -----------------------------------------------------------------------

    def start(self) -> RevocationFeed:
        """Run in a daemon thread with its own event loop (for sync apps)."""
        if self._thread is not None or self._task is not None:
            raise RuntimeError("the feed is already running")
        self._stopping = False
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._task = loop.create_task(self.run())
            ready.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
            loop.close()

        self._thread = threading.Thread(target=main, name="tokensmith-revocation-feed", daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread started by :meth:`start`."""
        self._stopping = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._task = None
        self._connected = False

    async def start_async(self) -> RevocationFeed:
        """Run as a task on the current event loop (for async apps)."""
        if self._thread is not None or self._task is not None:
            raise RuntimeError("the feed is already running")
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self.run())
        return self

    async def stop_async(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._connected = False

    async def run(self) -> None:
        """Connect, apply events, reconnect with back-off; until cancelled or stopped."""
        options = self.options
        delay = options.backoff_initial
        timeout = httpx.Timeout(
            options.connect_timeout, read=options.read_timeout, connect=options.connect_timeout
        )
        async with httpx.AsyncClient(trust_env=False, timeout=timeout) as client:
            while not self._stopping:
                started = options.monotonic()
                try:
                    await self._stream_once(client)
                    self.last_error = "the server closed the stream"
                except (httpx.HTTPError, FetchError, UnicodeDecodeError) as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                finally:
                    self._mark_down()
                if options.monotonic() - started > options.backoff_max:
                    delay = options.backoff_initial  # it ran well for a while: start over
                await asyncio.sleep(delay * (1 + random.random() / 4))  # noqa: S311
                delay = min(delay * 2, options.backoff_max)

    # ---- one connection ----------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if self.denylist.last_id:
            headers["Last-Event-ID"] = str(self.denylist.last_id)
        return headers

    async def _stream_once(self, client: httpx.AsyncClient) -> None:
        async with client.stream(
            "GET", self.url, headers=self._headers(), follow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise FetchError(f"the feed answered HTTP {response.status_code}")
            kind = response.headers.get("content-type", "")
            if not kind.startswith("text/event-stream"):
                raise FetchError(f"the feed answered {kind!r}, not text/event-stream")
            self._mark_up()
            parser = _EventParser(self._dispatch)
            async for chunk in response.aiter_bytes():
                parser.feed(chunk)
                self._maybe_prune()

    def _mark_up(self) -> None:
        self.connects += 1
        self._connected = True
        self._ever_connected.set()

    def _mark_down(self) -> None:
        if self._connected:
            self._connected = False
            self._down_since = self.options.monotonic()

    def _maybe_prune(self) -> None:
        now = self.options.wall_clock()
        if now - self._last_prune >= self.options.prune_interval:
            self._last_prune = now
            self.denylist.prune(now)

    def _dispatch(self, event: str, data: str, event_id: str | None) -> None:
        if event == "ready":  # the server's end-of-backlog marker, when it sends one
            self._synced.set()
            return
        if event == "reset":
            # Our Last-Event-ID belongs to another database: the server replays from
            # its start. Entries held stay (they only deny); ids start over.
            self.denylist.last_id = 0
            self.resets += 1
            return
        if event not in ("revocation", "message") or not data:
            return
        try:
            body = json.loads(data)
            self._apply(body, event_id)
        except (ValueError, TypeError, KeyError):
            self.events_rejected += 1

    def _apply(self, body: Any, event_id: str | None) -> None:
        if type(body) is not dict:
            raise ValueError("event data is a JSON object")
        ident = body["id"]
        if type(ident) is not int or (event_id is not None and event_id != str(ident)):
            raise ValueError("event id mismatch")
        if ident <= self.denylist.last_id:
            return  # already applied (a replay after resuming)
        expires_at = body["expires_at"]
        if isinstance(expires_at, (int, float)) and expires_at <= self.options.wall_clock():
            self.denylist.last_id = ident  # the tokens it denies are gone already
            return
        self.denylist.add(
            body["kind"],
            body["value"],
            expires_at=expires_at,
            not_before=body.get("not_before"),
            event_id=ident,
        )
        self.events_applied += 1


class _EventParser:
    """The text/event-stream grammar (WHATWG HTML §9.2.6), bounded per line."""

    def __init__(self, dispatch: Callable[[str, str, str | None], None]) -> None:
        self._dispatch = dispatch
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None

    def feed(self, chunk: bytes) -> None:
        buffer = self._buffer + chunk
        *lines, rest = buffer.split(b"\n")
        if len(rest) > _MAX_LINE:
            raise FetchError(f"a feed line is longer than {_MAX_LINE} bytes")
        self._buffer = rest
        for raw in lines:
            self._line(raw.rstrip(b"\r").decode("utf-8"))

    def _line(self, line: str) -> None:
        if not line:
            if self._data:
                self._dispatch(self._event or "message", "\n".join(self._data), self._id)
            self._event, self._data = "", []
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value


__all__ = ["FEED_PATH", "FeedOptions", "RevocationFeed"]
