"""Revocations: written to the store (the feed), kept in the in-memory denylist, and
announced to feed waiters of this process; other processes' entries arrive by polling."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from tokensmith.store import RevocationRecord, RevocationStore
from tokensmith.store.records import RevocationKind

from .denylist import Denylist
from .models import RevocationEvent

__all__ = ["Revocations"]

_BATCH = 10_000
#: how often a waiting feed looks at the store for other processes' revocations
_POLL_SECONDS = 1.0


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
    def __init__(self, store: RevocationStore, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._denylist = Denylist()
        self._signal = asyncio.Event()
        self._closed = False

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

    def _notify(self) -> None:
        signal, self._signal = self._signal, asyncio.Event()
        signal.set()

    async def sync(self) -> None:
        """Take in entries written since the last sync (by any process)."""
        while True:
            records = await self._store.after(
                self._denylist.last_id, now=self._clock(), limit=_BATCH
            )
            self._denylist.add(records)
            if len(records) < _BATCH:
                return

    async def denies(self, claims: Mapping[str, Any]) -> str | None:
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
