"""Revocations: written to the store (the feed, and the source of truth), kept in the
in-memory denylist, and announced to feed waiters of this process and, through the
store's notices (Redis pub/sub), of every other process.

Without live notices (one process, or processes sharing only the database) every check
first reads the entries written since the last one, so a revocation anywhere is denied
everywhere at once. With live notices a check reads the store only when a notice
announced an entry it does not have yet, or when its last read is a second old (a lost
notice costs at most that second); while the subscription is down, every check reads
the store again. Either way a revocation never waits for Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.store import Notices, RevocationRecord, RevocationStore
from tokensmith.store.records import RevocationKind

from .denylist import Denylist
from .models import RevocationEvent

__all__ = ["Revocations"]

_BATCH = 10_000
#: how often a waiting feed looks at the store for other processes' revocations
_POLL_SECONDS = 1.0
#: with live notices, the oldest a check's view of the store may be
_FRESH_SECONDS = 1.0
#: the notice topic: data is the new entry's id
TOPIC = "revocation"


def _event(record: RevocationRecord) -> RevocationEvent:
    return RevocationEvent(
        id=record.id,
        kind=record.kind,
        value=record.value,
        created_at=record.created_at,
        expires_at=record.expires_at,
        not_before=record.not_before,
    )


class Revocations:
    def __init__(
        self,
        store: RevocationStore,
        *,
        clock: Callable[[], float],
        notices: Notices | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._notices = notices
        self._denylist = Denylist()
        self._signal = asyncio.Event()
        self._closed = False
        #: the highest id another process announced, and the highest a sync has covered
        self._announced = 0
        self._covered = 0
        #: monotonic time the last completed sync started
        self._synced_at = float("-inf")
        if notices is not None:
            notices.subscribe(TOPIC, self._on_notice)

    async def add(
        self,
        kind: RevocationKind,
        value: str,
        *,
        expires_at: float,
        not_before: float | None = None,
    ) -> None:
        record = await self._store.add(
            kind, value, now=self._clock(), expires_at=expires_at, not_before=not_before
        )
        self._denylist.add([record])
        self._notify()
        if self._notices is not None:
            await self._notices.publish(TOPIC, str(record.id))

    async def _on_notice(self, data: str | None) -> None:
        """Another process wrote entry ``data`` (None: notices may have been missed)."""
        if data is not None:
            if not data.isdigit():
                return
            self._announced = max(self._announced, int(data))
        await self.sync()
        self._notify()

    def _notify(self) -> None:
        signal, self._signal = self._signal, asyncio.Event()
        signal.set()

    async def sync(self) -> None:
        """Take in entries written since the last sync (by any process)."""
        started, announced = time.monotonic(), self._announced
        while True:
            records = await self._store.after(
                self._denylist.last_id, now=self._clock(), limit=_BATCH
            )
            self._denylist.add(records)
            if len(records) < _BATCH:
                self._synced_at = max(self._synced_at, started)
                self._covered = max(self._covered, announced)
                return

    def _stale(self) -> bool:
        if self._notices is None or not self._notices.live:
            return True
        if self._announced > self._covered:
            return True
        return time.monotonic() - self._synced_at >= _FRESH_SECONDS

    async def denies(self, claims: Mapping[str, Any]) -> str | None:
        if self._stale():
            await self.sync()
        return self._denylist.denies(claims, self._clock())

    async def housekeeping(self) -> None:
        now = self._clock()
        await self._store.purge(now=now)
        self._denylist.prune(now)
        await self.sync()

    async def events(self, *, after: int | None, limit: int) -> list[RevocationEvent]:
        records = await self._store.after(after, now=self._clock(), limit=limit)
        return [_event(r) for r in records]

    async def last_id(self) -> int:
        return await self._store.last_id()

    async def wait(self, *, after: int | None, timeout: float) -> list[RevocationEvent]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            signal = self._signal
            found = await self.events(after=after, limit=500)
            remaining = deadline - loop.time()
            if found or remaining <= 0 or self._closed:
                return found
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), min(remaining, _POLL_SECONDS))

    def close(self) -> None:
        self._closed = True
        self._notify()
