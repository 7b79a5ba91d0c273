"""``python -m benchmarks``: one run, every row, the table, docs/benchmarks.json and .png.

Timing: for each row, every implementation is calibrated to a batch of about
``--batch-ms`` milliseconds, then ``--rounds`` rounds are run, the implementations
alternating in a different order each round; each keeps its best (lowest) time per
operation. Best-of-N is what survives a noisy, shared machine, and batches are timed
in process CPU time (``time.process_time``), so time spent descheduled while other
jobs run does not count. The garbage collector is off inside a batch, as timeit does.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokensmith.jose.cache import VerifiedTokenCache
from tokensmith.jose.jwkset import JWKSet

from . import fixtures as F
from . import peers as P
from .report import chart, evaluate_targets, table

ROOT = Path(__file__).resolve().parent.parent
Op = Callable[[], Any]


def _batch(fn: Op, n: int) -> float:
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = time.process_time()
        for _ in range(n):
            fn()
        return time.process_time() - start
    finally:
        if gc_was:
            gc.enable()


def _calibrate(fn: Op, batch_s: float) -> int:
    n = 1
    while True:
        elapsed = _batch(fn, n)
        if elapsed >= batch_s / 4 or n >= 1_000_000:
            return max(1, int(n * batch_s / max(elapsed, 1e-9)))
        n *= 4


def measure(candidates: dict[str, Op], rounds: int, batch_s: float) -> dict[str, float]:
    """Best µs per operation for each candidate, interleaved over ``rounds``."""
    names = list(candidates)
    sizes = {name: _calibrate(candidates[name], batch_s) for name in names}
    best = dict.fromkeys(names, float("inf"))
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        if r % 2:
            order.reverse()
        for name in order:
            per_op = _batch(candidates[name], sizes[name]) / sizes[name]
            best[name] = min(best[name], per_op)
    return {name: best[name] * 1e6 for name in names}


def _build(factories: dict[str, Callable[..., Op]], *args: Any) -> tuple[dict[str, Op], dict]:
    ops: dict[str, Op] = {}
    notes: dict[str, str] = {}
    for name, factory in factories.items():
        try:
            op = factory(*args)
            op()  # it must work before it is timed
        except P.Unsupported as exc:
            notes[name] = str(exc)
            continue
        except Exception as exc:  # a peer that refuses this algorithm or key
            notes[name] = f"{type(exc).__name__}: {exc}"[:160]
            continue
        ops[name] = op
    return ops, notes


def _check_verifiers(ops: dict[str, Op], key: F.SigningKey) -> dict[str, str]:
    """Each verifier must return the claims, and refuse a token for another audience
    (proof that it validates claims, not just the signature)."""
    notes = {}
    wrong = F.token_for(key, F.access_token_claims(aud="https://other.example.com"))
    for name in list(ops):
        claims = ops[name]()
        if dict(claims).get("sub") != "user-8c1f2a":
            notes[name] = "returned the wrong claims: not timed"
            del ops[name]
            continue
        factory = P.VERIFIERS[name]
        try:
            factory(key, wrong)()
        except Exception:  # noqa: S112 - refusing is what we want
            continue
        notes[name] = "accepted a token for another audience: not timed"
        del ops[name]
    return notes


def run_verify(alg: str, rounds: int, batch_s: float) -> dict[str, Any]:
    key = F.signing_key(alg)
    token = F.token_for(key)
    ops, notes = _build(P.VERIFIERS, key, token)
    notes.update(_check_verifiers(ops, key))
    ops = {"raw": P.raw_verify(key, token), "floor": P.floor_verify(key, token), **ops}
    return {"op": "verify", "alg": alg, "us": measure(ops, rounds, batch_s), "notes": notes}


def run_sign(alg: str, rounds: int, batch_s: float) -> dict[str, Any]:
    key = F.signing_key(alg)
    claims = F.access_token_claims()
    ops, notes = _build(P.SIGNERS, key, claims)
    for op in ops.values():  # every signer's token must verify in tokensmith
        F.jwt.decode(op(), key.jwk_public, policy=F.policy())
    ops = {"raw": P.raw_sign(key), "floor": P.floor_sign(key, claims), **ops}
    return {"op": "sign", "alg": alg, "us": measure(ops, rounds, batch_s), "notes": notes}


def jwe_available() -> bool:
    try:
        from tokensmith.jose import jwe  # noqa: F401
    except ImportError:
        return False
    return True


def run_jwe(alg: str, enc: str, rounds: int, batch_s: float) -> list[dict[str, Any]]:
    key = F.encryption_key(alg, enc)
    plaintext = json.dumps(F.access_token_claims()).encode()
    enc_ops, enc_notes = _build(P.ENCRYPTERS, key, plaintext)
    token = P.tokensmith_encrypt(key, plaintext)()
    dec_ops, dec_notes = _build(P.DECRYPTERS, key, token)
    for name, op in dec_ops.items():
        if op() != plaintext:
            dec_notes[name] = "decrypted to something else"
    for name, op in enc_ops.items():  # every peer's JWE must decrypt in tokensmith
        if P.tokensmith_decrypt(key, op())() != plaintext:
            enc_notes[name] = "its JWE does not decrypt in tokensmith"
    label = f"{alg}+{enc}"
    return [
        {
            "op": "encrypt",
            "alg": label,
            "us": measure(enc_ops, rounds, batch_s),
            "notes": enc_notes,
        },
        {
            "op": "decrypt",
            "alg": label,
            "us": measure(dec_ops, rounds, batch_s),
            "notes": dec_notes,
        },
    ]


def run_cache(rounds: int, batch_s: float, n_entries: int) -> dict[str, Any]:
    key = F.signing_key("ES256")
    jwks = JWKSet([key.jwk_public])
    pol = F.policy()
    token = F.token_for(key)
    hit_cache = VerifiedTokenCache(pol)
    hit_cache.decode(token, jwks)
    # A miss: two tokens alternating through a one-entry cache, so each call verifies.
    pair = [F.token_for(key), F.token_for(key)]
    miss_cache = VerifiedTokenCache(pol, max_entries=1)
    flip = [0]

    def miss() -> Any:
        flip[0] ^= 1
        return miss_cache.decode(pair[flip[0]], jwks)

    us = measure(
        {
            "ES256 raw": P.raw_verify(key, token),
            "cache hit": lambda: hit_cache.decode(token, jwks),
            "cache miss": miss,
            "no cache": lambda: F.jwt.decode(token, jwks, policy=pol),
        },
        rounds,
        batch_s,
    )
    assert miss_cache.hits == 0
    # Memory: distinct typical access tokens, each string made inside the traced window
    # and kept only by the cache, so the figure includes the token itself.
    tokens = [F.token_for(key) for _ in range(n_entries)]
    cache = VerifiedTokenCache(pol, max_entries=n_entries)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for t in tokens:
        cache.decode("".join(t), jwks)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(cache) == n_entries
    return {
        "us": us,
        "token_chars": len(token),
        "bytes_per_entry": (after - before) / n_entries,
        "estimated_bytes_per_entry": cache.estimated_bytes / n_entries,
        "entries_measured": n_entries,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations: a smoke test")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--batch-ms", type=float, default=None)
    parser.add_argument("--out-json", type=Path, default=ROOT / "docs" / "benchmarks.json")
    parser.add_argument("--out-png", type=Path, default=ROOT / "docs" / "benchmarks.png")
    parser.add_argument("--no-png", action="store_true")
    parser.add_argument("--only", choices=["verify", "sign", "jwe", "cache"], action="append")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 15)
    batch_s = (args.batch_ms or (2.0 if args.quick else 12.0)) / 1000
    groups = args.only or ["verify", "sign", "jwe", "cache"]

    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    started = time.time()
    for alg in F.SIGN_ALGS:
        if "verify" in groups:
            rows.append(run_verify(alg, rounds, batch_s))
            print(f"  verify {alg} done", file=sys.stderr)
        if "sign" in groups:
            rows.append(run_sign(alg, rounds, batch_s))
            print(f"  sign {alg} done", file=sys.stderr)
    if "jwe" in groups:
        if jwe_available():
            for alg, enc in F.JWE_CASES:
                rows.extend(run_jwe(alg, enc, rounds, batch_s))
                print(f"  jwe {alg}+{enc} done", file=sys.stderr)
        else:
            notes.append("JWE rows skipped: tokensmith.jose.jwe is not importable yet")
            print(notes[-1])
    cache_result = None
    if "cache" in groups:
        cache_result = run_cache(rounds, batch_s, 200 if args.quick else 5000)
    peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {
        "meta": {
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "command": "python -m benchmarks" + (" --quick" if args.quick else ""),
            "quick": args.quick,
            "rounds": rounds,
            "batch_ms": batch_s * 1000,
            "seconds": round(time.time() - started, 1),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "versions": P.versions(),
            "peak_rss_mib": round(peak_rss_kib / 1024, 1),
            "notes": notes,
        },
        "rows": rows,
        "cache": cache_result,
    }
    result["targets"] = evaluate_targets(result)
    print(table(result))
    args.out_json.parent.mkdir(parents=True, exist_ok=True)
    args.out_json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out_json}")
    if not args.no_png:
        chart(result, args.out_png)
        print(f"wrote {args.out_png}")
    return 0
