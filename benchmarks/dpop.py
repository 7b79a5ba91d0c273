"""DPoP at the API side, measured in-process (not a timed test; it asserts nothing).

What a DPoP request costs the verifier (``AccessTokenVerifier.verify(token, dpop=...)``:
the bound token, its proof, ``ath``, ``cnf.jkt`` and the replay cache) against its parts
measured alone: a plain ES256 bearer token verification plus one proof verification
(``tokensmith.jose.dpop.verify_proof``). Issue 9's target: the ratio is at most 1.3 (DPoP
adds no work beyond the proof itself). Measured with the verified-token cache off (every
token verified in full) and on (the token a cache hit; the proof, new with every
request, always verified).

``python -m benchmarks.dpop [--quick] [--json FILE]``; ``--quick``: a few iterations (a
smoke test that it still runs).
"""

from __future__ import annotations

import argparse
import json
import secrets
import time
from pathlib import Path
from typing import Any

from tokensmith.jose import JWK, dpop, jwt
from tokensmith.resource import (
    AccessTokenVerifier,
    DPoPOptions,
    DPoPRequest,
    MemoryReplayCache,
    VerifierOptions,
)

ISSUER = "https://id.example"
AUDIENCE = "orders-api"
URL = "https://api.example.com/orders"
NOW = 1_800_000_000


def _token(issuer_key: JWK, **extra: Any) -> str:
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": NOW, "exp": NOW + 3600,
        "jti": secrets.token_urlsafe(16), "client_id": "first-party", "scope": "orders:read",
        **extra,
    }  # fmt: skip
    return jwt.encode(claims, issuer_key, typ="at+jwt")


def _verifier(issuer_key: JWK, *, cache: bool, proofs: int) -> AccessTokenVerifier:
    options = VerifierOptions(
        cache=cache,
        now=lambda: NOW,
        dpop=DPoPOptions(replay_cache=MemoryReplayCache(max_entries=proofs * 64)),
    )
    return AccessTokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, keys=issuer_key.public(), options=options
    )


def _plain_ns(verifier: AccessTokenVerifier, tokens: list[str]) -> float:
    started = time.perf_counter()
    for token in tokens:
        verifier.verify(token)
    return (time.perf_counter() - started) / len(tokens) * 1e9


def _proof_ns(requests: list[DPoPRequest], tokens: list[str], jkt: str) -> float:
    verify = dpop.verify_proof
    started = time.perf_counter()
    for request, token in zip(requests, tokens, strict=True):
        assert request.proof is not None
        verify(request.proof, htm="GET", htu=URL, now=NOW, access_token=token, expected_jkt=jkt)
    return (time.perf_counter() - started) / len(tokens) * 1e9


def _dpop_ns(
    verifier: AccessTokenVerifier, requests: list[DPoPRequest], tokens: list[str]
) -> float:
    started = time.perf_counter()
    for request, token in zip(requests, tokens, strict=True):
        verifier.verify(token, dpop=request)
    return (time.perf_counter() - started) / len(tokens) * 1e9


def measure(quick: bool) -> dict[str, Any]:
    issuer_key = JWK.generate("ES256", kid="as")
    client_key = JWK.generate("ES256")
    count = 50 if quick else 2_000
    rounds = 1 if quick else 7
    plain_tokens = [_token(issuer_key) for _ in range(count)]
    bound_tokens = [_token(issuer_key, cnf={"jkt": client_key.thumbprint()}) for _ in range(count)]

    def proofs_for(tokens: list[str]) -> list[DPoPRequest]:
        return [
            DPoPRequest(
                proof=dpop.make_proof(client_key, htm="GET", htu=URL, iat=NOW, access_token=t),
                method="GET",
                url=URL,
            )
            for t in tokens
        ]

    results: dict[str, Any] = {}
    for cache in (False, True):
        best: dict[str, float] = {}
        for _ in range(rounds):  # interleaved rounds; the best of each counts
            plain = _verifier(issuer_key, cache=cache, proofs=count)
            bound = _verifier(issuer_key, cache=cache, proofs=count)
            # with the cache on, every call presents the same token (a session's requests)
            plain_calls_tokens = plain_tokens[:1] * count if cache else plain_tokens
            bound_calls_tokens = bound_tokens[:1] * count if cache else bound_tokens
            requests = proofs_for(bound_calls_tokens)
            if cache:  # fill the cache once
                plain.verify(plain_calls_tokens[0])
                warm = proofs_for(bound_calls_tokens[:1])[0]
                bound.verify(bound_calls_tokens[0], dpop=warm)
            jkt = client_key.thumbprint()
            figures = {
                "plain_ns": _plain_ns(plain, plain_calls_tokens),
                "proof_ns": _proof_ns(requests, bound_calls_tokens, jkt),
                "dpop_ns": _dpop_ns(bound, requests, bound_calls_tokens),
            }
            for name, value in figures.items():
                best[name] = min(best.get(name, float("inf")), value)
        parts = best["plain_ns"] + best["proof_ns"]
        results["cache_on" if cache else "cache_off"] = {
            "plain_es256_ns": round(best["plain_ns"]),
            "proof_ns": round(best["proof_ns"]),
            "dpop_request_ns": round(best["dpop_ns"]),
            "ratio_to_plain_plus_proof": round(best["dpop_ns"] / parts, 3),
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dpop", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few iterations (smoke test)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    results = {"quick": args.quick, "dpop": measure(args.quick)}
    print("DPoP at the API: verify(token, dpop=...) vs a plain ES256 verify + one proof")
    for name, row in results["dpop"].items():
        print(
            f"  token cache {name[6:]:<4} plain {row['plain_es256_ns'] / 1000:7.1f} µs"
            f"   proof {row['proof_ns'] / 1000:7.1f} µs"
            f"   DPoP request {row['dpop_request_ns'] / 1000:7.1f} µs"
            f"   ratio {row['ratio_to_plain_plus_proof']:.3f} (target <= 1.3)"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
