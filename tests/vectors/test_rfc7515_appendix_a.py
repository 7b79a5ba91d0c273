"""RFC 7515 Appendix A: the published JWS examples, as data.

These values are not in shared/vectors; they are the RFC's published example values
(keys, tokens, JSON serializations), transcribed as facts. Each signature is verified
with our API; for the deterministic algorithms (HS256, RS256) our signing reproduces
the RFC's bytes exactly. A.5 (alg "none") is rejected by every verifying call (S1).
"""

from __future__ import annotations

import pytest

from tokensmith.jose import jws
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import AlgorithmNotAllowedError, JoseError
from tokensmith.jose.jwk import JWK
from tokensmith.jose.jwkset import JWKSet

# The JWT payload of A.1, A.2, A.3, A.5 and A.6: note the CR LF and leading spaces.
JWT_PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'
JWT_PAYLOAD_B64 = (
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)

# A.1: HMAC SHA-256. The protected header is '{"typ":"JWT",\r\n "alg":"HS256"}'.
A1_KEY = {
    "kty": "oct",
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
}
A1_HEADER = b'{"typ":"JWT",\r\n "alg":"HS256"}'
A1_HEADER_B64 = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
A1_SIGNATURE = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
A1_TOKEN = f"{A1_HEADER_B64}.{JWT_PAYLOAD_B64}.{A1_SIGNATURE}"

# A.2: RSASSA-PKCS1-v1_5 SHA-256.
A2_KEY = {
    "kty": "RSA",
    "n": "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0"
    "Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5"
    "z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7a"
    "GhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ",
    "e": "AQAB",
    "d": "Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2"
    "NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_"
    "V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj"
    "3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ",
    "p": "4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_P"
    "y5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc",
    "q": "uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeL"
    "QeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc",
    "dp": "BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOK"
    "nu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0",
    "dq": "h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U"
    "0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU",
    "qi": "IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5"
    "cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U",
}
A2_HEADER_B64 = "eyJhbGciOiJSUzI1NiJ9"  # {"alg":"RS256"}
A2_SIGNATURE = (
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5j"
    "ujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L"
    "07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEU"
    "ipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
)
A2_TOKEN = f"{A2_HEADER_B64}.{JWT_PAYLOAD_B64}.{A2_SIGNATURE}"

# A.3: ECDSA P-256 SHA-256 (randomized: verified, not reproduced).
A3_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI",
}
A3_HEADER_B64 = "eyJhbGciOiJFUzI1NiJ9"  # {"alg":"ES256"}
A3_SIGNATURE = (
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)
A3_TOKEN = f"{A3_HEADER_B64}.{JWT_PAYLOAD_B64}.{A3_SIGNATURE}"

# A.4: ECDSA P-521 SHA-512 over the payload "Payload".
A4_KEY = {
    "kty": "EC",
    "crv": "P-521",
    "x": "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
    "y": "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",
    "d": "AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C",
}
A4_TOKEN = (
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8G"
    "aSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
)

# A.5: an Unsecured JWS, {"alg":"none"} and an empty signature.
A5_TOKEN = f"eyJhbGciOiJub25lIn0.{JWT_PAYLOAD_B64}."

# A.6: the general JWS JSON Serialization of the A.2 and A.3 signatures.
A6_KID_RSA = "2010-12-29"
A6_KID_EC = "e9bc097a-ce51-4036-9562-d2ade882db0d"
A6_JSON = {
    "payload": JWT_PAYLOAD_B64,
    "signatures": [
        {"protected": A2_HEADER_B64, "header": {"kid": A6_KID_RSA}, "signature": A2_SIGNATURE},
        {"protected": A3_HEADER_B64, "header": {"kid": A6_KID_EC}, "signature": A3_SIGNATURE},
    ],
}
# A.7: the flattened JWS JSON Serialization of the A.3 signature.
A7_JSON = {
    "payload": JWT_PAYLOAD_B64,
    "protected": A3_HEADER_B64,
    "header": {"kid": A6_KID_EC},
    "signature": A3_SIGNATURE,
}


def _public(members: dict[str, str]) -> JWK:
    return JWK(members).public()


def test_payload_and_header_encodings_match_the_rfc() -> None:
    assert b64url_encode(JWT_PAYLOAD) == JWT_PAYLOAD_B64
    assert b64url_encode(A1_HEADER) == A1_HEADER_B64
    assert b64url_decode(A2_HEADER_B64) == b'{"alg":"RS256"}'


def test_a1_hs256_verifies() -> None:
    result = jws.verify(A1_TOKEN, JWK(A1_KEY), algorithms=["HS256"])
    assert result.payload == JWT_PAYLOAD
    assert result.header == {"typ": "JWT", "alg": "HS256"}


def test_a1_hs256_signature_is_reproduced_exactly() -> None:
    """The RFC's header has a CR LF and a space that our JSON writer never emits, so the
    whole token can only be reproduced at the signature step: HS256 over the RFC's exact
    signing input, with the key as our JWK prepares it for signing."""
    alg = SIGNING_ALGORITHMS["HS256"]
    secret = JWK(A1_KEY).signing_key_for(alg)
    signing_input = f"{A1_HEADER_B64}.{JWT_PAYLOAD_B64}".encode("ascii")
    assert b64url_encode(alg.sign(secret, signing_input)) == A1_SIGNATURE


def test_a2_rs256_verifies() -> None:
    result = jws.verify(A2_TOKEN, _public(A2_KEY), algorithms=["RS256"])
    assert result.payload == JWT_PAYLOAD


