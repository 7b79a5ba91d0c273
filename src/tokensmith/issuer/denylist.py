"""The in-memory denylist of access tokens, fed by revocation events (jti, sid, sub)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tokensmith.store import RevocationRecord

__all__ = ["Denylist"]


class Denylist:
    """What :meth:`denies` checks per token: its ``jti``, its ``sid``, and its ``sub``'s
    not-before. Entries drop out at their ``expires_at``."""

    def __init__(self) -> None:
        self._jti: dict[str, float] = {}
        self._sid: dict[str, float] = {}
        self._sub: dict[str, tuple[float, float]] = {}
        self.last_id = 0

    def add(self, records: Iterable[RevocationRecord]) -> None:
        for r in records:
            if r.kind == "jti":
                self._jti[r.value] = max(self._jti.get(r.value, 0.0), r.expires_at)
            elif r.kind == "sid":
                self._sid[r.value] = max(self._sid.get(r.value, 0.0), r.expires_at)
            elif r.kind == "sub":
                not_before = r.not_before if r.not_before is not None else r.created_at
                old_nbf, old_exp = self._sub.get(r.value, (0.0, 0.0))
                self._sub[r.value] = (max(old_nbf, not_before), max(old_exp, r.expires_at))
            self.last_id = max(self.last_id, r.id)

    def denies(self, claims: Mapping[str, Any], now: float) -> str | None:
        """Why the token is denied (``"jti"``, ``"sid"``, ``"sub"``), or None."""
        jti = claims.get("jti")
        if isinstance(jti, str) and self._jti.get(jti, 0.0) > now:
            return "jti"
        sid = claims.get("sid")
        if isinstance(sid, str) and self._sid.get(sid, 0.0) > now:
            return "sid"
        sub = claims.get("sub")
        if isinstance(sub, str) and sub in self._sub:
            not_before, expires = self._sub[sub]
            iat = claims.get("iat")
            if expires > now and (not isinstance(iat, (int, float)) or iat < not_before):
                return "sub"
        return None

    def prune(self, now: float) -> None:
        self._jti = {k: v for k, v in self._jti.items() if v > now}
        self._sid = {k: v for k, v in self._sid.items() if v > now}
        self._sub = {k: v for k, v in self._sub.items() if v[1] > now}

    def __len__(self) -> int:
        return len(self._jti) + len(self._sid) + len(self._sub)
