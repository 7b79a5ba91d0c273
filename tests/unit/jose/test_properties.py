"""Property tests: decoding untrusted input raises nothing but JoseError.

DESIGN.md rule 4 ("every malformed token ends in our error tree"): ``jwt.decode``,
``jws.verify``, ``jws.verify_json``, ``jwt.peek``, ``JWK.from_json`` and
``JWKSet.from_json`` are fed arbitrary bytes and text, mutations of valid tokens and
hostile JSON, and may only succeed or raise a :class:`JoseError`. Plus round trips of
every signing algorithm. Keys are generated once per module; the clock is fixed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith.jose import ALL_SIGNING_ALGORITHMS, JWK, ClaimsPolicy, JoseError, JWKSet, jws, jwt
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.jose.encoding import b64url_encode

NOW = 1_700_000_000
POLICY = ClaimsPolicy(now=lambda: NOW)
LATER = NOW + 3600
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS: dict[str, JWK] = {alg: JWK.generate(alg, kid=alg) for alg in ALL_SIGNING_ALGORITHMS}
HS = KEYS["HS256"]
VERIFY_KEYS: dict[str, JWK] = {
    alg: key if key.is_symmetric else key.public() for alg, key in KEYS.items()
}
TOKENS: dict[str, str] = {
    alg: jwt.encode({"sub": "u1", "exp": LATER, "n": 1}, key) for alg, key in KEYS.items()
}


def only_jose_errors(call: Callable[[], object]) -> object:
    """Run ``call``: success or a JoseError (with a non-empty string code) only."""
    try:
        result = call()
    except JoseError as exc:
        result = exc
    if isinstance(result, JoseError):
        assert isinstance(result.code, str)
        assert result.code
    return result


def every_decoder(data: str | bytes, keys: Any = HS) -> None:
    only_jose_errors(lambda: jwt.decode(data, keys, policy=POLICY))
    only_jose_errors(lambda: jws.verify(data, keys))
    only_jose_errors(lambda: jws.verify_json(data, keys))
    only_jose_errors(lambda: jwt.peek(data))
    only_jose_errors(lambda: JWK.from_json(data))
    only_jose_errors(lambda: JWKSet.from_json(data))


# ---- arbitrary input -------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TOKENISH = st.text(alphabet=B64URL + '.=+/ {}"[]:,\n\t\u00e9\ud800', max_size=300)


@SETTINGS
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_only_jose_errors(data: bytes) -> None:
    every_decoder(data)


@SETTINGS
@given(st.text(max_size=2000))
def test_arbitrary_text_raises_only_jose_errors(data: str) -> None:
    every_decoder(data)


@SETTINGS
@given(TOKENISH)
def test_token_shaped_text_raises_only_jose_errors(data: str) -> None:
    every_decoder(data)
    every_decoder(data, JWKSet([HS]))


# ---- mutations of valid tokens --------------------------------------------------------


@st.composite
def mutated_tokens(draw: st.DrawFn) -> tuple[str, str]:
    alg = draw(st.sampled_from(sorted(TOKENS)))
    token = TOKENS[alg]
    segments = token.split(".")
    kind = draw(st.sampled_from(["flip", "insert", "delete", "swap", "duplicate", "drop"]))
    if kind in ("flip", "insert", "delete"):
        index = draw(st.integers(0, 2))
        segment = segments[index]
        pos = draw(st.integers(0, max(0, len(segment) - 1)))
        char = draw(st.sampled_from(B64URL + "=+/ .{\u00e9\x00"))
        if kind == "flip":
            segment = segment[:pos] + char + segment[pos + 1 :]
        elif kind == "insert":
            segment = segment[:pos] + char + segment[pos:]
        else:
            segment = segment[:pos] + segment[pos + 1 :]
        segments[index] = segment
    elif kind == "swap":
        order = draw(st.permutations([0, 1, 2]))
        segments = [segments[i] for i in order]
    elif kind == "duplicate":
        segments.insert(draw(st.integers(0, 3)), segments[draw(st.integers(0, 2))])
    else:
        del segments[draw(st.integers(0, 2))]
    return alg, ".".join(segments)


@SETTINGS
@given(mutated_tokens())
def test_mutated_tokens_raise_only_jose_errors(case: tuple[str, str]) -> None:
    alg, token = case
    key = VERIFY_KEYS[alg]
    result = only_jose_errors(lambda: jwt.decode(token, key, policy=POLICY))
    if not isinstance(result, JoseError):
        # Only an unchanged token may verify (e.g. a character flipped to itself).
        assert token == TOKENS[alg]
    only_jose_errors(lambda: jws.verify(token, key))
    only_jose_errors(lambda: jws.verify(token, JWKSet([key])))
    only_jose_errors(lambda: jwt.peek(token))
    parts = token.split(".")
    if len(parts) == 3:
        obj = {"protected": parts[0], "payload": parts[1], "signature": parts[2]}
        only_jose_errors(lambda: jws.verify_json(obj, key))
        only_jose_errors(lambda: jws.verify_json(json.dumps(obj), key))


@pytest.mark.parametrize("alg", sorted(TOKENS))
def test_every_single_character_flip_is_rejected(alg: str) -> None:
    """Exhaustive over positions: flipping any one character never verifies."""
    token = TOKENS[alg]
    key = VERIFY_KEYS[alg]
    for pos, char in enumerate(token):
        if char == ".":
            continue
        replacement = "A" if char != "A" else "B"
        mutated = token[:pos] + replacement + token[pos + 1 :]
        with pytest.raises(JoseError):
            jwt.decode(mutated, key, policy=POLICY)


# ---- hostile JSON in headers and claims ----------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
REGISTERED = ["alg", "kid", "typ", "crit", "b64", "jwk", "jku", "x5u", "cty", "zip", "enc"]
CLAIM_NAMES = ["exp", "nbf", "iat", "iss", "sub", "aud", "jti", "cnf"]


def _text(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@st.composite
def hostile_json_text(draw: st.DrawFn, names: list[str], base: dict[str, Any]) -> str:
    """JSON text: a random object over the interesting names, sometimes with raw
    duplicates, deep nesting, huge numbers or a non-object at the top."""
    kind = draw(st.sampled_from(["object", "duplicate", "deep", "number", "any"]))
    obj = dict(base)
    obj.update(draw(st.dictionaries(st.sampled_from(names), json_values, max_size=5)))
    if kind == "object":
        return _text(obj)
    if kind == "duplicate":
        name = draw(st.sampled_from(names))
        return _text(obj)[:-1] + ("," if obj else "") + f'"{name}":{_text(draw(json_values))}}}'
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = (
            opener * depth + "1" + closer * depth if opener != "[" else "[" * depth + "]" * depth
        )
        return _text(obj)[:-1] + ("," if obj else "") + f'"x":{inner}}}'
    if kind == "number":
        name = draw(st.sampled_from(names))
        number = draw(
            st.sampled_from(
                ["1e400", "-1e400", "9" * 5000, "1" + "0" * 400, "-0", "1E+2", "0.0000001"]
            )
        )
        return _text(obj)[:-1] + ("," if obj else "") + f'"{name}":{number}}}'
    return _text(draw(json_values))


def _sign_text(header_text: str, payload_text: str) -> str:
    def encode(text: str) -> str:
        return b64url_encode(text.encode("utf-8", "surrogatepass"))

    signing_input = f"{encode(header_text)}.{encode(payload_text)}"
    tag = SIGNING_ALGORITHMS["HS256"].sign(HS.private_key_object, signing_input.encode())
    return f"{signing_input}.{b64url_encode(tag)}"


@SETTINGS
@given(
    hostile_json_text(REGISTERED, {"alg": "HS256"}),
    hostile_json_text(CLAIM_NAMES, {"exp": LATER}),
)
def test_hostile_json_headers_and_claims_raise_only_jose_errors(header: str, claims: str) -> None:
    """Correctly signed, so the header and claims themselves are what is tested."""
    token = _sign_text(header, claims)
    for policy in (POLICY, ClaimsPolicy(now=POLICY.now, audience="x", issuer="i", leeway=300)):
        only_jose_errors(lambda policy=policy: jwt.decode(token, HS, policy=policy))
    only_jose_errors(lambda: jws.verify(token, HS))
    only_jose_errors(lambda: jws.verify(token, JWKSet([HS])))
    only_jose_errors(lambda: jwt.peek(token))
    protected, payload, signature = token.split(".")
    for obj in (
        {"protected": protected, "payload": payload, "signature": signature},
        {"payload": payload, "signatures": [{"protected": protected, "signature": signature}]},
    ):
        only_jose_errors(lambda obj=obj: jws.verify_json(obj, HS))


@SETTINGS
@given(json_values, st.sampled_from(["protected", "header", "payload", "signature", "signatures"]))
def test_hostile_jws_json_objects_raise_only_jose_errors(value: Any, member: str) -> None:
    signed = jws.sign_json(b"payload", [jws.Signer(HS, "HS256")], flattened=True)
    for base in (signed, {"payload": signed["payload"], "signatures": [dict(signed)]}):
        obj = {**base, member: value}
        only_jose_errors(lambda obj=obj: jws.verify_json(obj, HS))
        only_jose_errors(lambda obj=obj: jws.verify_json(_text(obj), HS))


JWK_NAMES = [
    "kty",
    "crv",
    "x",
    "y",
    "d",
    "n",
    "e",
    "k",
    "p",
    "q",
    "dp",
    "dq",
    "qi",
    "oth",
    "alg",
    "use",
    "key_ops",
    "kid",
    "x5c",
]
JWK_BASES = [KEYS[a].to_dict() for a in ("HS256", "RS256", "ES256", "EdDSA", "Ed448", "ES256K")]


@SETTINGS
@given(
    st.sampled_from(JWK_BASES),
    st.dictionaries(
        st.sampled_from(JWK_NAMES),
        json_values | st.sampled_from(["", "AA", "AQAB", "_-"]),
        max_size=4,
    ),
    st.booleans(),
)
def test_hostile_jwks_raise_only_jose_errors(
    base: dict[str, Any], changes: dict[str, Any], public_only: bool
) -> None:
    member = {**base, **changes}
    text = _text(member)
    only_jose_errors(lambda: JWK.from_json(text))
    only_jose_errors(lambda: JWK.import_key(text))
    only_jose_errors(lambda: JWKSet.from_json(_text({"keys": [member]}), public_only=public_only))
    only_jose_errors(lambda: JWKSet.from_json(_text({"keys": member}), public_only=public_only))


# ---- round trips ----------------------------------------------------------------------

safe_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
claim_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | safe_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(safe_text, children, max_size=4)
    ),
    max_leaves=15,
)
custom_claims = st.dictionaries(
    safe_text.filter(lambda name: name not in CLAIM_NAMES), claim_values, max_size=6
)


@SETTINGS
@given(st.sampled_from(sorted(KEYS)), custom_claims, st.integers(NOW + 1, 253402300799))
def test_round_trip_every_algorithm(alg: str, extra: dict[str, Any], exp: int) -> None:
    claims = {**extra, "exp": exp, "iat": NOW, "sub": "u1"}
    token = jwt.encode(claims, KEYS[alg])
    result = jwt.decode(token, VERIFY_KEYS[alg], policy=POLICY)
    assert result.claims == claims
    assert result.header["alg"] == alg
    assert jwt.peek(token).claims == claims
    # The set form finds the key by kid.
    assert jwt.decode(token, JWKSet([VERIFY_KEYS[alg]]), policy=POLICY).key == VERIFY_KEYS[alg]


@SETTINGS
@given(st.sampled_from(sorted(KEYS)), st.binary(max_size=500), st.booleans())
def test_jws_round_trip_every_algorithm(alg: str, payload: bytes, flattened: bool) -> None:
    key = KEYS[alg]
    assert jws.verify(jws.sign(payload, key), VERIFY_KEYS[alg]).payload == payload
    signed = jws.sign_json(payload, [jws.Signer(key, alg)], flattened=flattened)
    assert jws.verify_json(signed, VERIFY_KEYS[alg]).payload == payload
    assert jws.verify_json(json.dumps(signed), VERIFY_KEYS[alg]).payload == payload


def test_round_trip_covers_every_algorithm() -> None:
    assert set(KEYS) == set(ALL_SIGNING_ALGORITHMS)
    for alg, token in TOKENS.items():
        assert jwt.decode(token, VERIFY_KEYS[alg], policy=POLICY).claims["n"] == 1


# ---- regressions found by these properties ---------------------------------------------


@pytest.mark.parametrize("kty", ["EC", "OKP"])
@pytest.mark.parametrize("crv", [[], {}, ["P-256"], {"a": 1}])
def test_regression_jwk_unhashable_crv_raised_type_error(kty: str, crv: object) -> None:
    """``{"kty":"EC","crv":[]}`` used to raise TypeError (unhashable) from JWK.from_json."""
    import json

    text = json.dumps({"kty": kty, "crv": crv, "x": "AA", "y": "AA"})
    with pytest.raises(JoseError) as exc_info:
        JWK.from_json(text)
    assert exc_info.value.code == "jwk_unsupported_curve"
    # In a set the member is skipped as unsupported, never a TypeError.
    key_set = JWKSet.from_json(json.dumps({"keys": [json.loads(text)]}))
    assert len(key_set) == 0
    assert len(key_set.skipped) == 1


def test_regression_verify_json_unencoded_payload_with_lone_surrogate() -> None:
    """A JWS JSON object parsed by another JSON library (which lets lone surrogates
    through) with ``b64: false`` used to raise UnicodeEncodeError from verify_json."""
    key = JWK.generate("HS256", kid="k1")
    signed = jws.sign_json(
        b"x", [jws.Signer(key, "HS256", {"b64": False, "crit": ["b64"]})], flattened=True
    )
    assert jws.verify_json(signed, key).payload == b"x"
    hostile = {**signed, "payload": "\ud800"}
    with pytest.raises(JoseError) as exc_info:
        jws.verify_json(hostile, key)
    assert exc_info.value.code == "jws_malformed"