def test_a2_rs256_token_is_reproduced_exactly() -> None:
    """RS256 is deterministic and the RFC's header is exactly what we write: jws.sign
    reproduces the whole published token, byte for byte."""
    assert jws.sign(JWT_PAYLOAD, JWK(A2_KEY), alg="RS256") == A2_TOKEN


def test_a3_es256_verifies() -> None:
    result = jws.verify(A3_TOKEN, _public(A3_KEY), algorithms=["ES256"])
    assert result.payload == JWT_PAYLOAD


def test_a3_es256_our_signature_over_the_same_input_verifies() -> None:
    """ECDSA is randomized: our signature differs from the RFC's but must verify with the
    RFC key, and its header matches the RFC's header exactly."""
    token = jws.sign(JWT_PAYLOAD, JWK(A3_KEY), alg="ES256")
    assert token.startswith(f"{A3_HEADER_B64}.{JWT_PAYLOAD_B64}.")
    assert token != A3_TOKEN
    assert jws.verify(token, _public(A3_KEY)).payload == JWT_PAYLOAD


def test_a4_es512_verifies() -> None:
    result = jws.verify(A4_TOKEN, _public(A4_KEY), algorithms=["ES512"])
    assert result.payload == b"Payload"
    token = jws.sign(b"Payload", JWK(A4_KEY), alg="ES512")
    assert token.startswith("eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.")
    assert jws.verify(token, _public(A4_KEY)).payload == b"Payload"


@pytest.mark.parametrize(
    "keys",
    [
        JWK(A1_KEY),
        _public(A2_KEY),
        _public(A3_KEY),
        _public(A4_KEY),
        [JWK(A1_KEY), _public(A2_KEY), _public(A3_KEY)],
        JWKSet([_public(A2_KEY), _public(A3_KEY), _public(A4_KEY)]),
    ],
    ids=["HS256-key", "RS256-key", "ES256-key", "ES512-key", "key-list", "key-set"],
)
@pytest.mark.parametrize("algorithms", [None, ["HS256", "RS256", "ES256", "ES512"]])
def test_a5_unsecured_jws_is_rejected_by_every_verifying_call(
    keys: object, algorithms: list[str] | None
) -> None:
    """S1: the RFC's own Unsecured JWS never verifies, whatever key or allow-list is
    given, in the compact and both JSON serializations."""
    with pytest.raises(AlgorithmNotAllowedError):
        jws.verify(A5_TOKEN, keys, algorithms=algorithms)  # type: ignore[arg-type]
    header_b64, payload_b64, _ = A5_TOKEN.split(".")
    flattened = {"payload": payload_b64, "protected": header_b64, "signature": ""}
    general = {"payload": payload_b64, "signatures": [{"protected": header_b64, "signature": ""}]}
    for serialization in (flattened, general):
        with pytest.raises(AlgorithmNotAllowedError):
            jws.verify_json(serialization, keys, algorithms=algorithms)  # type: ignore[arg-type]


def test_a5_none_is_refused_as_an_allowed_algorithm() -> None:
    """S1: 'none' cannot even be put on an allow-list (a caller mistake, ValueError)."""
    with pytest.raises(ValueError, match="none"):
        jws.verify(A5_TOKEN, JWK(A1_KEY), algorithms=["none"])


@pytest.mark.parametrize(
    ("keys", "kid"),
    [(_public(A2_KEY), A6_KID_RSA), (_public(A3_KEY), A6_KID_EC)],
    ids=["RS256", "ES256"],
)
def test_a6_general_json_serialization_verifies_with_each_key(keys: JWK, kid: str) -> None:
    result = jws.verify_json(A6_JSON, keys)
    assert result.payload == JWT_PAYLOAD
    assert result.header["kid"] == kid
    assert "kid" not in result.protected


def test_a6_general_json_serialization_with_a_key_set_selects_by_kid() -> None:
    keys = JWKSet([JWK({**A3_KEY, "kid": A6_KID_EC}).public()])
    result = jws.verify_json(A6_JSON, keys)
    assert result.header == {"alg": "ES256", "kid": A6_KID_EC}


def test_a6_rs256_signature_is_reproduced_by_sign_json() -> None:
    """RS256 is deterministic: sign_json reproduces A.6's RS256 entry exactly (A.6's
    ES256 entry is randomized and only verified above)."""
    signer = jws.Signer(JWK(A2_KEY), alg="RS256", header={"kid": A6_KID_RSA})
    produced = jws.sign_json(JWT_PAYLOAD, [signer])
    assert produced == {"payload": JWT_PAYLOAD_B64, "signatures": [A6_JSON["signatures"][0]]}


def test_a7_flattened_json_serialization_verifies() -> None:
    result = jws.verify_json(A7_JSON, _public(A3_KEY))
    assert result.payload == JWT_PAYLOAD
    assert result.header == {"alg": "ES256", "kid": A6_KID_EC}


@pytest.mark.parametrize(
    ("token", "key"),
    [(A1_TOKEN, JWK(A1_KEY)), (A2_TOKEN, _public(A2_KEY)), (A3_TOKEN, _public(A3_KEY))],
    ids=["A.1", "A.2", "A.3"],
)
def test_examples_with_one_flipped_payload_bit_are_rejected(token: str, key: JWK) -> None:
    """The examples are not accepted by accident: the same token over a payload with
    one character changed ("joe" -> "jof") fails with a JoseError."""
    header, _, signature = token.split(".")
    tampered = b64url_encode(JWT_PAYLOAD.replace(b"joe", b"jof"))
    with pytest.raises(JoseError):
        jws.verify(f"{header}.{tampered}.{signature}", key)
