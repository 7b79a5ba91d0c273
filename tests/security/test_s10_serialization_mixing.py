"""S10: mixed JSON/compact serialization (python-jwt CVE-2022-39227).

Compact input is exactly three base64url segments: no ``{``, no whitespace, no other
segment count. In the JSON serialization, protected and unprotected header names
never overlap."""

from __future__ import annotations

import json

import pytest
from hostile import CLAIMS, POLICY, forge, rejected, seg

from tokensmith.jose import JWK, jws, jwt


@pytest.fixture(scope="module")
def token(hs256_module: JWK) -> str:
    return forge({"alg": "HS256", "typ": "JWT"}, CLAIMS, hs256_module)


@pytest.fixture(scope="module")
def hs256_module() -> JWK:
    return JWK.generate("HS256", kid="hs")


def _both(token: str | bytes, key: JWK, code: str) -> None:
    with rejected(code):
        jwt.decode(token, key, policy=POLICY)
    with rejected(code):
        jws.verify(token, key)


def test_s10_genuine_token_verifies(token: str, hs256_module: JWK) -> None:
    assert jwt.decode(token, hs256_module, policy=POLICY).claims == CLAIMS


def test_s10_python_jwt_cve_2022_39227_mixed_token_rejected(token: str, hs256_module: JWK) -> None:
    """The published exploit: a JSON object whose first member name holds the genuine
    header.payload and whose members hold forged claims and the genuine signature."""
    header, payload, signature = token.split(".")
    forged_claims = seg({**CLAIMS, "sub": "admin"})
    mixed = json.dumps(
        {
            f"  {header}.{forged_claims}.": "",
            "protected": header,
            "payload": payload,
            "signature": signature,
        }
    )
    assert mixed.count(".") >= 2
    with rejected("jose_bad_base64"):
        jwt.decode(mixed, hs256_module, policy=POLICY)
    with rejected("jose_bad_base64"):
        jws.verify(mixed, hs256_module)


def test_s10_json_serialization_given_to_compact_verifiers_rejected(
    token: str, hs256_module: JWK
) -> None:
    header, payload, signature = token.split(".")
    flattened = json.dumps({"protected": header, "payload": payload, "signature": signature})
    _both(flattened, hs256_module, "jose_malformed")


@pytest.mark.parametrize("position", [0, 1, 2])
def test_s10_brace_in_a_segment_rejected(token: str, hs256_module: JWK, position: int) -> None:
    parts = token.split(".")
    parts[position] = "{" + parts[position]
    _both(".".join(parts), hs256_module, "jose_bad_base64")
    # A raw JSON header instead of its base64url.
    parts = token.split(".")
    parts[0] = '{"alg":"HS256"}'
    _both(".".join(parts), hs256_module, "jose_bad_base64")


WHITESPACE = [" ", "\t", "\n", "\r\n", "\u00a0", "\u2028"]


@pytest.mark.parametrize("space", WHITESPACE, ids=repr)
@pytest.mark.parametrize(
    "where",
    ["leading", "trailing", "inside-header", "inside-payload", "inside-signature", "around-dot"],
)
def test_s10_whitespace_anywhere_rejected(
    token: str, hs256_module: JWK, space: str, where: str
) -> None:
    header, payload, signature = token.split(".")
    mutated = {
        "leading": space + token,
        "trailing": token + space,
        "inside-header": f"{header[:5]}{space}{header[5:]}.{payload}.{signature}",
        "inside-payload": f"{header}.{payload[:5]}{space}{payload[5:]}.{signature}",
        "inside-signature": f"{header}.{payload}.{signature[:5]}{space}{signature[5:]}",
        "around-dot": f"{header}{space}.{space}{payload}.{signature}",
    }[where]
    # As text, any non-base64url character fails the strict decoder; as bytes, a
    # non-ASCII token is refused before it is even split.
    for candidate, code in (
        (mutated, "jose_bad_base64"),
        (mutated.encode("utf-8"), "jose_bad_base64" if space.isascii() else "jose_malformed"),
    ):
        _both(candidate, hs256_module, code)


