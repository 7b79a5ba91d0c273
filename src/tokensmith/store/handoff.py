"""Handing a worker thread's results to the event loop that waits for them: one
``call_soon_threadsafe`` that settles the callers' asyncio futures (lighter than an
executor future chained to an asyncio one: ``run_in_executor`` costs the loop about twice
as much). Several results handed over at once (:func:`deliver_all`) wake the loop once.
Used by the SQLite runner's threads and by the issuer's password-hashing threads."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["Outcome", "deliver", "deliver_all", "deliver_error"]

#: a future of the loop, and what it gets: a result, or (when not None) an error
Outcome = tuple["asyncio.Future[Any]", Any, BaseException | None]


def deliver(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any) -> None:
    """From a worker thread: ``future`` (of ``loop``) gets ``result``, unless its caller
    stopped waiting."""
    with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(_succeed, future, result)


def deliver_error(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], error: BaseException
) -> None:
    """From a worker thread: ``future`` (of ``loop``) raises ``error``, unless its caller
    stopped waiting."""
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(_fail, future, error)


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


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)
