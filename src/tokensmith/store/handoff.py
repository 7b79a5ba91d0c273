"""Handing a worker thread's result to the event loop that waits for it: one
``call_soon_threadsafe`` that settles the caller's asyncio future (lighter than an executor
future chained to an asyncio one: ``run_in_executor`` costs the loop about twice as much).
Used by the SQLite runner's threads and by the issuer's password-hashing threads."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["deliver", "deliver_error"]


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


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.cancelled():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.cancelled():
        future.set_exception(error)
