"""S5: ``kid`` is a plain dictionary lookup in the caller's set: never a path, a
query or a command, and a non-string ``kid`` never matches."""

from __future__ import annotations

import builtins
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hostile import CLAIMS, POLICY, forge, hmac_forge, rejected

from tokensmith.jose import JWK, JWKSet, jws, jwt

HOSTILE_KIDS: list[Any] = [
    "",
    "../../../../dev/null",
    "/dev/null",
    "|sleep 10",
    "x' UNION SELECT '1';--",
    "0",
    "[]",
    "{}",
    "unknown",
    0,
    [],
    {},
    None,
    True,
    "HS",  # case variant of the real kid
    "hs ",
]


@pytest.fixture
def no_side_effects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Record any attempt to open a file or run a command during verification."""
    calls: list[str] = []

    def record(name: str) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            calls.append(f"{name}{args!r}")
            raise AssertionError(f"{name} called during verification")

        return spy

    monkeypatch.setattr(builtins, "open", record("open"))
    monkeypatch.setattr(os, "open", record("os.open"))
    monkeypatch.setattr(os, "system", record("os.system"))
    monkeypatch.setattr(os, "popen", record("os.popen"))
    monkeypatch.setattr(subprocess, "Popen", record("subprocess.Popen"))
    yield calls
    assert calls == []


@pytest.mark.parametrize("kid", HOSTILE_KIDS, ids=repr)
def test_s5_hostile_kid_finds_no_key(kid: Any, hs256: JWK, no_side_effects: list[str]) -> None:
    """The attacker signs with the "content" of the path their kid points at
    (empty for /dev/null) or any guess: no key is found, nothing is opened or run."""
    keys = JWKSet([hs256, JWK.generate("HS256", kid="other")])
    for secret in (b"", b"1", hs256.private_key_object[:-1]):
        token = hmac_forge({"alg": "HS256", "kid": kid}, CLAIMS, secret)
        with rejected("jwks_key_not_found"):
            jwt.decode(token, keys, policy=POLICY)
        with rejected("jwks_key_not_found"):
            jws.verify(token, keys)


def test_s5_missing_kid_tries_the_callers_keys_and_rejects_a_forgery(hs256: JWK) -> None:
    token = hmac_forge({"alg": "HS256"}, CLAIMS, b"")
    with rejected("jws_invalid_signature"):
        jwt.decode(token, JWKSet([hs256]), policy=POLICY)
    # ...while a genuine token without kid verifies against the set.
    genuine = forge({"alg": "HS256"}, CLAIMS, hs256)
    assert jwt.decode(genuine, JWKSet([hs256]), policy=POLICY).key is hs256


@pytest.mark.parametrize(
    "stored_kid", ["../../../../dev/null", "x' UNION SELECT '1';--", "|sleep 10", ""]
)
def test_s5_path_like_kid_matches_only_itself(stored_kid: str, no_side_effects: list[str]) -> None:
    """Even when the set really holds such a kid, lookup is exact string equality."""
    key = JWK.generate("HS256", kid=stored_kid)
    keys = JWKSet([key])
    genuine = forge({"alg": "HS256", "kid": stored_kid}, CLAIMS, key)
    assert jwt.decode(genuine, keys, policy=POLICY).key is key
    forged = hmac_forge({"alg": "HS256", "kid": stored_kid}, CLAIMS, b"")
    with rejected("jws_invalid_signature"):
        jwt.decode(forged, keys, policy=POLICY)
    for near in ("/dev/null", stored_kid + " ", stored_kid.upper() + "x", "./" + stored_kid):
        token = forge({"alg": "HS256", "kid": near}, CLAIMS, key)
        with rejected("jwks_key_not_found"):
            jwt.decode(token, keys, policy=POLICY)


def test_s5_jwkset_get_is_exact_and_type_strict(hs256: JWK) -> None:
    keys = JWKSet([hs256])
    assert keys.get("hs") is hs256
    for kid in HOSTILE_KIDS:
        assert keys.get(kid) is None
