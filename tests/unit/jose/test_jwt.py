"""Unit tests of tokensmith.jose.jwt: encode/decode/peek."""

from __future__ import annotations

import datetime as dt

import pytest

from tokensmith.jose import JWK, ClaimsPolicy, JWKSet, jwt
from tokensmith.jose.encoding import b64url_decode
from tokensmith.jose.errors import (
    AlgorithmNotAllowedError,
    ExpiredError,
    InvalidSignatureError,
    InvalidTypeError,
    JoseError,
    KeyMismatchError,
    MalformedError,
)

NOW = 1_700_000_000
POLICY = ClaimsPolicy(now=lambda: NOW)


@pytest.fixture(scope="module")
def key() -> JWK:
    return JWK.generate("ES256", kid="k1")


def test_round_trip(key: JWK) -> None:
    token = jwt.encode({"sub": "u1", "exp": NOW + 60}, key)
    result = jwt.decode(token, key.public(), policy=POLICY)
    assert result.claims == {"sub": "u1", "exp": NOW + 60}
    assert result.header == {"alg": "ES256", "kid": "k1", "typ": "JWT"}
    assert result.key == key.public()


def test_encode_datetimes(key: JWK) -> None:
    exp = dt.datetime.fromtimestamp(NOW + 60, tz=dt.UTC)
    token = jwt.encode({"exp": exp, "iat": exp - dt.timedelta(seconds=60)}, key)
    claims = jwt.decode(token, key.public(), policy=POLICY).claims
    assert claims == {"exp": NOW + 60, "iat": NOW}
    with pytest.raises(ValueError, match="aware"):
        jwt.encode({"exp": dt.datetime(2030, 1, 1)}, key)
    with pytest.raises(TypeError):
        jwt.encode({"exp": "tomorrow"}, key)
    with pytest.raises(TypeError):
        jwt.encode({"exp": True}, key)
    with pytest.raises(TypeError):
        jwt.encode([("exp", 1)], key)  # type: ignore[arg-type]


def test_typ_handling(key: JWK) -> None:
    plain = jwt.encode({"exp": NOW + 60}, key, typ=None)
    assert "typ" not in jwt.peek(plain).header
    access = jwt.encode({"exp": NOW + 60}, key, typ="at+jwt")
    at_policy = ClaimsPolicy(typ="application/at+jwt", now=lambda: NOW)
    assert jwt.decode(access, key.public(), policy=at_policy).header["typ"] == "at+jwt"
    with pytest.raises(InvalidTypeError):
        jwt.decode(plain, key.public(), policy=at_policy)
    with pytest.raises(InvalidTypeError):
        jwt.decode(jwt.encode({"exp": NOW + 60}, key), key.public(), policy=at_policy)


def test_extra_header_and_alg_mismatch(key: JWK) -> None:
    token = jwt.encode({"exp": NOW + 60}, key, header={"cty": "x", "kid": "other"})
    header = jwt.peek(token).header
    assert header["cty"] == "x"
    assert header["kid"] == "other"
    with pytest.raises(ValueError, match="alg"):
        jwt.encode({}, key, header={"alg": "ES384"})
    with pytest.raises(ValueError, match="b64"):
        jwt.encode({}, key, header={"b64": False, "crit": ["b64"]})


def test_peek_does_not_verify(key: JWK) -> None:
    token = jwt.encode({"sub": "u1", "exp": 1}, key)
    forged = token[: token.rindex(".") + 1] + "AAAA"
    peeked = jwt.peek(forged)
    assert peeked.claims == {"sub": "u1", "exp": 1}
    assert peeked.header["alg"] == "ES256"
    with pytest.raises(InvalidSignatureError):
        jwt.decode(forged, key.public(), policy=POLICY)
    with pytest.raises(MalformedError):
        jwt.peek("not a token")


def test_decode_checks_signature_before_claims(key: JWK) -> None:
    expired = jwt.encode({"exp": NOW - 1}, key)
    with pytest.raises(ExpiredError):
        jwt.decode(expired, key.public(), policy=POLICY)
    other = JWK.generate("ES256")
    with pytest.raises(InvalidSignatureError):
        jwt.decode(expired, other.public(), policy=POLICY)


def test_decode_algorithm_allow_list(key: JWK) -> None:
    token = jwt.encode({"exp": NOW + 60}, key)
    with pytest.raises(AlgorithmNotAllowedError):
        jwt.decode(token, key.public(), policy=ClaimsPolicy(algorithms=["RS256"], now=lambda: NOW))


def test_decode_with_a_set_picks_by_kid(key: JWK) -> None:
    other = JWK.generate("ES256", kid="k2")
    keys = JWKSet([other.public(), key.public()])
    token = jwt.encode({"exp": NOW + 60}, key)
    assert jwt.decode(token, keys, policy=POLICY).key.kid == "k1"


def test_hmac_token_refuses_an_asymmetric_key(key: JWK) -> None:
    """S2: the key decides the family."""
    secret = JWK.generate("HS256")
    token = jwt.encode({"exp": NOW + 60}, secret)
    with pytest.raises(KeyMismatchError):
        jwt.decode(token, key.public(), policy=POLICY)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "e30.e30.", b"\xff.\xff.\xff", 5])
def test_malformed_tokens_end_in_jose_errors(token: object, key: JWK) -> None:
    with pytest.raises(JoseError):
        jwt.decode(token, key.public(), policy=POLICY)  # type: ignore[arg-type]


def test_claims_payload_is_compact_json(key: JWK) -> None:
    token = jwt.encode({"b": 1, "a": "ñ"}, key)
    payload = b64url_decode(token.split(".")[1])
    assert payload == '{"b":1,"a":"ñ"}'.encode()
