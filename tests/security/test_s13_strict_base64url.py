"""S13: lax base64url is refused in every segment: padding, whitespace, ``+`` or
``/``, and non-zero leftover bits. Each mutation keeps the decoded bytes the same for
a lax decoder (so it is exactly the attack), and header/claims mutations are re-signed
over the mutated text, so only strict decoding can refuse them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hostile import LATER, POLICY, raw_sign, rejected, sign_segments, text_of

from tokensmith.jose import JWK, JoseError, jws, jwt
from tokensmith.jose.encoding import b64url_encode

BAD = "jose_bad_base64"
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _segment(template: str, remainder: int) -> str:
    """base64url of ``template`` (with ``{fill}`` widened) such that the encoding has
    length % 4 == remainder and contains both ``-`` and ``_``."""
    for width in range(64):
        encoded = b64url_encode(template.format(fill="~" * width).encode())
        if len(encoded) % 4 == remainder and "-" in encoded and "_" in encoded:
            return encoded
    raise AssertionError("no filler width works")  # pragma: no cover


def _pad(s: str) -> str:
    return s + "=" * (-len(s) % 4 or 4)  # "=" even where none would be due


def _pad_one(s: str) -> str:
    return s + "="


def _space_inside(s: str) -> str:
    return s[:4] + " " + s[4:]


def _newline_end(s: str) -> str:
    return s + "\n"


def _tab_inside(s: str) -> str:
    return s[:2] + "\t" + s[2:]


def _plus(s: str) -> str:
    return s.replace("-", "+")


def _slash(s: str) -> str:
    return s.replace("_", "/")


def _leftover_bits(s: str) -> str:
    """Set an unused low bit of the last character (decodes to the same bytes laxly)."""
    rem = len(s) % 4
    assert rem in (2, 3)
    value = ALPHABET.index(s[-1])
    return s[:-1] + ALPHABET[value | 0x01]  # bit 0 is unused for both remainders


MUTATIONS: dict[str, Callable[[str], str]] = {
    "padding": _pad,
    "single =": _pad_one,
    "space inside": _space_inside,
    "trailing newline": _newline_end,
    "tab inside": _tab_inside,
    "+ for -": _plus,
    "/ for _": _slash,
    "leftover bits": _leftover_bits,
}


@pytest.fixture(scope="module", params=[2, 3], ids=["len%4=2", "len%4=3"])
def segments(request: pytest.FixtureRequest) -> tuple[str, str]:
    rem = request.param
    header = _segment('{{"alg":"HS256","typ":"JWT","f":"{fill}???>>>"}}', rem)
    claims = _segment('{{"sub":"a","exp":' + str(LATER) + ',"f":"{fill}???>>>"}}', rem)
    return header, claims


@pytest.fixture(scope="module")
def key() -> JWK:
    return JWK.from_secret(bytes(range(64)), kid="k")


def test_s13_unmutated_segments_verify(segments: tuple[str, str], key: JWK) -> None:
    header, claims = segments
    token = sign_segments(header, claims, key, "HS256")
    assert jwt.decode(token, key, policy=POLICY).claims["sub"] == "a"
    for name, mutate in MUTATIONS.items():
        assert mutate(header) != header, name


@pytest.mark.parametrize("mutation", MUTATIONS, ids=MUTATIONS)
def test_s13_lax_header_segment_rejected(
    mutation: str, segments: tuple[str, str], key: JWK
) -> None:
    header, claims = segments
    token = sign_segments(MUTATIONS[mutation](header), claims, key, "HS256")
    with rejected(BAD):
        jwt.decode(token, key, policy=POLICY)
    with rejected(BAD):
        jws.verify(token, key)
    with rejected(BAD):
        jwt.peek(token)
    protected, payload, signature = token.split(".")
    with rejected(BAD):
        jws.verify_json({"protected": protected, "payload": payload, "signature": signature}, key)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=MUTATIONS)
def test_s13_lax_claims_segment_rejected(
    mutation: str, segments: tuple[str, str], key: JWK
) -> None:
    header, claims = segments
    token = sign_segments(header, MUTATIONS[mutation](claims), key, "HS256")
    with rejected(BAD):
        jwt.decode(token, key, policy=POLICY)
    with rejected(BAD):
        jws.verify(token, key)
    with rejected(BAD):
        jwt.peek(token)
    protected, payload, signature = token.split(".")
    with rejected(BAD):
        jws.verify_json({"protected": protected, "payload": payload, "signature": signature}, key)


@pytest.mark.parametrize("alg", ["HS256", "HS512"])  # signature length % 4 == 3 and 2
@pytest.mark.parametrize("mutation", MUTATIONS, ids=MUTATIONS)
def test_s13_lax_signature_segment_rejected(mutation: str, alg: str, key: JWK) -> None:
    header_text = {"alg": alg, "typ": "JWT"}
    for nonce in range(200):  # find a signature that contains both "-" and "_"
        claims = {"sub": "a", "exp": LATER, "n": nonce}
        token = sign_segments(
            b64url_encode(text_of(header_text)), b64url_encode(text_of(claims)), key, alg
        )
        signature = token.split(".")[2]
        if "-" in signature and "_" in signature:
            break
    head, payload, signature = token.split(".")
    assert jwt.decode(token, key, policy=POLICY).claims["n"] == nonce
    mutated = f"{head}.{payload}.{MUTATIONS[mutation](signature)}"
    with rejected(BAD):
        jwt.decode(mutated, key, policy=POLICY)
    with rejected(BAD):
        jws.verify(mutated, key)
    obj = {"protected": head, "payload": payload, "signature": MUTATIONS[mutation](signature)}
    with rejected(BAD):
        jws.verify_json(obj, key)


def test_s13_impossible_length_rejected(key: JWK) -> None:
    """A segment of length 4k+1 is not base64 at all."""
    header = b64url_encode(b'{"alg":"HS256"}')
    for bad in (header + "A", header + "AAAAA"):
        if len(bad) % 4 == 1:
            token = sign_segments(bad, b64url_encode(b"{}"), key, "HS256")
            with rejected(BAD):
                jws.verify(token, key)


def test_s13_wycheproof_jws_base64_cases(vectors_dir: Path) -> None:
    """Wycheproof json_web_signature tcId 357-377 (HS256 base64 edge cases).

    - tcId 372 and 373 are labelled valid but have a '?' inserted into a segment (see
      the vectors README): strict decoding refuses them, which is what this row asks.
    - tcId 367 and 370 ("invalidBase64Padding...") are, in the stored file, the very
      same string as the valid tcId 357 (their padding is not there), so they verify;
      the padding cases are covered by the mutation tests above.
    """
    data = json.loads((vectors_dir / "wycheproof" / "json_web_signature_test.json").read_text())
    cases = {
        case["tcId"]: (JWK(group["private"]), case)
        for group in data["testGroups"]
        for case in group["tests"]
        if 357 <= case["tcId"] <= 377
    }
    assert sorted(cases) == list(range(357, 378))
    assert cases[367][1]["jws"] == cases[370][1]["jws"] == cases[357][1]["jws"]
    for tc_id, (key, case) in cases.items():
        try:
            jws.verify(case["jws"], key)
            accepted = True
        except JoseError:
            accepted = False
        expected = (case["result"] == "valid" and tc_id not in (372, 373)) or tc_id in (367, 370)
        assert accepted is expected, tc_id


def test_s13_raw_sign_helper_is_hmac(key: JWK) -> None:
    """The helper signs exactly what a verifier recomputes (guards the tests above)."""
    import hmac

    assert raw_sign("HS256", key, b"x") == hmac.digest(bytes(range(64)), b"x", "sha256")
