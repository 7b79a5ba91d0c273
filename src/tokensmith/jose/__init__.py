"""tokensmith.jose: strict, fast JOSE (RFC 7515-7519, 7638, 7797, 8037, 9864).

Imports the standard library and ``cryptography`` only; no I/O, and time comes in
through a policy's ``now``.
"""

from . import dpop, jwe, jws, jwt
from .algorithms import ALL_SIGNING_ALGORITHMS
from .claims import ClaimsPolicy
from .encoding import Limits
from .errors import JoseError
from .jwk import JWK
from .jwkset import JWKSet
from .jws import VerifiedJWS
from .jwt import UnverifiedJWT, VerifiedJWT

__all__ = [
    "ALL_SIGNING_ALGORITHMS",
    "JWK",
    "ClaimsPolicy",
    "JWKSet",
    "JoseError",
    "Limits",
    "UnverifiedJWT",
    "VerifiedJWS",
    "VerifiedJWT",
    "dpop",
    "jwe",
    "jws",
    "jwt",
]
