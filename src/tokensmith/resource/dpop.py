"""DPoP on the API side (RFC 9449 §7): ``Authorization: DPoP <token>`` plus a ``DPoP``
proof header, checked by :class:`~.verifier.AccessTokenVerifier` when it is given a
:class:`DPoPRequest`::

    verifier = AccessTokenVerifier(issuer=..., audience=..., options=VerifierOptions(
        dpop=DPoPOptions(nonces=DPoPNonces(secret), public_url="https://api.example.com")))
    verifier.verify(token, dpop=DPoPRequest(proof=dpop_header, method="GET", url=url))
    # or, from an adapter, with the request's parts (tokensmith.resource.request):
    verifier.verify_request(RequestParts(authorization=..., dpop=..., method=..., ...))

What is checked, beyond the token itself: the token carries ``cnf.jkt``; the proof
verifies (:func:`tokensmith.jose.dpop.verify_proof`) for this method and URL, with
``ath`` for this token and the key the token is bound to; its ``jti`` was not seen
before (:class:`MemoryReplayCache`, or any :class:`ReplayCache`); with ``nonces``, it
carries a recent nonce of ours (stateless HMAC nonces rotating by time window).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tokensmith.jose import dpop as jose_dpop

# DPoPNonces (and its default window) live in tokensmith.jose.dpop, re-exported here.
from tokensmith.jose.dpop import (
    DEFAULT_DPOP_POLICY,
    DEFAULT_NONCE_WINDOW,
    DPoPNonces,
    DPoPPolicy,
    VerifiedProof,
)
from tokensmith.jose.errors import DPoPError, DPoPReplayedError


@dataclass(frozen=True, slots=True)
class DPoPRequest:
    """What a DPoP-scheme request brings besides its token: the ``DPoP`` header value
    (``proof``; None when the request has none), its ``method`` and absolute ``url``
    (the query is ignored)."""

    proof: str | None
    method: str
    url: str


class ReplayCache(Protocol):
    """Where seen proof ``jti`` values live until their proof could no longer pass."""

    def first_sight(self, key: bytes, *, expires_at: float, now: float) -> bool:
        """Record ``key`` until ``expires_at``; False when it is already recorded."""
        ...


class MemoryReplayCache:
    """An in-process :class:`ReplayCache`: bounded, thread-safe, entries dropped once
    expired. Full of unexpired entries, it forgets the oldest first (sized for the
    request rate times the proof window, that is a replay of a proof about to expire
    anyway). For several API processes behind one URL, use a shared cache."""

    def __init__(self, max_entries: int = 100_000) -> None:
        if type(max_entries) is not int or max_entries < 1:
            raise ValueError("max_entries must be a positive int")
        self.max_entries = max_entries
        self.evicted = 0
        self._entries: OrderedDict[bytes, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def first_sight(self, key: bytes, *, expires_at: float, now: float) -> bool:
        entries = self._entries
        with self._lock:
            known = entries.get(key)
            if known is not None and known >= now:
                return False
            # Entries go in roughly by expiry: drop the expired ones at the front.
            while entries:
                oldest_key, oldest_expiry = next(iter(entries.items()))
                if oldest_expiry >= now and len(entries) < self.max_entries:
                    break
                del entries[oldest_key]
                if oldest_expiry >= now:
                    self.evicted += 1
            entries[key] = expires_at
            entries.move_to_end(key)
            return True


@dataclass(frozen=True, slots=True)
class DPoPOptions:
    """DPoP at the API (on by default: a DPoP-scheme request is checked, a bound token
    sent as Bearer is refused).

    - ``policy``: the proof policy (algorithms, ``max_age``, ``leeway``, size).
    - ``required``: refuse plain Bearer tokens altogether (DPoP only).
    - ``replay_cache``: where proof ``jti`` values are remembered.
    - ``nonces``: resource-server nonces; None = no nonce required.
    - ``public_url``: the API's external base URL (``https://api.example.com``), used
      instead of the request's own scheme and Host to build the URL a proof is compared
      to. Set it behind a proxy, and to ignore a client-chosen Host header.
    """

    policy: DPoPPolicy = DEFAULT_DPOP_POLICY
    required: bool = False
    replay_cache: ReplayCache = field(default_factory=MemoryReplayCache)
    nonces: DPoPNonces | None = None
    public_url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.policy, DPoPPolicy):
            raise TypeError("policy must be a tokensmith.jose.dpop.DPoPPolicy")
        if not callable(getattr(self.replay_cache, "first_sight", None)):
            raise TypeError("replay_cache must have first_sight(key, expires_at=, now=)")
        if self.nonces is not None and not isinstance(self.nonces, DPoPNonces):
            raise TypeError("nonces must be DPoPNonces")
        if self.public_url is not None:
            base = self.public_url.rstrip("/")
            jose_dpop.normalize_htu(base)  # ValueError for a non-http(s) URL
            if "?" in base or "#" in base:
                raise ValueError("public_url is a base URL without query or fragment")
            object.__setattr__(self, "public_url", base)

    @property
    def algs(self) -> str:
        """The ``algs`` challenge parameter: the accepted algorithms, space-separated."""
        return " ".join(self.policy.algorithms)


def check_proof(
    options: DPoPOptions,
    *,
    token: str,
    jkt: str,
    request: DPoPRequest,
    now: float,
) -> VerifiedProof:
    """The proof of ``request`` for ``token`` bound to ``jkt``, including replay."""
    if request.proof is None:
        raise DPoPError("a DPoP-bound token needs a DPoP proof header")
    nonces = options.nonces
    try:
        result = jose_dpop.verify_proof(
            request.proof,
            htm=request.method,
            htu=request.url,
            now=now,
            policy=options.policy,
            access_token=token,
            expected_jkt=jkt,
            nonce=nonces.accepted(now) if nonces is not None else None,
        )
    except (ValueError, TypeError):
        # the request's own method or URL (its Host header) is unusable
        raise DPoPError("the request's method or URL cannot be checked against a proof") from None
    expires_at = options.policy.expires_at(result.iat)
    if not options.replay_cache.first_sight(result.replay_key, expires_at=expires_at, now=now):
        raise DPoPReplayedError("this DPoP proof was already used")
    return result


def single_proof(values: Sequence[str]) -> str | None:
    """The one ``DPoP`` header of a request (RFC 9449 §4.3: exactly one)."""
    if not values:
        return None
    if len(values) > 1:
        raise DPoPError("a request carries at most one DPoP header")
    return values[0]


__all__ = [
    "DEFAULT_NONCE_WINDOW",
    "DPoPNonces",
    "DPoPOptions",
    "DPoPRequest",
    "MemoryReplayCache",
    "ReplayCache",
    "check_proof",
    "single_proof",
]
