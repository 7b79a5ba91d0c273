"""The verified-token cache: opt-in, for verifiers that see the same token many times.

A resource server receives the same access token on every request of a session;
verifying its signature each time is the dominant cost (an ES256 check is about
75 µs, a cache hit about 1 µs). :class:`VerifiedTokenCache` remembers tokens that
:func:`tokensmith.jose.jwt.decode` accepted and answers repeats from memory, without
giving up what makes the answer correct:

- **One policy, fixed.** A cache is built for one :class:`ClaimsPolicy` (and one
  ``understood_crit``); every entry was verified under exactly that policy, so a
  token accepted for one audience can never be served to a verifier of another.
- **Keyed by the whole token string.** Two tokens share an entry only if they are
  the same string, byte for byte.
- **Time is re-checked on every hit.** ``exp``, ``nbf``, ``iat`` and ``max_age`` are
  compared again with the policy's ``now`` (and ``leeway``). A hit that is no longer
  inside its validity window is dropped and the token goes through the full
  :func:`~tokensmith.jose.jwt.decode`, which raises the precise error.
- **Revocation is consulted on every hit and miss.** Pass ``is_revoked``, a callable
  that receives the :class:`VerifiedJWT` (check its ``jti``, ``sid`` or ``sub``
  against your denylist) and returns True to refuse it: :class:`RevokedError` is
  raised and the entry is dropped. Without ``is_revoked``, check the returned claims
  yourself after each call; the cache never hides a call from you.
- **Keys.** An entry is served only while the key that verified it is still in the
  ``keys`` passed to this call (same object, or an equal JWK in a refreshed
  :class:`JWKSet`); otherwise the entry is dropped and the token is verified anew.
  :meth:`~VerifiedTokenCache.evict_key` (by JWK, ``kid`` or RFC 7638 thumbprint) and
  :meth:`~VerifiedTokenCache.retain_keys` (after a JWKS refresh) drop entries eagerly.
- **Bounded.** Least-recently-used eviction by entry count and by an estimate of the
  bytes held (see :data:`ENTRY_OVERHEAD_BYTES`); tokens longer than
  ``max_token_chars`` are verified but never stored. Failures are never cached.
- **Read-only results.** What the cache returns is shared by every caller that
  presents the same token: claims and header are :class:`FrozenDict` (JSON arrays
  become tuples), so no caller can change what the next one sees. This holds for
  the first (miss) call too, so hits and misses look alike.

Thread-safe: one lock guards the table; verification runs outside it.

Use::

    cache = VerifiedTokenCache(policy, max_entries=50_000, is_revoked=denylist.has)
    verified = cache.decode(token, jwks)      # instead of jwt.decode(token, jwks, policy=policy)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from typing import Any, Final

from .claims import ClaimsPolicy
from .encoding import FrozenDict
from .errors import ClaimsError
from .jwk import JWK
from .jwkset import JWKSet
from .jws import Keys
from .jwt import VerifiedJWT, _verified_jwt, decode

#: An entry is estimated at ``ENTRY_OVERHEAD_BYTES + 1.5 * len(token)`` bytes for the
#: ``max_bytes`` bound: the token string, its claims (about 3/4 of the token's length,
#: parsed) and the result objects. Calibrated against tracemalloc by
#: ``python -m benchmarks`` (docs/benchmarks.md), which prints both figures.
ENTRY_OVERHEAD_BYTES: Final = 360
#: Claim values shared between entries (issuer, audience, roles...) when short.
_SHARE_MAX_LEN: Final = 128
_SHARE_TABLE_MAX: Final = 4096


class _Entry(FrozenDict):
    """A cached token's frozen claims, carrying its header and key: one object per
    entry instead of two (memory is the point of the ``max_bytes`` bound)."""

    __slots__ = ("header", "key")
    header: Any
    key: JWK

    @classmethod
    def make(cls, items: dict[str, Any], header: Any, key: JWK) -> _Entry:
        entry = cls(items)
        object.__setattr__(entry, "header", header)
        object.__setattr__(entry, "key", key)
        return entry

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a cached result is read-only")

    __delattr__ = __setattr__  # type: ignore[assignment]


class RevokedError(ClaimsError):
    """The caller's ``is_revoked`` refused this token."""

    code = "jwt_revoked"


