"""The issuer's configuration: one frozen value, checked when it is built.

settings.py (server side) reads env/TOML and builds an :class:`IssuerConfig`; tests build
one directly. Durations are seconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.jose.dpop import DEFAULT_DPOP_ALGORITHMS, DPoPPolicy
from tokensmith.store.records import DPOP_MODES, DPoPMode

__all__ = [
    "DAY",
    "PAGES_CLIENT_ID",
    "RESERVED_CLAIMS",
    "Argon2Params",
    "DPoPConfig",
    "IssuerConfig",
    "RateLimitRule",
    "RateLimits",
]

DAY = 86_400

#: the built-in login client of the server's own web pages (docs/web.md): public, grant
#: ``refresh_token``, always in cookie mode, never in the client registry (it cannot be
#: registered, changed or disabled, and the first-party client may not take its id)
PAGES_CLIENT_ID = "tokensmith-pages"

#: claims the issuer sets itself; ``extra_claims`` may not override them
RESERVED_CLAIMS = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "client_id",
        "scope",
        "sid",
        "roles",
        "auth_time",
        "cnf",
    }
)

Registration = Literal["open", "closed", "invite"]


def _positive(name: str, value: float, *, zero_ok: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number")
    if value < 0 or (value == 0 and not zero_ok):
        raise ValueError(f"{name} must be {'>= 0' if zero_ok else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class Argon2Params:
    """argon2id parameters; the defaults are OWASP's (m=19 MiB, t=2, p=1)."""

    time_cost: int = 2
    memory_cost: int = 19_456  # KiB
    parallelism: int = 1
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        if self.time_cost < 1 or self.parallelism < 1:
            raise ValueError("argon2 time_cost and parallelism must be >= 1")
        if self.memory_cost < 8 * self.parallelism:
            raise ValueError("argon2 memory_cost must be at least 8 KiB per lane")
        if self.hash_len < 16 or self.salt_len < 16:
            raise ValueError("argon2 hash_len and salt_len must be >= 16 bytes")


@dataclass(frozen=True)
class RateLimitRule:
    """``limit`` failures within ``window`` seconds block the key; every failure past the
    limit doubles the block, from ``backoff`` seconds up to ``max_backoff``."""

    limit: int
    window: float
    backoff: float = 1.0
    max_backoff: float = 900.0

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError("a rate limit needs limit >= 1")
        _positive("window", self.window)
        _positive("backoff", self.backoff)
        _positive("max_backoff", self.max_backoff)

    def block_for(self, failures: int) -> float:
        """Seconds to block after ``failures`` failures in the window (0 below the limit)."""
        if failures < self.limit:
            return 0.0
        exponent = min(failures - self.limit, 30)
        return float(min(self.max_backoff, self.backoff * (2**exponent)))


@dataclass(frozen=True)
class RateLimits:
    """Per-account (keyed by normalised username, known or not) and per-address limits."""

    enabled: bool = True
    account: RateLimitRule = field(default_factory=lambda: RateLimitRule(5, 300.0, 1.0, 900.0))
    address: RateLimitRule = field(default_factory=lambda: RateLimitRule(50, 300.0, 1.0, 900.0))
    #: registrations per address (every attempt counts, successful or not)
    register: RateLimitRule = field(default_factory=lambda: RateLimitRule(20, 3600.0, 60.0, 3600.0))
    #: token-inspector calls per address (every call counts: each may do real crypto work)
    inspect: RateLimitRule = field(default_factory=lambda: RateLimitRule(60, 60.0, 1.0, 300.0))


