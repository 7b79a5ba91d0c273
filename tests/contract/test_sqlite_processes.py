"""Several OS processes on one SQLite file (the embedded default, scaled to workers):
concurrent refreshes of one token from different processes make exactly one rotation,
and every process gets the same child (S25). This goes through SQLite's file locks and
busy timeout, which one process's single writer thread never meets."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from pathlib import Path

from tokensmith.issuer import Issuer
from tokensmith.store import open_stores

from .support import MASTER_KEY, T0, CountingHasher, FakeClock, make_config

PASSWORD = "correct horse battery staple"
PROCESSES = 4
PER_PROCESS = 10


async def _refresh_many(url: str, token: str, barrier: object) -> list[str]:
    stores = await open_stores(url, migrate=False)
    issuer = await Issuer.open(
        make_config(),
        stores,
        master_key=MASTER_KEY,
        clock=FakeClock(T0 + 1),
        hasher=CountingHasher(),
    )
    try:
        barrier.wait()  # type: ignore[attr-defined]
        pairs = await asyncio.gather(
            *(issuer.refresh(refresh_token=token) for _ in range(PER_PROCESS))
        )
        return [p.refresh_token for p in pairs]
    finally:
        await issuer.close()
        await stores.close()


def _worker(url: str, token: str, barrier: object, results: object) -> None:
    results.put(asyncio.run(_refresh_many(url, token, barrier)))  # type: ignore[attr-defined]


async def _login(url: str) -> str:
    stores = await open_stores(url)
    issuer = await Issuer.open(
        make_config(),
        stores,
        master_key=MASTER_KEY,
        clock=FakeClock(T0),
        hasher=CountingHasher(),
    )
    try:
        await issuer.register(username="alice", password=PASSWORD)
        return (await issuer.login(username="alice", password=PASSWORD)).refresh_token
    finally:
        await issuer.close()
        await stores.close()


async def _rotations(url: str) -> tuple[int, int]:
    stores = await open_stores(url, migrate=False)
    try:
        events = await stores.audit.list(kind="refresh", limit=1000)
        return len(events), sum(1 for e in events if not e.details["grace_retry"])
    finally:
        await stores.close()


def test_s25_refreshes_from_several_processes_make_one_rotation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tokensmith.db'}"
    token = asyncio.run(_login(url))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(url, token, barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    children = []
    for _ in range(900):  # up to 90 s; stop early when a worker died
        try:
            children.append(results.get(timeout=0.1))
        except queue.Empty:
            if any(w.exitcode not in (None, 0) for w in workers):
                break
        if len(children) == PROCESSES:
            break
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    every = [child for batch in children for child in batch]
    assert len(every) == PROCESSES * PER_PROCESS
    assert len(set(every)) == 1
    assert asyncio.run(_rotations(url)) == (PROCESSES * PER_PROCESS, 1)