@pytest.mark.parametrize("count", [1, 2, 4, 5, 6])
def test_s10_wrong_segment_count_rejected(token: str, hs256_module: JWK, count: int) -> None:
    header, payload, signature = token.split(".")
    segments = [header, payload, signature, signature, payload, header][:count]
    _both(".".join(segments), hs256_module, "jose_malformed")
    if count > 3:
        _both(token + "." * (count - 3), hs256_module, "jose_malformed")


def test_s10_empty_and_dot_only_tokens_rejected(hs256_module: JWK) -> None:
    for text in ("", ".", "..", "...", "...."):
        code = "jose_malformed" if text.count(".") != 2 else "jose_bad_json"
        _both(text, hs256_module, code)


def test_s10_compact_token_given_to_verify_json_rejected(token: str, hs256_module: JWK) -> None:
    with rejected("jose_bad_json"):
        jws.verify_json(token, hs256_module)


@pytest.mark.parametrize("name", ["alg", "kid", "typ", "x-custom", "crit"])
def test_s10_overlapping_protected_and_unprotected_names_rejected(
    hs256_module: JWK, name: str
) -> None:
    protected = {"alg": "HS256", "kid": "hs", "typ": "JWT", "x-custom": 1, "crit": ["x-custom"]}
    header_b64 = seg(protected)
    payload_b64 = seg(b"payload")
    signature = forge(protected, b"payload", hs256_module).split(".")[2]
    flattened = {
        "protected": header_b64,
        "header": {name: protected[name]},
        "payload": payload_b64,
        "signature": signature,
    }
    with rejected("jws_malformed"):
        jws.verify_json(flattened, hs256_module, understood_crit=["x-custom"])
    general = {
        "payload": payload_b64,
        "signatures": [{k: flattened[k] for k in ("protected", "header", "signature")}],
    }
    with rejected("jws_malformed"):
        jws.verify_json(general, hs256_module, understood_crit=["x-custom"])
    # Control: without the overlap the same object verifies.
    del flattened["header"]
    assert (
        jws.verify_json(flattened, hs256_module, understood_crit=["x-custom"]).payload == b"payload"
    )


def test_s10_general_and_flattened_members_together_rejected(hs256_module: JWK) -> None:
    signed = jws.sign_json(b"payload", [jws.Signer(hs256_module, "HS256")])
    entry = signed["signatures"][0]
    for extra in ("protected", "signature", "header"):
        mixed = {**signed, extra: entry.get(extra, {"kid": "hs"})}
        with rejected("jws_malformed"):
            jws.verify_json(mixed, hs256_module)
    assert jws.verify_json(signed, hs256_module).payload == b"payload"


def test_regression_jwt_decode_non_ascii_claims_segment_raised_unicode_error(
    token: str, hs256_module: JWK
) -> None:
    """jwt.decode encoded the claims segment as ASCII before checking it, so a
    non-ASCII character there raised UnicodeEncodeError instead of a JoseError."""
    header, payload, signature = token.split(".")
    for char in ("\u00a0", "\u00e9", "\u2028", "\U0001f600"):
        _both(
            f"{header}.{payload[:3]}{char}{payload[3:]}.{signature}",
            hs256_module,
            "jose_bad_base64",
        )


def test_regression_jws_verify_non_ascii_unencoded_payload_raised_unicode_error(
    hs256_module: JWK,
) -> None:
    """RFC 7797 compact with b64:false: a non-ASCII payload segment raised
    UnicodeEncodeError from jws.verify."""
    header = {"alg": "HS256", "b64": False, "crit": ["b64"]}
    genuine = jws.sign(b"ascii payload", hs256_module, header=header)
    assert jws.verify(genuine, hs256_module).payload == b"ascii payload"
    head, _, signature = genuine.split(".")
    with rejected("jws_malformed"):
        jws.verify(f"{head}.caf\u00e9.{signature}", hs256_module)
