"""How the hashing threads hand results back to the loop: at once when no other thread is
hashing; in pairs while the threads are busy (a thread that finishes while another is
mid-hash holds its result until that one finishes), never holding more than one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable

import pytest

from tokensmith.issuer.passwords import Passwords

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class GatedHasher:
    """``hash(p)`` returns ``"h:" + p`` (raises for ``"boom"``) once ``p`` is released;
    ``finished[p]`` is set when its hash has ended."""

    def __init__(self, passwords: Iterable[str]) -> None:
        self.gates = {p: threading.Event() for p in passwords}
        self.started = {p: threading.Event() for p in self.gates}
        self.finished = {p: threading.Event() for p in self.gates}

    def hash(self, password: str) -> str:
        self.started[password].set()
        try:
            assert self.gates[password].wait(10), "never released"
            if password == "boom":
                raise ValueError("the hasher failed")
            return "h:" + password
        finally:
            self.finished[password].set()

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == "h:" + password

    def needs_rehash(self, password_hash: str) -> bool:
        return False


async def _wait(event: threading.Event) -> None:
    assert await asyncio.to_thread(event.wait, 10)


async def _still_pending(task: asyncio.Task[str], seconds: float = 0.2) -> bool:
    """True if ``task`` is not done after ``seconds`` of the loop running freely."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return not done


async def _first_held(
    names: list[str],
) -> tuple[GatedHasher, Passwords, dict[str, asyncio.Task[str]]]:
    """A thread per name hashing it; the first name's hash has ended (its result now
    held, or handed back if the pool does not hold) while the others still hash."""
    hasher = GatedHasher(names)
    passwords = Passwords(hasher, workers=len(names))
    jobs = {name: asyncio.create_task(passwords.hash(name)) for name in names}
    for name in names:
        await _wait(hasher.started[name])
    hasher.gates[names[0]].set()
    await _wait(hasher.finished[names[0]])
    return hasher, passwords, jobs


async def test_a_hash_alone_comes_back_at_once() -> None:
    hasher = GatedHasher(["a"])
    passwords = Passwords(hasher, workers=2)
    job = asyncio.create_task(passwords.hash("a"))
    await _wait(hasher.started["a"])
    hasher.gates["a"].set()
    assert await asyncio.wait_for(job, 5) == "h:a"
    passwords.close()


async def test_a_result_waits_for_the_hash_beside_it_and_both_come_back_together() -> None:
    hasher, passwords, jobs = await _first_held(["a", "b"])
    assert await _still_pending(jobs["a"]), "held while the other thread hashes"
    settled: list[str] = []
    jobs["a"].add_done_callback(lambda _: settled.append("a"))
    jobs["b"].add_done_callback(lambda _: settled.append("b"))
    hasher.gates["b"].set()
    assert await asyncio.wait_for(asyncio.gather(*jobs.values()), 5) == ["h:a", "h:b"]
    assert settled == ["a", "b"]  # one hand-off, in the order the hashes ended
    passwords.close()


async def test_never_more_than_one_result_is_held() -> None:
    """Three threads: the first to finish is held, the second hands back both, the
    third (nothing held, no other thread hashing) comes back at once."""
    hasher, passwords, jobs = await _first_held(["a", "b", "c"])
    assert await _still_pending(jobs["a"])
    hasher.gates["b"].set()
    held_pair = await asyncio.wait_for(asyncio.gather(jobs["a"], jobs["b"]), 5)
    assert list(held_pair) == ["h:a", "h:b"]
    assert not jobs["c"].done()
    hasher.gates["c"].set()
    assert await asyncio.wait_for(jobs["c"], 5) == "h:c"
    passwords.close()


async def test_a_held_error_reaches_its_caller_and_only_it() -> None:
    hasher, passwords, jobs = await _first_held(["boom", "b"])
    assert await _still_pending(jobs["boom"])
    hasher.gates["b"].set()
    with pytest.raises(ValueError, match="the hasher failed"):
        await asyncio.wait_for(jobs["boom"], 5)
    assert await asyncio.wait_for(jobs["b"], 5) == "h:b"
    passwords.close()


async def test_a_held_result_whose_caller_left_is_dropped() -> None:
    hasher, passwords, jobs = await _first_held(["a", "b"])
    jobs["a"].cancel()
    hasher.gates["b"].set()
    assert await asyncio.wait_for(jobs["b"], 5) == "h:b"
    with pytest.raises(asyncio.CancelledError):
        await jobs["a"]
    passwords.close()


async def test_results_keep_coming_back_under_a_steady_flood() -> None:
    """Many hashes through two threads, released one by one in a shuffled order: every
    caller gets its own result (none is lost in the hand-offs)."""
    names = [f"p{i}" for i in range(40)]
    hasher = GatedHasher(names)
    passwords = Passwords(hasher, workers=2)
    jobs = [asyncio.create_task(passwords.hash(n)) for n in names]
    for name in names:  # the queue order: each is released once it has started
        await _wait(hasher.started[name])
        hasher.gates[name].set()
    assert await asyncio.wait_for(asyncio.gather(*jobs), 10) == [f"h:{n}" for n in names]
    passwords.close()
