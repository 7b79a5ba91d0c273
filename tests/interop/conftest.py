"""Fixtures for the interop tests: key material generated once per test module."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.jose import JWK

from .peers import Case, KeyMaterial, Peer


class OurKeys:
    """Our private JWK for each case, over key material shared by the module."""

    def __init__(self) -> None:
        self.material = KeyMaterial()
        self._jwks: dict[str, JWK] = {}

    def private(self, case: Case) -> JWK:
        if case.id not in self._jwks:
            obj = self.material.private_object(case)
            kid = f"ours-{case.id}"
            if case.kty == "oct":
                key = JWK.from_secret(obj, kid=kid, alg=case.alg)
            else:
                key = JWK.from_object(obj, kid=kid, alg=case.alg)
            self._jwks[case.id] = key
        return self._jwks[case.id]

    def verifier(self, case: Case) -> JWK:
        """What a verifier holds: the public half (the secret itself for HMAC)."""
        key = self.private(case)
        return key if key.is_symmetric else key.public()


@pytest.fixture(scope="module")
def our_keys() -> OurKeys:
    return OurKeys()


class PeerKeys:
    """Keys each peer generated itself, one per (peer, key family), made on first use."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Any] = {}

    def private(self, peer: Peer, case: Case) -> Any:
        slot = (peer.name, case.family)
        if slot not in self._cache:
            self._cache[slot] = peer.generate(case)
        return self._cache[slot]


@pytest.fixture(scope="module")
def peer_keys() -> PeerKeys:
    return PeerKeys()
