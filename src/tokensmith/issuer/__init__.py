"""What an auth server does, without HTTP: accounts, sessions and refresh-token families,
key lifecycle, minting and revocation. Imports jose and store; never a web framework."""

from __future__ import annotations

from .config import Argon2Params, DPoPConfig, IssuerConfig, RateLimitRule, RateLimits
from .dpop import DPoPRequest
from .errors import (
    AuthError,
    DPoPAuthError,
    DPoPProofError,
    MasterKeyError,
    OAuthError,
    RateLimitedError,
)
from .service import (
    AccessClaims,
    AuditEvent,
    Issuer,
    KeyInfo,
    RequestContext,
    RevocationEvent,
    SessionInfo,
    TokenPair,
    UserInfo,
)

__all__ = [
    "AccessClaims",
    "Argon2Params",
    "AuditEvent",
    "AuthError",
    "DPoPAuthError",
    "DPoPConfig",
    "DPoPProofError",
    "DPoPRequest",
    "Issuer",
    "IssuerConfig",
    "KeyInfo",
    "MasterKeyError",
    "OAuthError",
    "RateLimitRule",
    "RateLimitedError",
    "RateLimits",
    "RequestContext",
    "RevocationEvent",
    "SessionInfo",
    "TokenPair",
    "UserInfo",
]
