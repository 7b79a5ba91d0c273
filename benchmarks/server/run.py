"""``tokensmith serve`` beside djangorestframework-simplejwt, on loopback (issue 5).

Not a timed test: it measures and prints, and asserts nothing about speed.

Both servers run as real processes on 127.0.0.1 with one worker each: tokensmith under
uvicorn (its own ``serve`` command, SQLite in a temp data dir), simplejwt (rotation +
blacklist, SQLite) under gunicorn's threaded worker (or uvicorn with Django's ASGI app
when gunicorn is missing). Both hash passwords with argon2id at tokensmith's default
parameters and sign ES256 access tokens.

Measured at concurrency 16 (keep-alive connections, closed loop), in rounds that
alternate the servers (A, B, A, B, ...) so a burst of outside load hits both alike; the
best round counts and the spread over rounds is reported:

- login, refresh (each client follows its own rotating chain), and JWKS for tokensmith /
  the verify endpoint for simplejwt (it has no JWKS);
- the argon2 ceiling: hashes/s with tokensmith's parameters on one thread per core, in
  this process while the servers idle, right before and right after each login run (half
  as long each); login req/s divided by their mean, per round, and the median over the
  rounds (the host's own speed drifts by tens of percent within a minute here: a login
  run is only compared with argon2 measured around it);
- refresh p99 under a light paced load, idle and during a login flood.

Then the scale-out part (``scale.py``, issue 8): the embedded default beside PostgreSQL +
Redis with 1 and 3 instances, for login, refresh and a protected route (``--no-scale``
leaves it out; skipped when PostgreSQL or Redis does not answer).

``--quick`` does all of it in a few seconds (a smoke test that it still runs).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argon2.low_level import Type, hash_secret_raw

from tokensmith.jose import JWK
from tokensmith.settings import Settings

from .load import Connection, Run, Step, drive, encode_request, repeat, run_async

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_JSON = ROOT / "docs" / "benchmarks-server.json"
PASSWORD = "bench-password-" + "x" * 8  # a throwaway account on loopback

#: tokensmith's argon2id defaults, read from its settings so both sides hash the same way
ARGON2 = {
    name: Settings.model_fields[f"argon2_{name}"].default
    for name in ("time_cost", "memory_cost", "parallelism")
}

TARGETS = {
    "refresh_vs_simplejwt": 3.0,  # tokensmith refresh req/s >= 3x simplejwt's
    "login_vs_argon2_ceiling": 0.90,  # login req/s >= 90% of argon2 hashes/s
    "flood_p99_vs_idle": 4.0,  # refresh p99 during a login flood < 4x idle
}


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its live descendants (Linux /proc; the
    gunicorn worker is the master's child), or None elsewhere."""
    total, stack, ticks = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    try:
        while stack:
            current = stack.pop()
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
            stack.extend(int(child) for child in children.split())
    except (OSError, ValueError):
        return None
    return total


def on_server(server: Server, run: Any) -> Run:
    """Run the coroutine ``run`` and note the server's CPU time it took."""
    return on_processes([server.pid], run)


def on_processes(pids: list[int], run: Any) -> Run:
    """Run the coroutine ``run`` and note the CPU time the processes ``pids`` (and their
    descendants) took meanwhile, summed."""

    def total() -> float | None:
        values = [cpu_seconds(pid) for pid in pids]
        return None if None in values else sum(v for v in values if v is not None)

    before = total()
    result: Run = run_async(run)
    after = total()
    if before is not None and after is not None:
        result.server_cpu_s = after - before
    return result


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (loopback)
                if answer.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


# --- the two servers -----------------------------------------------------------------


@dataclass
class Server:
    """How to talk to one server; ``third`` is the op of the third row."""

    name: str
    port: int
    pid: int
    how: str
    login_path: str
    refresh_path: str
    refresh_field_in: str  # the refresh token's member in the request
    refresh_field_out: str  # ... and in the answer
    third: str  # "jwks" or "verify"

    def login_body(self, user: int) -> dict[str, str]:
        return {"username": f"bench{user}", "password": PASSWORD}

    async def login(self, conn: Connection, user: int) -> dict[str, Any]:
        answer: dict[str, Any] = await conn.request("POST", self.login_path, self.login_body(user))
        return answer

    async def refresh(self, conn: Connection, token: str) -> str:
        answer = await conn.request("POST", self.refresh_path, {self.refresh_field_in: token})
        return str(answer[self.refresh_field_out])


