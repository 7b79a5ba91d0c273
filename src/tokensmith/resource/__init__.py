"""tokensmith.resource: the API side.

Verify access tokens from a tokensmith (or any RFC 9068) issuer with keys fetched from
its JWKS, hold revocations pushed by its feed, and plug into ASGI, FastAPI, Flask and
Django. Imports :mod:`tokensmith.jose` and ``httpx`` only; each framework adapter
(:mod:`.asgi`, :mod:`.fastapi`, :mod:`.flask`, :mod:`.django`) imports its framework
when it is imported itself.
"""

from .challenge import DPoPChallenge
from .denylist import Denylist
from .dpop import DPoPNonces, DPoPOptions, DPoPRequest, MemoryReplayCache, ReplayCache
from .errors import (
    DPoPRequiredError,
    FeedUnavailableError,
    FetchError,
    InsufficientScopeError,
    KeySetUnavailableError,
    MissingTokenError,
    RevokedError,
    SenderConstrainedError,
    UnavailableError,
    UnboundTokenError,
)
from .feed import FeedOptions, RevocationFeed
from .fetch import FetchLimits
from .introspection import (
    InactiveTokenError,
    IntrospectionOptions,
    IntrospectionUnavailableError,
    Introspector,
)
from .jwks import KeySetOptions, RemoteKeySet
from .request import RequestParts
from .verifier import AccessToken, AccessTokenVerifier, VerifierOptions, check_access

__all__ = [
    "AccessToken",
    "AccessTokenVerifier",
    "DPoPChallenge",
    "DPoPNonces",
    "DPoPOptions",
    "DPoPRequest",
    "DPoPRequiredError",
    "Denylist",
    "FeedOptions",
    "FeedUnavailableError",
    "FetchError",
    "FetchLimits",
    "InactiveTokenError",
    "InsufficientScopeError",
    "IntrospectionOptions",
    "IntrospectionUnavailableError",
    "Introspector",
    "KeySetOptions",
    "KeySetUnavailableError",
    "MemoryReplayCache",
    "MissingTokenError",
    "RemoteKeySet",
    "ReplayCache",
    "RequestParts",
    "RevocationFeed",
    "RevokedError",
    "SenderConstrainedError",
    "UnavailableError",
    "UnboundTokenError",
    "VerifierOptions",
    "check_access",
]
