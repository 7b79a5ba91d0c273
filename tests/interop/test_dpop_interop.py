"""DPoP (RFC 9449) interop: proofs built with PyJWT and joserfc (per RFC 9449 §4.2: typ,
alg, the public jwk in the header; jti, htm, htu, iat, ath in the claims) verify in
``tokensmith.jose.dpop.verify_proof``; proofs we make verify in PyJWT, joserfc and
jwcrypto with the key from their own header, and every library computes the same
RFC 7638 thumbprint (``jkt``) and ``ath``."""

from __future__ import annotations

import base64
import hashlib
import json
import warnings
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwk as rfc_jwk
from joserfc import jws as rfc_jws
from joserfc import jwt as rfc_jwt
from jwcrypto import jwk as c_jwk
from jwcrypto import jws as c_jws

from tokensmith.jose import JWK, dpop
from tokensmith.jose.errors import DPoPInvalidSignatureError

NOW = 1_800_000_000
URL = "https://api.example.com/orders"
ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"  # RFC 9449 §7.1's example


def _ath(token: str) -> str:
    """ath computed here from the RFC text, independent of our helper."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _claims(jti: str) -> dict[str, Any]:
    return {"jti": jti, "htm": "GET", "htu": URL, "iat": NOW, "ath": _ath(ACCESS_TOKEN)}


def _verify(proof: str) -> dpop.VerifiedProof:
    return dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW, access_token=ACCESS_TOKEN)


# ---- their proofs, our verifier -----------------------------------------------------------

PYJWT_KEYS = {
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "ES384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "PS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
}


@pytest.mark.parametrize("alg", sorted(PYJWT_KEYS))
def test_a_pyjwt_proof_is_accepted(alg: str) -> None:
    private = PYJWT_KEYS[alg]()
    algorithm = pyjwt.get_algorithm_by_name(alg)
    public_jwk = json.loads(algorithm.to_jwk(private.public_key()))
    proof = pyjwt.encode(
        _claims("pyjwt-1"), private, algorithm=alg, headers={"typ": "dpop+jwt", "jwk": public_jwk}
    )
    result = _verify(proof)
    assert result.jti == "pyjwt-1"
    assert result.jkt == JWK(public_jwk).thumbprint()
    assert result.header["alg"] == alg


JOSERFC_KEYS = {
    "ES256": lambda: rfc_jwk.ECKey.generate_key("P-256"),
    "ES512": lambda: rfc_jwk.ECKey.generate_key("P-521"),
    "RS256": lambda: rfc_jwk.RSAKey.generate_key(2048),
    "Ed25519": lambda: rfc_jwk.OKPKey.generate_key("Ed25519"),
}


@pytest.mark.parametrize("alg", sorted(JOSERFC_KEYS))
def test_a_joserfc_proof_is_accepted_and_thumbprints_agree(alg: str) -> None:
    key = JOSERFC_KEYS[alg]()
    header = {"alg": alg, "typ": "dpop+jwt", "jwk": key.as_dict(private=False)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc's notes on algorithm names
        proof = rfc_jwt.encode(header, _claims("joserfc-1"), key, algorithms=[alg])
    result = _verify(proof)
    assert result.jti == "joserfc-1"
    assert result.jkt == key.thumbprint()


def test_a_joserfc_proof_signed_by_another_key_than_its_jwk_is_refused() -> None:
    signer, other = rfc_jwk.ECKey.generate_key("P-256"), rfc_jwk.ECKey.generate_key("P-256")
    header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": other.as_dict(private=False)}
    proof = rfc_jwt.encode(header, _claims("joserfc-2"), signer)
    with pytest.raises(DPoPInvalidSignatureError):
        _verify(proof)


# ---- our proofs, their verifiers ----------------------------------------------------------

OUR_ALGS = ["ES256", "ES384", "RS256", "PS256", "EdDSA"]


@pytest.fixture(scope="module")
def our_keys() -> dict[str, JWK]:
    return {alg: JWK.generate(alg) for alg in OUR_ALGS}


def _ours(key: JWK, alg: str) -> str:
    return dpop.make_proof(
        key, htm="GET", htu=URL, iat=NOW, jti="ours-1", access_token=ACCESS_TOKEN, alg=alg
    )


@pytest.mark.parametrize("alg", OUR_ALGS)
def test_our_proof_verifies_in_pyjwt(alg: str, our_keys: dict[str, JWK]) -> None:
    proof = _ours(our_keys[alg], alg)
    header = pyjwt.get_unverified_header(proof)
    assert header["typ"] == "dpop+jwt"
    key = pyjwt.PyJWK(header["jwk"], algorithm=alg)
    claims = pyjwt.decode(proof, key, algorithms=[alg], options={"verify_iat": False})
    assert claims["htm"] == "GET"
    assert claims["htu"] == URL
    assert claims["ath"] == _ath(ACCESS_TOKEN)


@pytest.mark.parametrize("alg", OUR_ALGS)
def test_our_proof_verifies_in_joserfc(alg: str, our_keys: dict[str, JWK]) -> None:
    proof = _ours(our_keys[alg], alg)
    header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    key = rfc_jwk.import_key(header["jwk"])
    registry = rfc_jws.JWSRegistry(algorithms=[alg])
    registry.max_header_length = 2048  # an RSA key in the header passes joserfc's 512 default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        token = rfc_jwt.decode(proof, key, registry=registry)
    assert token.header["typ"] == "dpop+jwt"
    assert token.claims["jti"] == "ours-1"
    assert key.thumbprint() == our_keys[alg].thumbprint()


@pytest.mark.parametrize("alg", OUR_ALGS)
def test_our_proof_verifies_in_jwcrypto(alg: str, our_keys: dict[str, JWK]) -> None:
    proof = _ours(our_keys[alg], alg)
    header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    key = c_jwk.JWK(**header["jwk"])
    checked = c_jws.JWS()
    checked.deserialize(proof)
    checked.verify(key, alg=alg)
    assert json.loads(checked.payload)["ath"] == _ath(ACCESS_TOKEN)
    assert key.thumbprint() == our_keys[alg].thumbprint()
