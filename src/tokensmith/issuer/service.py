"""The issuer's public API: what an auth server does, without HTTP.

server/ and cli/ call only this module (plus errors.py and config.py). Every method is
keyword-only; errors are :class:`~tokensmith.issuer.errors.AuthError` (stable ``code``),
:class:`~tokensmith.issuer.errors.RateLimitedError` (``retry_after``) and, for the
token/refresh endpoints, :class:`~tokensmith.issuer.errors.OAuthError` (RFC 6749 §5.2).
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from tokensmith.jose import ClaimsPolicy, JoseError, jwt
from tokensmith.store import (
    DPoPMode,
    DuplicateError,
    InviteRecord,
    RefreshTokenRecord,
    SessionRecord,
    Stores,
    UserRecord,
)

from .accounts import (
    LOGIN_PASSWORD_CEILING,
    check_password,
    clean_text,
    encodable,
    normalise_username,
    storable,
    username_key,
)
from .audit import AuditLog
from .client_auth import NoRemoteKeySets, RemoteKeySets
from .clients import Clients, MintProfile
from .config import DAY, IssuerConfig, RateLimitRule
from .dpop import DPoPBinder, DPoPRequest, bound_jkt, token_type
from .errors import AuthError, DPoPProofError, OAuthError, RateLimitedError
from .keys import KeyRing, LoadedKey, derive_key
from .models import (
    AccessClaims,
    AuditEvent,
    KeyInfo,
    RequestContext,
    RevocationEvent,
    SessionInfo,
    TokenPair,
    UserInfo,
)
from .passwords import Argon2Hasher, PasswordHasher, Passwords
from .revocation import Revocations
from .tokens import (
    RefreshSecrets,
    access_claims,
    hash_secret,
    looks_like_refresh_token,
    new_refresh_token,
)

__all__ = [
    "AccessClaims",
    "AuditEvent",
    "Issuer",
    "KeyInfo",
    "RequestContext",
    "RevocationEvent",
    "SessionInfo",
    "TokenPair",
    "UserInfo",
]


_NO_CONTEXT = RequestContext()
#: an sid/sub denylist entry outlives the longest access token by this margin (a token
#: minted while the revocation was being written is still covered)
_DENY_MARGIN = 60
_SESSION_RETENTION = DAY
# RFC 7009 token type hints
_ACCESS = "access_token"
_REFRESH = "refresh_token"


def _user_info(user: UserRecord) -> UserInfo:
    return UserInfo(
        id=user.id,
        username=user.username,
        roles=user.roles,
        created_at=user.created_at,
        disabled=user.disabled,
    )


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


class Issuer:
    """Accounts, sessions (refresh-token families), keys, minting and revocation.

    Build with :meth:`open` (loads or creates keys, loads the denylist); call
    :meth:`close` when done. Safe to use from many tasks of one event loop; several
    processes may share one SQL database.
    """

    def __init__(
        self,
        config: IssuerConfig,
        stores: Stores,
        *,
        master_key: bytes,
        clock: Callable[[], float],
        hasher: PasswordHasher,
        remote_keys: RemoteKeySets | None = None,
    ) -> None:
        self.config = config
        self._stores = stores
        self._clock = clock
        self._keys = KeyRing(
            stores.keys,
            config=config,
            master_key=master_key,
            clock=clock,
            # self.clients is built below (it shares this ring)
            uses=lambda: self.clients.algorithms_in_use(),  # noqa: PLW0108
            notices=stores.notices,
        )
        self._refresh = RefreshSecrets(derive_key(master_key, "refresh-derivation"))
        self.passwords = Passwords(
            hasher, workers=config.hash_workers, niceness=config.password_niceness
        )
        self._audit = AuditLog(stores.audit, clock=clock)
        self._revocations = Revocations(stores.revocations, clock=clock, notices=stores.notices)
        #: DPoP proofs, replay and server nonces (RFC 9449, issue 9)
        self.dpop = DPoPBinder(
            config.dpop,
            replays=stores.assertion_replays,
            nonce_key=derive_key(master_key, "dpop-nonce"),
            clock=clock,
        )
        #: OAuth clients, client_credentials, token exchange, introspection (issue 6)
        self.clients = Clients(
            config=config,
            stores=stores,
            keys=self._keys,
            revocations=self._revocations,
            audit=self._audit,
            dpop=self.dpop,
            clock=clock,
            remote_keys=remote_keys if remote_keys is not None else NoRemoteKeySets(),
        )

    @classmethod
    async def open(
        cls,
        config: IssuerConfig,
        stores: Stores,
        *,
        master_key: bytes,
        clock: Callable[[], float] = time.time,
        hasher: PasswordHasher | None = None,
        remote_keys: RemoteKeySets | None = None,
    ) -> Issuer:
        """``master_key``: 32 bytes; private keys are encrypted under it (AES-GCM) and
        child refresh tokens derived from it. ``hasher``: tests only (the default is
        argon2id with ``config.argon2``). ``remote_keys``: how clients' ``jwks_uri`` are
        read (none: such clients are refused). Creates the first signing keys when there
        are none."""
        issuer = cls(
            config,
            stores,
            master_key=master_key,
            clock=clock,
            hasher=hasher if hasher is not None else Argon2Hasher(config.argon2),
            remote_keys=remote_keys,
        )
        try:
            for event in await issuer._keys.maintain():
                await issuer._audit.record("key_rotated", action=event)
            await issuer._revocations.sync()
            await issuer.passwords.prepare()
        except BaseException:
            await issuer.close()
            raise
        return issuer

    def watch_audit(self, observer: Callable[[str], None]) -> Callable[[], None]:
        """Call ``observer(kind)`` for each audit event stored from now on (the server's
        metrics count them); returns what stops it. ``observer`` runs on the request's
        path: it must be quick and must not raise."""
        return self._audit.watch(observer)

    def now(self) -> float:
        """The issuer's clock (Unix seconds): what its tokens' ``iat`` and ``exp`` use."""
        return self._clock()

    async def close(self) -> None:
        """Stop the hashing threads. Does not close ``stores`` (the caller owns them)."""
        self._revocations.close()
        self.passwords.close()

    # ---- accounts -------------------------------------------------------------------

    async def _check_rate(self, *keys: str | None) -> None:
        if not self.config.rate_limits.enabled:
            return
        now = self._clock()
        wait = 0.0
        for key in keys:
            if key is not None:
                wait = max(wait, await self._stores.rate_limiter.blocked_for(key, now=now))
        if wait > 0:
            raise RateLimitedError(math.ceil(wait))

    async def _fail(self, key: str | None, rule: RateLimitRule) -> None:
        if key is None or not self.config.rate_limits.enabled:
            return
        await self._stores.rate_limiter.failure(
            key,
            now=self._clock(),
            limit=rule.limit,
            window=rule.window,
            backoff=rule.backoff,
            max_backoff=rule.max_backoff,
        )

    async def count_inspection(self, *, ctx: RequestContext = _NO_CONTEXT) -> None:
        """Count one token-inspector call from ``ctx.ip`` against
        ``config.rate_limits.inspect`` (every call counts; no address, no limit).
        Errors: rate_limited."""
        address = None if ctx.ip is None else f"inspect:{ctx.ip}"
        await self._check_rate(address)
        await self._fail(address, self.config.rate_limits.inspect)

    async def _create_user(
        self,
        *,
        username: str,
        password: str,
        roles: tuple[str, ...],
        user_id: str | None = None,
    ) -> UserRecord:
        name = normalise_username(username, self.config)
        check_password(password, self.config)
        key = username_key(name)
        if await self._stores.users.get_by_username(key) is not None:
            raise AuthError("username_taken", "this username is taken")
        password_hash = await self.passwords.hash(password)
        now = self._clock()
        user = UserRecord(
            id=user_id or str(uuid.uuid4()),
            username=name,
            username_key=key,
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
            roles=roles,
        )
        try:
            await self._stores.users.create(user)
        except DuplicateError:
            raise AuthError("username_taken", "this username is taken") from None
        return user

    async def register(
        self,
        *,
        username: str,
        password: str,
        invite: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> UserInfo:
        """Create an account (per ``config.registration``). Errors: registration_closed,
        invite_required, username_taken, invalid_username, weak_password,
        password_too_long, rate_limited."""
        mode = self.config.registration
        if mode == "closed":
            raise AuthError("registration_closed", "registration is closed")
        if mode == "invite" and not invite:
            raise AuthError("invite_required", "registration needs an invite")
        address = None if ctx.ip is None else f"register:{ctx.ip}"
        await self._check_rate(address)
        await self._fail(address, self.config.rate_limits.register)
        name = normalise_username(username, self.config)
        check_password(password, self.config)
        if await self._stores.users.get_by_username(username_key(name)) is not None:
            raise AuthError("username_taken", "this username is taken")
        user_id = str(uuid.uuid4())
        if mode == "invite":
            assert invite is not None
            redeemed = await self._stores.invites.redeem(
                hash_secret(invite), now=self._clock(), used_by=user_id
            )
            if not redeemed:
                raise AuthError("invite_required", "the invite is unknown, used or expired")
        user = await self._create_user(username=name, password=password, roles=(), user_id=user_id)
        await self._audit.record(
            "register",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            invite=mode == "invite",
        )
        return _user_info(user)

    async def login(
        self,
        *,
        username: str,
        password: str,
        client_id: str | None = None,
        dpop: DPoPRequest | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> TokenPair:
        """Check the password and start a session. Unknown user and wrong password give
        the same ``invalid_credentials`` after the same work (S26). Errors:
        invalid_credentials, account_disabled, rate_limited; OAuthError("invalid_client")
        for a ``client_id`` other than the first-party client (checked before anything).
        With a DPoP proof (``dpop``) the session and its tokens are bound to the proof's
        key (RFC 9449 §5); DPoPProofError for a bad proof, or none when the client
        requires one (its mode, or ``dpop.first_party``; checked before the password)."""
        client = client_id or self.config.first_party_client_id
        registered = None  # a login client (public, grant refresh_token) owns the session
        if client != self.config.first_party_client_id:
            registered = await self.clients.login_client(client)
        key = username_key(username)
        account = f"account:{key}"
        address = None if ctx.ip is None else f"address:{ctx.ip}"
        await self._check_rate(account, address)
        proof = await self.dpop.token_request(
            dpop, mode=self.config.dpop.first_party if registered is None else registered.dpop
        )
        if (
            not isinstance(password, str)
            or len(password) > LOGIN_PASSWORD_CEILING
            or not encodable(password)
        ):
            password = ""
        user = await self._stores.users.get_by_username(key) if key else None
        if user is None or not password:
            # the same work as a real check (S26), and the same answer below
            await self.passwords.dummy_verify(password)
            ok = False
        else:
            ok = await self.passwords.verify(user.password_hash, password)
        if not ok:
            await self._fail(account, self.config.rate_limits.account)
            await self._fail(address, self.config.rate_limits.address)
            await self._audit.record(
                "login_failed",
                user_id=None if user is None else user.id,
                username=None if user is None else user.username,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                reason="unknown_user" if user is None else "wrong_password",
            )
            raise AuthError("invalid_credentials", "the username or the password is wrong")
        assert user is not None
        if user.disabled:
            await self._audit.record(
                "login_failed",
                user_id=user.id,
                username=user.username,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                reason="disabled",
            )
            raise AuthError("account_disabled", "this account is disabled")
        if self.config.rate_limits.enabled:
            await self._stores.rate_limiter.reset(account)
        if self.passwords.needs_rehash(user.password_hash):
            new_hash = await self.passwords.hash(password)
            await self._stores.users.set_password(user.id, new_hash, now=self._clock())
        return await self._start_session(
            user,
            client_id=client,
            ctx=ctx,
            jkt=None if proof is None else proof.jkt,
            profile=await self.clients.session_profile(registered),
        )

    async def change_password(
        self,
        *,
        user_id: str,
        old_password: str,
        new_password: str,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> None:
        """Errors: invalid_credentials, weak_password, password_too_long, rate_limited.
        Other sessions of the user stay (call :meth:`logout_all` to end them)."""
        user = await self._user_by_id(user_id)
        if user is None:
            raise AuthError("invalid_credentials", "the username or the password is wrong")
        account = f"account:{user.username_key}"
        await self._check_rate(account)
        ok = (
            isinstance(old_password, str)
            and len(old_password) <= LOGIN_PASSWORD_CEILING
            and encodable(old_password)
        )
        ok = ok and await self.passwords.verify(user.password_hash, old_password)
        if not ok:
            await self._fail(account, self.config.rate_limits.account)
            await self._audit.record(
                "password_change_failed",
                user_id=user.id,
                username=user.username,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
            )
            raise AuthError("invalid_credentials", "the current password is wrong")
        check_password(new_password, self.config)
        new_hash = await self.passwords.hash(new_password)
        await self._stores.users.set_password(user.id, new_hash, now=self._clock())
        await self._audit.record(
            "password_changed",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
        )

    async def get_user(self, *, user_id: str) -> UserInfo:
        """Errors: user_not_found."""
        user = await self._user_by_id(user_id)
        if user is None:
            raise AuthError("user_not_found", "no such user")
        return _user_info(user)

    async def find_user(self, *, user: str) -> UserInfo:
        """The user whose id, or else whose username, is ``user``. Errors: user_not_found."""
        found = await self._user_by_id(user)
        if found is None:
            key = username_key(user)
            found = await self._stores.users.get_by_username(key) if key else None
        if found is None:
            raise AuthError("user_not_found", "no such user")
        return _user_info(found)

    async def userinfo(self, claims: AccessClaims) -> dict[str, Any]:
        """OIDC-style userinfo for a verified token: ``sub``, ``preferred_username``, ``roles``."""
        user = await self._user_by_id(claims.sub)
        if user is None or user.disabled:
            raise AuthError("invalid_token", "the token's user does not exist or is disabled")
        return {"sub": user.id, "preferred_username": user.username, "roles": list(user.roles)}

    # ---- tokens and sessions ---------------------------------------------------------

    async def _start_session(
        self,
        user: UserRecord,
        *,
        client_id: str,
        ctx: RequestContext,
        jkt: str | None,
        profile: MintProfile,
    ) -> TokenPair:
        now = self._clock()
        session = SessionRecord(
            id=secrets.token_urlsafe(16),
            user_id=user.id,
            client_id=client_id,
            scope=self.config.default_scope,
            created_at=now,
            last_used_at=now,
            expires_at=now + self.config.refresh_absolute_ttl,
            ip=storable(ctx.ip, 64),
            user_agent=storable(ctx.user_agent, 512),
            dpop_jkt=jkt,
        )
        raw = new_refresh_token()
        token = RefreshTokenRecord(
            token_hash=hash_secret(raw),
            session_id=session.id,
            user_id=user.id,
            issued_at=now,
            expires_at=min(now + self.config.refresh_idle_ttl, session.expires_at),
        )
        pair = self._pair(user, session, raw, token.expires_at, now, jkt, profile)
        # the session, its first refresh token and the login_ok event: one transaction
        audit = self._audit.event(
            "login_ok",
            user_id=user.id,
            username=user.username,
            session_id=session.id,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            client_id=client_id,
        )
        audit_id = await self._stores.sessions.create(session, first_token=token, audit=audit)
        self._audit.stored(audit, audit_id)
        return pair

    def _pair(
        self,
        user: UserRecord,
        session: SessionRecord,
        raw: str,
        refresh_expires: float,
        now: float,
        jkt: str | None,
        profile: MintProfile,
    ) -> TokenPair:
        return TokenPair(
            access_token=self._mint(user, session, now, jkt, profile),
            expires_in=profile.ttl,
            refresh_token=raw,
            refresh_expires_in=max(0, int(refresh_expires - now)),
            session_id=session.id,
            scope=session.scope,
            token_type=token_type(jkt),
        )

    def _mint(
        self,
        user: UserRecord,
        session: SessionRecord,
        now: float,
        jkt: str | None,
        profile: MintProfile,
    ) -> str:
        key = profile.key
        claims = access_claims(
            issuer=self.config.issuer,
            subject=user.id,
            audience=self.config.audiences,
            now=int(now),
            ttl=profile.ttl,
            client_id=session.client_id,
            scope=session.scope,
            session_id=session.id,
            roles=user.roles,
            auth_time=int(session.created_at),
            extra=self.config.extra_claims,
            jkt=jkt,
        )
        return jwt.encode(claims, key, alg=profile.alg, typ="at+jwt", header={"kid": key.kid})

    async def refresh(
        self,
        *,
        refresh_token: str,
        client_id: str | None = None,
        dpop: DPoPRequest | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> TokenPair:
        """Rotate (S25): consume the token atomically, issue its child in the same session.
        A retry of the just-consumed token within ``refresh_grace`` gets the same child;
        reuse outside it, or of any older ancestor, revokes the whole session and denies
        its access tokens. Errors: OAuthError("invalid_grant") for unknown, expired,
        consumed or revoked tokens, or a token of another client (``client_id``).

        DPoP (RFC 9449 §5): a session bound to a key refreshes only with a proof of that
        key (DPoPProofError ``invalid_dpop_proof`` without one, ``invalid_grant`` with
        another key's), checked before the token is consumed, so a thief without the key
        cannot burn it. A proof on an unbound session binds it from then on."""
        if not looks_like_refresh_token(refresh_token):
            raise _invalid_grant("the refresh token is malformed")
        now = self._clock()
        token_hash = hash_secret(refresh_token)
        found = await self._stores.refresh_tokens.get_with_owner(token_hash)
        if found is None:
            raise _invalid_grant("the refresh token is unknown")
        record, session, user = found.token, found.session, found.user
        if session is None or session.revoked_at is not None:
            raise _invalid_grant("the session of this refresh token has ended")
        if client_id is not None and client_id != session.client_id:
            raise _invalid_grant("the refresh token was issued to another client")
        registered = None
        if session.client_id != self.config.first_party_client_id:
            try:
                registered = await self.clients.login_client(session.client_id)
            except OAuthError:
                raise _invalid_grant("the client of this session may no longer log in") from None
        profile = await self.clients.session_profile(registered)
        if now >= session.expires_at:
            raise _invalid_grant("the session has expired; log in again")
        if record.consumed_at is None and now >= record.expires_at:
            raise _invalid_grant("the refresh token has expired; log in again")
        if user is None or user.disabled:
            await self._end_session(session.id, reason="user_disabled")
            raise _invalid_grant("the account is disabled")
        jkt: str | None = None
        if record.consumed_at is None or now - record.consumed_at <= self.config.refresh_grace:
            # a token consumed before the grace window is reuse whatever the proof: the
            # consume below revokes the family (S25)
            jkt = await self._refresh_binding(
                session, dpop, None if registered is None else registered.dpop
            )
        child_raw = self._refresh.child_of(refresh_token)
        child = RefreshTokenRecord(
            token_hash=hash_secret(child_raw),
            session_id=session.id,
            user_id=session.user_id,
            issued_at=now,
            expires_at=min(now + self.config.refresh_idle_ttl, session.expires_at),
            parent_hash=token_hash,
        )
        # the rotation and its audit event: one transaction
        audit = self._audit.event(
            "refresh",
            user_id=user.id,
            session_id=session.id,
            ip=ctx.ip,
            user_agent=ctx.user_agent,
            client_id=session.client_id,
            grace_retry=False,
        )
        result = await self._stores.refresh_tokens.consume(
            token_hash, now, child=child, audit=audit
        )
        if result.won:
            child_expires = child.expires_at
            self._audit.stored(audit, result.audit_id)
        elif (
            result.is_grace_retry(now, self.config.refresh_grace)
            and result.child is not None
            and result.child.token_hash == child.token_hash
        ):
            child_expires = result.child.expires_at
            # the same event, on its own: the rotation it describes was stored earlier
            await self._audit.store(
                dataclasses.replace(audit, details={**audit.details, "grace_retry": True})
            )
        else:
            await self._end_session(session.id, reason="reuse_detected")
            await self._audit.record(
                "refresh_reuse_detected",
                user_id=session.user_id,
                session_id=session.id,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                consumed_at=None if result.token is None else result.token.consumed_at,
            )
            raise _invalid_grant("refresh token reuse detected; the session has been revoked")
        # A revocation racing with this rotation needs no second read: its sid entry
        # outlives (by _DENY_MARGIN) the access token minted here, and the child refresh
        # token belongs to a revoked session, which the next refresh refuses.
        return self._pair(user, session, child_raw, child_expires, now, jkt, profile)

    async def _refresh_binding(
        self, session: SessionRecord, dpop: DPoPRequest | None, client_mode: DPoPMode | None
    ) -> str | None:
        """The key the refreshed tokens are bound to (None: unbound), after checking the
        proof against the session's binding; binds an unbound session to a proof's key.
        ``client_mode``: the DPoP mode of the session's login client (None: first-party)."""
        if session.dpop_jkt is not None and (dpop is None or not dpop.proofs):
            raise DPoPProofError(
                "invalid_dpop_proof",
                "this refresh token is DPoP-bound: send a proof of its key",
                nonce=self.dpop.nonce(),
            )
        mode: DPoPMode = "required"
        if session.dpop_jkt is None:
            mode = self.config.dpop.first_party if client_mode is None else client_mode
        proof = await self.dpop.token_request(dpop, mode=mode)
        if proof is None:
            return None
        bound = session.dpop_jkt
        if bound is None:
            bound = await self._stores.sessions.bind_dpop(session.id, proof.jkt)
        if bound != proof.jkt:
            raise _invalid_grant("the refresh token is bound to another DPoP key")
        return proof.jkt

    async def _end_session(self, session_id: str, *, reason: str) -> bool:
        now = self._clock()
        if not await self._stores.sessions.revoke(session_id, now=now, reason=reason):
            return False
        await self._revocations.add(
            "sid", session_id, expires_at=now + self.config.access_ttl + _DENY_MARGIN
        )
        return True

    async def logout(
        self,
        *,
        refresh_token: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> None:
        """End one session, named by its refresh token or by ``session_id`` (then
        ``user_id`` must own it). Unknown or already-ended sessions are not an error."""
        session: SessionRecord | None = None
        if refresh_token is not None:
            if looks_like_refresh_token(refresh_token):
                record = await self._stores.refresh_tokens.get(hash_secret(refresh_token))
                if record is not None:
                    session = await self._stores.sessions.get(record.session_id)
        elif session_id is not None:
            session = await self._session_by_id(session_id)
            if session is not None and user_id is not None and session.user_id != user_id:
                session = None
        else:
            raise ValueError("logout needs a refresh_token or a session_id")
        if session is None:
            return
        if await self._end_session(session.id, reason="logout"):
            await self._audit.record(
                "logout",
                user_id=session.user_id,
                session_id=session.id,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
                client_id=session.client_id,
            )

    async def _end_all(self, user_id: str, *, reason: str) -> int:
        now = self._clock()
        ended = await self._stores.sessions.revoke_for_user(user_id, now=now, reason=reason)
        for sid in ended:
            await self._revocations.add(
                "sid", sid, expires_at=now + self.config.access_ttl + _DENY_MARGIN
            )
        return len(ended)

    async def logout_all(self, *, user_id: str, ctx: RequestContext = _NO_CONTEXT) -> int:
        """End every session of the user and deny their access tokens; how many ended."""
        if clean_text(user_id, 36) is None:
            return 0
        count = await self._end_all(user_id, reason="logout_all")
        await self._audit.record(
            "logout_all", user_id=user_id, ip=ctx.ip, user_agent=ctx.user_agent, sessions=count
        )
        return count

    async def list_sessions(self, *, user_id: str) -> list[SessionInfo]:
        """The user's active sessions, newest first."""
        if clean_text(user_id, 36) is None:
            return []
        found = await self._stores.sessions.list_for_user(user_id, now=self._clock())
        return [
            SessionInfo(
                id=s.id,
                client_id=s.client_id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                expires_at=s.expires_at,
                ip=s.ip,
                user_agent=s.user_agent,
            )
            for s in found
        ]

    async def revoke_session(
        self, *, user_id: str, session_id: str, ctx: RequestContext = _NO_CONTEXT
    ) -> None:
        """End a session of this user. Errors: session_not_found (also for another
        user's session)."""
        session = await self._session_by_id(session_id)
        if session is None or session.user_id != user_id or not session.active(self._clock()):
            raise AuthError("session_not_found", "no such session")
        if await self._end_session(session.id, reason="revoked"):
            await self._audit.record(
                "session_revoked",
                user_id=user_id,
                session_id=session.id,
                ip=ctx.ip,
                user_agent=ctx.user_agent,
            )

    async def revoke_token(
        self,
        *,
        token: str,
        token_type_hint: str | None = None,
        client_id: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> None:
        """RFC 7009: a refresh token ends its session; an access token of ours is denied
        by ``jti``. Never reveals whether the token was valid: unknown tokens and
        malformed ones return normally."""
        if not isinstance(token, str) or not token or len(token) > 16_384:
            return
        order = (_ACCESS, _REFRESH)
        if token_type_hint != _ACCESS:
            order = (_REFRESH, _ACCESS)
        for kind in order:
            if kind == _REFRESH and looks_like_refresh_token(token):
                record = await self._stores.refresh_tokens.get(hash_secret(token))
                if record is None:
                    continue
                session = await self._stores.sessions.get(record.session_id)
                if session is None or (client_id is not None and client_id != session.client_id):
                    return
                if await self._end_session(session.id, reason="revoked"):
                    await self._audit.record(
                        "token_revoked",
                        user_id=session.user_id,
                        session_id=session.id,
                        ip=ctx.ip,
                        user_agent=ctx.user_agent,
                        token_type=_REFRESH,
                    )
                return
            if kind == _ACCESS and token.count(".") == 2:
                try:
                    claims = await self._verify(token)
                except AuthError:
                    continue
                if client_id is not None and claims.get("client_id") != client_id:
                    return
                await self._revocations.add(
                    "jti", str(claims["jti"]), expires_at=float(claims["exp"])
                )
                await self._audit.record(
                    "token_revoked",
                    user_id=str(claims.get("sub")),
                    session_id=str(claims.get("sid")),
                    ip=ctx.ip,
                    user_agent=ctx.user_agent,
                    token_type=_ACCESS,
                )
                return

    async def _verify(self, access_token: str) -> dict[str, Any]:
        keys, algs = self._keys.verify_keys()
        if not algs:
            raise AuthError("invalid_token", "no verification key")
        policy = ClaimsPolicy(
            issuer=self.config.issuer,
            audience=self.config.audiences,
            algorithms=algs,
            required=("exp", "iat", "sub", "jti", "sid"),
            typ="at+jwt",
            now=self._clock,
        )
        try:
            verified = jwt.decode(access_token, keys, policy=policy)
        except JoseError as exc:
            raise AuthError("invalid_token", f"the access token is not valid: {exc.code}") from None
        return dict(verified.claims)

    async def authenticate(
        self, access_token: str, *, dpop: DPoPRequest | None = None
    ) -> AccessClaims:
        """Verify one of our access tokens (signature with our keys, ``typ: at+jwt``,
        iss, aud, exp) and check the denylist (jti, sid, per-user not-before).
        ``dpop``: the request when the token came with the DPoP scheme (None: Bearer); a
        DPoP-bound token needs it, with a proof of its key (RFC 9449 §7).
        Errors: AuthError("invalid_token"), DPoPAuthError."""
        if not isinstance(access_token, str):
            raise AuthError("invalid_token", "the access token must be a string")
        claims = await self._verify(access_token)
        reason = await self._revocations.denies(claims)
        if reason is not None:
            raise AuthError("invalid_token", "the access token has been revoked")
        await self.dpop.resource_request(dpop, access_token=access_token, jkt=bound_jkt(claims))
        try:
            roles = claims.get("roles", [])
            return AccessClaims(
                sub=str(claims["sub"]),
                sid=str(claims["sid"]),
                jti=str(claims["jti"]),
                client_id=str(claims.get("client_id", "")),
                scope=str(claims.get("scope", "")),
                roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
                exp=int(claims["exp"]),
                iat=int(claims["iat"]),
                claims=claims,
            )
        except (KeyError, TypeError, ValueError):
            raise AuthError("invalid_token", "the access token's claims are malformed") from None

    # ---- keys and discovery ----------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        """The published JWK Set (public keys: next, current, previous, retired until
        their tokens expire). Never an HS key. Cheap: served from memory."""
        return self._keys.jwks()

    def jwks_max_age(self) -> int:
        """Seconds for ``Cache-Control: max-age`` of the JWKS."""
        return self.config.jwks_max_age

    def metadata(self, base_url: str | None = None) -> dict[str, Any]:
        """RFC 8414 / OIDC discovery metadata; endpoint URLs are built on ``base_url``
        (default: the issuer URL)."""
        base = (base_url or self.config.issuer).rstrip("/")
        alg = self.config.signing_alg
        return {
            "issuer": self.config.issuer,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "userinfo_endpoint": f"{base}/userinfo",
            "response_types_supported": [],
            "scopes_supported": self.config.default_scope.split(),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            # the server's and every one a client may name (per-client signing_alg)
            "access_token_signing_alg_values_supported": list(self.config.client_algs),
            "claims_supported": [
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
                "preferred_username",
                "cnf",
            ],
            "tokensmith_revocation_feed_endpoint": f"{base}/auth/revocations",
            "dpop_signing_alg_values_supported": list(self.dpop.algorithms),
            # grants, client authentication methods and algorithms, introspection
            **self.clients.metadata(base),
        }

    async def maintain_keys(self) -> None:
        """Rotate and retire on schedule; the server calls this periodically (every
        minute is plenty; the period must stay well below ``jwks_max_age``, since that is
        how soon another process learns of a new next key) and it is cheap when there is
        nothing to do. Also reloads keys changed by another process, and forgets expired
        denylist entries and sessions that ended more than a day ago."""
        for event in await self._keys.maintain():
            await self._audit.record("key_rotated", action=event)
        await self._stores.sessions.purge(before=self._clock() - _SESSION_RETENTION)
        await self._revocations.housekeeping()
        await self._stores.assertion_replays.purge(now=self._clock())

    def _key_info(self, loaded: LoadedKey) -> KeyInfo:
        r = loaded.record
        return KeyInfo(
            kid=r.kid,
            alg=r.alg,
            state=r.state,
            created_at=r.created_at,
            activated_at=r.activated_at,
            deactivated_at=r.deactivated_at,
            retired_at=r.retired_at,
            published=loaded.published(self._clock()),
            publish_until=r.publish_until,
        )

    async def rotate_keys(
        self, *, force: bool = False, alg: str | None = None, ctx: RequestContext = _NO_CONTEXT
    ) -> KeyInfo:
        """Make the next key of ``alg`` (None: the server's ``signing_alg``) current now;
        returns the new current key. Without ``force``, the next key must have been
        published for ``jwks_max_age`` (else AuthError ``key_state``); with ``force`` it
        signs at once (caches may not know it yet)."""
        lane = alg or self.config.signing_alg
        done, why = await self._keys.rotate(force=force, alg=lane)
        if not done:
            raise AuthError("key_state", why)
        current = next(
            k for k in self._keys.loaded if k.record.state == "current" and k.record.alg == lane
        )
        await self._audit.record(
            "key_rotated",
            ip=ctx.ip,
            action=f"rotated: {current.record.kid} is current",
            manual=True,
            force=force,
        )
        return self._key_info(current)

    async def retire_key(self, *, kid: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        """Retire a next or previous key (it stays published until its tokens expire).
        Errors: key_not_found, key_state (the current key: rotate first)."""
        problem = await self._keys.retire(kid)
        if problem == "not_found":
            raise AuthError("key_not_found", f"no key {kid!r}")
        if problem == "current":
            raise AuthError("key_state", f"{kid!r} is the current key; rotate first")
        await self._audit.record("key_rotated", ip=ctx.ip, action=f"retired {kid}", manual=True)

    async def list_keys(self) -> list[KeyInfo]:
        await self._keys.load()
        return [self._key_info(k) for k in self._keys.loaded]

    # ---- revocation feed -------------------------------------------------------------

    async def revocation_events(
        self, *, after: int | None = None, limit: int = 500
    ) -> list[RevocationEvent]:
        """Unexpired events with ``id > after`` (all when None), oldest first."""
        return await self._revocations.events(after=after, limit=limit)

    async def last_revocation_id(self) -> int:
        """The highest revocation id ever given (0 when none). Ids never decrease and are
        never reused, also after expired entries are purged; a client resuming *after* a
        higher id than this holds ids of another (wiped or replaced) database and must
        start over (the feed can tell it with an ``event: reset``)."""
        return await self._revocations.last_id()

    async def ping_shared_state(self) -> None:
        """Raise when a backend besides the database (Redis) does not answer."""
        await self._stores.ping()

    async def wait_for_revocations(
        self, *, after: int | None, timeout: float
    ) -> list[RevocationEvent]:
        """Like :meth:`revocation_events`, but waits up to ``timeout`` seconds for the
        first new event (for SSE); an empty list on timeout. Polls the store every
        second too, for revocations written by other processes."""
        return await self._revocations.wait(after=after, timeout=timeout)

    # ---- operators (CLI) and admin -----------------------------------------------------

    async def _user_by_id(self, user_id: object) -> UserRecord | None:
        clean = clean_text(user_id, 36)
        return None if clean is None else await self._stores.users.get(clean)

    async def _session_by_id(self, session_id: object) -> SessionRecord | None:
        clean = clean_text(session_id, 64)
        return None if clean is None else await self._stores.sessions.get(clean)

    async def _user_by_name(self, username: str) -> UserRecord:
        key = username_key(username)
        user = await self._stores.users.get_by_username(key) if key else None
        if user is None:
            raise AuthError("user_not_found", f"no user {username!r}")
        return user

    async def add_user(
        self,
        *,
        username: str,
        password: str,
        admin: bool = False,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> UserInfo:
        """Create a user whatever ``registration`` says. Errors: username_taken,
        invalid_username, weak_password, password_too_long."""
        user = await self._create_user(
            username=username, password=password, roles=("admin",) if admin else ()
        )
        await self._audit.record(
            "admin_action",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            action="add_user",
            admin=admin,
        )
        return _user_info(user)

    async def list_users(
        self, *, limit: int = 100, offset: int = 0, search: str | None = None
    ) -> list[UserInfo]:
        """Oldest first. ``search``: only users whose name contains it (case-insensitive)
        or whose id it is; an empty search finds everyone."""
        key = username_key(search) if search else ""
        found = await self._stores.users.list(limit=limit, offset=offset, search=key or None)
        return [_user_info(u) for u in found]

    async def disable_user(self, *, username: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        """Disable, end every session and deny every access token of the user.
        Errors: user_not_found."""
        user = await self._user_by_name(username)
        now = self._clock()
        await self._stores.users.set_disabled(user.id, now, now=now)
        await self._end_all(user.id, reason="user_disabled")
        await self._deny_user(user.id, now, this_second=True)
        await self._audit.record(
            "admin_action",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            action="disable_user",
        )

    async def revoke_user(self, *, username: str, ctx: RequestContext = _NO_CONTEXT) -> int:
        """Operator action: end every session of the user and deny every access token
        issued so far (a per-user not-before), without disabling the account. Returns how
        many sessions ended. Errors: user_not_found."""
        user = await self._user_by_name(username)
        now = self._clock()
        count = await self._end_all(user.id, reason="revoked_by_operator")
        await self._deny_user(user.id, now, this_second=False)
        await self._audit.record(
            "admin_action",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            action="revoke_user",
            sessions=count,
        )
        return count

    async def _deny_user(self, user_id: str, now: float, *, this_second: bool) -> None:
        """Deny the user's access tokens issued before now. ``iat`` is whole seconds:
        with ``this_second`` the current second is denied too (for a disabled user, who
        cannot log in again anyway); without it, a login later in this second stays valid
        and tokens of the sessions just ended are denied by their ``sid`` entries."""
        await self._revocations.add(
            "sub",
            user_id,
            expires_at=now + self.config.access_ttl + _DENY_MARGIN,
            not_before=float(math.floor(now) + (1 if this_second else 0)),
        )

    async def enable_user(self, *, username: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        user = await self._user_by_name(username)
        await self._stores.users.set_disabled(user.id, None, now=self._clock())
        await self._audit.record(
            "admin_action",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            action="enable_user",
        )

    async def set_password(
        self, *, username: str, password: str, ctx: RequestContext = _NO_CONTEXT
    ) -> None:
        """Operator reset; ends every session of the user. Errors: user_not_found,
        weak_password, password_too_long."""
        user = await self._user_by_name(username)
        check_password(password, self.config)
        new_hash = await self.passwords.hash(password)
        now = self._clock()
        await self._stores.users.set_password(user.id, new_hash, now=now)
        await self._end_all(user.id, reason="password_reset")
        await self._audit.record(
            "admin_action",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            action="set_password",
        )

    async def create_invite(
        self,
        *,
        created_by: str | None = None,
        ttl: int | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> str:
        """A one-time invite code (shown once; only its hash is stored). ``created_by``:
        the id of the user who made it, if any."""
        code = secrets.token_urlsafe(24)
        now = self._clock()
        await self._stores.invites.add(
            InviteRecord(
                code_hash=hash_secret(code),
                created_at=now,
                expires_at=now + (ttl if ttl is not None else self.config.invite_ttl),
                created_by=clean_text(created_by, 36),
            )
        )
        await self._audit.record(
            "admin_action", user_id=created_by, ip=ctx.ip, action="create_invite"
        )
        return code

    async def setup_token(self) -> str | None:
        """A fresh one-time setup token when no admin exists (to print at first start),
        else None. Each call replaces the previous token."""
        if await self._stores.users.count_with_role("admin"):
            return None
        token = secrets.token_urlsafe(32)
        now = self._clock()
        await self._stores.setup_tokens.put(
            hash_secret(token), now=now, expires_at=now + self.config.setup_token_ttl
        )
        return token

    async def redeem_setup_token(
        self, *, token: str, username: str, password: str, ctx: RequestContext = _NO_CONTEXT
    ) -> UserInfo:
        """Create the first admin with the setup token. Errors: invalid_setup_token,
        admin_exists, username_taken, invalid_username, weak_password, password_too_long."""
        if await self._stores.users.count_with_role("admin"):
            raise AuthError("admin_exists", "an administrator exists already")
        normalise_username(username, self.config)
        check_password(password, self.config)
        if not clean_text(token, 256):
            raise AuthError("invalid_setup_token", "the setup token is wrong, used or expired")
        if not await self._stores.setup_tokens.redeem(hash_secret(token), now=self._clock()):
            raise AuthError("invalid_setup_token", "the setup token is wrong, used or expired")
        user = await self._create_user(username=username, password=password, roles=("admin",))
        await self._audit.record(
            "admin_action",
            user_id=user.id,
            username=user.username,
            ip=ctx.ip,
            action="setup_first_admin",
        )
        return _user_info(user)

    async def audit_events(
        self,
        *,
        limit: int = 100,
        user_id: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[AuditEvent]:
        """Newest first. ``before_id``: the next page after an event id; ``since`` /
        ``until``: ``since <= at < until`` (Unix seconds)."""
        records = await self._stores.audit.list(
            limit=limit,
            user_id=user_id,
            kind=kind,
            before_id=before_id,
            since=since,
            until=until,
        )
        return [
            AuditEvent(
                id=r.id,
                kind=r.kind,
                at=r.at,
                user_id=r.user_id,
                username=r.username,
                session_id=r.session_id,
                ip=r.ip,
                details=dict(r.details),
            )
            for r in records
        ]
