"""OAuth clients and service-to-service tokens (issue 6), without HTTP.

- Registry: confidential (``client_secret_basic``, ``client_secret_post``,
  ``private_key_jwt``) and public (``none``) clients with their allowed grants, scopes,
  audiences, token lifetime, signing algorithm and cookie-mode flag. A secret is 256
  random bits, shown once; only its SHA-256 is stored (S27).
- ``client_credentials`` (RFC 6749 §4.4): an RFC 9068 access token for the client itself
  (``sub`` = ``client_id``) whose ``aud`` is the requested audience (RFC 8707
  ``resource`` or ``audience``), within the client's allowed audiences and scopes.
- Token exchange (RFC 8693): a service trades a token it received (``subject_token``,
  whose ``aud`` names this client, or a first-party token) for one addressed to the next
  service, with an ``act`` claim naming the acting client (nested for a chain). The
  ``sid`` and ``sub`` of the subject token are kept, so a revoked session denies every
  token derived from it; the new token never outlives the subject token.
- Introspection (RFC 7662) of our access and refresh tokens, denylist honoured.

Errors are :class:`OAuthError` with RFC 6749 / 8693 / 8707 codes; server/ maps statuses.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tokensmith.jose import JWK, ClaimsPolicy, JoseError, JWKSet, jwt
from tokensmith.store import ClientRecord, DPoPMode, DuplicateError, Stores
from tokensmith.store.records import DPOP_MODES

from .accounts import clean_text
from .audit import AuditLog
from .client_auth import AUTH_METHODS, ClientAuthenticator, PresentedClient, RemoteKeySets
from .config import DAY, PAGES_CLIENT_ID, IssuerConfig
from .dpop import DPoPBinder, DPoPRequest, bind, bound_jkt, token_type
from .errors import AuthError, OAuthError
from .keys import KeyRing
from .models import RequestContext
from .revocation import Revocations
from .tokens import hash_secret, looks_like_refresh_token

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "CLIENT_GRANTS",
    "GRANT_CLIENT_CREDENTIALS",
    "GRANT_TOKEN_EXCHANGE",
    "PAGES_CLIENT",
    "REGISTRABLE_GRANTS",
    "ClientInfo",
    "Clients",
    "IssuedToken",
    "MintProfile",
    "NewClient",
]

GRANT_CLIENT_CREDENTIALS: Final = "client_credentials"
GRANT_TOKEN_EXCHANGE: Final = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
GRANT_REFRESH: Final = "refresh_token"
#: grants a registered client uses at the token endpoint with client authentication
CLIENT_GRANTS: Final = (GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE)
#: grants a registered client may be given: ``refresh_token`` marks a public *login
#: client* (one of the operator's own apps), whose users log in at ``/auth/login`` with
#: its client_id and whose sessions belong to it
REGISTRABLE_GRANTS: Final = (*CLIENT_GRANTS, GRANT_REFRESH)
ACCESS_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105
JWT_TOKEN_TYPE: Final = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105
_SUBJECT_TYPES: Final = (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE)
_CLIENT_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_UUID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,128}")
_AUDIENCE: Final = re.compile(r"[\x21-\x7e]{1,512}")
_DENY_MARGIN: Final = 60
_NO_CONTEXT: Final = RequestContext()
_MAX_TTL: Final = DAY

#: The built-in login client of the server's own web pages (``PAGES_CLIENT_ID``): public,
#: grant ``refresh_token``, always in cookie mode, the server's signing key, access-token
#: lifetime and audience (its tokens open ``/userinfo``, ``/auth/sessions`` and the admin
#: API, like the first-party client's). It is not in the registry: :meth:`Clients.create`
#: refuses its id, and the admin API neither lists nor changes it. The server adds what
#: HTTP decides: only its own origin may use it (docs/web.md).
PAGES_CLIENT: Final = ClientRecord(
    client_id=PAGES_CLIENT_ID,
    name=PAGES_CLIENT_ID,
    auth_method="none",
    created_at=0.0,
    updated_at=0.0,
    grant_types=(GRANT_REFRESH,),
    cookie_mode=True,
    dpop="optional",
)


@dataclass(frozen=True)
class ClientInfo:
    """A client as operators see it (never its secret or its secret's hash)."""

    client_id: str
    name: str
    auth_method: str
    grant_types: tuple[str, ...]
    scopes: tuple[str, ...]
    audiences: tuple[str, ...]
    access_ttl: int | None
    signing_alg: str | None
    cookie_mode: bool
    jwks_uri: str | None
    has_jwks: bool
    created_at: float
    disabled: bool
    dpop: DPoPMode = "optional"

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "token_endpoint_auth_method": self.auth_method,
            "grant_types": list(self.grant_types),
            "scope": " ".join(self.scopes),
            "audiences": list(self.audiences),
            "access_ttl": self.access_ttl,
            "signing_alg": self.signing_alg,
            "cookie_mode": self.cookie_mode,
            "jwks_uri": self.jwks_uri,
            "jwks": self.has_jwks,
            "created_at": self.created_at,
            "disabled": self.disabled,
            "dpop": self.dpop,
        }


