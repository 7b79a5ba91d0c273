"""Handing a worker thread's results to the event loop that waits for them: one
``call_soon_threadsafe`` that settles the callers' asyncio futures (lighter than an
executor future chained to an asyncio one: ``run_in_executor`` costs the loop about twice
as much). Several results handed over at once wake the loop once.
Used by the SQLite runner's threads and by the issuer's password-hashing threads."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["Outcome", "deliver_all"]

#: a future of the loop, and what it gets: a result, or (when not None) an error
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


def deliver_all(loop: asyncio.AbstractEventLoop, outcomes: list[Outcome]) -> None:
    """From a worker thread: every future of ``outcomes`` (all of ``loop``) gets its
    result or error, with one wake-up of the loop, in their order."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_settle_all, outcomes)


def _settle_all(outcomes: list[Outcome]) -> None:
    for future, result, error in outcomes:
        if future.cancelled():
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