def tokensmith_env(data_dir: Path, concurrency: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TOKENSMITH_LOG_LEVEL": "warning",
            # the users are registered over HTTP from one address: lift that limit only
            "TOKENSMITH_RATE_REGISTER_LIMIT": str(max(1000, 4 * concurrency)),
            "TOKENSMITH_DATA_DIR": str(data_dir),
        }
    )
    for name, value in ARGON2.items():
        env[f"TOKENSMITH_ARGON2_{name.upper()}"] = str(value)
    return env


@contextmanager
def tokensmith_server(tmp: Path, concurrency: int, users: int) -> Iterator[Server]:
    port = free_port()
    exe = Path(sys.executable).with_name("tokensmith")
    command = [str(exe)] if exe.exists() else [shutil.which("tokensmith") or "tokensmith"]
    process = subprocess.Popen(  # noqa: S603
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=tokensmith_env(tmp / "tokensmith", concurrency),
        stdout=subprocess.DEVNULL,
        cwd=tmp,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process)
        server = Server(
            name="tokensmith",
            port=port,
            pid=process.pid,
            how="tokensmith serve: uvicorn, 1 process, SQLite (WAL), "
            f"argon2 in {cores()} threads (password_workers = CPUs)",
            login_path="/auth/login",
            refresh_path="/auth/refresh",
            refresh_field_in="refresh_token",
            refresh_field_out="refresh_token",
            third="jwks",
        )

        async def register() -> None:
            conn = Connection(port)
            for i in range(users):
                await conn.request("POST", "/auth/register", server.login_body(i), expect=201)
            await conn.close()

        run_async(register())
        yield server
    finally:
        stop(process)


@contextmanager
def simplejwt_server(tmp: Path, concurrency: int, users: int) -> Iterator[Server]:
    port = free_port()
    key = JWK.generate("ES256", kid="simplejwt")
    (tmp / "simplejwt.pem").write_bytes(key.to_pem())
    (tmp / "simplejwt.pub.pem").write_bytes(key.public().to_pem())
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "benchmarks.server.simplejwt_app.settings",
            "BENCH_DJANGO_DB": str(tmp / "simplejwt.db"),
            "BENCH_DJANGO_KEY": str(tmp / "simplejwt.pem"),
            "BENCH_DJANGO_PUBLIC_KEY": str(tmp / "simplejwt.pub.pem"),
            "BENCH_DJANGO_SECRET": secrets.token_urlsafe(32),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        }
    )
    for name, value in ARGON2.items():
        env[f"BENCH_ARGON2_{name.upper()}"] = str(value)
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "benchmarks.server.simplejwt_app.setup_db", str(users), PASSWORD],
        env=env,
        cwd=ROOT,
        check=True,
    )
    if importlib.util.find_spec("gunicorn") is not None:
        threads = concurrency
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "benchmarks.server.simplejwt_app.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "60",
            "--log-level",
            "warning",
            *(["--no-control-socket"] if _gunicorn_has("--no-control-socket") else []),
        ]
        how = f"gunicorn, 1 worker, gthread with {threads} threads, SQLite (WAL)"
    else:
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.server.simplejwt_app.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        how = "uvicorn + Django ASGI, 1 process (sync views on one thread), SQLite (WAL)"
    process = subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/token/verify/", process)
        yield Server(
            name="simplejwt",
            port=port,
            pid=process.pid,
            how=how,
            login_path="/api/token/",
            refresh_path="/api/token/refresh/",
            refresh_field_in="refresh",
            refresh_field_out="refresh",
            third="verify",
        )
    finally:
        stop(process)


def _gunicorn_has(flag: str) -> bool:
    from gunicorn.config import KNOWN_SETTINGS

    return any(flag in (setting.cli or ()) for setting in KNOWN_SETTINGS)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


# --- scenarios -----------------------------------------------------------------------


async def login_run(server: Server, clients: int, seconds: float) -> Run:
    """Client ``i`` logs in as user ``i`` again and again."""
    messages = [
        encode_request("POST", server.login_path, server.login_body(i)) for i in range(clients)
    ]
    return await repeat(server.port, messages, seconds)


