"""The verified-token cache (issue 4): a hit is only ever an answer decode would give."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tokensmith.jose import jwt
from tokensmith.jose.cache import RevokedError, VerifiedTokenCache
from tokensmith.jose.claims import ClaimsPolicy
from tokensmith.jose.errors import (
    ExpiredError,
    InvalidAudienceError,
    InvalidSignatureError,
    KeyNotFoundError,
    NotYetValidError,
    TooOldError,
)
from tokensmith.jose.jwk import JWK
from tokensmith.jose.jwkset import JWKSet

ISS = "https://issuer.test"
AUD = "api"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(1_000_000)


@pytest.fixture
def key() -> JWK:
    return JWK.generate("ES256", kid="k1")


def _policy(clock: Clock, **kw: Any) -> ClaimsPolicy:
    return ClaimsPolicy(issuer=ISS, audience=AUD, now=clock, **kw)


def _token(key: JWK, clock: Clock, **claims: Any) -> str:
    body: dict[str, Any] = {
        "iss": ISS,
        "aud": AUD,
        "sub": "alice",
        "iat": int(clock.now),
        "exp": int(clock.now) + 600,
        "jti": "j-1",
        "roles": ["reader"],
    }
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key)


def test_repeat_is_a_hit_with_the_same_answer(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock)
    first = cache.decode(token, key.public())
    second = cache.decode(token, key.public())
    assert (cache.misses, cache.hits) == (1, 1)
    assert second.claims == first.claims
    assert second.claims["sub"] == "alice"
    assert second.header["kid"] == "k1"
    assert second.key == key.public()
    assert dict(second.claims) == {**jwt.decode(token, key, policy=_policy(clock)).claims,
                                   "roles": ("reader",)}  # fmt: skip


def test_expiry_rechecked_on_every_hit_with_a_fixed_clock(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock, leeway=10))
    token = _token(key, clock, exp=int(clock.now) + 60)
    cache.decode(token, key)
    clock.now += 69  # still inside exp + leeway: served from the cache
    cache.decode(token, key)
    assert cache.hits == 1
    clock.now += 1  # now == exp + leeway: expired
    with pytest.raises(ExpiredError):
        cache.decode(token, key)
    assert token not in cache


def test_nbf_rechecked_on_hit_when_the_clock_goes_back(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock, nbf=int(clock.now))
    cache.decode(token, key)
    clock.now -= 5
    with pytest.raises(NotYetValidError):
        cache.decode(token, key)
    assert cache.hits == 0


def test_max_age_rechecked_on_hit(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock, max_age=100))
    token = _token(key, clock)
    cache.decode(token, key)
    clock.now += 100
    cache.decode(token, key)
    clock.now += 1
    with pytest.raises(TooOldError):
        cache.decode(token, key)


def test_lru_bound_by_count_evicts_the_least_recently_used(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock), max_entries=2)
    t1, t2, t3 = (_token(key, clock, jti=f"j{i}") for i in range(3))
    cache.decode(t1, key)
    cache.decode(t2, key)
    cache.decode(t1, key)  # t1 is now the most recent
    cache.decode(t3, key)
    assert len(cache) == 2
    assert t1 in cache
    assert t3 in cache
    assert t2 not in cache
    assert cache.evictions == 1


def test_lru_bound_by_bytes(key: JWK, clock: Clock) -> None:
    token = _token(key, clock, jti="a")
    one_entry = VerifiedTokenCache._size(token)
    cache = VerifiedTokenCache(_policy(clock), max_bytes=one_entry + one_entry // 2)
    for i in range(5):
        cache.decode(_token(key, clock, jti=f"x{i}"), key)
        assert cache.estimated_bytes <= one_entry + one_entry // 2
    assert len(cache) == 1


def test_long_tokens_verified_but_not_stored(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock), max_token_chars=100)
    token = _token(key, clock)
    assert cache.decode(token, key).claims["sub"] == "alice"
    assert len(cache) == 0


def test_failures_are_never_cached(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock)
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BA'}"
    for _ in range(2):
        with pytest.raises(InvalidSignatureError):
            cache.decode(tampered, key)
    wrong_aud = _token(key, clock, aud="other")
    for _ in range(2):
        with pytest.raises(InvalidAudienceError):
            cache.decode(wrong_aud, key)
    assert len(cache) == 0


def test_a_cache_serves_only_its_own_policy(key: JWK, clock: Clock) -> None:
    token = _token(key, clock)
    ours = VerifiedTokenCache(_policy(clock))
    ours.decode(token, key)
    other = VerifiedTokenCache(ClaimsPolicy(issuer=ISS, audience="billing", now=clock))
    with pytest.raises(InvalidAudienceError):
        other.decode(token, key)
    assert ours.policy.audience == (AUD,)


def test_evict_key_by_jwk_kid_and_thumbprint(clock: Clock) -> None:
    keys = [JWK.generate("ES256", kid=f"k{i}") for i in range(3)]
    cache = VerifiedTokenCache(_policy(clock))
    jwks = JWKSet(k.public() for k in keys)
    for i, k in enumerate(keys):
        for j in range(2):
            cache.decode(_token(k, clock, jti=f"{i}-{j}"), jwks)
    assert len(cache) == 6
    assert cache.evict_key(keys[0].public()) == 2
    assert cache.evict_key("k1") == 2
    assert cache.evict_key(keys[2].public().thumbprint()) == 2
    assert len(cache) == 0
    assert cache.estimated_bytes == 0


def test_key_removed_from_the_set_is_not_served(key: JWK, clock: Clock) -> None:
    other = JWK.generate("ES256", kid="k2")
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock)
    cache.decode(token, JWKSet([key.public(), other.public()]))
    with pytest.raises(KeyNotFoundError):
        cache.decode(token, JWKSet([other.public()]))
    assert token not in cache


def test_rotated_key_under_the_same_kid_is_not_served(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock)
    cache.decode(token, JWKSet([key.public()]))
    impostor = JWK.generate("ES256", kid="k1")
    with pytest.raises(InvalidSignatureError):
        cache.decode(token, JWKSet([impostor.public()]))
    assert cache.hits == 0


def test_refreshed_set_with_equal_keys_still_hits(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock)
    cache.decode(token, JWKSet([key.public()]))
    refreshed = JWKSet.from_json(JWKSet([key.public()]).to_json(), public_only=True)
    cache.decode(token, refreshed)
    assert cache.hits == 1


def test_retain_keys_drops_entries_of_keys_gone_from_a_refresh(clock: Clock) -> None:
    old, new = JWK.generate("ES256", kid="old"), JWK.generate("ES256", kid="new")
    cache = VerifiedTokenCache(_policy(clock))
    both = JWKSet([old.public(), new.public()])
    cache.decode(_token(old, clock), both)
    cache.decode(_token(new, clock), both)
    refreshed = JWKSet.from_json(JWKSet([new.public()]).to_json(), public_only=True)
    assert cache.retain_keys(refreshed) == 1
    assert len(cache) == 1


def test_revocation_consulted_on_hit_and_on_miss(key: JWK, clock: Clock) -> None:
    denylist: set[str] = set()
    seen: list[str] = []

    def is_revoked(result: jwt.VerifiedJWT) -> bool:
        seen.append(result.claims["jti"])
        return result.claims["jti"] in denylist

    cache = VerifiedTokenCache(_policy(clock), is_revoked=is_revoked)
    token = _token(key, clock, jti="session-1")
    cache.decode(token, key)
    cache.decode(token, key)
    assert seen == ["session-1", "session-1"]
    denylist.add("session-1")
    with pytest.raises(RevokedError) as info:
        cache.decode(token, key)
    assert info.value.code == "jwt_revoked"
    assert token not in cache
    with pytest.raises(RevokedError):  # the miss path consults it too, and stores nothing
        cache.decode(token, key)
    assert len(cache) == 0


def test_cached_results_are_read_only_and_json_serializable(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    token = _token(key, clock)
    result = cache.decode(token, key)
    with pytest.raises(TypeError):
        result.claims["sub"] = "mallory"  # type: ignore[index]
    with pytest.raises(TypeError):
        result.header["alg"] = "none"  # type: ignore[index]
    with pytest.raises(TypeError):
        result.claims.key = JWK.generate("ES256")  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        result.claims["roles"].append("admin")
    again = cache.decode(token, key)
    assert again.claims["sub"] == "alice"
    assert again.claims["roles"] == ("reader",)
    assert json.loads(json.dumps(again.claims))["roles"] == ["reader"]


def test_bytes_tokens_are_verified_but_not_stored(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock))
    assert cache.decode(_token(key, clock).encode(), key).claims["sub"] == "alice"
    assert len(cache) == 0


def test_bad_configuration_refused(clock: Clock) -> None:
    with pytest.raises(TypeError):
        VerifiedTokenCache("policy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_entries"):
        VerifiedTokenCache(_policy(clock), max_entries=0)
    with pytest.raises(TypeError):
        VerifiedTokenCache(_policy(clock), is_revoked=42)  # type: ignore[arg-type]


def test_concurrent_use_keeps_the_bounds(key: JWK, clock: Clock) -> None:
    cache = VerifiedTokenCache(_policy(clock), max_entries=8)
    tokens = [_token(key, clock, jti=f"t{i}") for i in range(20)]
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            for i in range(200):
                token = tokens[(i + offset) % len(tokens)]
                assert cache.decode(token, key).claims["jti"] == f"t{(i + offset) % 20}"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n * 3,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(cache) <= 8
    assert cache.hits + cache.misses == 800
