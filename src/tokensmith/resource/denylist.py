"""The API's in-memory denylist, filled by the auth server's revocation feed.

Three plain dictionaries, because a lookup per request must cost well under a
microsecond and an entry well under 200 bytes:

- ``jti`` → when the entry may be forgotten (the denied token's expiry, or later);
- ``sid`` → the same, for every token of a session;
- ``sub`` → ``(not_before, forget_at)``: the user's tokens issued (``iat``) before
  ``not_before`` are denied.

An entry in ``jti``/``sid`` denies whatever its age: it stays only while tokens it
denies can still be valid, and :meth:`prune` drops it after ``forget_at``. One writer
(the feed's thread or task); readers need no lock (single dict operations).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

KINDS: Final = frozenset({"jti", "sid", "sub"})


class Denylist:
    """What a verifier consults after the signature checks out. See the module docstring."""

    __slots__ = ("_jti", "_sid", "_sub", "last_id")

    def __init__(self) -> None:
        self._jti: dict[str, float] = {}
        self._sid: dict[str, float] = {}
        self._sub: dict[str, tuple[float, float]] = {}
        #: the id of the last event applied; the feed resumes after it
        self.last_id = 0

    def add(
        self,
        kind: str,
        value: str,
        *,
        expires_at: float,
        not_before: float | None = None,
        event_id: int | None = None,
    ) -> None:
        """Apply one revocation event. ``ValueError`` for a malformed one."""
        if kind not in KINDS:
            raise ValueError(f"unknown revocation kind {kind!r}")
        if type(value) is not str or not value or len(value) > 1024:
            raise ValueError("a revocation value is a non-empty string")
        if not _is_time(expires_at) or (not_before is not None and not _is_time(not_before)):
            raise ValueError("expires_at / not_before must be finite numbers")
        forget = float(expires_at)
        if kind == "jti":
            self._jti[value] = max(self._jti.get(value, 0.0), forget)
        elif kind == "sid":
            self._sid[value] = max(self._sid.get(value, 0.0), forget)
        else:
            if not_before is None:
                raise ValueError("a per-user revocation needs not_before")
            old_nbf, old_forget = self._sub.get(value, (0.0, 0.0))
            self._sub[value] = (max(old_nbf, float(not_before)), max(old_forget, forget))
        if event_id is not None and event_id > self.last_id:
            self.last_id = event_id

    def denies(self, claims: Mapping[str, Any]) -> str | None:
        """Why these (verified) claims are denied: ``"jti"``, ``"sid"``, ``"sub"``; or None."""
        if self._jti:
            jti = claims.get("jti")
            if type(jti) is str and jti in self._jti:
                return "jti"
        if self._sid:
            sid = claims.get("sid")
            if type(sid) is str and sid in self._sid:
                return "sid"
        if self._sub:
            sub = claims.get("sub")
            if type(sub) is str:
                entry = self._sub.get(sub)
                if entry is not None:
                    iat = claims.get("iat")
                    if not (type(iat) is int or type(iat) is float) or iat < entry[0]:
                        return "sub"
        return None

    def prune(self, now: float) -> int:
        """Forget entries whose tokens have all expired by ``now`` (POSIX seconds)."""
        dropped = 0
        for table in (self._jti, self._sid):
            doomed = [k for k, forget in table.items() if forget <= now]
            for k in doomed:
                del table[k]
            dropped += len(doomed)
        doomed = [k for k, (_, forget) in self._sub.items() if forget <= now]
        for k in doomed:
            del self._sub[k]
        return dropped + len(doomed)

    def __len__(self) -> int:
        return len(self._jti) + len(self._sid) + len(self._sub)

    def sizes(self) -> dict[str, int]:
        return {"jti": len(self._jti), "sid": len(self._sid), "sub": len(self._sub)}


def _is_time(value: object) -> bool:
    return type(value) is int or (type(value) is float and math.isfinite(value))


__all__ = ["KINDS", "Denylist"]
