"""Optional Prometheus metrics: outcomes by code, latency, JWKS counters, denylist size."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from resource_helpers import AUDIENCE, ISSUER, Clock, FeedServer, JWKSServer, make_token

from tokensmith.jose import JWK
from tokensmith.jose.errors import JoseError
from tokensmith.resource import (
    AccessTokenVerifier,
    KeySetOptions,
    RevocationFeed,
    VerifierOptions,
)
from tokensmith.resource.metrics import instrument


def test_metrics_export_outcomes_latency_jwks_and_denylist(
    jwks_server: JWKSServer, feed_server: FeedServer, clock: Clock
) -> None:
    key = JWK.generate("ES256", kid="m1")
    jwks_server.keys = [key]
    feed = RevocationFeed(feed_server.url, token=FeedServer.SECRET)
    feed.denylist.add("jti", "gone", expires_at=4e9)
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=jwks_server.jwks_url,
        options=VerifierOptions(revocations=feed, key_set=KeySetOptions(now=clock)),
    )
    registry = CollectorRegistry()
    instrument(verifier, registry)
    verifier.verify(make_token(key))
    for bad in (make_token(key, jti="gone"), make_token(key, aud="x")):
        with pytest.raises(JoseError):
            verifier.verify(bad)
    text = generate_latest(registry).decode()
    assert 'tokensmith_verify_total{outcome="ok"} 1.0' in text
    assert 'tokensmith_verify_total{outcome="jwt_revoked"} 1.0' in text
    assert 'tokensmith_verify_total{outcome="jwt_invalid_audience"} 1.0' in text
    assert "tokensmith_verify_seconds_count 3.0" in text
    assert "tokensmith_jwks_fetches_total 1.0" in text
    assert "tokensmith_denylist_entries 1.0" in text
    assert "tokensmith_revocation_feed_connected 0.0" in text
