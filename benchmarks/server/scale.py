"""Scale-out figures of ``tokensmith serve`` (issue 8), in the same run as the comparison:

- ``embedded``: 1 process, SQLite in a temp data dir (the zero-setup default);
- ``pg+redis x1``: 1 process on PostgreSQL and Redis;
- ``pg+redis x3``: 3 processes on the same PostgreSQL and Redis, the virtual clients'
  connections spread round-robin over them (what a load balancer does).

For each: login, refresh (each client follows its own rotating chain) and a protected
route (``GET /userinfo`` with a bearer access token: signature, claims and the revocation
check), requests/s and p50/p99, best of the rounds, configurations interleaved per round.
The server CPU per request is the sum over the configuration's processes (not the
database's). PostgreSQL and Redis are the machine's (127.0.0.1:5432, :6379): a private
database created and dropped here, Redis keys under a unique prefix (deleted at the end).
When either does not answer, the section is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .load import Connection, Run, Step, drive, encode_request, repeat, run_async
from .run import (
    PASSWORD,
    Plan,
    _cell,
    free_port,
    on_processes,
    stop,
    summarize,
    tokensmith_env,
    wait_ready,
)

PG = ("127.0.0.1", 5432, "postgres")
REDIS = ("127.0.0.1", 6379)
CONFIGS = (("embedded", 1), ("pg+redis x1", 1), ("pg+redis x3", 3))


@dataclass
class Instances:
    name: str
    ports: list[int]
    pids: list[int]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=PG[0], port=PG[1], user=PG[2], database="postgres")
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    name = f"tokensmith_bench_{secrets.token_hex(4)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{PG[2]}@{PG[0]}:{PG[1]}/{name}"
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _drop_redis_keys(prefix: str) -> None:
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis(host=REDIS[0], port=REDIS[1])
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


@contextlib.contextmanager
def instances(
    tmp: Path, name: str, count: int, concurrency: int, shared: dict[str, str]
) -> Iterator[Instances]:
    """``count`` ``tokensmith serve`` processes with the ``shared`` settings (the first
    started alone: it migrates and creates the keys)."""
    exe = Path(sys.executable).with_name("tokensmith")
    processes: list[subprocess.Popen[bytes]] = []
    ports = [free_port() for _ in range(count)]
    try:

        def start(i: int) -> None:
            env = tokensmith_env(tmp / f"{name.replace(' ', '-')}-{i}", concurrency)
            env.update(shared)
            env.setdefault("TOKENSMITH_ISSUER", f"http://127.0.0.1:{ports[0]}")
            process = subprocess.Popen(  # noqa: S603
                [str(exe), "serve", "--host", "127.0.0.1", "--port", str(ports[i])],
                env=env,
                stdout=subprocess.DEVNULL,
                cwd=tmp,
            )
            processes.append(process)
            wait_ready(f"http://127.0.0.1:{ports[i]}/readyz", process)

        start(0)
        with ThreadPoolExecutor(max(1, count - 1)) as pool:
            list(pool.map(start, range(1, count)))
        yield Instances(name, ports, [p.pid for p in processes])
    finally:
        for process in processes:
            stop(process)


def _user(i: int) -> dict[str, str]:
    return {"username": f"scale{i}", "password": PASSWORD}


async def _register(cfg: Instances, users: int) -> None:
    conn = Connection(cfg.ports[0])
    try:
        for i in range(users):
            await conn.request("POST", "/auth/register", _user(i), expect=201)
    finally:
        await conn.close()


async def _logins(cfg: Instances, users: int) -> list[dict[str, Any]]:
    out = []
    for i in range(users):
        conn = Connection(cfg.ports[i % len(cfg.ports)])
        try:
            out.append(await conn.request("POST", "/auth/login", _user(i)))
        finally:
            await conn.close()
    return out


async def login_run(cfg: Instances, clients: int, seconds: float) -> Run:
    messages = [encode_request("POST", "/auth/login", _user(i)) for i in range(clients)]
    return await repeat(cfg.ports, messages, seconds)


async def refresh_run(cfg: Instances, clients: int, seconds: float) -> Run:
    chains = [str(a["refresh_token"]) for a in await _logins(cfg, clients)]

    def step(i: int) -> Step:
        async def one(conn: Connection) -> None:
            answer = await conn.request("POST", "/auth/refresh", {"refresh_token": chains[i]})
            chains[i] = str(answer["refresh_token"])

        return one

    async def recover(i: int, conn: Connection) -> None:
        chains[i] = str((await conn.request("POST", "/auth/login", _user(i)))["refresh_token"])

    return await drive(cfg.ports, [step(i) for i in range(clients)], seconds, recover=recover)


async def protected_run(cfg: Instances, clients: int, seconds: float) -> Run:
    tokens = [str(a["access_token"]) for a in await _logins(cfg, clients)]
    messages = [
        encode_request("GET", "/userinfo", headers={"Authorization": f"Bearer {token}"})
        for token in tokens
    ]
    return await repeat(cfg.ports, messages, seconds)


OPS = {"login": login_run, "refresh": refresh_run, "userinfo": protected_run}


def measure_scale(plan: Plan, tmp: Path, *, quick: bool = False) -> dict[str, Any]:
    """The three configurations, interleaved per round; ``{"skipped": reason}`` when
    PostgreSQL or Redis does not answer. ``quick``: 4 clients, no warm-up (a smoke test:
    starting five servers is most of its time)."""
    if not _reachable(PG[0], PG[1]):
        return {"skipped": f"PostgreSQL not reachable on {PG[0]}:{PG[1]}"}
    if not _reachable(*REDIS):
        return {"skipped": f"Redis not reachable on {REDIS[0]}:{REDIS[1]}"}
    c = min(plan.concurrency, 4) if quick else plan.concurrency
    prefix = f"tokensmith-bench-{secrets.token_hex(4)}:"
    runs: dict[tuple[str, str], list[Run]] = {}
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(pg_database())
        scaled = {
            "TOKENSMITH_DATABASE_URL": db,
            "TOKENSMITH_MASTER_KEY": secrets.token_urlsafe(32)[:43],
            "TOKENSMITH_REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
            "TOKENSMITH_REDIS_PREFIX": prefix,
        }
        stack.callback(_drop_redis_keys, prefix)
        configs = []
        for name, count in CONFIGS:
            shared = {} if name == "embedded" else dict(scaled)
            if name == "pg+redis x3":
                shared["TOKENSMITH_ISSUER"] = f"http://127.0.0.1:{configs[1].ports[0]}"
            cfg = stack.enter_context(instances(tmp, name, count, c, shared))
            if name != "pg+redis x3":  # x3 shares x1's database and users
                run_async(_register(cfg, c))
            configs.append(cfg)
        for cfg in configs if not quick else []:  # warm up every process
            run_async(login_run(cfg, c, min(plan.seconds, 1.0)))
            run_async(refresh_run(cfg, c, min(plan.seconds, 1.0)))
        for r in range(plan.rounds):
            for cfg in configs if r % 2 == 0 else configs[::-1]:
                for op, run in OPS.items():
                    runs.setdefault((op, cfg.name), []).append(
                        on_processes(cfg.pids, run(cfg, c, plan.seconds))
                    )
    rows = []
    for op in OPS:
        for name, count in CONFIGS:
            rows.append(
                {"op": op, "config": name, "instances": count, **summarize(runs[(op, name)])}
            )
    return {"configs": dict(CONFIGS), "concurrency": c, "rows": rows}


def print_scale(result: dict[str, Any]) -> None:
    if "skipped" in result:
        print(f"scale-out: skipped ({result['skipped']})")
        return
    print(
        "scale-out: PostgreSQL + Redis with 1 and 3 instances beside the embedded default, "
        f"concurrency {result['concurrency']}, best round (userinfo: a protected route)"
    )
    print(
        f"{'op':<10}{'config':<14}{'req/s':>8}  {'[spread]':<13}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'server CPU ms/req':>19}"
    )
    for row in result["rows"]:
        lo, hi = row["spread"]
        cpu = row["server_cpu_ms_per_request"]
        line = (
            f"{row['op']:<10}{row['config']:<14}{row['requests_per_s']:>8.1f}  "
            f"{f'[{lo:.0f}-{hi:.0f}]':<13}{_cell(row['p50_ms']):>8}{_cell(row['p99_ms']):>8}"
            f"{_cell(cpu):>19}"
        )
        if row["errors"]:
            line += f"  ({row['errors']} errors: {row['first_error']})"
        print(line)