class VerifiedTokenCache:
    """A bounded LRU of verified JWTs for one policy. See the module docstring."""

    __slots__ = (
        "_bytes",
        "_crit",
        "_entries",
        "_is_revoked",
        "_leeway",
        "_lock",
        "_max_age",
        "_max_bytes",
        "_max_entries",
        "_max_token_chars",
        "_now",
        "_policy",
        "_shared",
        "evictions",
        "hits",
        "misses",
    )

    def __init__(
        self,
        policy: ClaimsPolicy,
        *,
        max_entries: int = 10_000,
        max_bytes: int = 16 * 1024 * 1024,
        max_token_chars: int = 8192,
        is_revoked: Callable[[VerifiedJWT], bool] | None = None,
        understood_crit: Collection[str] = (),
    ) -> None:
        if not isinstance(policy, ClaimsPolicy):
            raise TypeError("policy must be a ClaimsPolicy")
        for name, value in (
            ("max_entries", max_entries),
            ("max_bytes", max_bytes),
            ("max_token_chars", max_token_chars),
        ):
            if type(value) is not int or value <= 0:
                raise ValueError(f"{name} must be a positive int")
        if is_revoked is not None and not callable(is_revoked):
            raise TypeError("is_revoked must be a callable taking a VerifiedJWT")
        if isinstance(understood_crit, str):
            raise TypeError("understood_crit must be a collection of names")
        self._policy = policy
        self._now = policy.now
        self._leeway = policy.leeway
        self._max_age = policy.max_age
        self._crit = frozenset(understood_crit)
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._max_token_chars = max_token_chars
        self._is_revoked = is_revoked
        # A plain dict in LRU order (oldest first): a hit re-inserts its token at the end.
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._bytes = 0
        self._shared: dict[Any, Any] = {}
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    @property
    def policy(self) -> ClaimsPolicy:
        return self._policy

    @property
    def estimated_bytes(self) -> int:
        """The estimate the ``max_bytes`` bound is enforced against."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, token: object) -> bool:
        return token in self._entries

    # ---- the one entry point ----------------------------------------------------------

    def decode(self, token: str | bytes, keys: Keys) -> VerifiedJWT:
        """:func:`tokensmith.jose.jwt.decode` with this cache's policy, answered from
        memory when this exact token was verified before and is still valid now.

        Raises what ``decode`` raises, and :class:`RevokedError`."""
        text = token if type(token) is str else None  # exactly str: no subclass tricks
        entry = self._entries.get(text) if text is not None else None
        if entry is not None:
            assert text is not None
            if self._still_valid(entry) and _key_still_held(entry, keys):
                result = _verified_jwt(entry.header, entry, entry.key)
                if self._is_revoked is not None and self._is_revoked(result):
                    self._discard(text)
                    raise RevokedError("the token has been revoked")
                with self._lock:
                    entries = self._entries
                    if text in entries:
                        entries[text] = entries.pop(text)
                self.hits += 1
                return result
            # Out of its time window or its key is gone: the full path decides.
            self._discard(text)
        self.misses += 1
        verified = decode(token, keys, policy=self._policy, understood_crit=self._crit)
        entry = _Entry.make(
            self._freeze_items(verified.claims), self._freeze(verified.header), verified.key
        )
        result = _verified_jwt(entry.header, entry, entry.key)
        if self._is_revoked is not None and self._is_revoked(result):
            raise RevokedError("the token has been revoked")
        if text is not None and len(text) <= self._max_token_chars:
            self._store(text, entry)
        return result

    # ---- eviction ----------------------------------------------------------------------

    def evict_key(self, key: JWK | str) -> int:
        """Drop every entry verified by ``key``: a :class:`JWK`, or a ``kid``, or an
        RFC 7638 SHA-256 thumbprint. Returns how many entries were dropped."""
        if isinstance(key, JWK):
            return self._evict_where(lambda k: k == key)
        if type(key) is not str:
            raise TypeError("evict_key takes a JWK, a kid or a thumbprint")
        return self._evict_where(
            lambda k: k.kid == key or (k.kty != "oct" and k.thumbprint() == key)
        )

    def retain_keys(self, keys: Keys) -> int:
        """Drop every entry whose key is not in ``keys`` (call it after a JWKS
        refresh). Returns how many entries were dropped."""
        held = [keys] if isinstance(keys, JWK) else list(keys)
        return self._evict_where(lambda k: not any(k is h or k == h for h in held))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    # ---- internals ---------------------------------------------------------------------

    def _still_valid(self, claims: Any) -> bool:
        now = self._now()
        leeway = self._leeway
        exp = claims.get("exp")
        if exp is not None and now >= exp + leeway:
            return False
        nbf = claims.get("nbf")
        if nbf is not None and now + leeway < nbf:
            return False
        iat = claims.get("iat")
        if iat is not None and now + leeway < iat:
            return False
        max_age = self._max_age
        return max_age is None or (iat is not None and now - iat <= max_age + leeway)

    @staticmethod
    def _size(token: str) -> int:
        return ENTRY_OVERHEAD_BYTES + len(token) * 3 // 2

    def _store(self, token: str, entry: _Entry) -> None:
        size = self._size(token)
        if size > self._max_bytes:
            return
        with self._lock:
            entries = self._entries
            if token in entries:
                entries[token] = entries.pop(token)
                return
            entries[token] = entry
            self._bytes += size
            while len(entries) > self._max_entries or self._bytes > self._max_bytes:
                old = next(iter(entries))
                del entries[old]
                self._bytes -= self._size(old)
                self.evictions += 1

    def _discard(self, token: str) -> None:
        with self._lock:
            if self._entries.pop(token, None) is not None:
                self._bytes -= self._size(token)
                self.evictions += 1

    def _evict_where(self, condition: Callable[[JWK], bool]) -> int:
        with self._lock:
            doomed = [t for t, r in self._entries.items() if condition(r.key)]
            for token in doomed:
                del self._entries[token]
                self._bytes -= self._size(token)
            self.evictions += len(doomed)
            return len(doomed)

    def _share(self, value: Any) -> Any:
        """One object for equal short strings / tuples across entries (memory)."""
        try:
            if len(value) > _SHARE_MAX_LEN:
                return value
            shared = self._shared.get(value)
        except TypeError:  # a tuple holding something unhashable
            return value
        if shared is not None:
            return shared
        if len(self._shared) < _SHARE_TABLE_MAX:
            self._shared[value] = value
        return value

    def _freeze_items(self, mapping: Any) -> dict[str, Any]:
        share = self._share
        return {share(k): self._freeze(v) for k, v in mapping.items()}

    def _freeze(self, value: Any) -> Any:
        kind = type(value)
        if kind is dict:
            return FrozenDict(self._freeze_items(value))
        if kind is list:
            return self._share(tuple(self._freeze(v) for v in value))
        if kind is str:
            return self._share(value)
        return value


def _key_still_held(entry: _Entry, keys: Keys) -> bool:
    key = entry.key
    if isinstance(keys, JWK):
        return keys is key or keys == key
    if isinstance(keys, JWKSet):
        kid = entry.header.get("kid")
        if kid is not None:
            found = keys.get(kid)
            return found is not None and (found is key or found == key)
        candidates: Iterable[JWK] = keys
    else:
        candidates = keys
    return any(k is key or k == key for k in candidates)


__all__ = ["ENTRY_OVERHEAD_BYTES", "RevokedError", "VerifiedTokenCache"]
