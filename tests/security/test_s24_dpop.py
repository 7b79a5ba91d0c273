"""S24: DPoP proof abuse (RFC 9449 §4.3, §11): one named test per case.

JOSE level (``tokensmith.jose.dpop.verify_proof``) first, then the API side (the
``AccessTokenVerifier`` with a DPoP request)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tokensmith.jose import JWK, dpop, jws, jwt
from tokensmith.jose.encoding import b64url_encode
from tokensmith.jose.errors import DPoPError
from tokensmith.resource import (
    AccessTokenVerifier,
    DPoPNonces,
    DPoPOptions,
    DPoPRequest,
    SenderConstrainedError,
    UnboundTokenError,
    VerifierOptions,
)

NOW = 1_800_000_000
URL = "https://api.example.com/orders"


def _refused(code: str) -> pytest.RaisesContext[DPoPError]:
    return pytest.raises(DPoPError, match=f"^{code}:")


def _forge(key: JWK, header: dict[str, Any], claims: dict[str, Any], alg: str | None = None) -> str:
    """A proof signed by ``key`` with exactly this header (any alg/typ/jwk)."""
    return jws.sign(json.dumps(claims), key, alg=alg, header=header)


def _claims(**extra: Any) -> dict[str, Any]:
    return {"jti": "j-1", "htm": "GET", "htu": URL, "iat": NOW, **extra}


def _verify(proof: str, **kwargs: Any) -> dpop.VerifiedProof:
    args: dict[str, Any] = {"htm": "GET", "htu": URL, "now": NOW, **kwargs}
    return dpop.verify_proof(proof, **args)


# ---- JOSE level ---------------------------------------------------------------------


def test_s24_control_a_good_proof_verifies(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, access_token="at")
    result = _verify(proof, access_token="at", expected_jkt=es256.thumbprint())
    assert result.jkt == es256.thumbprint()


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt", "dpop", "application/jwt"])
def test_s24_typ_other_than_dpop_jwt_refused(es256: JWK, typ: str | None) -> None:
    header: dict[str, Any] = {"jwk": es256.public().to_dict()}
    if typ is not None:
        header["typ"] = typ
    with _refused("dpop_invalid_typ"):
        _verify(_forge(es256, header, _claims()))


def test_s24_alg_none_refused(es256: JWK) -> None:
    header = {"typ": "dpop+jwt", "alg": "none", "jwk": es256.public().to_dict()}
    unsigned = (
        b64url_encode(json.dumps(header).encode())
        + "."
        + b64url_encode(json.dumps(_claims()).encode())
    )
    for proof in (unsigned + ".", unsigned + ".c2ln"):
        with _refused("dpop_alg_not_allowed"):
            _verify(proof)


def test_s24_hmac_alg_refused(es256: JWK) -> None:
    secret = JWK.from_secret(b"s" * 32)
    # The attacker puts the secret in 'jwk' and MACs the proof with it.
    header = {"typ": "dpop+jwt", "jwk": secret.to_dict()}
    for alg in ("HS256", "HS384", "HS512"):
        key = JWK.from_secret(b"s" * 64)
        with _refused("dpop_alg_not_allowed"):
            _verify(_forge(key, {**header, "jwk": key.to_dict()}, _claims(), alg=alg))


def test_s24_alg_outside_the_allow_list_refused(es256: JWK) -> None:
    policy = dpop.DPoPPolicy(algorithms=["EdDSA"])
    with _refused("dpop_alg_not_allowed"):
        _verify(dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW), policy=policy)


@pytest.mark.parametrize("alg", ["ES256", "RS256", "EdDSA"])
def test_s24_private_key_in_jwk_refused(alg: str) -> None:
    key = JWK.generate(alg)
    header = {"typ": "dpop+jwt", "jwk": key.to_dict()}  # 'd' (and RSA CRT members) leak
    with _refused("dpop_invalid_jwk"):
        _verify(_forge(key, header, _claims()))


def test_s24_missing_jwk_refused(es256: JWK) -> None:
    with _refused("dpop_invalid_jwk"):
        _verify(_forge(es256, {"typ": "dpop+jwt"}, _claims()))


def test_s24_signature_by_another_key_than_jwk_refused(es256: JWK) -> None:
    other = JWK.generate("ES256")
    header = {"typ": "dpop+jwt", "jwk": other.public().to_dict()}
    with _refused("dpop_invalid_signature"):
        _verify(_forge(es256, header, _claims()))


@pytest.mark.parametrize("htm", ["POST", "get", "HEAD"])
def test_s24_wrong_htm_refused(es256: JWK, htm: str) -> None:
    proof = dpop.make_proof(es256, htm=htm, htu=URL, iat=NOW)
    with _refused("dpop_htm_mismatch"):
        _verify(proof)


@pytest.mark.parametrize(
    "htu",
    [
        "https://api.example.com/orders/1",
        "https://api.example.com/Orders",
        "http://api.example.com/orders",
        "https://api.example.com:8443/orders",
        "https://evil.example.com/orders",
        "https://api.example.com/",
    ],
)
def test_s24_wrong_htu_refused(es256: JWK, htu: str) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=htu, iat=NOW)
    with _refused("dpop_htu_mismatch"):
        _verify(proof)


def test_s24_htu_not_a_url_refused(es256: JWK) -> None:
    header = {"typ": "dpop+jwt", "jwk": es256.public().to_dict()}
    with _refused("dpop_htu_mismatch"):
        _verify(_forge(es256, header, _claims(htu="/orders")))


def test_s24_stale_iat_refused(es256: JWK) -> None:
    policy = dpop.DPoPPolicy(max_age=60, leeway=5)
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW - 66)
    with _refused("dpop_iat_out_of_window"):
        _verify(proof, policy=policy)


def test_s24_future_iat_refused(es256: JWK) -> None:
    policy = dpop.DPoPPolicy(max_age=60, leeway=5)
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW + 6)
    with _refused("dpop_iat_out_of_window"):
        _verify(proof, policy=policy)


def test_s24_missing_jti_refused(es256: JWK) -> None:
    header = {"typ": "dpop+jwt", "jwk": es256.public().to_dict()}
    claims = _claims()
    del claims["jti"]
    with _refused("dpop_invalid_claim"):
        _verify(_forge(es256, header, claims))


def test_s24_wrong_ath_refused(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, access_token="token-A")
    with _refused("dpop_ath_mismatch"):
        _verify(proof, access_token="token-B")


def test_s24_missing_ath_refused(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    with _refused("dpop_ath_mismatch"):
        _verify(proof, access_token="token-A")


def test_s24_cnf_jkt_mismatch_refused(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    with _refused("dpop_jkt_mismatch"):
        _verify(proof, expected_jkt=JWK.generate("ES256").thumbprint())


def test_s24_missing_nonce_refused_with_use_dpop_nonce(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW)
    with _refused("use_dpop_nonce"):
        _verify(proof, nonce="server-nonce")


def test_s24_wrong_nonce_refused_with_use_dpop_nonce(es256: JWK) -> None:
    proof = dpop.make_proof(es256, htm="GET", htu=URL, iat=NOW, nonce="stale")
    with _refused("use_dpop_nonce"):
        _verify(proof, nonce="server-nonce")


def test_s24_oversized_proof_refused_before_parsing(es256: JWK) -> None:
    header = {"typ": "dpop+jwt", "jwk": es256.public().to_dict()}
    proof = _forge(es256, header, _claims(pad="x" * 10_000))
    with _refused("dpop_invalid_proof"):
        _verify(proof)


# ---- API side (tokensmith.resource) ---------------------------------------------------

ISSUER = "https://id.example"
AUDIENCE = "orders-api"


def _api(issuer_key: JWK, **dpop_options: Any) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=issuer_key,
        options=VerifierOptions(now=lambda: NOW, dpop=DPoPOptions(**dpop_options)),
    )


def _bound(issuer_key: JWK, client: JWK) -> str:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": NOW, "exp": NOW + 600}
    return jwt.encode({**claims, "cnf": {"jkt": client.thumbprint()}}, issuer_key, typ="at+jwt")


def _dpop(client: JWK, token: str, **kwargs: Any) -> DPoPRequest:
    proof = dpop.make_proof(client, htm="GET", htu=URL, iat=NOW, access_token=token, **kwargs)
    return DPoPRequest(proof=proof, method="GET", url=URL)


def test_s24_api_bound_token_sent_as_bearer_refused(es256: JWK, ed25519: JWK) -> None:
    api = _api(es256)
    token = _bound(es256, ed25519)
    assert api.verify(token, dpop=_dpop(ed25519, token)).jkt == ed25519.thumbprint()
    with pytest.raises(SenderConstrainedError):
        api.verify(token)  # even though its DPoP result is cached


def test_s24_api_bound_token_without_proof_refused(es256: JWK, ed25519: JWK) -> None:
    token = _bound(es256, ed25519)
    with _refused("dpop_invalid_proof"):
        _api(es256).verify(token, dpop=DPoPRequest(proof=None, method="GET", url=URL))


def test_s24_api_proof_by_another_key_refused(es256: JWK, ed25519: JWK, rs256: JWK) -> None:
    token = _bound(es256, ed25519)
    with _refused("dpop_jkt_mismatch"):
        _api(es256).verify(token, dpop=_dpop(rs256, token))


def test_s24_api_replayed_proof_refused(es256: JWK, ed25519: JWK) -> None:
    api = _api(es256)
    token = _bound(es256, ed25519)
    request = _dpop(ed25519, token)
    api.verify(token, dpop=request)
    with _refused("dpop_replayed"):
        api.verify(token, dpop=request)


def test_s24_api_proof_for_another_token_refused(es256: JWK, ed25519: JWK) -> None:
    token = _bound(es256, ed25519)
    with _refused("dpop_ath_mismatch"):
        _api(es256).verify(token, dpop=_dpop(ed25519, token + "x"))


def test_s24_api_unbound_token_with_dpop_scheme_refused(es256: JWK, ed25519: JWK) -> None:
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u1", "iat": NOW, "exp": NOW + 600}
    token = jwt.encode(claims, es256, typ="at+jwt")
    with pytest.raises(UnboundTokenError):
        _api(es256).verify(token, dpop=_dpop(ed25519, token))


def test_s24_api_missing_or_stale_nonce_refused(es256: JWK, ed25519: JWK) -> None:
    nonces = DPoPNonces(b"s" * 32, window=60)
    api = _api(es256, nonces=nonces)
    token = _bound(es256, ed25519)
    with _refused("use_dpop_nonce"):
        api.verify(token, dpop=_dpop(ed25519, token))
    with _refused("use_dpop_nonce"):
        api.verify(token, dpop=_dpop(ed25519, token, nonce=nonces.current(NOW - 120)))
    assert api.verify(token, dpop=_dpop(ed25519, token, nonce=nonces.current(NOW))).jkt


def test_s24_api_cached_token_still_needs_a_fresh_proof(es256: JWK, ed25519: JWK) -> None:
    api = _api(es256)
    token = _bound(es256, ed25519)
    api.verify(token, dpop=_dpop(ed25519, token))
    assert api.cache is not None
    with _refused("dpop_jkt_mismatch"):
        api.verify(token, dpop=_dpop(JWK.generate("ES256"), token))
