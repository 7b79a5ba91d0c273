"""Client authentication at the token and introspection endpoints (RFC 6749 §2.3,
RFC 7523 §2.2 / OIDC Core §9 ``private_key_jwt``).

server/ reads the request into :class:`PresentedClient` (which method, which values);
:class:`ClientAuthenticator` decides. Every failure is ``OAuthError("invalid_client")``
with a description for people that never repeats a secret or an assertion.

``private_key_jwt``: the assertion is a JWT signed with one of the client's keys (its
inline JWKS, or its ``jwks_uri`` read through :class:`RemoteKeySets`, which the
composition root supplies with S4's rules: https only, http only to a loopback host, no
redirects, bounded size and time; issuer/ itself does no HTTP), with ``iss`` = ``sub`` = the
client_id, ``aud`` naming the token endpoint or the issuer, ``exp`` at most
:data:`ASSERTION_MAX_LIFETIME` ahead, and a ``jti`` that is refused the second time
(remembered until the assertion expires). Only asymmetric algorithms are accepted (S2).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from tokensmith.jose import ClaimsPolicy, JoseError, JWKSet, jwt
from tokensmith.store import ClientRecord, Stores

from .accounts import clean_text
from .errors import OAuthError
from .tokens import hash_secret

__all__ = [
    "ASSERTION_ALGORITHMS",
    "ASSERTION_MAX_LIFETIME",
    "ASSERTION_TYPE",
    "AUTH_METHODS",
    "ClientAuthenticator",
    "NoRemoteKeySets",
    "PresentedClient",
    "RemoteKeySets",
]

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: how far ahead an assertion's ``exp`` may be (Authlib and most client libraries send
#: one hour); the jti replay cache holds each jti this long at most
ASSERTION_MAX_LIFETIME: Final = 3600
ASSERTION_ALGORITHMS: Final = ("RS256", "PS256", "ES256", "ES384", "EdDSA")
AUTH_METHODS: Final = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
_JWKS_CACHE_SECONDS: Final = 300
_JWKS_REFETCH_AFTER: Final = 30
_MAX_ASSERTION: Final = 8192


@dataclass(frozen=True)
class PresentedClient:
    """What a request presented to identify its client.

    ``method``: ``client_secret_basic`` (``Authorization: Basic``, already decoded),
    ``client_secret_post`` (``client_secret`` in the form), ``private_key_jwt``
    (``client_assertion``) or ``none`` (only a ``client_id``, or nothing)."""

    method: str
    client_id: str | None = None
    secret: str | None = None
    assertion: str | None = None


def _refuse(description: str) -> OAuthError:
    return OAuthError("invalid_client", description)


def _secret_matches(secret: str, stored_hash: str | None) -> bool:
    if stored_hash is None:
        # the same work as a real comparison
        hmac.compare_digest(hash_secret(secret), "0" * 64)
        return False
    return hmac.compare_digest(hash_secret(secret), stored_hash)


class RemoteKeySets(Protocol):
    """How a ``private_key_jwt`` client's ``jwks_uri`` is checked when the client is
    registered and read when it authenticates. issuer/ does no HTTP: the composition root
    supplies an implementation that applies S4's rules."""

    def check_url(self, url: str) -> None:
        """Raise ``ValueError``, saying why, unless ``url`` may be fetched."""

    async def fetch(self, url: str) -> bytes:
        """The document at ``url``; ``ValueError`` or ``JoseError`` when it cannot be read."""


class NoRemoteKeySets:
    """What an issuer built without a fetcher uses: every ``jwks_uri`` is refused (a
    client's inline JWKS still works)."""

    def check_url(self, url: str) -> None:
        raise ValueError("this server does not fetch jwks_uri documents")

    async def fetch(self, url: str) -> bytes:
        raise ValueError("this server does not fetch jwks_uri documents")