async def fresh_chains(server: Server, clients: int) -> list[str]:
    conn = Connection(server.port)
    try:
        tokens = []
        for i in range(clients):
            answer = await server.login(conn, i)
            tokens.append(str(answer[server.refresh_field_out]))
        return tokens
    finally:
        await conn.close()


async def refresh_run(
    server: Server, chains: list[str], seconds: float, *, pause: float = 0.0
) -> Run:
    """Client ``i`` refreshes chain ``i``: every answer's refresh token is the next one
    presented (rotation). A broken chain logs in again (counted as an error)."""

    def step(i: int) -> Step:
        async def one(conn: Connection) -> None:
            chains[i] = await server.refresh(conn, chains[i])

        return one

    async def recover(i: int, conn: Connection) -> None:
        answer = await server.login(conn, i)
        chains[i] = str(answer[server.refresh_field_out])

    return await drive(
        server.port, [step(i) for i in range(len(chains))], seconds, pause=pause, recover=recover
    )


async def access_tokens(server: Server, clients: int) -> list[str]:
    conn = Connection(server.port)
    try:
        return [str((await server.login(conn, i))["access"]) for i in range(clients)]
    finally:
        await conn.close()


async def third_run(server: Server, access: list[str], seconds: float) -> Run:
    """tokensmith: GET the JWKS; simplejwt: POST one of ``access`` to its verify view."""
    if server.third == "jwks":
        messages = [encode_request("GET", "/.well-known/jwks.json")] * len(access)
    else:
        messages = [
            encode_request("POST", "/api/token/verify/", {"token": token}) for token in access
        ]
    return await repeat(server.port, messages, seconds)


async def flood_run(
    server: Server, probes: int, flooders: int, seconds: float, pause: float
) -> tuple[Run, Run]:
    """Light paced refresh load (``probes`` chains, ``pause`` s apart) while
    ``flooders`` clients log in as fast as the server answers."""
    chains = await fresh_chains(server, probes)
    refresh, login = await asyncio.gather(
        refresh_run(server, chains, seconds, pause=pause),
        login_run(server, flooders, seconds),
    )
    return refresh, login


@dataclass
class Ceiling:
    """argon2id alone: hashes/s on the wall clock, and CPU seconds per hash."""

    hashes_per_s: float
    cpu_s_per_hash: float

    @staticmethod
    def around(before: Ceiling, after: Ceiling) -> Ceiling:
        """The mean of two equally long measurements, one on each side of a run."""
        return Ceiling(
            (before.hashes_per_s + after.hashes_per_s) / 2,
            (before.cpu_s_per_hash + after.cpu_s_per_hash) / 2,
        )


def argon2_ceiling(threads: int, seconds: float) -> Ceiling:
    """argon2id hashes/s with tokensmith's parameters, ``threads`` at once (argon2-cffi
    releases the GIL while hashing), and the CPU time per hash (thread CPU clock: what
    other work on a shared machine does not inflate)."""
    rates = [0.0] * threads
    cpu = [0.0] * threads
    counts = [0] * threads
    start = threading.Barrier(threads)

    def work(i: int) -> None:
        salt = secrets.token_bytes(16)
        start.wait()
        began, cpu_began = time.perf_counter(), time.thread_time()
        deadline, count, last = began + seconds, 0, began
        while last < deadline:
            hash_secret_raw(
                PASSWORD.encode(),
                salt,
                time_cost=ARGON2["time_cost"],
                memory_cost=ARGON2["memory_cost"],
                parallelism=ARGON2["parallelism"],
                hash_len=32,
                type=Type.ID,
            )
            count += 1
            last = time.perf_counter()
        rates[i] = count / (last - began)
        cpu[i], counts[i] = time.thread_time() - cpu_began, count

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return Ceiling(sum(rates), sum(cpu) / sum(counts))


# --- the run -------------------------------------------------------------------------


@dataclass
class Plan:
    concurrency: int
    rounds: int
    seconds: float
    flood_seconds: float
    probes: int
    probe_pause: float


