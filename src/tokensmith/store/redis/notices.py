"""Notices over Redis pub/sub: one channel per deployment (``PREFIX + "notices"``), each
message ``[origin, topic, data]`` as JSON. :meth:`publish` runs this process's handlers
first, directly (two issuers may share one set of stores, and they must not wait for
Redis to hear each other), then publishes; the subscription skips the notices of its own
origin.

A background task holds the subscription. When it breaks (Redis stopped, restarted, a
network fault) :attr:`live` turns False at once — readers then poll the store — and the
task reconnects with a short back-off; once subscribed again it calls every handler with
``None`` so each catches up on what it missed, and only then turns :attr:`live` True.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from redis.asyncio.client import PubSub

from ..protocols import NoticeHandler
from .link import RedisLink

__all__ = ["RedisNotices"]

log = logging.getLogger("tokensmith.store.redis")

#: how long one wait for a message lasts (bounds how late a close is noticed)
_WAIT = 1.0
#: a PING on the subscription this often finds a connection that died quietly
_PING_EVERY = 5.0
_FIRST_RETRY = 0.1
_MAX_RETRY = 1.0


class RedisNotices:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._channel = link.key("notices")
        self._origin = secrets.token_hex(8)
        self._handlers: dict[str, list[NoticeHandler]] = {}
        self._live = False
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        #: set when a subscription is made (tests and start-up wait on it)
        self.subscribed = asyncio.Event()

    @property
    def live(self) -> bool:
        return self._live

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="tokensmith-redis-notices")

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        # a cancel that meets redis-py's read timeout in the same loop iteration can be
        # swallowed (asyncio.timeout turns it into TimeoutError): cancel until it is done
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)
        self._live = False

    def subscribe(self, topic: str, handler: NoticeHandler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    async def publish(self, topic: str, data: str) -> None:
        for handler in list(self._handlers.get(topic, ())):
            await self._run(handler, data)
        message = json.dumps([self._origin, topic, data], separators=(",", ":"))
        try:
            await self._link.call(
                "publish",
                lambda: self._link.client.publish(self._channel, message),
            )
        except Exception:  # StoreUnavailable, already logged: the store stays the truth
            return

    # ---- the subscription ----------------------------------------------------------------

    async def _listen(self) -> None:
        delay = _FIRST_RETRY
        while not self._closing:
            pubsub = self._link.client.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self._link.answered()
                delay = _FIRST_RETRY
                await self._dispatch_all(None)  # catch up on what was missed
                self._live = True
                self.subscribed.set()
                await self._receive(pubsub)
            except Exception as exc:  # whatever broke it: subscribe again
                self._link.failed("subscription", exc)
            finally:
                self._live = False
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_RETRY)

    async def _receive(self, pubsub: PubSub) -> None:
        loop = asyncio.get_running_loop()
        pinged = loop.time()
        while not self._closing:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_WAIT)
            if message is not None and message.get("type") == "message":
                await self._handle(message)
            if loop.time() - pinged >= _PING_EVERY:
                await pubsub.ping()
                pinged = loop.time()

    async def _handle(self, message: dict[str, Any]) -> None:
        try:
            origin, topic, data = json.loads(message["data"])
        except (TypeError, ValueError):
            log.warning("ignored a malformed notice on %s", self._channel)
            return
        if origin == self._origin or not isinstance(topic, str) or not isinstance(data, str):
            return
        for handler in list(self._handlers.get(topic, ())):
            await self._run(handler, data)

    async def _dispatch_all(self, data: str | None) -> None:
        for handlers in list(self._handlers.values()):
            for handler in list(handlers):
                await self._run(handler, data)

    async def _run(self, handler: NoticeHandler, data: str | None) -> None:
        try:
            await handler(data)
        except Exception as exc:  # a handler's failure (the database is down) ends nothing
            log.error("a notice handler failed: %s", type(exc).__name__)
