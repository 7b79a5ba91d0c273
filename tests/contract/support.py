"""Test helpers for issuer tests: a fixed, advanceable clock and a counting hasher."""

from __future__ import annotations

import os
import threading

from tokensmith.issuer import Argon2Params, IssuerConfig, RateLimitRule, RateLimits
from tokensmith.issuer.passwords import Argon2Hasher

T0 = 1_800_000_000.0
#: argon2id with tiny parameters: the tests check behaviour, not cost
FAST_ARGON2 = Argon2Params(time_cost=1, memory_cost=256, parallelism=1)
MASTER_KEY = bytes(range(32))


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: float = T0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingHasher:
    """argon2id (fast parameters) that counts its calls (S26: work is counted, not timed)."""

    def __init__(self, params: Argon2Params = FAST_ARGON2) -> None:
        self.inner = Argon2Hasher(params)
        self.hashes = 0
        self.verifies = 0
        self.verified_hashes: list[str] = []
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self._lock:
            self.hashes += 1
        return self.inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.verifies += 1
            self.verified_hashes.append(password_hash)
        return self.inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.inner.needs_rehash(password_hash)


def make_config(**changes: object) -> IssuerConfig:
    base: dict[str, object] = {
        "issuer": "http://127.0.0.1:8000",
        "argon2": FAST_ARGON2,
        "password_workers": 2,
        "rate_limits": RateLimits(
            account=RateLimitRule(5, 300.0, 1.0, 900.0),
            address=RateLimitRule(50, 300.0, 1.0, 900.0),
        ),
    }
    base.update(changes)
    return IssuerConfig(**base)  # type: ignore[arg-type]


def random_master_key() -> bytes:
    return os.urandom(32)