def measure(plan: Plan, tmp: Path) -> dict[str, Any]:
    n = cores()
    with (
        tokensmith_server(tmp, plan.concurrency, plan.concurrency) as ts,
        simplejwt_server(tmp, plan.concurrency, plan.concurrency) as sj,
    ):
        servers = [ts, sj]
        for server in servers:  # warm up: imports, caches, the first SQLite pages
            run_async(login_run(server, plan.concurrency, min(plan.seconds, 1.0)))
            chains = run_async(fresh_chains(server, plan.concurrency))
            run_async(refresh_run(server, chains, min(plan.seconds, 1.0)))
        runs: dict[tuple[str, str], list[Run]] = {}
        ceilings: dict[str, list[Ceiling]] = {s.name: [] for s in servers}
        floods: dict[str, list[tuple[Run, Run, Run]]] = {s.name: [] for s in servers}
        for r in range(plan.rounds):
            order = servers if r % 2 == 0 else servers[::-1]  # A, B, then B, A: fair turns
            for server in order:
                c = plan.concurrency
                # argon2 alone right before and right after each login run: a drift of
                # the host's speed over the run cancels out in the pair's mean
                before = argon2_ceiling(n, plan.seconds / 2)
                runs.setdefault(("login", server.name), []).append(
                    on_server(server, login_run(server, c, plan.seconds))
                )
                after = argon2_ceiling(n, plan.seconds / 2)
                ceilings[server.name].append(Ceiling.around(before, after))
                chains = run_async(fresh_chains(server, c))
                runs.setdefault(("refresh", server.name), []).append(
                    on_server(server, refresh_run(server, chains, plan.seconds))
                )
                access = (
                    run_async(access_tokens(server, c)) if server.third == "verify" else [""] * c
                )
                runs.setdefault((server.third, server.name), []).append(
                    on_server(server, third_run(server, access, plan.seconds))
                )
            for server in order:
                chains = run_async(fresh_chains(server, plan.probes))
                idle = run_async(
                    refresh_run(server, chains, plan.flood_seconds, pause=plan.probe_pause)
                )
                flooded, logins = run_async(
                    flood_run(
                        server, plan.probes, plan.concurrency, plan.flood_seconds, plan.probe_pause
                    )
                )
                floods[server.name].append((idle, flooded, logins))
        return report(plan, servers, runs, ceilings, floods, n)


def _best(runs: list[Run]) -> Run:
    return max(runs, key=lambda run: run.requests_per_s)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def summarize(found: list[Run]) -> dict[str, Any]:
    """The best of ``found`` (by requests/s), the spread over them, the fewest server CPU
    ms per request, and every error."""
    best = _best(found)
    rates = [run.requests_per_s for run in found]
    cpus = [c for c in (run.cpu_ms_per_request for run in found) if c is not None]
    return {
        "requests_per_s": round(best.requests_per_s, 1),
        "spread": [round(min(rates), 1), round(max(rates), 1)],
        "p50_ms": _ms(best.percentile_ms(0.5)),
        "p99_ms": _ms(best.percentile_ms(0.99)),
        "requests": len(best.latencies),
        "server_cpu_ms_per_request": _ms(min(cpus)) if cpus else None,
        "errors": sum(run.errors for run in found),
        "first_error": next((r.first_error for r in found if r.first_error), None),
    }


