"""Prometheus metrics for a verifier (needs ``prometheus-client``: the
``tokensmith[resource-metrics]`` extra). ::

    from tokensmith.resource.metrics import instrument
    instrument(verifier)            # registers on prometheus_client's default registry

- ``tokensmith_verify_total{outcome}``: verifications by outcome (``ok`` or an error code)
- ``tokensmith_verify_seconds``: verification latency
- ``tokensmith_jwks_fetches_total``, ``tokensmith_jwks_fetch_failures_total``,
  ``tokensmith_jwks_unknown_kids_total``, ``tokensmith_jwks_stale_served_total``
- ``tokensmith_denylist_entries``, ``tokensmith_revocation_feed_connected``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from .jwks import RemoteKeySet
from .verifier import AccessTokenVerifier

_BUCKETS = (0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05, 0.25, 1.0)


class _StateCollector(Collector):
    """Reads the key set's and the feed's counters at scrape time (no hot-path cost)."""

    def __init__(self, verifier: AccessTokenVerifier) -> None:
        self.verifier = verifier

    def collect(self) -> Iterator[Any]:
        keys = self.verifier.key_set
        if isinstance(keys, RemoteKeySet):
            for name, value, doc in (
                ("jwks_fetches", keys.fetches, "JWKS fetch attempts"),
                ("jwks_fetch_failures", keys.fetch_failures, "failed JWKS fetches"),
                ("jwks_unknown_kids", keys.unknown_kids, "tokens naming an unknown kid"),
                ("jwks_stale_served", keys.stale_served, "key sets served stale after a failure"),
            ):
                yield CounterMetricFamily(f"tokensmith_{name}", doc, value=value)
        feed = self.verifier.revocations
        if feed is not None:
            yield GaugeMetricFamily(
                "tokensmith_denylist_entries",
                "revocation denylist entries",
                value=len(feed.denylist),
            )
            yield GaugeMetricFamily(
                "tokensmith_revocation_feed_connected",
                "1 while the revocation feed is connected",
                value=1.0 if feed.connected else 0.0,
            )


def instrument(
    verifier: AccessTokenVerifier, registry: CollectorRegistry | None = None
) -> CollectorRegistry:
    """Export ``verifier``'s metrics on ``registry`` (the default one when None)."""
    target = registry if registry is not None else REGISTRY
    outcomes = Counter(
        "tokensmith_verify", "access-token verifications by outcome", ["outcome"], registry=target
    )
    latency = Histogram(
        "tokensmith_verify_seconds",
        "access-token verification latency",
        buckets=_BUCKETS,
        registry=target,
    )

    def observe(outcome: str, seconds: float) -> None:
        outcomes.labels(outcome).inc()
        latency.observe(seconds)

    verifier.observe = observe
    target.register(_StateCollector(verifier))
    return target


__all__ = ["instrument"]