@dataclass(frozen=True)
class DPoPConfig:
    """DPoP (RFC 9449) at the server: proofs at the token endpoints and the server's own
    protected endpoints (``/userinfo``, ``/auth/*`` with an access token).

    - ``algorithms``: the proof algorithms accepted (asymmetric only; announced as
      ``dpop_signing_alg_values_supported``).
    - ``max_age`` / ``leeway``: a proof's ``iat`` may be at most ``max_age`` seconds old
      and ``leeway`` seconds in the future (clock skew, also added to ``max_age``).
    - ``nonce``: require server nonces (RFC 9449 §8); ``nonce_period``: seconds a nonce
      is handed out for (it is accepted for one more period after that).
    - ``first_party``: the mode of the built-in first-party client (``/auth/login``):
      ``required``, ``optional`` or ``off`` (registered clients carry their own).
    """

    algorithms: tuple[str, ...] = DEFAULT_DPOP_ALGORITHMS
    max_age: int = 60
    leeway: int = 5
    nonce: bool = False
    nonce_period: int = 300
    first_party: DPoPMode = "optional"

    def __post_init__(self) -> None:
        algorithms: object = self.algorithms
        if isinstance(algorithms, str):
            object.__setattr__(self, "algorithms", tuple(algorithms.split()))
        else:
            object.__setattr__(self, "algorithms", tuple(self.algorithms))
        _positive("dpop max_age", self.max_age)
        _positive("dpop leeway", self.leeway, zero_ok=True)
        _positive("dpop nonce_period", self.nonce_period)
        if not 10 <= self.nonce_period <= 86_400:
            raise ValueError("dpop nonce_period must be from 10 seconds to a day")
        if self.first_party not in DPOP_MODES:
            raise ValueError("dpop first_party must be 'required', 'optional' or 'off'")
        self.policy()  # refuses symmetric, unknown or no algorithms, a leeway over 300 s

    def policy(self) -> DPoPPolicy:
        """The proof checks of jose.dpop for these settings."""
        return DPoPPolicy(algorithms=self.algorithms, max_age=self.max_age, leeway=self.leeway)


