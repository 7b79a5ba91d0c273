"""S23: sign/encrypt confusion. Anyone can encrypt to our public key; that proves
nothing about who wrote the token. A JWE encrypted to our own public key never passes as
a verified JWS or JWT, and a nested JWT must hold a signed JWT inside.
"""

from __future__ import annotations

import json

import pytest

from tokensmith.jose import JWK, ClaimsPolicy, JoseError, jwe, jws, jwt
from tokensmith.jose.encoding import b64url_encode

CLAIMS = {"sub": "admin", "iss": "https://id.example", "exp": 4_102_444_800}
POLICY = ClaimsPolicy(issuer="https://id.example", now=lambda: 1_700_000_000)


@pytest.fixture(scope="module")
def ours() -> JWK:
    """Our RSA key, with no alg or use to narrow it: the loosest case."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return JWK.from_object(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def signer() -> JWK:
    return JWK.generate("ES256", kid="issuer")


@pytest.fixture(scope="module")
def attacker_jwe(ours: JWK) -> str:
    """Claims of the attacker's choosing, encrypted to our public key."""
    return jwe.encrypt(json.dumps(CLAIMS), ours.public(), alg="RSA-OAEP-256", header={"cty": "JWT"})


@pytest.mark.parametrize("as_key", ["private", "public"])
def test_s23_jwe_to_our_key_never_verifies_as_jwt(
    attacker_jwe: str, ours: JWK, as_key: str
) -> None:
    key = ours if as_key == "private" else ours.public()
    with pytest.raises(JoseError):
        jwt.decode(attacker_jwe, key, policy=POLICY)


def test_s23_jwe_to_our_key_never_verifies_as_jws(attacker_jwe: str, ours: JWK) -> None:
    with pytest.raises(JoseError):
        jws.verify(attacker_jwe, ours.public())
    with pytest.raises(JoseError):
        jws.verify(attacker_jwe, ours)


def test_s23_encrypted_only_claims_refused_even_when_decryption_succeeds(
    attacker_jwe: str, ours: JWK, signer: JWK
) -> None:
    assert jwe.decrypt(attacker_jwe, ours).plaintext == json.dumps(CLAIMS).encode()
    with pytest.raises(JoseError) as info:
        jwt.decode(attacker_jwe, signer.public(), decrypt_with=ours, policy=POLICY)
    assert info.value.code == "jwt_not_signed"


def test_s23_jwe_inside_a_jwe_is_not_a_signed_jwt(ours: JWK, signer: JWK) -> None:
    inner = jwe.encrypt(json.dumps(CLAIMS), ours.public(), header={"cty": "JWT"})
    outer = jwe.encrypt(inner, ours.public(), header={"cty": "JWT"})
    with pytest.raises(JoseError) as info:
        jwt.decode(outer, signer.public(), decrypt_with=ours, policy=POLICY)
    assert info.value.code == "jwt_not_signed"


def test_s23_unsigned_alg_none_inside_is_refused(ours: JWK, signer: JWK) -> None:
    header = b64url_encode(b'{"alg":"none","typ":"JWT"}')
    inner = f"{header}.{b64url_encode(json.dumps(CLAIMS).encode())}."
    token = jwe.encrypt(inner, ours.public(), header={"cty": "JWT"})
    with pytest.raises(JoseError):
        jwt.decode(token, signer.public(), decrypt_with=ours, policy=POLICY)


@pytest.mark.parametrize("cty", [None, "json", "JOSE", 1])
def test_s23_nested_jwt_needs_cty_jwt(ours: JWK, signer: JWK, cty: object) -> None:
    signed = jwt.encode(CLAIMS, signer)
    header = {} if cty is None else {"cty": cty}
    token = jwe.encrypt(signed, ours.public(), header=header)
    with pytest.raises(JoseError) as info:
        jwt.decode(token, signer.public(), decrypt_with=ours, policy=POLICY)
    assert info.value.code == "jwt_not_signed"


def test_s23_signed_but_unencrypted_refused_when_decryption_is_required(
    ours: JWK, signer: JWK
) -> None:
    signed = jwt.encode(CLAIMS, signer)
    with pytest.raises(JoseError) as info:
        jwt.decode(signed, signer.public(), decrypt_with=ours, policy=POLICY)
    assert info.value.code == "jwt_not_encrypted"


def test_s23_inner_signed_by_someone_else_refused(ours: JWK, signer: JWK) -> None:
    forger = JWK.generate("ES256", kid="issuer")
    token = jwt.encode(CLAIMS, forger, encrypt_to=ours.public())
    with pytest.raises(JoseError) as info:
        jwt.decode(token, signer.public(), decrypt_with=ours, policy=POLICY)
    assert info.value.code == "jws_invalid_signature"


def test_s23_control_sign_then_encrypt_round_trip(ours: JWK, signer: JWK) -> None:
    token = jwt.encode(CLAIMS, signer, encrypt_to=ours.public())
    assert token.count(".") == 4
    result = jwt.decode(token, signer.public(), decrypt_with=ours, policy=POLICY)
    assert result.claims == CLAIMS
    assert result.key == signer.public()