def report(
    plan: Plan,
    servers: list[Server],
    runs: dict[tuple[str, str], list[Run]],
    ceilings: dict[str, list[Ceiling]],
    floods: dict[str, list[tuple[Run, Run, Run]]],
    n: int,
) -> dict[str, Any]:
    rows = []
    for op in ("login", "refresh", "jwks", "verify"):
        for server in servers:
            found = runs.get((op, server.name))
            if found is None:
                continue
            rows.append({"op": op, "server": server.name, **summarize(found)})
    rate = {(row["op"], row["server"]): row["requests_per_s"] for row in rows}
    all_ceilings = [c for per in ceilings.values() for c in per]
    ceiling = max(c.hashes_per_s for c in all_ceilings)
    cpu_per_hash = min(c.cpu_s_per_hash for c in all_ceilings)
    login_vs: dict[str, Any] = {}
    for server in servers:
        logins = runs[("login", server.name)]
        paired = [
            run.requests_per_s / c.hashes_per_s
            for run, c in zip(logins, ceilings[server.name], strict=True)
            if c.hashes_per_s
        ]
        # argon2 CPU per hash / the server's CPU per login: the share of a login's CPU
        # that is the hash, i.e. the ratio on dedicated cores
        cpu_paired = [
            c.cpu_s_per_hash * 1e3 / run.cpu_ms_per_request
            for run, c in zip(logins, ceilings[server.name], strict=True)
            if run.cpu_ms_per_request
        ]
        login_vs[server.name] = {
            # login / argon2 measured around it, per round, and their median (the
            # target's figure)
            "wall": _round(statistics.median(paired), 3) if paired else None,
            "wall_paired_per_round": [round(v, 3) for v in paired],
            # the best login round / the best argon2 round, whenever each was measured
            "wall_best_over_best": _round(rate[("login", server.name)] / ceiling, 3),
            "cpu": _round(statistics.median(cpu_paired), 3) if cpu_paired else None,
            "cpu_paired_per_round": [round(v, 3) for v in cpu_paired],
        }
    flood_out: dict[str, Any] = {}
    for name, triples in floods.items():
        idle_p99 = [t[0].percentile_ms(0.99) for t in triples]
        flood_p99 = [t[1].percentile_ms(0.99) for t in triples]
        idle_ok = [v for v in idle_p99 if v is not None]
        flood_ok = [v for v in flood_p99 if v is not None]
        best_idle = min(idle_ok) if idle_ok else None
        best_flood = min(flood_ok) if flood_ok else None
        flood_out[name] = {
            "idle_p99_ms": _ms(best_idle),
            "idle_p99_spread_ms": [_ms(min(idle_ok)), _ms(max(idle_ok))] if idle_ok else None,
            "flood_p99_ms": _ms(best_flood),
            "flood_p99_spread_ms": [_ms(min(flood_ok)), _ms(max(flood_ok))] if flood_ok else None,
            "ratio": round(best_flood / best_idle, 2) if best_idle and best_flood else None,
            "idle_p50_ms": _ms(min(t[0].percentile_ms(0.5) or 0.0 for t in triples)),
            "flood_p50_ms": _ms(min(t[1].percentile_ms(0.5) or 0.0 for t in triples)),
            "flood_logins_per_s": round(max(t[2].requests_per_s for t in triples), 1),
            "refresh_errors": sum(t[0].errors + t[1].errors for t in triples),
            "login_errors": sum(t[2].errors for t in triples),
        }
    ts_refresh = rate.get(("refresh", "tokensmith"), 0.0)
    sj_refresh = rate.get(("refresh", "simplejwt"), 0.0)
    refresh_ratio = ts_refresh / sj_refresh if sj_refresh else None
    cpu = {(row["op"], row["server"]): row["server_cpu_ms_per_request"] for row in rows}
    ts_cpu, sj_cpu = cpu.get(("refresh", "tokensmith")), cpu.get(("refresh", "simplejwt"))
    # on dedicated cores a CPU-bound server's req/s is the inverse of its CPU per request
    refresh_cpu_ratio = sj_cpu / ts_cpu if ts_cpu and sj_cpu else None
    login_ratio = login_vs["tokensmith"]["wall"]
    cpu_login_ratio = login_vs["tokensmith"]["cpu"]
    flood_ratio = flood_out["tokensmith"]["ratio"]
    targets = [
        {
            "name": "refresh >= 3x simplejwt",
            "value": _round(refresh_ratio, 2),
            "target": TARGETS["refresh_vs_simplejwt"],
            "met": refresh_ratio is not None and refresh_ratio >= 3.0,
            "cpu_based": _round(refresh_cpu_ratio, 2),
        },
        {
            "name": "login >= 90% of the argon2 ceiling",
            "value": _round(login_ratio, 3),
            "target": TARGETS["login_vs_argon2_ceiling"],
            "met": login_ratio is not None and login_ratio >= 0.90,
            "cpu_based": cpu_login_ratio,
        },
        {
            "name": "refresh p99 in a login flood < 4x idle",
            "value": flood_ratio,
            "target": TARGETS["flood_p99_vs_idle"],
            "met": flood_ratio is not None and flood_ratio < 4.0,
            "cpu_based": None,
        },
    ]
    return {
        "machine": {
            "cores": n,
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "plan": {
            "concurrency": plan.concurrency,
            "rounds": plan.rounds,
            "seconds_per_run": plan.seconds,
            "flood_seconds": plan.flood_seconds,
            "flood_probe_clients": plan.probes,
            "flood_probe_pause_s": plan.probe_pause,
        },
        "servers": {server.name: server.how for server in servers},
        "argon2": {
            **ARGON2,
            "threads": n,
            "hashes_per_s": round(ceiling, 1),
            "spread": [
                round(min(c.hashes_per_s for c in all_ceilings), 1),
                round(ceiling, 1),
            ],
            "cpu_ms_per_hash": round(cpu_per_hash * 1e3, 2),
            "cpu_ceiling_hashes_per_s": round(n / cpu_per_hash, 1),
            "login_vs_ceiling": login_vs,
        },
        "rows": rows,
        "flood": flood_out,
        "targets": targets,
    }


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def print_table(result: dict[str, Any]) -> None:
    plan = result["plan"]
    print(
        f"concurrency {plan['concurrency']}, {plan['rounds']} interleaved rounds of "
        f"{plan['seconds_per_run']} s, best round shown [spread over rounds]; "
        f"{result['machine']['cores']} cores"
    )
    for name, how in result["servers"].items():
        print(f"  {name}: {how}")
    print(
        f"{'op':<9}{'server':<12}{'req/s':>8}  {'[spread]':<13}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'server CPU ms/req':>19}"
    )
    for row in result["rows"]:
        lo, hi = row["spread"]
        cpu = row["server_cpu_ms_per_request"]
        cells = [
            f"{row['op']:<9}{row['server']:<12}{row['requests_per_s']:>8.1f}  ",
            f"{f'[{lo:.0f}-{hi:.0f}]':<13}",
            f"{_cell(row['p50_ms']):>8}{_cell(row['p99_ms']):>8}{_cell(cpu):>19}",
        ]
        if row["errors"]:
            cells.append(f"  ({row['errors']} errors: {row['first_error']})")
        print("".join(cells))
    print(
        "  jwks: tokensmith's GET /.well-known/jwks.json; simplejwt publishes no JWKS, its "
        "row is POST /api/token/verify/ (an ES256 signature check)"
    )
    a = result["argon2"]
    print(
        f"argon2id t={a['time_cost']} m={a['memory_cost']} KiB p={a['parallelism']}, "
        f"{a['threads']} threads: {a['hashes_per_s']:.1f} hashes/s "
        f"[{a['spread'][0]:.1f}-{a['spread'][1]:.1f}], {a['cpu_ms_per_hash']} ms CPU per hash "
        f"(dedicated cores: {a['cpu_ceiling_hashes_per_s']} hashes/s)"
    )
    for name, v in a["login_vs_ceiling"].items():
        paired = ", ".join(f"{x:.0%}" for x in v["wall_paired_per_round"])
        cpu = "-" if v["cpu"] is None else f"{v['cpu']:.1%}"
        wall = "-" if v["wall"] is None else f"{v['wall']:.1%}"
        print(
            f"  login / argon2 around it, {name}: median {wall} (per round {paired}); "
            f"best / best {v['wall_best_over_best']:.1%}; by CPU time, median {cpu}"
        )
    for name, f in result["flood"].items():
        print(
            f"refresh p99 {name}: idle {f['idle_p99_ms']} ms, during a login flood "
            f"({f['flood_logins_per_s']} logins/s) {f['flood_p99_ms']} ms -> x{f['ratio']}"
        )
    print("targets:")
    for t in result["targets"]:
        mark = "met" if t["met"] else "MISSED"
        by_cpu = "" if t["cpu_based"] is None else f"; by server CPU time: {t['cpu_based']}"
        print(f"  {t['name']:<42} {t['value']!s:>8}  (target {t['target']})  {mark}{by_cpu}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few seconds in all (smoke test)")
    parser.add_argument("--json", type=Path, default=None, help=f"default {DEFAULT_JSON}")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="per measured run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--no-scale", action="store_true", help="skip the PostgreSQL + Redis scale-out part"
    )
    args = parser.parse_args(argv)
    if args.quick:
        plan = Plan(args.concurrency, args.rounds or 1, args.seconds or 0.4, 0.4, 2, 0.02)
    else:
        seconds = args.seconds or 4.0
        plan = Plan(args.concurrency, args.rounds or 6, seconds, seconds, 4, 0.02)
    from .scale import measure_scale, print_scale

    with tempfile.TemporaryDirectory(prefix="tokensmith-bench-server-") as tmp:
        result = {"quick": args.quick, **measure(plan, Path(tmp))}
        if not args.no_scale:
            result["scale"] = measure_scale(plan, Path(tmp), quick=args.quick)
    print_table(result)
    if "scale" in result:
        print_scale(result["scale"])
    out = args.json or DEFAULT_JSON
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 0
