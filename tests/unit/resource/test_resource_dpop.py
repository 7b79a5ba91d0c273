"""DPoP at the verifier (RFC 9449 §7): bound tokens, proofs, replay, nonces, and the
verified-token cache, with static keys and a fixed clock."""

from __future__ import annotations

import asyncio

import pytest
from resource_helpers import AUDIENCE, ISSUER, Clock, bound_token, make_token

from tokensmith.jose import JWK, dpop
from tokensmith.jose.errors import (
    DPoPAthMismatchError,
    DPoPError,
    DPoPHtuMismatchError,
    DPoPJktMismatchError,
    DPoPNonceError,
    DPoPReplayedError,
)
from tokensmith.resource import (
    AccessTokenVerifier,
    DPoPNonces,
    DPoPOptions,
    DPoPRequest,
    DPoPRequiredError,
    MemoryReplayCache,
    MissingTokenError,
    RequestParts,
    SenderConstrainedError,
    UnboundTokenError,
    VerifierOptions,
)
from tokensmith.resource.challenge import challenge_for

NOW = 1_800_000_000.0
URL = "https://api.example.com/orders"


@pytest.fixture(scope="module")
def issuer_key() -> JWK:
    return JWK.generate("ES256", kid="as")


@pytest.fixture(scope="module")
def client_key() -> JWK:
    return JWK.generate("ES256")


def _verifier(
    issuer_key: JWK, clock: Clock | None = None, **dpop_options: object
) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=issuer_key,
        options=VerifierOptions(
            now=clock or Clock(NOW),
            dpop=DPoPOptions(**dpop_options),  # type: ignore[arg-type]
        ),
    )


def _request(
    key: JWK,
    token: str,
    *,
    method: str = "GET",
    url: str = URL,
    iat: float = NOW,
    nonce: str | None = None,
) -> DPoPRequest:
    proof = dpop.make_proof(key, htm=method, htu=url, iat=int(iat), access_token=token, nonce=nonce)
    return DPoPRequest(proof=proof, method=method, url=url)


