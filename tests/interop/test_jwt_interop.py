"""JWT interop in both directions with PyJWT, joserfc and jwcrypto, for every algorithm.

(a) a token we sign with ``jwt.encode`` verifies in the peer with equal claims;
(b) a token the peer signs, with a key the peer generated and exported as a JWK,
    verifies in our ``jwt.decode`` with equal claims.
A peer that does not implement an algorithm skips with the peer's own error message.
"""

from __future__ import annotations

import pytest

from tokensmith.jose import JWK, ClaimsPolicy, jwt
from tokensmith.jose.errors import InvalidSignatureError

from .conftest import OurKeys, PeerKeys
from .peers import CASES, CLAIMS, FIXED_NOW, PEERS, Case, Peer

PAIRS = [pytest.param(peer, case, id=f"{peer.name}-{case.id}") for peer in PEERS for case in CASES]


def policy_for(case: Case) -> ClaimsPolicy:
    return ClaimsPolicy(
        issuer=CLAIMS["iss"],
        audience="api",
        algorithms=[case.alg],
        required=("exp", "iat", "sub"),
        now=lambda: FIXED_NOW,
    )


def skip_if_refused(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    reason = peer.refusal(case, our_keys.private(case).to_dict())
    if reason is not None:
        pytest.skip(reason)


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_our_token_verifies_in_peer(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    skip_if_refused(peer, case, our_keys)
    token = jwt.encode(CLAIMS, our_keys.private(case))
    peer_key = peer.import_jwk(our_keys.verifier(case).to_dict())
    assert peer.verify_jwt(token, peer_key, case.alg) == CLAIMS


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_our_tampered_token_fails_in_peer(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    """Guards the test above: the peer really checks our signature."""
    skip_if_refused(peer, case, our_keys)
    token = jwt.encode(CLAIMS, our_keys.private(case))
    other = jwt.encode({**CLAIMS, "sub": "user-2"}, our_keys.private(case))
    forged = ".".join([*token.split(".")[:2], other.split(".")[2]])
    peer_key = peer.import_jwk(our_keys.verifier(case).to_dict())
    with pytest.raises(peer.signature_error):
        peer.verify_jwt(forged, peer_key, case.alg)


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_peer_token_verifies_in_ours(
    peer: Peer, case: Case, our_keys: OurKeys, peer_keys: PeerKeys
) -> None:
    skip_if_refused(peer, case, our_keys)
    peer_private = peer_keys.private(peer, case)
    token = peer.sign_jwt(CLAIMS, peer_private, case.alg)
    exported = peer.export_jwk(peer_private, private=case.kty == "oct")
    ours = JWK.import_key(exported)
    result = jwt.decode(token, ours, policy=policy_for(case))
    assert dict(result.claims) == CLAIMS
    assert result.header["alg"] == case.alg
    assert result.key is ours


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_peer_token_fails_with_another_key(
    peer: Peer, case: Case, our_keys: OurKeys, peer_keys: PeerKeys
) -> None:
    """Guards the test above: our key really is the peer's key, not any key."""
    skip_if_refused(peer, case, our_keys)
    peer_private = peer_keys.private(peer, case)
    token = peer.sign_jwt(CLAIMS, peer_private, case.alg)
    with pytest.raises(InvalidSignatureError):
        jwt.decode(token, our_keys.verifier(case), policy=policy_for(case))


@pytest.mark.parametrize(("peer", "case"), PAIRS)
def test_peer_signs_with_our_private_jwk(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    """Our private JWK (to_dict) imports into the peer and signs tokens we accept."""
    skip_if_refused(peer, case, our_keys)
    peer_key = peer.import_jwk(our_keys.private(case).to_dict())
    token = peer.sign_jwt(CLAIMS, peer_key, case.alg)
    result = jwt.decode(token, our_keys.verifier(case), policy=policy_for(case))
    assert dict(result.claims) == CLAIMS
