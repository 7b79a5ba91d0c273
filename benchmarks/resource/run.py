"""The API side's costs, measured in-process (not a timed test; it asserts nothing).

1. A FastAPI route without auth, behind ``BearerAuthMiddleware`` with ES256 tokens and
   the verified-token cache on, and with it off; as requests/s and as a ratio of the
   no-auth throughput (issue 7 targets: >= 85% with the cache, >= 70% without). Twice:
   called as an ASGI app in-process (no network or HTTP parsing: the strictest
   comparison, all the time left is the app's), and served by uvicorn (one process)
   to 16 keep-alive connections of a raw-socket client (what a deployment sees).
2. The revocation check with 100,000 denylist entries: ns per check, and the extra cost
   per verification (cache-hit path) with the denylist wired in (target <= 1 µs).
3. Denylist memory per entry, by tracemalloc, counting the value strings (target <= 200).

``--quick`` runs everything on a few iterations: a smoke test that it still runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tokensmith.jose import JWK, jwt
from tokensmith.resource import AccessTokenVerifier, Denylist, RevocationFeed, VerifierOptions
from tokensmith.resource.asgi import BearerAuthMiddleware

ISSUER = "https://id.example"
AUDIENCE = "orders-api"


def _tokens(key: JWK, count: int) -> list[str]:
    now = int(time.time())
    return [
        jwt.encode(
            {
                "iss": ISSUER,
                "aud": AUDIENCE,
                "sub": f"user-{i}",
                "iat": now,
                "exp": now + 3600,
                "jti": secrets.token_urlsafe(16),
                "sid": secrets.token_urlsafe(16),
                "client_id": "first-party",
                "scope": "orders:read orders:write",
                "roles": ["user"],
            },
            key,
            typ="at+jwt",
        )
        for i in range(count)
    ]


def _app(verifier: AccessTokenVerifier | None) -> Any:
    app = FastAPI()

    @app.get("/orders")
    async def orders() -> dict[str, int]:
        return {"count": 0}

    if verifier is None:
        return app
    return BearerAuthMiddleware(app, verifier=verifier)


async def _drive(app: Any, tokens: list[str], requests: int) -> float:
    """Requests per second through ``app``, cycling over ``tokens``."""
    body = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return body

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise RuntimeError(f"status {message['status']}")

    scopes = []
    for token in tokens:
        scopes.append(
            {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/orders",
                "raw_path": b"/orders",
                "query_string": b"",
                "root_path": "",
                "headers": [
                    (b"host", b"api"),
                    (b"authorization", f"Bearer {token}".encode()),
                ],
                "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80),
            }
        )
    n = len(scopes)
    for i in range(min(requests, 2 * n)):  # warm up (and fill the cache)
        await app(dict(scopes[i % n]), receive, send)
    started = time.perf_counter()
    for i in range(requests):
        await app(dict(scopes[i % n]), receive, send)
    return requests / (time.perf_counter() - started)


#: variant -> the algorithm of its tokens (ES256 is the issue's; RS256 for context:
#: its signature check costs about a third of ES256's)
VARIANTS = {
    "no_auth": "ES256",
    "middleware_cache_on": "ES256",
    "middleware_cache_off": "ES256",
    "middleware_cache_off_rs256": "RS256",
}


def throughput(quick: bool) -> dict[str, Any]:
    """In-process. Rounds interleave the variants (the best round of each counts), so a
    burst of load from elsewhere on the machine hits them all alike."""
    keys = {alg: JWK.generate(alg, kid="bench") for alg in set(VARIANTS.values())}
    tokens = {alg: _tokens(key, 10 if quick else 200) for alg, key in keys.items()}
    requests = 200 if quick else 4_000
    rounds = 1 if quick else 7
    apps: dict[str, Any] = {}
    for name, alg in VARIANTS.items():
        verifier = None
        if name != "no_auth":
            verifier = AccessTokenVerifier(
                issuer=ISSUER,
                audience=AUDIENCE,
                keys=keys[alg].public(),
                options=VerifierOptions(cache=name == "middleware_cache_on"),
            )
        apps[name] = _app(verifier)
    rates: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
    for _ in range(rounds):
        for name, alg in VARIANTS.items():
            rate = asyncio.run(_drive(apps[name], tokens[alg], requests))
            rates[name] = max(rates[name], rate)
    base = rates["no_auth"]
    return {
        name: {"requests_per_s": round(rate), "ratio_to_no_auth": round(rate / base, 3)}
        for name, rate in rates.items()
    }


async def _load(port: int, tokens: list[str], seconds: float, connections: int) -> int:
    """Requests answered 200 in ``seconds`` over ``connections`` keep-alive sockets."""
    requests = [
        (f"GET /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {t}\r\n\r\n").encode()
        for t in tokens
    ]
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker(offset: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        while time.perf_counter() < deadline:
            writer.write(requests[i % len(requests)])
            i += 1
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.split(b"\r\n")[0].decode())
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            done += 1
        writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    return done


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_throughput(quick: bool) -> dict[str, Any]:
    """The same route under uvicorn (one process per variant, all started first), driven
    over keep-alive sockets in interleaved rounds; the best round of each counts.

    Besides wall-clock requests/s (which other work on a shared machine disturbs), the
    server process's own CPU time per request is read from /proc: its inverse is the
    throughput of one dedicated core, the steadier figure on a busy machine."""
    keys = {alg: JWK.generate(alg, kid="bench") for alg in set(VARIANTS.values())}
    all_tokens = {alg: _tokens(key, 10 if quick else 200) for alg, key in keys.items()}
    seconds, connections, rounds = (0.3, 4, 1) if quick else (1.5, 16, 5)
    rates: dict[str, float] = dict.fromkeys(VARIANTS, 0.0)
    cpu_per_request: dict[str, float] = dict.fromkeys(VARIANTS, float("inf"))
    processes: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for variant, alg in VARIANTS.items():
                key_file = Path(tmp) / f"{alg}.json"
                key_file.write_text(keys[alg].public().to_json())
                ports[variant] = _free_port()
                command = [sys.executable, "-m", "benchmarks.resource.serve", variant]
                processes.append(
                    subprocess.Popen(  # noqa: S603
                        [*command, str(ports[variant]), str(key_file)],
                        cwd=Path(__file__).resolve().parents[2],
                    )
                )
            for variant, alg in VARIANTS.items():
                _wait_listening(ports[variant])
                asyncio.run(_load(ports[variant], all_tokens[alg], 0.3, connections))  # warm up
            pids = dict(zip(VARIANTS, (p.pid for p in processes), strict=True))
            for _ in range(rounds):
                for variant, alg in VARIANTS.items():
                    cpu_before = _cpu_seconds(pids[variant])
                    done = asyncio.run(_load(ports[variant], all_tokens[alg], seconds, connections))
                    cpu_after = _cpu_seconds(pids[variant])
                    rates[variant] = max(rates[variant], done / seconds)
                    if cpu_before is not None and cpu_after is not None and done:
                        used = (cpu_after - cpu_before) / done
                        cpu_per_request[variant] = min(cpu_per_request[variant], used)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(10)
    base = rates["no_auth"]
    base_cpu = cpu_per_request["no_auth"]
    out: dict[str, Any] = {}
    for name, rate in rates.items():
        row: dict[str, Any] = {
            "requests_per_s": round(rate),
            "ratio_to_no_auth": round(rate / base, 3),
        }
        cpu = cpu_per_request[name]
        if cpu not in (0.0, float("inf")) and base_cpu not in (0.0, float("inf")):
            row["server_cpu_us_per_request"] = round(cpu * 1e6, 1)
            row["cpu_ratio_to_no_auth"] = round(base_cpu / cpu, 3)
        out[name] = row
    return out


def _wait_listening(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the benchmark server on port {port} did not start")


def revocation(quick: bool) -> dict[str, Any]:
    entries = 10_000 if quick else 100_000
    feed = RevocationFeed("https://id.example", token="unused")  # noqa: S106 (never connects)
    for _ in range(entries):
        feed.denylist.add("jti", secrets.token_urlsafe(16), expires_at=time.time() + 900)
    key = JWK.generate("ES256", kid="bench")
    token = _tokens(key, 1)[0]
    claims = jwt.decode(
        token,
        key.public(),
        policy=AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key).policy,
    ).claims
    loops = 10_000 if quick else 1_000_000
    denies = feed.denylist.denies
    started = time.perf_counter()
    for _ in range(loops):
        denies(claims)
    check_ns = (time.perf_counter() - started) / loops * 1e9

    plain = AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key.public())
    guarded = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=key.public(),
        options=VerifierOptions(revocations=feed),
    )
    feed._connected = True  # measured as a healthy feed (no thread needed for the lookup)

    def per_verify(verifier: AccessTokenVerifier) -> float:
        verifier.verify(token)
        n = loops // 10
        started = time.perf_counter()
        for _ in range(n):
            verifier.verify(token)
        return (time.perf_counter() - started) / n * 1e9

    plain_ns = guarded_ns = float("inf")
    for _ in range(1 if quick else 9):  # interleaved rounds, the best of each counts
        plain_ns = min(plain_ns, per_verify(plain))
        guarded_ns = min(guarded_ns, per_verify(guarded))
    return {
        "denylist_entries": len(feed.denylist),
        "denies_ns": round(check_ns, 1),
        "verify_cache_hit_ns": round(plain_ns),
        "verify_cache_hit_with_denylist_ns": round(guarded_ns),
        "added_ns": round(guarded_ns - plain_ns, 1),
    }


def memory(quick: bool) -> dict[str, Any]:
    count = 10_000 if quick else 100_000
    values = [secrets.token_urlsafe(16) for _ in range(count)]
    expiry = [time.time() + 900 + i for i in range(count)]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    denylist = Denylist()
    for value, expires in zip(values, expiry, strict=True):
        denylist.add("jti", value, expires_at=expires)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    table = sum(s.size_diff for s in after.compare_to(before, "filename"))
    strings = sum(sys.getsizeof(v) for v in values)
    return {
        "entries": count,
        "table_bytes_per_entry": round(table / count, 1),
        "with_value_strings_bytes_per_entry": round((table + strings) / count, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.resource", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few iterations (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    results = {
        "quick": args.quick,
        "throughput": throughput(args.quick),
        "http_throughput": http_throughput(args.quick),
        "revocation": revocation(args.quick),
        "denylist_memory": memory(args.quick),
    }
    print("FastAPI route as ASGI, in-process (ES256 tokens)")
    for name, row in results["throughput"].items():
        print(f"  {name:<28} {row['requests_per_s']:>9} req/s   {row['ratio_to_no_auth']:.1%}")
    print("the same route under uvicorn (one process), over HTTP keep-alive connections")
    for name, row in results["http_throughput"].items():
        line = f"  {name:<28} {row['requests_per_s']:>9} req/s   {row['ratio_to_no_auth']:.1%}"
        if "server_cpu_us_per_request" in row:
            line += (
                f"   server CPU {row['server_cpu_us_per_request']:>6} µs/request"
                f"   {row['cpu_ratio_to_no_auth']:.1%}"
            )
        print(line)
    rev = results["revocation"]
    print(f"revocation check, {rev['denylist_entries']} entries: {rev['denies_ns']} ns per lookup;")
    print(
        f"  verify (cache hit) {rev['verify_cache_hit_ns']} ns -> "
        f"{rev['verify_cache_hit_with_denylist_ns']} ns with the denylist ({rev['added_ns']} ns)"
    )
    mem = results["denylist_memory"]
    print(
        f"denylist memory: {mem['with_value_strings_bytes_per_entry']} bytes per entry "
        f"({mem['table_bytes_per_entry']} without the value strings)"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0
