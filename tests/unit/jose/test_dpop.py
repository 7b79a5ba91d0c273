"""tokensmith.jose.dpop: making and verifying DPoP proofs (RFC 9449), edge cases and
properties. The S24 cases each have a named test in tests/security/test_s24_dpop.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.jose import JWK, dpop, jws
from tokensmith.jose.encoding import b64url_decode
from tokensmith.jose.errors import (
    DPoPAlgorithmNotAllowedError,
    DPoPError,
    DPoPIatError,
    DPoPInvalidClaimError,
    DPoPInvalidKeyError,
    DPoPNonceError,
    JoseError,
)

NOW = 1_800_000_000
URL = "https://api.example.com/things"


@pytest.fixture(scope="module")
def es256() -> JWK:
    return JWK.generate("ES256", kid="client-key")


def _header(proof: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(b64url_decode(proof.split(".", maxsplit=1)[0]))
    return result


def _claims(proof: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(b64url_decode(proof.split(".")[1]))
    return result


# ---- make_proof ---------------------------------------------------------------------


def test_a_proof_carries_the_public_key_and_the_request(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL + "?q=1#frag", iat=NOW)
    header, claims = _header(proof), _claims(proof)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    assert "d" not in header["jwk"]
    assert set(header["jwk"]) == {"kty", "crv", "x", "y"}  # no kid, alg, use
    assert JWK(header["jwk"]).thumbprint() == es256.thumbprint()
    assert claims["htu"] == URL  # query and fragment dropped
    assert claims["htm"] == "GET"
    assert claims["iat"] == NOW
    assert len(claims["jti"]) >= 16
    assert "ath" not in claims
    assert "nonce" not in claims


def test_each_proof_gets_a_fresh_jti(es256: JWK) -> None:
    jtis = {_claims(dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW))["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_ath_and_nonce_are_added_when_given(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, access_token="tok", nonce="n-1")
    claims = _claims(proof)
    assert claims["ath"] == dpop.access_token_hash("tok")
    assert claims["nonce"] == "n-1"


@pytest.mark.parametrize("alg", ["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA", "Ed25519"])
def test_every_default_algorithm_round_trips(alg: str) -> None:
    key = JWK.generate(alg)
    proof = dpop.make_proof(key, htm="POST", htu=URL, iat=NOW, alg=alg)
    result = dpop.verify_proof(proof, htm="POST", htu=URL, now=NOW)
    assert result.header["alg"] == alg
    assert result.jkt == key.thumbprint()
    assert not result.key.is_private


def test_make_proof_refuses_caller_mistakes(es256: JWK) -> None:
    with pytest.raises(ValueError, match="private key"):
        dpop.make_proof(es256.public(), htm="GET", htu=URL, iat=NOW)
    with pytest.raises(ValueError, match="asymmetric"):
        dpop.make_proof(JWK.from_secret(b"k" * 32), htm="GET", htu=URL, iat=NOW)
    with pytest.raises(ValueError, match="HTTP method"):
        dpop.make_proof(es256, htm="GET /", htu=URL, iat=NOW)
    with pytest.raises(ValueError, match="http"):
        dpop.make_proof(es256, htm="GET", htu="ftp://x/", iat=NOW)
    with pytest.raises(TypeError):
        dpop.make_proof(es256, htm="GET", htu=URL, iat=float(NOW))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jti"):
        dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, jti="x" * 300)


# ---- DPoPPolicy ---------------------------------------------------------------------


def test_the_default_policy_allows_the_asymmetric_table() -> None:
    assert dpop.DPoPPolicy().algorithms == dpop.DEFAULT_DPOP_ALGORITHMS
    assert dpop.algorithm_names() == "ES256 ES384 ES512 RS256 PS256 EdDSA Ed25519"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"algorithms": ["HS256"]}, ValueError),
        ({"algorithms": ["none"]}, ValueError),
        ({"algorithms": ["XX1"]}, ValueError),
        ({"algorithms": []}, ValueError),
        ({"algorithms": "ES256"}, TypeError),
        ({"algorithms": [1]}, TypeError),
        ({"max_age": -1}, ValueError),
        ({"max_age": 0}, ValueError),
        ({"max_age": float("inf")}, ValueError),
        ({"max_age": True}, TypeError),
        ({"leeway": "5"}, TypeError),
        ({"leeway": 301}, ValueError),
        ({"max_proof_size": 10}, ValueError),
        ({"max_proof_size": 1.5}, ValueError),
    ],
)
def test_a_nonsensical_policy_fails_when_built(kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        dpop.DPoPPolicy(**kwargs)


def test_expires_at_is_the_end_of_the_window() -> None:
    policy = dpop.DPoPPolicy(max_age=30, leeway=2)
    assert policy.expires_at(100) == 132


def test_a_narrower_allow_list_refuses_the_rest() -> None:
    key = JWK.generate("EdDSA")
    proof = dpop.make_proof(key, htm="GET", htu=URL, iat=NOW)
    with pytest.raises(DPoPAlgorithmNotAllowedError):
        dpop.verify_proof(
            proof, htm="GET", htu=URL, now=NOW, policy=dpop.DPoPPolicy(algorithms=["ES256"])
        )


# ---- verify_proof edges -------------------------------------------------------------


def test_iat_window_edges_are_inclusive(es256: JWK) -> None:
    policy = dpop.DPoPPolicy(max_age=60, leeway=5)
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    for now in (NOW - 5, NOW, NOW + 65):
        assert dpop.verify_proof(proof, htm="GET", htu=URL, now=now, policy=policy).iat == NOW
    for now in (NOW - 5.01, NOW + 65.01):
        with pytest.raises(DPoPIatError):
            dpop.verify_proof(proof, htm="GET", htu=URL, now=now, policy=policy)


def test_nonce_accepts_any_of_several(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, nonce="old")
    result = dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW, nonce=("new", "old"))
    assert result.claims["nonce"] == "old"
    with pytest.raises(DPoPNonceError) as info:
        dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW, nonce=("new",))
    assert info.value.code == "use_dpop_nonce"


def test_a_proof_nonce_is_ignored_when_none_is_required(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, nonce="whatever")
    assert dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW).jti


def _signed(key: JWK, header: dict[str, Any], claims: dict[str, Any]) -> str:
    return jws.sign(json.dumps(claims), key, header=header)


def _good_claims() -> dict[str, Any]:
    return {"jti": "j1", "htm": "GET", "htu": URL, "iat": NOW}


@pytest.mark.parametrize(
    "change",
    [
        {"jti": None},
        {"jti": ""},
        {"jti": 5},
        {"jti": "x" * 300},
        {"htm": None},
        {"htu": None},
        {"htu": ["https://api.example.com/things"]},
        {"iat": None},
        {"iat": "1800000000"},
        {"iat": True},
    ],
)
def test_missing_or_mistyped_claims_are_refused(es256: JWK, change: dict[str, Any]) -> None:
    claims = {k: v for k, v in {**_good_claims(), **change}.items() if v is not None}
    header = {"typ": "dpop+jwt", "jwk": es256.public().to_dict()}
    proof = _signed(es256, header, claims)
    with pytest.raises(DPoPInvalidClaimError):
        dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW)


@pytest.mark.parametrize(
    "jwk",
    [None, "a string", {"kty": "EC"}, {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}],
)
def test_a_missing_or_unusable_jwk_is_refused(es256: JWK, jwk: Any) -> None:
    header: dict[str, Any] = {"typ": "dpop+jwt"}
    if jwk is not None:
        header["jwk"] = jwk
    proof = _signed(es256, header, _good_claims())
    with pytest.raises(DPoPInvalidKeyError):
        dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW)


def test_a_jwk_of_another_family_than_the_alg_is_refused(es256: JWK) -> None:
    other = JWK.generate("EdDSA")
    header = {"typ": "dpop+jwt", "jwk": other.public().to_dict()}
    with pytest.raises(DPoPInvalidKeyError):
        dpop.verify_proof(_signed(es256, header, _good_claims()), htm="GET", htu=URL, now=NOW)


@pytest.mark.parametrize(
    "proof",
    ["", "a.b", "a.b.c.d", "!!.??.**", "x" * 9000, "é.é.é", b"a.b.c", None],
)
def test_garbage_ends_in_the_dpop_error_tree(proof: Any) -> None:
    with pytest.raises(DPoPError):
        dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW)


def test_verify_refuses_caller_mistakes(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    with pytest.raises(ValueError, match="HTTP method"):
        dpop.verify_proof(proof, htm="", htu=URL, now=NOW)
    with pytest.raises(ValueError, match="absolute"):
        dpop.verify_proof(proof, htm="GET", htu="/relative", now=NOW)
    with pytest.raises(TypeError):
        dpop.verify_proof(proof, htm="GET", htu=URL, now="now")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW, nonce=[])


# ---- htu normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://EXAMPLE.com/a", "https://example.com/a"),
        ("HTTPS://example.com/a", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a?x=1#y", "https://example.com/a"),
        ("https://example.com/%7euser/%2f", "https://example.com/~user/%2F"),
        ("https://[::1]:8443/a", "https://[::1]:8443/a"),
    ],
)
def test_equivalent_urls_normalise_alike(a: str, b: str) -> None:
    assert dpop.normalize_htu(a) == dpop.normalize_htu(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "https://example.com/A"),
        ("https://example.com/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com/a"),
        ("https://example.com/a/", "https://example.com/a"),
        ("https://example.com/a", "https://example.org/a"),
    ],
)
def test_different_urls_stay_different(a: str, b: str) -> None:
    assert dpop.normalize_htu(a) != dpop.normalize_htu(b)


@pytest.mark.parametrize(
    "url",
    [
        "/a",
        "ftp://example.com/a",
        "https://user:pw@example.com/a",
        "https://example.com:99999/a",
        "https://exa mple.com/a",
        "https:///a",
        "https://ëxample.com/",
    ],
)
def test_unacceptable_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        dpop.normalize_htu(url)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60))
def test_normalize_htu_raises_only_value_error(text: str) -> None:
    try:
        result = dpop.normalize_htu("https://example.com/" + text)
    except ValueError:
        return
    assert result.startswith("https://example.com/")
    assert "?" not in result
    assert "#" not in result
    assert dpop.normalize_htu(result) == result  # idempotent


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_a_proof_never_escape_the_error_tree(data: bytes) -> None:
    text = data.decode("latin-1")
    with pytest.raises(JoseError):
        dpop.verify_proof(text, htm="GET", htu=URL, now=NOW)


# ---- the header memo --------------------------------------------------------------------


def test_the_header_memo_changes_no_answer(es256: JWK) -> None:
    policy = dpop.DPoPPolicy()
    first = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    second = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    assert first.split(".")[0] == second.split(".")[0]  # one client, one header segment
    a = dpop.verify_proof(first, htm="GET", htu=URL, now=NOW, policy=policy)
    assert first.split(".")[0] in policy.header_plans
    b = dpop.verify_proof(second, htm="GET", htu=URL, now=NOW, policy=policy)
    assert a.key is b.key
    assert a.jti != b.jti
    # a remembered header never vouches for a signature
    head, _body, sig = second.split(".")
    forged_body = dpop.make_proof(es256, htm="POST", htu=URL, iat=NOW).split(".")[1]
    with pytest.raises(DPoPError, match="signature"):
        dpop.verify_proof(
            f"{head}.{forged_body}.{sig}", htm="POST", htu=URL, now=NOW, policy=policy
        )
    # the shared header is read-only, down to the jwk
    with pytest.raises(TypeError):
        b.header["typ"] = "JWT"  # type: ignore[index]
    with pytest.raises(TypeError):
        b.header["jwk"]["x"] = "A"


def test_the_header_memo_is_per_policy(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW)  # remembered by the default policy
    narrow = dpop.DPoPPolicy(algorithms=["EdDSA"])
    with pytest.raises(DPoPAlgorithmNotAllowedError):
        dpop.verify_proof(proof, htm="GET", htu=URL, now=NOW, policy=narrow)


def test_the_replay_key_is_per_key_and_jti(es256: JWK) -> None:
    other = JWK.generate("ES256")
    proofs = [
        dpop.make_proof(key, htm="GET", htu=URL, iat=NOW, jti=jti)
        for key in (es256, other)
        for jti in ("a", "b")
    ]
    keys = [dpop.verify_proof(p, htm="GET", htu=URL, now=NOW).replay_key for p in proofs]
    assert len(set(keys)) == 4
    assert all(len(k) == 32 for k in keys)
    again = dpop.make_proof(es256, htm="POST", htu=URL, iat=NOW, jti="a")
    assert dpop.verify_proof(again, htm="POST", htu=URL, now=NOW).replay_key == keys[0]
