"""Password hashing: argon2id (argon2-cffi) in a bounded thread pool, so the event loop
never blocks; rehash when the parameters change; a dummy verify for unknown users (S26)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import secrets
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tokensmith.store.handoff import Outcome, deliver_all

from .config import Argon2Params

__all__ = ["Argon2Hasher", "PasswordHasher", "Passwords"]


class PasswordHasher(Protocol):
    """Synchronous, CPU-bound; :class:`Passwords` runs it in threads."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool:
        """True on a match; False on a mismatch or an unreadable hash (never raises)."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class Argon2Hasher:
    """argon2id with the given parameters."""

    def __init__(self, params: Argon2Params) -> None:
        self.params = params
        self._hasher = _Argon2(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            salt_len=params.salt_len,
            type=Type.ID,
        )
        # a hash made with these parameters (argon2-cffi's PHC string): its head, and
        # where its salt ends (unpadded base64 of salt_len bytes) and it ends
        self._head = (
            f"$argon2id$v=19$m={params.memory_cost},t={params.time_cost},p={params.parallelism}$"
        )
        self._salt_end = len(self._head) + _b64_length(params.salt_len)
        self._length = self._salt_end + 1 + _b64_length(params.hash_len)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        if (  # the usual case (a login's), without parsing: exactly this shape
            len(password_hash) == self._length
            and password_hash.startswith(self._head)
            and password_hash.find("$", len(self._head)) == self._salt_end
            and password_hash.count("$") == 5
        ):
            return False
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True


def _b64_length(size: int) -> int:
    """The length of ``size`` bytes in unpadded base64."""
    return (4 * size + 2) // 3


def _yield_to_the_loop(niceness: int) -> None:
    """Lower this hashing thread's scheduling priority by ``niceness`` (Linux: per
    thread; elsewhere a no-op): under a login flood the event loop (refreshes, JWKS,
    everything else) still gets a core when it needs one, and idle cores still hash.
    Raising niceness needs no privilege."""
    if niceness <= 0 or sys.platform != "linux":
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except OSError:
        pass


_Job = tuple[Callable[..., Any], tuple[str, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class Passwords:
    """Async front of a :class:`PasswordHasher`: at most ``workers`` hashes at once, in
    ``workers`` threads; another ``workers`` wait in the threads' queue, so a thread
    that finishes a hash starts the next at once (without waiting for the event loop to
    hand it one); callers beyond that wait on a semaphore (never on the loop).

    Results go back to the loop **in pairs while the threads are busy**: a thread that
    finishes while another thread is mid-hash, and no result is held yet, holds its
    result and starts its next hash; the next thread to finish hands back both with one
    ``call_soon_threadsafe`` (``store.handoff``). Under a login flood that halves the
    loop's wake-ups for results, and the two logins then run their next steps (the
    session, the token, one write transaction for both: the SQLite runner batches the
    writes of one loop iteration) back to back, while the CPU's caches still hold that
    code: about a third less CPU per login besides the hash (docs/benchmarks-server.md).
    A held result waits at most until another thread's current hash ends (one hash time,
    on average half of it); when no other thread is hashing, a result goes back at once,
    so a login alone is never held."""

    def __init__(self, hasher: PasswordHasher, *, workers: int, niceness: int = 0) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.hasher = hasher
        self._workers = workers
        self._niceness = niceness
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []  # started at the first hash
        self._closed = False
        # running + queued (see above), and with more than one thread one more: a held
        # result keeps its caller's slot until it is handed back, the queue stays as full
        self._slots = asyncio.Semaphore(2 * workers + (workers > 1))
        self._dummy_hash: str | None = None
        self._lock = threading.Lock()  # guards the two below
        self._hashing = 0  # threads between taking a job and handing back its outcome
        self._held: tuple[asyncio.AbstractEventLoop, Outcome] | None = None

    def _serve(self) -> None:
        _yield_to_the_loop(self._niceness)
        while (job := self._jobs.get()) is not None:
            fn, args, future, loop = job
            if future.cancelled():  # its caller stopped waiting before it started
                continue
            if self._closed:  # closed with hashes still queued: they are cancelled
                with contextlib.suppress(RuntimeError):  # a closed loop
                    loop.call_soon_threadsafe(future.cancel)
                continue
            with self._lock:
                self._hashing += 1
            outcome: Outcome
            try:
                outcome = (future, fn(*args), None)
            except BaseException as exc:
                outcome = (future, None, exc)
            self._hand_back(loop, outcome)

    def _hand_back(self, loop: asyncio.AbstractEventLoop, outcome: Outcome) -> None:
        """On a hashing thread, its hash done: hold ``outcome`` if another thread is
        mid-hash and nothing is held (that thread will hand back both), else hand back
        what is held with it."""
        with self._lock:
            self._hashing -= 1
            held = self._held
            if held is None and self._hashing > 0:
                self._held = (loop, outcome)
                return
            self._held = None
        if held is None:
            deliver_all(loop, [outcome])
        elif held[0] is loop:
            deliver_all(loop, [held[1], outcome])
        else:  # two loops share this hasher: each gets its own
            deliver_all(held[0], [held[1]])
            deliver_all(loop, [outcome])

    async def _run(self, fn: Callable[..., Any], *args: str) -> Any:
        """``fn(*args)`` on a hashing thread."""
        async with self._slots:
            if self._closed:
                raise RuntimeError("the password hasher has been closed")
            if not self._threads:
                self._threads = [
                    threading.Thread(target=self._serve, name=f"argon2_{i}", daemon=True)
                    for i in range(self._workers)
                ]
                for thread in self._threads:
                    thread.start()
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Any] = loop.create_future()
            self._jobs.put((fn, args, future, loop))
            return await future

    async def hash(self, password: str) -> str:
        result = await self._run(self.hasher.hash, password)
        assert isinstance(result, str)
        return result

    async def verify(self, password_hash: str, password: str) -> bool:
        return bool(await self._run(self.hasher.verify, password_hash, password))

    async def dummy_verify(self, password: str) -> None:
        """The same work as :meth:`verify` for a user that does not exist (S26)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)

    async def prepare(self) -> None:
        """Compute the dummy hash ahead of the first unknown-user login."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.needs_rehash(password_hash)

    def close(self) -> None:
        """Stop the threads (without waiting for them); queued hashes are cancelled."""
        self._closed = True
        for _ in self._threads:
            self._jobs.put(None)
