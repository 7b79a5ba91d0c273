"""The tokens a client holds, read from a token endpoint's answer (RFC 6749 §5.1)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class TokenSet:
    """An access token, how it is presented (``token_type``: ``DPoP`` or ``Bearer``),
    when it expires (POSIX seconds, None when unknown) and the refresh token, if any."""

    access_token: str
    token_type: str = "DPoP"  # noqa: S105 - a token type, not a secret
    expires_at: float | None = None
    refresh_token: str | None = None

    def __post_init__(self) -> None:
        if type(self.access_token) is not str or not self.access_token:
            raise ValueError("access_token must be a non-empty string")
        if self.token_type.lower() not in ("dpop", "bearer"):
            raise ValueError("token_type is DPoP or Bearer")

    @property
    def is_dpop(self) -> bool:
        return self.token_type.lower() == "dpop"

    def expires_within(self, seconds: float, now: float) -> bool:
        return self.expires_at is not None and self.expires_at - seconds <= now

    @classmethod
    def from_response(
        cls, body: Mapping[str, Any], *, now: float, previous: TokenSet | None = None
    ) -> TokenSet | None:
        """The tokens of a successful token response, or None when ``body`` is not one.
        A response without ``refresh_token`` keeps the ``previous`` one (RFC 6749 §6)."""
        access = body.get("access_token")
        if type(access) is not str or not access:
            return None
        token_type = body.get("token_type")
        if type(token_type) is not str or token_type.lower() not in ("dpop", "bearer"):
            return None
        expires_in = body.get("expires_in")
        expires_at = None
        if (
            isinstance(expires_in, (int, float))
            and not isinstance(expires_in, bool)
            and math.isfinite(expires_in)
        ):
            expires_at = now + expires_in
        refresh = body.get("refresh_token")
        if type(refresh) is not str or not refresh:
            refresh = previous.refresh_token if previous is not None else None
        return cls(
            access_token=access, token_type=token_type, expires_at=expires_at, refresh_token=refresh
        )


__all__ = ["TokenSet"]