def test_a_bound_token_with_its_proof_is_accepted(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = bound_token(issuer_key, client_key, now=NOW)
    result = verifier.verify(token, dpop=_request(client_key, token))
    assert result.jkt == client_key.thumbprint()
    assert result.subject == "user-1"
    assert asyncio.run(verifier.verify_async(token, dpop=_request(client_key, token))).jkt


def test_a_bound_token_as_bearer_is_refused(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = bound_token(issuer_key, client_key, now=NOW)
    with pytest.raises(SenderConstrainedError):
        verifier.verify(token)


def test_an_unbound_token_with_the_dpop_scheme_is_refused(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = make_token(issuer_key, now=NOW)
    with pytest.raises(UnboundTokenError):
        verifier.verify(token, dpop=_request(client_key, token))


def test_no_proof_is_refused(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = bound_token(issuer_key, client_key, now=NOW)
    with pytest.raises(DPoPError, match="needs a DPoP proof"):
        verifier.verify(token, dpop=DPoPRequest(proof=None, method="GET", url=URL))


def test_a_proof_by_another_key_is_refused(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = bound_token(issuer_key, client_key, now=NOW)
    with pytest.raises(DPoPJktMismatchError):
        verifier.verify(token, dpop=_request(JWK.generate("ES256"), token))


def test_a_proof_for_another_token_is_refused(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = bound_token(issuer_key, client_key, now=NOW)
    other = bound_token(issuer_key, client_key, now=NOW, sub="user-2")
    request = _request(client_key, other)
    with pytest.raises(DPoPAthMismatchError):
        verifier.verify(token, dpop=request)


def test_a_replayed_proof_is_refused(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    token = bound_token(issuer_key, client_key, now=NOW)
    request = _request(client_key, token)
    verifier.verify(token, dpop=request)
    with pytest.raises(DPoPReplayedError):
        verifier.verify(token, dpop=request)
    assert verifier.outcomes["dpop_replayed"] == 1


def test_the_token_cache_never_skips_the_proof(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    assert verifier.cache is not None
    token = bound_token(issuer_key, client_key, now=NOW)
    first = verifier.verify(token, dpop=_request(client_key, token))
    # the second call is a cache hit for the token, and still checks a new proof
    second = verifier.verify(token, dpop=_request(client_key, token))
    assert second is first
    with pytest.raises(DPoPJktMismatchError):
        verifier.verify(token, dpop=_request(JWK.generate("ES256"), token))
    elsewhere = _request(client_key, token, url=URL + "/x").proof
    with pytest.raises(DPoPHtuMismatchError):
        verifier.verify(token, dpop=DPoPRequest(proof=elsewhere, method="GET", url=URL))
    # and a cached bound token never passes as a bearer token
    with pytest.raises(SenderConstrainedError):
        verifier.verify(token)


def test_a_cached_bearer_result_never_serves_a_dpop_request(
    issuer_key: JWK, client_key: JWK
) -> None:
    verifier = _verifier(issuer_key)
    token = make_token(issuer_key, now=NOW)
    verifier.verify(token)
    with pytest.raises(UnboundTokenError):
        verifier.verify(token, dpop=_request(client_key, token))


def test_required_refuses_bearer_tokens(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key, required=True)
    with pytest.raises(DPoPRequiredError):
        verifier.verify(make_token(issuer_key, now=NOW))
    token = bound_token(issuer_key, client_key, now=NOW)
    assert verifier.verify(token, dpop=_request(client_key, token)).jkt


def test_dpop_off_refuses_the_dpop_scheme(issuer_key: JWK, client_key: JWK) -> None:
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=issuer_key,
        options=VerifierOptions(now=Clock(NOW), dpop=None),
    )
    token = bound_token(issuer_key, client_key, now=NOW)
    with pytest.raises(MissingTokenError):
        verifier.verify(token, dpop=_request(client_key, token))
    assert verifier.dpop_challenge("DPoP x") is None


def test_proof_age_follows_the_injected_clock(issuer_key: JWK, client_key: JWK) -> None:
    clock = Clock(NOW)
    verifier = _verifier(issuer_key, clock, policy=dpop.DPoPPolicy(max_age=30, leeway=0))
    token = bound_token(issuer_key, client_key, now=NOW)
    request = _request(client_key, token)
    clock.advance(31)
    with pytest.raises(DPoPError, match="too old"):
        verifier.verify(token, dpop=request)


# ---- nonces -------------------------------------------------------------------------


def test_nonces_are_required_when_configured(issuer_key: JWK, client_key: JWK) -> None:
    clock = Clock(NOW)
    nonces = DPoPNonces(b"n" * 32, window=60)
    verifier = _verifier(issuer_key, clock, nonces=nonces)
    token = bound_token(issuer_key, client_key, now=NOW)
    with pytest.raises(DPoPNonceError) as info:
        verifier.verify(token, dpop=_request(client_key, token))
    answer = challenge_for(info.value, dpop=verifier.dpop_challenge(f"DPoP {token}"))
    assert answer.status == 401
    assert ("dpop-nonce", nonces.current(NOW)) in answer.headers
    assert 'error="use_dpop_nonce"' in dict(answer.headers)["www-authenticate"]
    nonce = verifier.dpop_nonce()
    assert nonce == nonces.current(NOW)
    assert verifier.verify(token, dpop=_request(client_key, token, nonce=nonce)).jkt
    # the previous window's nonce still passes; two windows back does not
    clock.advance(60)
    assert verifier.verify(token, dpop=_request(client_key, token, iat=clock.now, nonce=nonce)).jkt
    clock.advance(60)
    with pytest.raises(DPoPNonceError):
        verifier.verify(token, dpop=_request(client_key, token, iat=clock.now, nonce=nonce))


def test_nonces_rotate_and_depend_on_the_secret() -> None:
    a, b = DPoPNonces(b"a" * 32, window=60), DPoPNonces(b"b" * 32, window=60)
    assert a.current(NOW) != b.current(NOW)
    assert a.current(NOW) != a.current(NOW + 60)
    assert a.current(NOW) == DPoPNonces(b"a" * 32, window=60).current(NOW)
    assert a.accepted(NOW + 60) == (a.current(NOW + 60), a.current(NOW))
    with pytest.raises(ValueError, match="16 bytes"):
        DPoPNonces(b"short")
    with pytest.raises(ValueError, match="window"):
        DPoPNonces(window=1)


# ---- replay cache -------------------------------------------------------------------


def test_the_replay_cache_forgets_expired_entries_and_is_bounded() -> None:
    cache = MemoryReplayCache(max_entries=3)
    assert cache.first_sight(b"a", expires_at=10, now=0)
    assert not cache.first_sight(b"a", expires_at=10, now=5)
    assert cache.first_sight(b"a", expires_at=30, now=11)  # expired: seen afresh
    for name in (b"b", b"c", b"d"):
        assert cache.first_sight(name, expires_at=40, now=12)
    assert len(cache) == 3
    assert cache.evicted == 1
    with pytest.raises(ValueError, match="positive"):
        MemoryReplayCache(0)


# ---- request parts ------------------------------------------------------------------


def test_verify_request_reads_bearer_and_dpop(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key)
    bearer = make_token(issuer_key, now=NOW)
    assert verifier.verify_request(RequestParts(authorization=f"Bearer {bearer}")).jkt is None
    token = bound_token(issuer_key, client_key, now=NOW)
    proof = _request(client_key, token).proof
    assert proof is not None
    parts = RequestParts(
        authorization=f"DPoP {token}",
        dpop=(proof,),
        scheme="https",
        host="API.example.com:443",
        path="/orders",
    )
    assert verifier.verify_request(parts).jkt == client_key.thumbprint()
    twice = RequestParts(authorization=f"DPoP {token}", dpop=(proof, proof), host="x")
    with pytest.raises(DPoPError, match="at most one"):
        verifier.verify_request(twice)


def test_public_url_replaces_the_requests_host(issuer_key: JWK, client_key: JWK) -> None:
    verifier = _verifier(issuer_key, public_url="https://api.example.com/")
    token = bound_token(issuer_key, client_key, now=NOW)
    proof = _request(client_key, token).proof
    assert proof is not None
    parts = RequestParts(
        authorization=f"DPoP {token}",
        dpop=(proof,),
        scheme="http",
        host="10.0.0.7:8080",
        path="/orders",
    )
    assert verifier.verify_request(parts).jkt
    with pytest.raises(ValueError, match="http"):
        DPoPOptions(public_url="ftp://api.example.com")