class ClientAuthenticator:
    """Checks presented client credentials against the client store."""

    def __init__(
        self,
        *,
        stores: Stores,
        issuer: str,
        clock: Callable[[], float],
        remote_keys: RemoteKeySets,
    ) -> None:
        self._stores = stores
        self._issuer = issuer.rstrip("/")
        self._clock = clock
        self._remote_keys = remote_keys
        #: jwks_uri -> (fetched at (monotonic), key set)
        self._remote: dict[str, tuple[float, JWKSet]] = {}

    @property
    def token_endpoint(self) -> str:
        return f"{self._issuer}/oauth/token"

    async def authenticate(self, presented: PresentedClient) -> ClientRecord:
        """The authenticated, enabled client; ``OAuthError("invalid_client")`` otherwise.
        A public client (``none``) is returned for a bare ``client_id`` of a public
        client only."""
        if presented.method == "private_key_jwt":
            return await self._by_assertion(presented)
        client_id = clean_text(presented.client_id, 64)
        if not client_id:
            raise _refuse("client authentication is required")
        client = await self._stores.clients.get(client_id)
        if presented.method == "none":
            if client is None or not client.public or client.disabled:
                raise _refuse("unknown client, or the client must authenticate")
            return client
        secret = presented.secret
        if not isinstance(secret, str) or not secret or len(secret) > 512:
            raise _refuse("the client secret is missing")
        stored = None if client is None else client.secret_hash
        ok = _secret_matches(secret, stored)
        if client is None or not ok:
            raise _refuse("unknown client or wrong client secret")
        if client.auth_method != presented.method:
            raise _refuse(f"this client authenticates with {client.auth_method}")
        if client.disabled:
            raise _refuse("the client is disabled")
        return client

    async def _by_assertion(self, presented: PresentedClient) -> ClientRecord:
        assertion = presented.assertion
        if not isinstance(assertion, str) or not assertion or len(assertion) > _MAX_ASSERTION:
            raise _refuse("client_assertion is missing or too long")
        try:
            unverified = jwt.peek(assertion)
        except JoseError:
            raise _refuse("client_assertion is not a JWT") from None
        client_id = clean_text(unverified.claims.get("iss"), 64)
        if not client_id or unverified.claims.get("sub") != client_id:
            raise _refuse("client_assertion: iss and sub must both be the client_id")
        if presented.client_id is not None and presented.client_id != client_id:
            raise _refuse("client_id does not match the client_assertion")
        client = await self._stores.clients.get(client_id)
        if client is None or client.auth_method != "private_key_jwt":
            raise _refuse("unknown client, or it does not use private_key_jwt")
        if client.disabled:
            raise _refuse("the client is disabled")
        claims = await self._verify_assertion(client, assertion)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            raise _refuse("client_assertion: jti is required")
        key = hashlib.sha256(f"{client_id}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()
        now = self._clock()
        if not await self._stores.assertion_replays.use(
            key, expires_at=float(claims["exp"]) + 60, now=now
        ):
            raise _refuse("client_assertion: this jti was used before (replay)")
        return client

    async def _verify_assertion(self, client: ClientRecord, assertion: str) -> dict[str, Any]:
        policy = ClaimsPolicy(
            issuer=client.client_id,
            subject=client.client_id,
            audience=(self.token_endpoint, self._issuer, f"{self._issuer}/"),
            algorithms=ASSERTION_ALGORITHMS,
            required=("exp", "jti"),
            leeway=30,
            now=self._clock,
        )
        keys = await self._client_keys(client, fresh=False)
        try:
            claims = dict(jwt.decode(assertion, keys, policy=policy).claims)
        except JoseError as exc:
            if exc.code != "jwks_key_not_found" or client.jwks_uri is None:
                raise _refuse(f"client_assertion is not valid: {exc.code}") from None
            keys = await self._client_keys(client, fresh=True)
            try:
                claims = dict(jwt.decode(assertion, keys, policy=policy).claims)
            except JoseError as again:
                raise _refuse(f"client_assertion is not valid: {again.code}") from None
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)) or exp - self._clock() > ASSERTION_MAX_LIFETIME:
            raise _refuse(f"client_assertion: exp must be within {ASSERTION_MAX_LIFETIME} s")
        return claims

    async def _client_keys(self, client: ClientRecord, *, fresh: bool) -> JWKSet:
        if client.jwks is not None:
            try:
                return JWKSet.from_json(client.jwks, public_only=True)
            except JoseError:
                raise _refuse("the client's registered JWKS is not usable") from None
        url = client.jwks_uri
        if url is None:
            raise _refuse("the client has no keys")
        cached = self._remote.get(url)
        age = None if cached is None else time.monotonic() - cached[0]
        if (
            cached is not None
            and age is not None
            and age < _JWKS_CACHE_SECONDS
            and not (fresh and age >= _JWKS_REFETCH_AFTER)
        ):
            return cached[1]
        try:
            self._remote_keys.check_url(url)
        except ValueError as exc:
            raise _refuse(f"jwks_uri refused: {exc}") from None
        try:
            body = await self._remote_keys.fetch(url)
            keys = JWKSet.from_json(body, public_only=True)
        except (JoseError, ValueError):
            raise _refuse("the client's jwks_uri could not be fetched or read") from None
        self._remote[url] = (time.monotonic(), keys)
        return keys
