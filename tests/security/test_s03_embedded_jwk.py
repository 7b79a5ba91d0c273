"""S3: a key riding in the token's own ``jwk`` header is never used to verify it."""

from __future__ import annotations

import pytest
from hostile import CLAIMS, POLICY, forge, hmac_forge, rejected, seg

from tokensmith.jose import JWK, JWKSet, jws, jwt
from tokensmith.jose.encoding import b64url_encode


@pytest.fixture(scope="module")
def attacker() -> JWK:
    return JWK.generate("ES256", kid="ec")  # even claims the victim's kid


def _header(attacker: JWK, **extra: object) -> dict[str, object]:
    return {"alg": "ES256", "kid": "ec", "jwk": attacker.public().to_dict(), **extra}


def test_s3_token_signed_by_its_embedded_jwk_rejected(attacker: JWK, es256: JWK) -> None:
    token = forge(_header(attacker), CLAIMS, attacker)
    # The token is genuinely valid under the key it carries...
    assert jws.verify(token, attacker.public()).payload
    # ...and refused under every form of the caller's key.
    for keys in (es256.public(), JWKSet([es256.public()]), [es256.public()]):
        with rejected("jws_invalid_signature"):
            jwt.decode(token, keys, policy=POLICY)
        with rejected("jws_invalid_signature"):
            jws.verify(token, keys)


def test_s3_embedded_jwk_of_other_family_rejected(attacker: JWK, rs256: JWK) -> None:
    token = forge(_header(attacker, kid="rsa"), CLAIMS, attacker)
    with rejected("jwk_not_usable"):
        jwt.decode(token, rs256.public(), policy=POLICY)
    with rejected("jwk_not_usable"):
        jwt.decode(token, JWKSet([rs256.public()]), policy=POLICY)


def test_s3_embedded_symmetric_jwk_rejected(es256: JWK) -> None:
    secret = b"attacker-chosen-secret-of-32-byt"
    header = {"alg": "HS256", "kid": "ec", "jwk": {"kty": "oct", "k": b64url_encode(secret)}}
    token = hmac_forge(header, CLAIMS, secret)
    with rejected("jwk_not_usable"):
        jwt.decode(token, es256.public(), policy=POLICY)
    with rejected("jwks_key_not_found"):
        jwt.decode(token, [es256.public()], policy=POLICY)


def test_s3_embedded_jwk_naming_the_victim_key_but_signed_by_attacker_rejected(
    attacker: JWK, es256: JWK
) -> None:
    """Copying the real public key into ``jwk`` changes nothing: the signature decides."""
    token = forge(_header(attacker, jwk=es256.public().to_dict()), CLAIMS, attacker)
    with rejected("jws_invalid_signature"):
        jwt.decode(token, es256.public(), policy=POLICY)


def test_s3_embedded_jwk_in_unprotected_json_header_rejected(attacker: JWK, es256: JWK) -> None:
    protected = seg({"alg": "ES256"})
    payload = seg(b"payload")
    token = forge({"alg": "ES256"}, b"payload", attacker)
    obj = {
        "payload": payload,
        "protected": protected,
        "header": {"jwk": attacker.public().to_dict(), "kid": "ec"},
        "signature": token.split(".")[2],
    }
    assert jws.verify_json(obj, attacker.public()).payload == b"payload"
    with rejected("jws_invalid_signature"):
        jws.verify_json(obj, es256.public())
    with rejected("jws_invalid_signature"):
        jws.verify_json(obj, JWKSet([es256.public()]))


def test_s3_verified_result_carries_the_callers_key_not_the_header_key(
    attacker: JWK, es256: JWK
) -> None:
    """A genuine token that also carries a ``jwk`` header verifies with the caller's key,
    and the result names that key."""
    token = forge(_header(attacker), CLAIMS, es256)
    result = jwt.decode(token, JWKSet([es256.public()]), policy=POLICY)
    assert result.key == es256.public()
    assert result.key != JWK(attacker.public().to_dict())
