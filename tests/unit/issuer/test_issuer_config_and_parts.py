"""IssuerConfig validation, rate-limit rules, the denylist, refresh-token derivation."""

from __future__ import annotations

import pytest

from contract.support import make_config
from tokensmith.issuer import IssuerConfig, RateLimitRule
from tokensmith.issuer.denylist import Denylist
from tokensmith.issuer.tokens import (
    RefreshSecrets,
    hash_secret,
    looks_like_refresh_token,
    new_refresh_token,
)
from tokensmith.store import RevocationRecord

T0 = 1_800_000_000.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"issuer": "ftp://x"}, "http"),
        ({"access_ttl": 0}, "access_ttl"),
        ({"refresh_grace": -1}, "refresh_grace"),
        ({"refresh_idle_ttl": 100, "refresh_absolute_ttl": 50}, "refresh_idle_ttl"),
        ({"signing_alg": "none"}, "signing_alg"),
        ({"signing_alg": "XS256"}, "signing_alg"),
        ({"key_rotation": 100, "jwks_max_age": 100}, "key_rotation"),
        ({"registration": "maybe"}, "registration"),
        ({"password_min": 10, "password_max": 9}, "password_min"),
        ({"extra_claims": {"sub": "x"}}, "extra_claims"),
    ],
)
def test_config_refuses_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make_config(**changes)


def test_config_defaults_and_normalisation() -> None:
    config = IssuerConfig(issuer="https://id.example/", audience="api")  # type: ignore[arg-type]
    assert config.issuer == "https://id.example"
    assert config.audiences == ("api",)
    assert IssuerConfig(issuer="https://id.example").audiences == ("https://id.example",)
    assert (config.access_ttl, config.refresh_idle_ttl, config.refresh_absolute_ttl) == (
        900,
        7 * 86400,
        30 * 86400,
    )
    assert (config.refresh_grace, config.signing_alg, config.key_rotation) == (
        10,
        "ES256",
        30 * 86400,
    )
    assert config.publishes_keys
    assert not make_config(signing_alg="HS256").publishes_keys
    with pytest.raises(TypeError):
        config.extra_claims["x"] = 1  # type: ignore[index]


def test_rate_limit_rule_backoff_doubles_and_caps() -> None:
    rule = RateLimitRule(3, 60.0, 2.0, 10.0)
    assert [rule.block_for(n) for n in range(1, 8)] == [0, 0, 2.0, 4.0, 8.0, 10.0, 10.0]
    with pytest.raises(ValueError, match="limit"):
        RateLimitRule(0, 60.0)


def record(
    n: int, kind: str, value: str, *, expires: float = T0 + 100, not_before: float | None = None
) -> RevocationRecord:
    return RevocationRecord(
        id=n,
        kind=kind,
        value=value,
        created_at=T0,  # type: ignore[arg-type]
        expires_at=expires,
        not_before=not_before,
    )


def test_denylist_by_jti_sid_and_user_not_before() -> None:
    deny = Denylist()
    deny.add(
        [
            record(1, "jti", "j1"),
            record(2, "sid", "s1"),
            record(3, "sub", "u1", not_before=T0 + 1),
        ]
    )
    assert deny.last_id == 3
    base = {"jti": "j0", "sid": "s0", "sub": "u0", "iat": int(T0)}
    assert deny.denies(base, T0) is None
    assert deny.denies({**base, "jti": "j1"}, T0) == "jti"
    assert deny.denies({**base, "sid": "s1"}, T0) == "sid"
    assert deny.denies({**base, "sub": "u1"}, T0) == "sub"
    assert deny.denies({**base, "sub": "u1", "iat": int(T0) + 1}, T0) is None
    # entries expire with the tokens they deny
    assert deny.denies({**base, "jti": "j1"}, T0 + 100) is None
    deny.prune(T0 + 100)
    assert len(deny) == 0


def test_refresh_token_shape_hash_and_child_derivation() -> None:
    token = new_refresh_token()
    assert looks_like_refresh_token(token)
    assert len(token) == 43  # 256 bits
    assert not looks_like_refresh_token(token + "=")
    assert not looks_like_refresh_token(None)
    assert len(hash_secret(token)) == 64
    one, two = RefreshSecrets(b"k" * 32), RefreshSecrets(b"j" * 32)
    child = one.child_of(token)
    assert looks_like_refresh_token(child)
    assert child == one.child_of(token)  # the same child again (grace retry)
    assert child != two.child_of(token)  # and nobody without the secret can compute it
    assert child != one.child_of(new_refresh_token())


@pytest.mark.anyio
async def test_audit_observers_see_each_stored_event_until_stopped() -> None:
    from tokensmith.issuer.audit import AuditLog
    from tokensmith.store import memory_stores

    stores = memory_stores()
    audit = AuditLog(stores.audit, clock=lambda: T0)
    seen: list[str] = []
    also: list[str] = []
    stop = audit.watch(seen.append)
    audit.watch(also.append)
    await audit.record("login_ok", user_id="u1")
    await audit.store(audit.event("refresh", session_id="s1"))
    stop()
    await audit.record("logout", session_id="s1")
    assert seen == ["login_ok", "refresh"]
    assert also == ["login_ok", "refresh", "logout"]
    assert [e.kind for e in await stores.audit.list(limit=10)] == ["logout", "refresh", "login_ok"]
    await stores.close()
