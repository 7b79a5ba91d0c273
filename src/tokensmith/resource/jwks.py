"""A remote JWK Set that an API verifies against, sync and async.

What it does, per the issue's list:

- **Cache with a TTL** taken from the response's ``Cache-Control: max-age`` (bounded by
  ``min_ttl``/``max_ttl``; ``default_ttl``, one hour, when the header says nothing).
- **Unknown ``kid``** (a key rotated in since the last fetch): refetch at once, but at
  most once per ``cooldown`` (30 s); meanwhile the ``kid`` is remembered as unknown
  (the negative cache), so a flood of random kids costs dictionary lookups, not fetches.
- **Single-flight**: many requests needing a fetch at the same moment wait for one.
- **Stale-if-error**: when a refetch fails, the last good set keeps being served for up
  to ``max_stale`` seconds past its expiry (attempts spaced by ``retry_interval``); past
  that, verification fails closed with :class:`KeySetUnavailableError`.
- **S4**: only the configured (or discovered) URL is fetched, https only (http on
  loopback), no redirects, bounded size and time (:mod:`.fetch`).
- **Parsed once per fetch**, as a public-only :class:`JWKSet` (a private member anywhere
  rejects the document, S19).

Time comes from ``options.now`` (monotonic by default): tests move it, never sleep.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from tokensmith.jose import JWKSet
from tokensmith.jose.encoding import parse_json_object
from tokensmith.jose.errors import JoseError

from .errors import FetchError, KeySetUnavailableError
from .fetch import Fetched, FetchLimits, check_url, fetch, fetch_async

DISCOVERY_PATH: Final = "/.well-known/openid-configuration"
_NEGATIVE_MAX: Final = 10_000


@dataclass(frozen=True, slots=True)
class KeySetOptions:
    """How a :class:`RemoteKeySet` caches and refetches. Seconds throughout."""

    default_ttl: float = 3600.0
    min_ttl: float = 60.0
    max_ttl: float = 86400.0
    cooldown: float = 30.0
    retry_interval: float = 5.0
    max_stale: float = 6 * 3600.0
    limits: FetchLimits = field(default_factory=FetchLimits)
    now: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        for name in ("default_ttl", "min_ttl", "max_ttl", "cooldown", "retry_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        if not self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ValueError("need min_ttl <= default_ttl <= max_ttl")
        if isinstance(self.max_stale, bool) or not 0 <= self.max_stale < float("inf"):
            raise ValueError("max_stale must be a finite number of seconds >= 0")
        if not callable(self.now):
            raise TypeError("now must be a callable returning seconds")


def ttl_from_cache_control(header: str | None, options: KeySetOptions) -> float:
    """Seconds to keep a fetched set: ``max-age`` bounded to [min_ttl, max_ttl];
    ``no-store``/``no-cache`` mean the minimum; nothing usable means ``default_ttl``."""
    if not header:
        return options.default_ttl
    ttl: float | None = None
    for raw in header.split(","):
        directive = raw.strip().lower()
        if directive in ("no-store", "no-cache"):
            return options.min_ttl
        name, _, value = directive.partition("=")
        if name.strip() == "max-age":
            value = value.strip().strip('"')
            if value.isdigit() and len(value) <= 12:
                ttl = float(int(value))
    if ttl is None:
        return options.default_ttl
    return min(max(ttl, options.min_ttl), options.max_ttl)


class RemoteKeySet:
    """A JWKS fetched from ``jwks_uri``, or from the ``jwks_uri`` that ``issuer``'s
    discovery document (``/.well-known/openid-configuration``) names.

    Use :meth:`keys_for` / :meth:`keys_for_async` with a token's ``kid`` before each
    verification; they return the set to verify against (fetching only when needed).
    Counters for metrics: ``fetches``, ``fetch_failures``, ``stale_served``,
    ``unknown_kids``.
    """

    def __init__(
        self,
        *,
        jwks_uri: str | None = None,
        issuer: str | None = None,
        options: KeySetOptions | None = None,
        on_change: Callable[[JWKSet], None] | None = None,
    ) -> None:
        if (jwks_uri is None) == (issuer is None):
            raise ValueError("give exactly one of jwks_uri= and issuer= (discovery)")
        self.options = options if options is not None else KeySetOptions()
        allow = self.options.limits.allow_http_loopback
        self._jwks_uri = (
            None if jwks_uri is None else check_url(jwks_uri, allow_http_loopback=allow)
        )
        self._issuer = issuer
        if issuer is not None:
            check_url(self._discovery_url(issuer), allow_http_loopback=allow)
        self._on_change = on_change
        self._now = self.options.now
        self._keys: JWKSet | None = None
        self._fetched_at = 0.0
        self._expires_at = 0.0
        self._last_attempt: float | None = None
        self._next_attempt = 0.0
        self._negative: dict[str, float] = {}
        self._generation = 0
        self._state_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._async_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self.last_error: str | None = None
        self._last_ok = False
        self.fetches = 0
        self.fetch_failures = 0
        self.stale_served = 0
        self.unknown_kids = 0

    # ---- public ------------------------------------------------------------------------

    @property
    def jwks_uri(self) -> str | None:
        """The URL fetched (None until discovery ran)."""
        return self._jwks_uri

    @property
    def key_set(self) -> JWKSet | None:
        """The last good set, or None before the first successful fetch."""
        return self._keys

    @property
    def announced_algorithms(self) -> frozenset[str]:
        """The ``alg`` values the current set's keys announce."""
        keys = self._keys
        return frozenset(k.alg for k in keys if k.alg) if keys is not None else frozenset()

    def keys_for(self, kid: object) -> JWKSet:
        """The set to verify a token with this ``kid`` (None when it has none)."""
        planned = self._plan(kid)
        if isinstance(planned, JWKSet):
            return planned
        with self._sync_lock:
            if self._generation == planned:  # nobody fetched while we waited
                self._attempt_sync()
        return self._after_fetch(kid)

    async def keys_for_async(self, kid: object) -> JWKSet:
        """:meth:`keys_for` without blocking the event loop."""
        planned = self._plan(kid)
        if isinstance(planned, JWKSet):
            return planned
        async with self._lock_for_this_loop():
            if self._generation == planned:
                await self._attempt_async()
        return self._after_fetch(kid)

    def refresh(self) -> JWKSet:
        """Fetch now (whatever the TTL says); the new set, or the error of the fetch."""
        with self._sync_lock:
            self._attempt_sync()
        return self._fresh_or_raise()

    async def refresh_async(self) -> JWKSet:
        async with self._lock_for_this_loop():
            await self._attempt_async()
        return self._fresh_or_raise()

    def _lock_for_this_loop(self) -> asyncio.Lock:
        """The single-flight lock of the running loop (an asyncio.Lock is bound to one
        loop; an app that runs several loops in turn gets a lock for each)."""
        loop = asyncio.get_running_loop()
        held = self._async_lock
        if held is None or held[0] is not loop:
            held = (loop, asyncio.Lock())
            self._async_lock = held
        return held[1]

    # ---- the decision ------------------------------------------------------------------

    def _plan(self, kid: object) -> JWKSet | int:
        """The set to use now, or the generation number to fetch over."""
        now = self._now()
        keys = self._keys
        if keys is not None and now < self._expires_at:
            if type(kid) is not str or keys.get(kid) is not None:
                return keys
            self.unknown_kids += 1
            if self._negative.get(kid, 0.0) > now:
                return keys  # known to be unknown: jose raises KeyNotFoundError
            if self._last_attempt is None or now - self._last_attempt >= self.options.cooldown:
                return self._generation
            self._remember_unknown(kid, now)
            return keys
        if now >= self._next_attempt:
            return self._generation
        return self._stale_or_fail(now)

    def _after_fetch(self, kid: object) -> JWKSet:
        now = self._now()
        keys = self._keys
        if keys is not None and now < self._expires_at:
            if type(kid) is str and keys.get(kid) is None:
                self._remember_unknown(kid, now)
            return keys
        return self._stale_or_fail(now)

    def _stale_or_fail(self, now: float) -> JWKSet:
        keys = self._keys
        if keys is not None and now < self._expires_at + self.options.max_stale:
            self.stale_served += 1
            return keys
        why = self.last_error or "no key set fetched yet"
        if keys is None:
            raise KeySetUnavailableError(f"no key set: {why}")
        raise KeySetUnavailableError(
            f"the key set is stale beyond {self.options.max_stale:g} s and refetching fails: {why}"
        )

    def _fresh_or_raise(self) -> JWKSet:
        keys = self._keys
        if keys is None or not self._last_ok:
            raise KeySetUnavailableError(f"refresh failed: {self.last_error}")
        return keys

    def _remember_unknown(self, kid: str, now: float) -> None:
        negative = self._negative
        if len(negative) >= _NEGATIVE_MAX:
            negative.clear()
        last = self._last_attempt if self._last_attempt is not None else now
        negative[kid] = max(last + self.options.cooldown, now + 1.0)

    # ---- fetching ----------------------------------------------------------------------

    @staticmethod
    def _discovery_url(issuer: str) -> str:
        return issuer.rstrip("/") + DISCOVERY_PATH

    def _jwks_uri_from(self, fetched: Fetched) -> str:
        assert self._issuer is not None
        try:
            doc = parse_json_object(
                fetched.body, max_size=256 * 1024, max_depth=16, what="discovery document"
            )
        except JoseError as exc:
            raise FetchError(f"discovery document: {exc.message}") from None
        if doc.get("issuer") != self._issuer:
            raise FetchError("the discovery document names another issuer (RFC 8414 §3.3)")
        uri = doc.get("jwks_uri")
        if type(uri) is not str:
            raise FetchError("the discovery document has no jwks_uri")
        try:
            return check_url(uri, allow_http_loopback=self.options.limits.allow_http_loopback)
        except ValueError as exc:
            raise FetchError(f"discovery jwks_uri refused: {exc}") from None

    def _client(self) -> httpx.Client:
        return httpx.Client(trust_env=False, follow_redirects=False)

    def _attempt_sync(self) -> None:
        started = self._begin()
        try:
            with self._client() as client:
                limits = self.options.limits
                if self._jwks_uri is None:
                    assert self._issuer is not None
                    found = fetch(client, self._discovery_url(self._issuer), limits)
                    self._jwks_uri = self._jwks_uri_from(found)
                fetched = fetch(client, self._jwks_uri, limits)
            self._install(fetched, started)
        except JoseError as exc:
            self._failed(exc, started)

    async def _attempt_async(self) -> None:
        started = self._begin()
        try:
            async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
                limits = self.options.limits
                if self._jwks_uri is None:
                    assert self._issuer is not None
                    found = await fetch_async(client, self._discovery_url(self._issuer), limits)
                    self._jwks_uri = self._jwks_uri_from(found)
                fetched = await fetch_async(client, self._jwks_uri, limits)
            self._install(fetched, started)
        except JoseError as exc:
            self._failed(exc, started)

    def _begin(self) -> float:
        started = self._now()
        with self._state_lock:
            self._last_attempt = started
            self.fetches += 1
        return started

    def _install(self, fetched: Fetched, started: float) -> None:
        try:
            keys = JWKSet.from_json(fetched.body, public_only=True)
        except JoseError as exc:
            self._failed(exc, started)
            return
        ttl = ttl_from_cache_control(fetched.cache_control, self.options)
        with self._state_lock:
            changed = self._keys is None or list(self._keys) != list(keys)
            self._keys = keys
            self._fetched_at = started
            self._expires_at = started + ttl
            self._next_attempt = 0.0
            self._negative.clear()
            self.last_error = None
            self._last_ok = True
            self._generation += 1
        if changed and self._on_change is not None:
            self._on_change(keys)

    def _failed(self, exc: JoseError, started: float) -> None:
        with self._state_lock:
            self.fetch_failures += 1
            self.last_error = exc.message
            self._last_ok = False
            self._next_attempt = started + self.options.retry_interval
            self._generation += 1

    def __repr__(self) -> str:
        source = self._jwks_uri or f"discovery of {self._issuer}"
        return f"<RemoteKeySet {source}>"


def describe(keys: RemoteKeySet) -> dict[str, Any]:
    """A summary for health endpoints and logs (no key material)."""
    current = keys.key_set
    return {
        "jwks_uri": keys.jwks_uri,
        "keys": [k.kid for k in current] if current is not None else None,
        "fetches": keys.fetches,
        "fetch_failures": keys.fetch_failures,
        "stale_served": keys.stale_served,
        "unknown_kids": keys.unknown_kids,
        "last_error": keys.last_error,
    }


__all__ = ["DISCOVERY_PATH", "KeySetOptions", "RemoteKeySet", "describe", "ttl_from_cache_control"]
