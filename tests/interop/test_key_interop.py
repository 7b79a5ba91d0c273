"""Keys cross over between us and each peer, as JWK and as PEM, with equal RFC 7638
thumbprints.

Our side: ``JWK.to_dict()``, ``public().to_dict()``, ``to_pem()`` (plain and encrypted)
go into the peer. Peer side: the peer's own generated key, exported as JWK and PEM
(plain and encrypted), comes into ``JWK.import_key``. Thumbprints are computed by the
peer itself where it can (joserfc, jwcrypto); PyJWT computes none, so for PyJWT the
key it holds is exported with its ``to_jwk`` and compared member by member.
"""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.jose import JWK
from tokensmith.jose.errors import InvalidKeyError

from .conftest import OurKeys, PeerKeys
from .peers import CASES, PEERS, Case, Peer

# One case per key family is enough for key exchange; the algorithm does not change
# the key material. EdDSA-Ed25519 / EdDSA-Ed448 cover the OKP curves.
KEY_CASES = [c for c in CASES if c.alg not in ("Ed25519", "Ed448", "RS384", "RS512")]
KEY_CASES = [c for c in KEY_CASES if c.kty != "RSA" or c.alg == "RS256"]
ASYMMETRIC = [c for c in KEY_CASES if c.kty != "oct"]


def pairs(cases: list[Case]) -> list[Any]:
    return [
        pytest.param(peer, case, id=f"{peer.name}-{case.family}")
        for peer in PEERS
        for case in cases
    ]


PAIRS = pairs(KEY_CASES)
ASYM_PAIRS = pairs(ASYMMETRIC)
PASSWORD = b"correct horse battery staple"
_METADATA = ("kid", "alg", "use", "key_ops")


def key_members(members: dict[str, Any]) -> dict[str, Any]:
    """The key material of a JWK, without metadata members."""
    return {k: v for k, v in members.items() if k not in _METADATA}


def thumbprint_in_peer(peer: Peer, peer_key: Any) -> str:
    if peer.has_thumbprint:
        return peer.thumbprint(peer_key)
    # PyJWT: no thumbprint function; ours over the JWK PyJWT itself exports.
    return JWK.import_key(peer.export_jwk(peer_key, private=False)).thumbprint()


def require_pem_export(peer: Peer) -> None:
    if not peer.exports_pem:
        pytest.skip(f"{peer.label} has no PEM export: its keys are plain cryptography objects")


# ---- ours -> peer ------------------------------------------------------------------------


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_our_private_jwk_imports_into_peer(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    ours = our_keys.private(case)
    peer_key = peer.import_jwk(ours.to_dict())
    assert peer.holds_private(peer_key)
    assert thumbprint_in_peer(peer, peer_key) == ours.thumbprint()
    back = peer.export_jwk(peer_key, private=True)
    assert key_members(back) == key_members(ours.to_dict())


@pytest.mark.parametrize(("peer", "case"), ASYM_PAIRS)
def test_our_public_jwk_imports_into_peer(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    public = our_keys.private(case).public()
    peer_key = peer.import_jwk(public.to_dict())
    assert not peer.holds_private(peer_key)
    assert thumbprint_in_peer(peer, peer_key) == public.thumbprint()
    assert key_members(peer.export_jwk(peer_key, private=False)) == key_members(public.to_dict())


@pytest.mark.parametrize(("peer", "case"), ASYM_PAIRS)
@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
def test_our_pem_imports_into_peer(
    peer: Peer, case: Case, private: bool, our_keys: OurKeys
) -> None:
    ours = our_keys.private(case)
    source = ours if private else ours.public()
    peer_key = peer.import_pem(source.to_pem(), case)
    assert peer.holds_private(peer_key) is private
    assert thumbprint_in_peer(peer, peer_key) == ours.thumbprint()


@pytest.mark.parametrize(("peer", "case"), ASYM_PAIRS)
def test_our_encrypted_pem_imports_into_peer(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    ours = our_keys.private(case)
    pem = ours.to_pem(password=PASSWORD)
    assert b"ENCRYPTED PRIVATE KEY" in pem
    try:
        peer_key = peer.import_pem(pem, case, password=PASSWORD)
    except NotImplementedError as exc:
        pytest.skip(f"{peer.label}: {exc}")
    assert peer.holds_private(peer_key)
    assert thumbprint_in_peer(peer, peer_key) == ours.thumbprint()


# ---- peer -> ours ------------------------------------------------------------------------


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_peer_private_jwk_imports_into_ours(peer: Peer, case: Case, peer_keys: PeerKeys) -> None:
    peer_key = peer_keys.private(peer, case)
    exported = peer.export_jwk(peer_key, private=True)
    ours = JWK.import_key(exported)
    assert ours.is_private
    assert ours.kty == case.kty
    assert ours.crv == case.crv
    assert ours.thumbprint() == thumbprint_in_peer(peer, peer_key)
    assert key_members(ours.to_dict()) == key_members(exported)


@pytest.mark.parametrize(("peer", "case"), ASYM_PAIRS)
def test_peer_public_jwk_imports_into_ours(peer: Peer, case: Case, peer_keys: PeerKeys) -> None:
    peer_key = peer_keys.private(peer, case)
    exported = peer.export_jwk(peer_key, private=False)
    ours = JWK.import_key(exported)
    assert not ours.is_private
    assert ours.thumbprint() == thumbprint_in_peer(peer, peer_key)
    # The public half of the peer's private key, as we derive it, is the same key.
    ours_from_private = JWK.import_key(peer.export_jwk(peer_key, private=True))
    assert ours_from_private.public().thumbprint() == ours.thumbprint()


@pytest.mark.parametrize(("peer", "case"), ASYM_PAIRS)
@pytest.mark.parametrize("private", [True, False], ids=["private", "public"])
def test_peer_pem_imports_into_ours(
    peer: Peer, case: Case, private: bool, peer_keys: PeerKeys
) -> None:
    require_pem_export(peer)
    peer_key = peer_keys.private(peer, case)
    ours = JWK.import_key(peer.export_pem(peer_key, private=private))
    assert ours.is_private is private
    assert ours.thumbprint() == thumbprint_in_peer(peer, peer_key)


@pytest.mark.parametrize(("peer", "case"), ASYM_PAIRS)
def test_peer_encrypted_pem_imports_into_ours(peer: Peer, case: Case, peer_keys: PeerKeys) -> None:
    require_pem_export(peer)
    peer_key = peer_keys.private(peer, case)
    pem = peer.export_pem(peer_key, private=True, password=PASSWORD)
    assert b"ENCRYPTED" in pem
    with pytest.raises(InvalidKeyError):
        JWK.import_key(pem)  # no password
    with pytest.raises(InvalidKeyError):
        JWK.import_key(pem, password=b"wrong")
    ours = JWK.import_key(pem, password=PASSWORD)
    assert ours.is_private
    assert ours.thumbprint() == thumbprint_in_peer(peer, peer_key)