@dataclass(frozen=True)
class IssuerConfig:
    """Everything the issuer needs to know, as one value.

    - ``issuer``: the ``iss`` URL (no trailing slash needed).
    - ``audience``: ``aud`` of first-party access tokens; empty means the issuer URL.
    - ``access_ttl``: access-token lifetime (15 min).
    - ``refresh_idle_ttl`` / ``refresh_absolute_ttl``: a refresh token expires after this
      long unused / its session after this long in total (7 / 30 days).
    - ``refresh_grace``: seconds in which a retry of the just-consumed refresh token gets
      the same child (S25); 0 disables the grace window.
    - ``signing_alg``: ES256 by default; RS256, PS256, EdDSA, HS256... (HS keys are never
      published in the JWKS).
    - ``signing_algs``: further algorithms a registered client may name as its
      ``signing_alg`` (each gets its own key lifecycle once a client uses it). Never
      an HMAC algorithm: its key would be a secret every verifier holds.
    - ``key_rotation``: age of the current key at which the next one takes over (30 days).
    - ``jwks_max_age``: the JWKS cache lifetime (Cache-Control max-age); a next key is
      published at least this long before it signs.
    - ``registration``: ``open``, ``closed`` or ``invite``.
    - ``password_min`` / ``password_max``: length bounds, in characters.
    - ``argon2`` / ``password_workers``: hashing parameters and how many hashes run at
      once in threads (0: the number of CPUs).
    - ``password_niceness``: how much lower the hashing threads' scheduling priority is
      than the event loop's (Linux; 0 leaves it equal), so a login flood does not slow
      every other request.
    - ``rate_limits``: see :class:`RateLimits`.
    - ``first_party_client_id``: the built-in public client of ``/auth/login`` sessions
      (any id but :data:`PAGES_CLIENT_ID`, which the web pages' client holds).
    - ``pages_client``: whether the web pages' built-in client (:data:`PAGES_CLIENT_ID`)
      exists; off when the server serves no pages: its logins and refreshes are then
      refused as an unknown client's.
    - ``default_scope``: ``scope`` of first-party tokens (empty: no ``scope`` claim).
    - ``extra_claims``: static claims added to every access token (not the reserved ones).
    - ``setup_token_ttl``: lifetime of the one-time first-admin setup token.
    - ``invite_ttl``: default lifetime of an invite.
    - ``username_max``: the longest accepted username.
    - ``dpop``: see :class:`DPoPConfig`.
    """

    issuer: str
    audience: tuple[str, ...] = ()
    access_ttl: int = 900
    refresh_idle_ttl: int = 7 * DAY
    refresh_absolute_ttl: int = 30 * DAY
    refresh_grace: int = 10
    signing_alg: str = "ES256"
    signing_algs: tuple[str, ...] = ()
    key_rotation: int = 30 * DAY
    jwks_max_age: int = 3600
    registration: Registration = "open"
    password_min: int = 8
    password_max: int = 128
    argon2: Argon2Params = field(default_factory=Argon2Params)
    password_workers: int = 0
    password_niceness: int = 5
    rate_limits: RateLimits = field(default_factory=RateLimits)
    first_party_client_id: str = "first-party"
    pages_client: bool = True
    default_scope: str = "openid profile"
    extra_claims: Mapping[str, Any] = field(default_factory=dict)
    setup_token_ttl: int = DAY
    invite_ttl: int = 7 * DAY
    username_max: int = 64
    dpop: DPoPConfig = field(default_factory=DPoPConfig)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.issuer, str) or not self.issuer.startswith(("http://", "https://")):
            raise ValueError(f"issuer must be an http(s) URL, got {self.issuer!r}")
        set_(self, "issuer", self.issuer.rstrip("/"))
        audience: object = self.audience
        set_(self, "audience", (audience,) if isinstance(audience, str) else tuple(self.audience))
        for name in (
            "access_ttl",
            "refresh_idle_ttl",
            "refresh_absolute_ttl",
            "key_rotation",
            "jwks_max_age",
            "setup_token_ttl",
            "invite_ttl",
        ):
            _positive(name, getattr(self, name))
        _positive("refresh_grace", self.refresh_grace, zero_ok=True)
        if self.refresh_idle_ttl > self.refresh_absolute_ttl:
            raise ValueError("refresh_idle_ttl must not exceed refresh_absolute_ttl")
        if self.refresh_grace >= self.refresh_idle_ttl:
            raise ValueError("refresh_grace must be shorter than refresh_idle_ttl")
        if self.signing_alg not in SIGNING_ALGORITHMS:
            raise ValueError(
                f"unknown signing_alg {self.signing_alg!r}; "
                f"choose one of {', '.join(sorted(SIGNING_ALGORITHMS))}"
            )
        algs: object = self.signing_algs
        set_(self, "signing_algs", (algs,) if isinstance(algs, str) else tuple(self.signing_algs))
        for alg in self.signing_algs:
            if alg not in SIGNING_ALGORITHMS:
                raise ValueError(
                    f"unknown algorithm {alg!r} in signing_algs; "
                    f"choose among {', '.join(sorted(SIGNING_ALGORITHMS))}"
                )
            if SIGNING_ALGORITHMS[alg].kty == "oct":
                raise ValueError(
                    f"signing_algs may not hold {alg}: a client's HMAC key would be a secret "
                    "shared with every service that verifies its tokens"
                )
        if self.key_rotation <= self.jwks_max_age:
            raise ValueError("key_rotation must be longer than jwks_max_age")
        if self.registration not in ("open", "closed", "invite"):
            raise ValueError("registration must be 'open', 'closed' or 'invite'")
        if not 1 <= self.password_min <= self.password_max <= 4096:
            raise ValueError("need 1 <= password_min <= password_max <= 4096")
        if self.password_workers < 0:
            raise ValueError("password_workers must be >= 0 (0: number of CPUs)")
        if not 0 <= self.password_niceness <= 19:
            raise ValueError("password_niceness must be between 0 and 19")
        if not 1 <= self.username_max <= 256:
            raise ValueError("username_max must be between 1 and 256")
        if not self.first_party_client_id:
            raise ValueError("first_party_client_id must not be empty")
        if self.first_party_client_id.casefold() == PAGES_CLIENT_ID:
            raise ValueError(
                f"first_party_client_id may not be {PAGES_CLIENT_ID!r}: the web pages' "
                "built-in client has that id"
            )
        reserved = RESERVED_CLAIMS.intersection(self.extra_claims)
        if reserved:
            raise ValueError(f"extra_claims may not set {', '.join(sorted(reserved))}")
        set_(self, "extra_claims", MappingProxyType(dict(self.extra_claims)))

    @property
    def audiences(self) -> tuple[str, ...]:
        """``aud`` of first-party access tokens."""
        return self.audience or (self.issuer,)

    @property
    def hash_workers(self) -> int:
        return self.password_workers or os.cpu_count() or 1

    @property
    def client_algs(self) -> tuple[str, ...]:
        """The algorithms a client may name: the server's and ``signing_algs``."""
        return tuple(dict.fromkeys((self.signing_alg, *self.signing_algs)))

    @property
    def publishes_keys(self) -> bool:
        """False for HMAC algorithms: their keys are secrets, never in the JWKS."""
        return SIGNING_ALGORITHMS[self.signing_alg].kty != "oct"