@dataclass(frozen=True)
class MintProfile:
    """How a session's access tokens are signed and how long they live (its client's)."""

    key: JWK
    alg: str
    ttl: int


@dataclass(frozen=True)
class NewClient:
    """A created client; ``client_secret`` (confidential secret clients) is shown once."""

    client: ClientInfo
    client_secret: str | None


@dataclass(frozen=True)
class IssuedToken:
    """What the client grants answer (RFC 6749 §5.1; RFC 8693 §2.2.1)."""

    access_token: str
    expires_in: int
    scope: str
    audience: tuple[str, ...]
    issued_token_type: str = ACCESS_TOKEN_TYPE
    #: "Bearer", or "DPoP" for a token bound to the request's DPoP key (RFC 9449 §5)
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 scheme name)


def _info(record: ClientRecord) -> ClientInfo:
    return ClientInfo(
        client_id=record.client_id,
        name=record.name,
        auth_method=record.auth_method,
        grant_types=record.grant_types,
        scopes=record.scopes,
        audiences=record.audiences,
        access_ttl=record.access_ttl,
        signing_alg=record.signing_alg,
        cookie_mode=record.cookie_mode,
        jwks_uri=record.jwks_uri,
        has_jwks=record.jwks is not None,
        created_at=record.created_at,
        disabled=record.disabled,
        dpop=record.dpop,
    )


def _bad(description: str) -> AuthError:
    return AuthError("invalid_client_metadata", description)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _scopes(value: str | None) -> tuple[str, ...] | None:
    """A requested ``scope`` parameter as a tuple (None: not given)."""
    if value is None:
        return None
    words = value.split(" ")
    if not value or any(not _SCOPE_TOKEN.fullmatch(w) for w in words):
        raise OAuthError("invalid_scope", "scope must be space-separated scope tokens")
    return _unique(words)


def _aud_list(claims: Mapping[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()


class Clients:
    """The client registry and the grants that need a registered client.

    Built by :class:`~tokensmith.issuer.service.Issuer` (``issuer.clients``), which
    shares its keys, denylist, audit log and clock."""

    def __init__(
        self,
        *,
        config: IssuerConfig,
        stores: Stores,
        keys: KeyRing,
        revocations: Revocations,
        audit: AuditLog,
        dpop: DPoPBinder,
        clock: Callable[[], float],
        remote_keys: RemoteKeySets,
    ) -> None:
        self.config = config
        self._dpop = dpop
        self._remote_keys = remote_keys
        self._stores = stores
        self._keys = keys
        self._revocations = revocations
        self._audit = audit
        self._clock = clock
        self.authenticator = ClientAuthenticator(
            stores=stores, issuer=config.issuer, clock=clock, remote_keys=remote_keys
        )

    # ---- registry --------------------------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        auth_method: str = "client_secret_basic",
        grant_types: Sequence[str] = (GRANT_CLIENT_CREDENTIALS,),
        scopes: Sequence[str] = (),
        audiences: Sequence[str] = (),
        access_ttl: int | None = None,
        signing_alg: str | None = None,
        cookie_mode: bool = False,
        jwks: Mapping[str, Any] | None = None,
        jwks_uri: str | None = None,
        dpop: str = "optional",
        ctx: RequestContext = _NO_CONTEXT,
    ) -> NewClient:
        """Register a client; ``name`` is its ``client_id``. ``dpop``: ``required``,
        ``optional`` or ``off`` (RFC 9449; see :mod:`tokensmith.issuer.dpop`). Errors:
        AuthError ``invalid_client_metadata`` (bad value), ``client_exists``."""
        client_id = name if isinstance(name, str) else ""
        if not _CLIENT_ID.fullmatch(client_id) or _UUID.fullmatch(client_id.lower()):
            raise _bad("the name (client_id) must be 1-64 of A-Z a-z 0-9 . _ : - and not a UUID")
        if client_id == self.config.first_party_client_id:
            raise AuthError("client_exists", f"{client_id!r} is the built-in first-party client")
        if client_id.casefold() == PAGES_CLIENT_ID:
            # any case: an id that reads like the pages' own in the audit log is refused too
            raise AuthError(
                "client_exists", f"{PAGES_CLIENT_ID!r} is the built-in client of the web pages"
            )
        if auth_method not in AUTH_METHODS:
            raise _bad(f"auth method must be one of {', '.join(AUTH_METHODS)}")
        dpop_mode = next((m for m in DPOP_MODES if m == dpop), None)
        if dpop_mode is None:
            raise _bad(f"dpop must be one of {', '.join(DPOP_MODES)}")
        grants = _unique(grant_types)
        for grant in grants:
            if grant not in REGISTRABLE_GRANTS:
                raise _bad(f"unknown grant {grant!r}; allowed: {', '.join(REGISTRABLE_GRANTS)}")
        if auth_method == "none" and set(grants) - {GRANT_REFRESH}:
            raise _bad("a public client cannot use client_credentials or token exchange")
        if GRANT_REFRESH in grants and auth_method != "none":
            raise _bad(
                "refresh_token (users log in at /auth/login with this client_id) is for "
                "public clients (--public / token_endpoint_auth_method none)"
            )
        if cookie_mode is True and GRANT_REFRESH not in grants:
            raise _bad("cookie_mode is for a public client with the refresh_token grant")
        for scope in scopes:
            if not _SCOPE_TOKEN.fullmatch(scope):
                raise _bad(f"bad scope {scope!r}")
        for aud in audiences:
            if not _AUDIENCE.fullmatch(aud):
                raise _bad(f"bad audience {aud!r} (printable ASCII, no spaces)")
            if aud in self.config.audiences or aud.rstrip("/") == self.config.issuer.rstrip("/"):
                # first-party tokens open /userinfo, sessions and the admin API
                raise _bad(f"{aud!r} is the server's own audience; clients cannot obtain it")
        ceiling = self.config.access_ttl
        if access_ttl is not None and (
            type(access_ttl) is not int or not 30 <= access_ttl <= ceiling
        ):
            # key retirement and denylist entries are timed by the server's access_ttl
            raise _bad(f"access_ttl must be 30 s to the server's access_ttl ({ceiling} s)")
        allowed = self.config.client_algs
        if signing_alg is not None and signing_alg not in allowed:
            raise _bad(
                f"signing_alg {str(signing_alg)[:16]!r} is not allowed here; the server allows "
                f"{', '.join(allowed)} (the operator adds more with TOKENSMITH_SIGNING_ALGS)"
            )
        jwks_text: str | None = None
        if auth_method == "private_key_jwt":
            if (jwks is None) == (jwks_uri is None):
                raise _bad("private_key_jwt needs exactly one of jwks or jwks_uri")
            if jwks is not None:
                try:
                    keyset = JWKSet.from_dict(dict(jwks), public_only=True)
                except (JoseError, TypeError, ValueError):
                    raise _bad("jwks must be a JWK Set of public keys") from None
                if not len(keyset):
                    raise _bad("jwks holds no usable key")
                jwks_text = json.dumps(keyset.to_dict(), separators=(",", ":"))
            if jwks_uri is not None:
                try:
                    self._remote_keys.check_url(jwks_uri)
                except ValueError as exc:
                    raise _bad(f"jwks_uri: {exc}") from None
                if len(jwks_uri) > 2048:
                    raise _bad("jwks_uri is too long")
        elif jwks is not None or jwks_uri is not None:
            raise _bad("jwks and jwks_uri are for private_key_jwt clients")
        secret = None
        if auth_method in ("client_secret_basic", "client_secret_post"):
            secret = secrets.token_urlsafe(32)
        now = self._clock()
        record = ClientRecord(
            client_id=client_id,
            name=client_id,
            auth_method=auth_method,
            created_at=now,
            updated_at=now,
            secret_hash=None if secret is None else hash_secret(secret),
            grant_types=grants,
            scopes=_unique(scopes),
            audiences=_unique(audiences),
            access_ttl=access_ttl,
            signing_alg=signing_alg,
            cookie_mode=cookie_mode,
            jwks=jwks_text,
            jwks_uri=jwks_uri,
            dpop=dpop_mode,
        )
        try:
            await self._stores.clients.create(record)
        except DuplicateError:
            raise AuthError("client_exists", f"a client {client_id!r} exists") from None
        if signing_alg is not None:
            # after the client row: another process's maintenance reads keys, then
            # clients, so it never takes this algorithm for unused
            await self._keys.ensure(signing_alg)
        await self._audit.record(
            "admin_action", ip=ctx.ip, action="create_client", client_id=client_id
        )
        return NewClient(client=_info(record), client_secret=secret)

    async def get(self, *, client_id: str) -> ClientInfo:
        return _info(await self._record(client_id))

    async def login_client(self, client_id: object) -> ClientRecord:
        """A registered client whose users log in at ``/auth/login`` (public, grant
        ``refresh_token``, enabled), or the web pages' built-in :data:`PAGES_CLIENT`
        (while the configuration has it).
        Errors: OAuthError invalid_client (unknown, disabled, confidential),
        unauthorized_client (no refresh_token grant)."""
        if client_id == PAGES_CLIENT_ID:
            if self.config.pages_client:
                return PAGES_CLIENT
            raise OAuthError("invalid_client", "unknown client")  # the id stays reserved
        clean = clean_text(client_id, 64)
        client = None if clean is None else await self._stores.clients.get(clean)
        if client is None or client.disabled or not client.public:
            raise OAuthError("invalid_client", "unknown client")
        self._check_grant(client, GRANT_REFRESH)
        return client

    async def list(self, *, limit: int = 100, offset: int = 0) -> list[ClientInfo]:
        return [_info(c) for c in await self._stores.clients.list(limit=limit, offset=offset)]

    async def _record(self, client_id: object) -> ClientRecord:
        clean = clean_text(client_id, 64)
        client = None if clean is None else await self._stores.clients.get(clean)
        if client is None:
            raise AuthError("client_not_found", "no such client")
        return client

    async def rotate_secret(self, *, client_id: str, ctx: RequestContext = _NO_CONTEXT) -> str:
        """A new secret (shown once); the old one stops working at once. Errors:
        client_not_found, invalid_client_metadata (the client has no secret)."""
        client = await self._record(client_id)
        if client.secret_hash is None:
            raise _bad(f"a {client.auth_method} client has no secret")
        secret = secrets.token_urlsafe(32)
        await self._stores.clients.set_secret(
            client.client_id, hash_secret(secret), now=self._clock()
        )
        await self._audit.record(
            "admin_action", ip=ctx.ip, action="rotate_client_secret", client_id=client.client_id
        )
        return secret

    async def disable(self, *, client_id: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        """The client can no longer authenticate, and the tokens it obtained for itself
        (``sub`` = client_id) are denied. Errors: client_not_found."""
        client = await self._record(client_id)
        now = self._clock()
        await self._stores.clients.set_disabled(client.client_id, now, now=now)
        await self._revocations.add(
            "sub",
            client.client_id,
            expires_at=now + _MAX_TTL + _DENY_MARGIN,
            not_before=float(math.floor(now) + 1),
        )
        await self._audit.record(
            "admin_action", ip=ctx.ip, action="disable_client", client_id=client.client_id
        )

    async def enable(self, *, client_id: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        client = await self._record(client_id)
        await self._stores.clients.set_disabled(client.client_id, None, now=self._clock())
        await self._audit.record(
            "admin_action", ip=ctx.ip, action="enable_client", client_id=client.client_id
        )

    # ---- authentication ----------------------------------------------------------------

    async def authenticate(
        self, presented: PresentedClient, *, ctx: RequestContext = _NO_CONTEXT
    ) -> ClientRecord:
        """See :meth:`ClientAuthenticator.authenticate`; a failure is audited
        (``client_auth_failed`` with the method and the reason, never a credential)."""
        try:
            return await self.authenticator.authenticate(presented)
        except OAuthError as exc:
            await self._audit.record(
                "client_auth_failed",
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                client_id=clean_text(presented.client_id, 64),
                method=presented.method,
                reason=exc.description,
            )
            raise

    # ---- grants ----------------------------------------------------------------------

    def _check_grant(self, client: ClientRecord, grant: str) -> None:
        if grant not in client.grant_types:
            raise OAuthError("unauthorized_client", f"this client may not use {grant}")

    def _audiences(self, client: ClientRecord, requested: Sequence[str]) -> tuple[str, ...]:
        wanted = _unique(a for a in requested if a)
        if not wanted:
            if len(client.audiences) == 1:
                return client.audiences
            raise OAuthError("invalid_target", "name the audience (resource or audience parameter)")
        for aud in wanted:
            if aud not in client.audiences:
                raise OAuthError("invalid_target", "this client may not obtain tokens for it")
        return wanted

    def _scope(self, client: ClientRecord, requested: str | None) -> tuple[str, ...]:
        wanted = _scopes(requested)
        if wanted is None:
            return client.scopes
        for scope in wanted:
            if scope not in client.scopes:
                raise OAuthError("invalid_scope", "a requested scope is not allowed")
        return wanted

    async def _proof_key(self, client: ClientRecord, dpop: DPoPRequest | None) -> str | None:
        proof = await self._dpop.token_request(dpop, mode=client.dpop)
        return None if proof is None else proof.jkt

    def _ttl(self, client: ClientRecord) -> int:
        return client.access_ttl if client.access_ttl is not None else self.config.access_ttl

    async def signer(self, client: ClientRecord) -> tuple[JWK, str]:
        """The key and algorithm for this client's tokens: its ``signing_alg``'s current
        key (the server's when it names none). Errors: OAuthError server_error when the
        operator has withdrawn the algorithm from TOKENSMITH_SIGNING_ALGS."""
        alg = client.signing_alg
        if alg is None:
            return self._keys.signer()
        if alg not in self.config.client_algs:
            raise OAuthError(
                "server_error", f"this client's signing algorithm {alg} is no longer allowed"
            )
        await self._keys.ensure(alg)
        return self._keys.signer(alg)

    async def session_profile(self, client: ClientRecord | None) -> MintProfile:
        """For the users' tokens of a login client (None: the first-party client)."""
        if client is None:
            key, alg = self._keys.signer()
            return MintProfile(key=key, alg=alg, ttl=self.config.access_ttl)
        key, alg = await self.signer(client)
        return MintProfile(key=key, alg=alg, ttl=self._ttl(client))

    async def algorithms_in_use(self) -> set[str]:
        """The allowed algorithms enabled clients name (for the key lifecycles)."""
        found: set[str] = set()
        offset = 0
        while True:
            page = await self._stores.clients.list(limit=500, offset=offset)
            found.update(
                c.signing_alg
                for c in page
                if c.signing_alg in self.config.client_algs and not c.disabled
            )
            if len(page) < 500:
                return found
            offset += len(page)

    async def _sign(self, client: ClientRecord, claims: dict[str, Any]) -> str:
        key, alg = await self.signer(client)
        return jwt.encode(claims, key, alg=alg, typ="at+jwt", header={"kid": key.kid})

    def _base_claims(
        self, *, subject: str, client: ClientRecord, audiences: tuple[str, ...], now: int, exp: int
    ) -> dict[str, Any]:
        claims: dict[str, Any] = dict(self.config.extra_claims)
        claims.update(
            {
                "iss": self.config.issuer,
                "sub": subject,
                "aud": audiences[0] if len(audiences) == 1 else list(audiences),
                "exp": exp,
                "iat": now,
                "nbf": now,
                "jti": secrets.token_urlsafe(16),
                "client_id": client.client_id,
            }
        )
        return claims

    async def client_credentials(
        self,
        *,
        client: ClientRecord,
        scope: str | None = None,
        audiences: Sequence[str] = (),
        dpop: DPoPRequest | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> IssuedToken:
        """RFC 6749 §4.4 for an authenticated client; with a DPoP proof the token is
        bound to its key (per the client's mode). Errors: unauthorized_client,
        invalid_scope, invalid_target, DPoPProofError."""
        self._check_grant(client, GRANT_CLIENT_CREDENTIALS)
        jkt = await self._proof_key(client, dpop)
        auds = self._audiences(client, audiences)
        granted = self._scope(client, scope)
        now = int(self._clock())
        ttl = self._ttl(client)
        claims = self._base_claims(
            subject=client.client_id, client=client, audiences=auds, now=now, exp=now + ttl
        )
        if granted:
            claims["scope"] = " ".join(granted)
        bind(claims, jkt)
        token = await self._sign(client, claims)
        await self._audit.record(
            "client_token",
            ip=ctx.ip,
            client_id=client.client_id,
            grant=GRANT_CLIENT_CREDENTIALS,
            aud=list(auds),
        )
        return IssuedToken(
            access_token=token,
            expires_in=ttl,
            scope=" ".join(granted),
            audience=auds,
            token_type=token_type(jkt),
        )

    async def verify_token(self, token: str) -> dict[str, Any]:
        """One of our access tokens, any audience: signature with our keys,
        ``typ: at+jwt``, iss, exp/nbf, and the denylist. Errors: AuthError invalid_token."""
        if not isinstance(token, str) or not token or len(token) > 16_384:
            raise AuthError("invalid_token", "not a token")
        try:
            audiences = _aud_list(jwt.peek(token).claims)
        except JoseError:
            raise AuthError("invalid_token", "not a JWT") from None
        keys, algs = self._keys.verify_keys()
        if not algs or not audiences:
            raise AuthError("invalid_token", "the token is not ours")
        policy = ClaimsPolicy(
            issuer=self.config.issuer,
            audience=audiences,  # checked by the caller against what it needs
            algorithms=algs,
            required=("exp", "iat", "sub", "jti"),
            typ="at+jwt",
            now=self._clock,
        )
        try:
            claims = dict(jwt.decode(token, keys, policy=policy).claims)
        except JoseError as exc:
            raise AuthError("invalid_token", f"the token is not valid: {exc.code}") from None
        if await self._revocations.denies(claims) is not None:
            raise AuthError("invalid_token", "the token has been revoked")
        return claims

    async def exchange(
        self,
        *,
        client: ClientRecord,
        subject_token: str | None,
        subject_token_type: str | None,
        actor_token: str | None = None,
        actor_token_type: str | None = None,
        requested_token_type: str | None = None,
        scope: str | None = None,
        audiences: Sequence[str] = (),
        dpop: DPoPRequest | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> IssuedToken:
        """RFC 8693 token exchange. The subject token must be one of our unrevoked access
        tokens addressed to this client (its ``aud`` holds the client_id) or a
        first-party token; the new token is for an audience the client may call, within
        its scopes. With a DPoP proof the new token is bound to the exchanging client's
        key (a bound subject token's ``cnf`` is not carried over). Errors:
        invalid_request, unauthorized_client, invalid_grant, invalid_scope,
        invalid_target, DPoPProofError."""
        self._check_grant(client, GRANT_TOKEN_EXCHANGE)
        if not subject_token or not subject_token_type:
            raise OAuthError("invalid_request", "subject_token and subject_token_type are required")
        if subject_token_type not in _SUBJECT_TYPES:
            raise OAuthError("invalid_request", "subject_token_type must name an access token")
        if requested_token_type not in (None, ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE):
            raise OAuthError("invalid_request", "only access tokens are issued")
        if (actor_token is None) != (actor_token_type is None):
            raise OAuthError("invalid_request", "actor_token and actor_token_type go together")
        if actor_token_type is not None and actor_token_type not in _SUBJECT_TYPES:
            raise OAuthError("invalid_request", "actor_token_type must name an access token")
        jkt = await self._proof_key(client, dpop)
        auds = self._audiences(client, audiences)
        granted = self._scope(client, scope)
        try:
            subject = await self.verify_token(subject_token)
        except AuthError as exc:
            raise OAuthError("invalid_grant", f"subject_token: {exc.message}") from None
        addressed = set(_aud_list(subject))
        if client.client_id not in addressed and not addressed & set(self.config.audiences):
            raise OAuthError("invalid_grant", "the subject_token is not addressed to this client")
        act: dict[str, Any] = {"sub": client.client_id}
        if actor_token is not None:
            try:
                actor = await self.verify_token(actor_token)
            except AuthError as exc:
                raise OAuthError("invalid_grant", f"actor_token: {exc.message}") from None
            if actor.get("client_id") != client.client_id:
                raise OAuthError("invalid_grant", "the actor_token was issued to another client")
            act = {"sub": str(actor["sub"])}
        prior = subject.get("act")
        if isinstance(prior, dict):
            act["act"] = prior
        now = int(self._clock())
        exp = min(now + self._ttl(client), int(subject["exp"]))
        claims = self._base_claims(
            subject=str(subject["sub"]), client=client, audiences=auds, now=now, exp=exp
        )
        for carried in ("sid", "roles", "auth_time"):
            if carried in subject:
                claims[carried] = subject[carried]
        if granted:
            claims["scope"] = " ".join(granted)
        claims["act"] = act
        bind(claims, jkt)
        token = await self._sign(client, claims)
        await self._audit.record(
            "client_token",
            user_id=clean_text(subject.get("sub"), 36),
            session_id=clean_text(subject.get("sid"), 64),
            ip=ctx.ip,
            client_id=client.client_id,
            grant=GRANT_TOKEN_EXCHANGE,
            aud=list(auds),
        )
        return IssuedToken(
            access_token=token,
            expires_in=max(0, exp - now),
            scope=" ".join(granted),
            audience=auds,
            token_type=token_type(jkt),
        )

    async def revoke(
        self, *, client: ClientRecord, token: str, ctx: RequestContext = _NO_CONTEXT
    ) -> None:
        """RFC 7009 for an authenticated client: an access token issued to it (its
        ``client_id``) is denied by ``jti`` until it expires. Other, unknown or malformed
        tokens are left alone without saying so."""
        if client.public:
            raise OAuthError("invalid_client", "public clients revoke without authenticating")
        try:
            claims = await self.verify_token(token)
        except AuthError:
            return
        if claims.get("client_id") != client.client_id:
            return
        await self._revocations.add("jti", str(claims["jti"]), expires_at=float(claims["exp"]))
        await self._audit.record(
            "token_revoked",
            ip=ctx.ip,
            client_id=client.client_id,
            token_type="access_token",  # noqa: S106 (an RFC 7009 hint name)
        )

    # ---- introspection ----------------------------------------------------------------

    async def introspect(
        self, *, client: ClientRecord, token: str, token_type_hint: str | None = None
    ) -> dict[str, Any]:
        """RFC 7662 for an authenticated confidential client: ``{"active": false}`` for
        anything not a live token of ours (expired, revoked, unknown, malformed)."""
        if client.public:
            raise OAuthError("invalid_client", "public clients may not introspect")
        order = ("refresh", "access") if token_type_hint == GRANT_REFRESH else ("access", "refresh")
        for kind in order:
            if kind == "refresh" and looks_like_refresh_token(token):
                found = await self._introspect_refresh(token)
                if found is not None:
                    return found
            if kind == "access" and token.count(".") == 2:
                try:
                    claims = await self.verify_token(token)
                except AuthError:
                    continue
                jkt = bound_jkt(claims)
                out: dict[str, Any] = {"active": True, "token_type": token_type(jkt)}
                for name in (
                    "scope",
                    "client_id",
                    "sub",
                    "aud",
                    "iss",
                    "exp",
                    "iat",
                    "nbf",
                    "jti",
                    "sid",
                    "act",
                    "roles",
                    "cnf",
                ):
                    if name in claims:
                        out[name] = claims[name]
                return out
        return {"active": False}

    async def _introspect_refresh(self, token: str) -> dict[str, Any] | None:
        record = await self._stores.refresh_tokens.get(hash_secret(token))
        if record is None:
            return None
        now = self._clock()
        session = await self._stores.sessions.get(record.session_id)
        if (
            session is None
            or not session.active(now)
            or record.consumed_at is not None
            or now >= record.expires_at
        ):
            return {"active": False}
        return {
            "active": True,
            "token_type": GRANT_REFRESH,
            "client_id": session.client_id,
            "sub": session.user_id,
            "sid": session.id,
            "scope": session.scope,
            "iat": int(record.issued_at),
            "exp": int(min(record.expires_at, session.expires_at)),
        }

    # ---- discovery ---------------------------------------------------------------------

    def metadata(self, base: str) -> dict[str, Any]:
        """What discovery adds for clients (merged into the issuer's metadata)."""
        from .client_auth import ASSERTION_ALGORITHMS

        methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        return {
            "grant_types_supported": [GRANT_REFRESH, *CLIENT_GRANTS],
            "token_endpoint_auth_methods_supported": ["none", *methods],
            "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "revocation_endpoint_auth_methods_supported": ["none", *methods],
            "introspection_endpoint": f"{base}/oauth/introspect",
            "introspection_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
            "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        }
