"""``AccessTokenVerifier``: what an API calls on every request.

::

    verifier = AccessTokenVerifier(issuer="https://id.example", audience="orders-api")
    token = verifier.verify(raw)              # or: await verifier.verify_async(raw)
    token.claims["sub"], token.scopes, token.roles

    # DPoP (RFC 9449): the token of 'Authorization: DPoP <token>' and the request's proof
    token = verifier.verify(raw, dpop=DPoPRequest(proof=dpop_header, method="GET", url=url))

Keys come from the issuer's discovery document (the default), a JWKS URL, or static
keys; see :class:`AccessTokenVerifier`. Every refusal is a
:class:`~tokensmith.jose.errors.JoseError` with a stable ``code``.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from tokensmith.jose import JWK, ClaimsPolicy, JWKSet, jwt
from tokensmith.jose.encoding import DEFAULT_LIMITS, Limits
from tokensmith.jose.errors import (
    InvalidTypeError,
    JoseError,
    KeyNotFoundError,
    MalformedError,
)
from tokensmith.jose.jws import parse_protected

from .challenge import DPoPChallenge
from .dpop import DPoPOptions, DPoPRequest, check_proof
from .errors import (
    DPoPRequiredError,
    InsufficientScopeError,
    MissingTokenError,
    RevokedError,
    SenderConstrainedError,
    UnboundTokenError,
)
from .feed import RevocationFeed
from .introspection import Introspector
from .jwks import KeySetOptions, RemoteKeySet
from .request import RequestParts, read_credentials

try:  # the verified-token cache of the core (issue 4)
    from tokensmith.jose.cache import VerifiedTokenCache
except ImportError:  # pragma: no cover - before the cache landed
    VerifiedTokenCache = None  # type: ignore[assignment,misc]

#: the ``typ`` values accepted by default: RFC 9068 §4 (resource servers MUST check it)
DEFAULT_TYP: Final = ("at+jwt",)


@dataclass(frozen=True, slots=True)
class VerifierOptions:
    """Everything past issuer, audience and keys. Seconds throughout.

    - ``algorithms``: the allow-list; default None = what the keys announce (a key
      with an ``alg`` verifies only that alg; one without, only its own family). ``none``
      never; HMAC only with a symmetric key passed as ``keys`` (a secret).
    - ``typ``: accepted ``typ`` headers (``("at+jwt",)`` per RFC 9068; add ``"JWT"`` for
      issuers that send plain JWTs); None accepts any.
    - ``leeway``, ``max_age``, ``required_claims``: as :class:`ClaimsPolicy`.
    - ``required_scopes`` / ``required_roles``: every token must carry all of them
      (per-route requirements belong to the adapters).
    - ``scope_claim`` (space-separated string per RFC 9068, or an array) and
      ``roles_claim`` (an array, or a space-separated string).
    - ``cache``: the verified-token cache (on by default); ``cache_max_entries``.
    - ``revocations``: a :class:`RevocationFeed` whose denylist every token is checked
      against (and whose outage policy applies).
    - ``key_set``: how a remote key set caches and refetches.
    - ``dpop``: DPoP-bound tokens (:class:`~.dpop.DPoPOptions`; on by default); None
      refuses the DPoP scheme.
    - ``now``: the wall clock for claims and DPoP proofs (POSIX seconds).
    - ``introspection``: an :class:`~.introspection.Introspector`, asked when a caller
      passes ``introspect=True`` (high-risk routes); None: introspection is off.
    """

    algorithms: Collection[str] | None = None
    typ: Sequence[str] | None = DEFAULT_TYP
    leeway: float = 0.0
    max_age: float | None = None
    required_claims: Collection[str] = ("exp",)
    required_scopes: Collection[str] = ()
    required_roles: Collection[str] = ()
    scope_claim: str = "scope"
    roles_claim: str = "roles"
    cache: bool = True
    cache_max_entries: int = 10_000
    revocations: RevocationFeed | None = None
    key_set: KeySetOptions = field(default_factory=KeySetOptions)
    limits: Limits = DEFAULT_LIMITS
    now: Callable[[], float] = time.time
    dpop: DPoPOptions | None = field(default_factory=DPoPOptions)
    introspection: Introspector | None = None

    def __post_init__(self) -> None:
        if self.dpop is not None and not isinstance(self.dpop, DPoPOptions):
            raise TypeError("dpop must be DPoPOptions or None")
        if isinstance(self.typ, str):
            raise TypeError("typ is a sequence of accepted values, e.g. ('at+jwt', 'JWT')")
        for name in ("required_scopes", "required_roles", "required_claims"):
            if isinstance(getattr(self, name), str):
                raise TypeError(f"{name} is a collection of names, not a string")
        if self.revocations is not None and not isinstance(self.revocations, RevocationFeed):
            raise TypeError("revocations must be a RevocationFeed")
        if self.introspection is not None and not isinstance(self.introspection, Introspector):
            raise TypeError("introspection must be an Introspector")


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A verified, unrevoked access token: ``claims``, ``header``, the ``key`` that
    verified it, and its ``scopes`` and ``roles`` as sets."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    key: JWK
    scopes: frozenset[str]
    roles: frozenset[str]

    @property
    def subject(self) -> str | None:
        sub = self.claims.get("sub")
        return sub if type(sub) is str else None

    @property
    def client_id(self) -> str | None:
        value = self.claims.get("client_id")
        return value if type(value) is str else None

    @property
    def jkt(self) -> str | None:
        """The thumbprint of the key this token is bound to (``cnf.jkt``, RFC 9449), or None."""
        return bound_jkt(self.claims)

    def has_scopes(self, *scopes: str) -> bool:
        return self.scopes.issuperset(scopes)

    def has_roles(self, *roles: str) -> bool:
        return self.roles.issuperset(roles)


_NO_NAMES: Final = frozenset[str]()
_NAMES_MEMO_MAX: Final = 4096
_names_memo: dict[object, frozenset[str]] = {}


def names_in(value: object) -> frozenset[str]:
    """A scope/roles claim as a set: a space-separated string or an array of strings."""
    kind = type(value)
    if kind is str or kind is tuple:
        found = _names_memo.get(value)  # scope strings and role lists repeat across tokens
        if found is not None:
            return found
    if kind is str:
        names = frozenset(value.split())  # type: ignore[attr-defined]
    elif isinstance(value, (list, tuple)):
        names = frozenset(v for v in value if type(v) is str)
    else:
        return _NO_NAMES
    if (kind is str or kind is tuple) and len(_names_memo) < _NAMES_MEMO_MAX:
        with contextlib.suppress(TypeError):  # a tuple holding something unhashable
            _names_memo[value] = names
    return names


# An AccessToken without the frozen dataclass __init__ (slot stores instead of keyword
# handling through object.__setattr__): the result of a cache hit costs little.
_new_object = object.__new__
_SETTERS: Final = tuple(
    AccessToken.__dict__[name].__set__ for name in ("header", "claims", "key", "scopes", "roles")
)


def _access_token(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    key: JWK,
    scopes: frozenset[str],
    roles: frozenset[str],
) -> AccessToken:
    result: AccessToken = _new_object(AccessToken)
    set_header, set_claims, set_key, set_scopes, set_roles = _SETTERS
    set_header(result, header)
    set_claims(result, claims)
    set_key(result, key)
    set_scopes(result, scopes)
    set_roles(result, roles)
    return result


def bound_jkt(claims: Mapping[str, Any]) -> str | None:
    """``cnf.jkt`` of a token's claims, when it is a non-empty string."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    return jkt if type(jkt) is str and jkt else None


def check_access(
    token: AccessToken, *, scopes: Collection[str] = (), roles: Collection[str] = ()
) -> None:
    """Raise :class:`InsufficientScopeError` unless ``token`` has every scope and role."""
    missing_scopes = [s for s in scopes if s not in token.scopes]
    if missing_scopes:
        raise InsufficientScopeError(
            "the token lacks scope " + " ".join(missing_scopes), required=tuple(scopes)
        )
    missing_roles = [r for r in roles if r not in token.roles]
    if missing_roles:
        raise InsufficientScopeError("the token lacks role " + " ".join(missing_roles))


KeysArg = str | JWK | JWKSet | Sequence[JWK] | RemoteKeySet | None


class AccessTokenVerifier:
    """Verifies bearer access tokens for one API.

    ``keys`` says where the keys come from:

    - None (default): discovery — ``{issuer}/.well-known/openid-configuration`` names
      the ``jwks_uri``, fetched and cached as a :class:`RemoteKeySet`;
    - a URL string: that JWKS URL;
    - a :class:`RemoteKeySet` built by the caller;
    - static keys: a :class:`JWK`, a :class:`JWKSet` or a list of JWKs. Private keys
      are reduced to their public halves; a symmetric key (``oct``) is the shared
      secret and is the only way HMAC algorithms are ever accepted.
    """

    def __init__(
        self,
        *,
        issuer: str | Collection[str],
        audience: str | Collection[str],
        keys: KeysArg = None,
        options: VerifierOptions | None = None,
    ) -> None:
        self.options = opts = options if options is not None else VerifierOptions()
        self.policy = ClaimsPolicy(
            issuer=issuer,
            audience=audience,
            algorithms=opts.algorithms,
            required=opts.required_claims,
            leeway=opts.leeway,
            max_age=opts.max_age,
            now=opts.now,
            limits=opts.limits,
        )
        self._remote: RemoteKeySet | None = None
        self._static: JWKSet | None = None
        if keys is None:
            if not isinstance(issuer, str):
                raise ValueError("discovery needs one issuer URL; pass keys= for several")
            self._remote = RemoteKeySet(
                issuer=issuer, options=opts.key_set, on_change=self._keys_changed
            )
        elif isinstance(keys, str):
            self._remote = RemoteKeySet(
                jwks_uri=keys, options=opts.key_set, on_change=self._keys_changed
            )
        elif isinstance(keys, RemoteKeySet):
            self._remote = keys
        else:
            self._static = _static_set(keys)
        self._typ = (
            None
            if opts.typ is None
            else frozenset(t.lower().removeprefix("application/") for t in opts.typ)
        )
        self._scopes = tuple(opts.required_scopes)
        self._roles = tuple(opts.required_roles)
        self._feed = opts.revocations
        self._introspector = opts.introspection
        self._denylist = opts.revocations.denylist if opts.revocations is not None else None
        self._cache: Any = None
        self._results: dict[str, AccessToken] = {}
        # DPoP-bound tokens' results live apart: a Bearer request never finds one.
        self._bound_results: dict[str, AccessToken] = {}
        self._dpop = opts.dpop
        if opts.cache and VerifiedTokenCache is not None:
            self._cache = VerifiedTokenCache(self.policy, max_entries=opts.cache_max_entries)
            self._decode: Callable[[str, Any], jwt.VerifiedJWT] = self._cache.decode
        else:
            policy = self.policy
            self._decode = lambda token, keys: jwt.decode(token, keys, policy=policy)
        #: verification outcomes by code ("ok" for accepted tokens)
        self.outcomes: Counter[str] = Counter()
        self.observe: Callable[[str, float], None] | None = None  # set by metrics

    # ---- public ------------------------------------------------------------------------

    @property
    def key_set(self) -> RemoteKeySet | JWKSet:
        if self._remote is not None:
            return self._remote
        assert self._static is not None
        return self._static

    @property
    def cache(self) -> Any:
        """The verified-token cache in use, or None."""
        return self._cache

    @property
    def revocations(self) -> RevocationFeed | None:
        return self._feed

    def verify(
        self, token: str, *, dpop: DPoPRequest | None = None, introspect: bool = False
    ) -> AccessToken:
        """Verify ``token`` (signature, claims, typ, revocation, required scopes/roles).

        Without ``dpop`` the token is a bearer token: one bound to a key (``cnf``) is
        refused. With ``dpop`` (the request used ``Authorization: DPoP``), the token must
        be bound (``cnf.jkt``) and the request's proof must verify for it, once.
        With ``introspect``, the auth server is also asked whether the token is still
        active (``VerifierOptions.introspection``; for high-risk routes)."""
        started = time.perf_counter() if self.observe is not None else 0.0
        try:
            self._precheck(token, dpop, introspect)
            remote = self._remote
            if remote is None:
                verified = self._decode(token, self._static)
            else:
                keys = remote.keys_for(None)
                try:
                    verified = self._decode(token, keys)
                except KeyNotFoundError:
                    newer = remote.keys_for(self._kid(token))
                    if newer is keys:
                        raise
                    verified = self._decode(token, newer)
            result = self._finish(token, verified, dpop)
            if introspect:
                self._introspector.check(token, result.claims)  # type: ignore[union-attr]
        except JoseError as exc:
            self._count(exc.code, started)
            raise
        self._count("ok", started)
        return result

    async def verify_async(
        self, token: str, *, dpop: DPoPRequest | None = None, introspect: bool = False
    ) -> AccessToken:
        """:meth:`verify` for async code: key-set fetches and introspection never block
        the loop."""
        started = time.perf_counter() if self.observe is not None else 0.0
        try:
            self._precheck(token, dpop, introspect)
            remote = self._remote
            if remote is None:
                verified = self._decode(token, self._static)
            else:
                keys = await remote.keys_for_async(None)
                try:
                    verified = self._decode(token, keys)
                except KeyNotFoundError:
                    newer = await remote.keys_for_async(self._kid(token))
                    if newer is keys:
                        raise
                    verified = self._decode(token, newer)
            result = self._finish(token, verified, dpop)
            if introspect:
                await self._introspector.check_async(token, result.claims)  # type: ignore[union-attr]
        except JoseError as exc:
            self._count(exc.code, started)
            raise
        self._count("ok", started)
        return result

    def verify_request(self, parts: RequestParts, *, introspect: bool = False) -> AccessToken:
        """Verify a request's credentials, Bearer or DPoP (what the adapters call)."""
        public_url = self._dpop.public_url if self._dpop is not None else None
        token, dpop = read_credentials(parts, public_url=public_url)
        return self.verify(token, dpop=dpop, introspect=introspect)

    async def verify_request_async(
        self, parts: RequestParts, *, introspect: bool = False
    ) -> AccessToken:
        """:meth:`verify_request` for async code."""
        public_url = self._dpop.public_url if self._dpop is not None else None
        token, dpop = read_credentials(parts, public_url=public_url)
        return await self.verify_async(token, dpop=dpop, introspect=introspect)

    @property
    def introspector(self) -> Introspector | None:
        """The introspection client (``VerifierOptions.introspection``), or None."""
        return self._introspector

    @property
    def dpop(self) -> DPoPOptions | None:
        """The DPoP options in force, or None when the DPoP scheme is refused."""
        return self._dpop

    def dpop_challenge(self, authorization: str | None) -> DPoPChallenge | None:
        """What :func:`~.challenge.challenge_for` needs to answer a refused request in the
        DPoP way (None when DPoP is off). ``authorization`` is the request's header."""
        opts = self._dpop
        if opts is None:
            return None
        used = authorization is not None and authorization.lstrip()[:5].lower() == "dpop "
        return DPoPChallenge(
            algs=opts.algs, used=used, bearer=not opts.required, nonce=self.dpop_nonce()
        )

    def dpop_nonce(self) -> str | None:
        """The current resource-server nonce (``DPoP-Nonce``), or None without nonces."""
        opts = self._dpop
        if opts is None or opts.nonces is None:
            return None
        return opts.nonces.current(self.options.now())

    # ---- steps -------------------------------------------------------------------------

    def _precheck(self, token: object, dpop: DPoPRequest | None, introspect: bool) -> None:
        if introspect and self._introspector is None:
            raise ValueError(
                "introspect=True needs VerifierOptions(introspection=Introspector(...))"
            )
        if type(token) is not str:
            raise MalformedError("a bearer token is a string", code="jwt_malformed")
        if dpop is not None:
            if self._dpop is None:
                raise MissingTokenError("this API does not accept DPoP tokens")
            if not isinstance(dpop, DPoPRequest):
                raise TypeError("dpop must be a DPoPRequest")
        if self._feed is not None:
            self._feed.check()

    def _kid(self, token: str) -> object:
        try:
            return parse_protected(token.partition(".")[0], self.policy.limits).get("kid")
        except JoseError:
            return None

    def _finish(
        self, token: str, verified: jwt.VerifiedJWT, dpop: DPoPRequest | None
    ) -> AccessToken:
        claims = verified.claims
        results = self._results if dpop is None else self._bound_results
        known = results.get(token)
        if known is not None and known.claims is claims:
            # the cache answered with the very entry this result was built from: typ,
            # binding and the verifier's scopes/roles were checked then; revocation and
            # the DPoP proof (new with every request) are not.
            if self._denylist is not None:
                why = self._denylist.denies(claims)
                if why is not None:
                    raise RevokedError(f"the token has been revoked (by {why})")
            if dpop is not None:
                self._check_proof(token, known.jkt, dpop)
            return known
        header = verified.header
        if self._typ is not None:
            typ = header.get("typ")
            if type(typ) is not str or typ.lower().removeprefix("application/") not in self._typ:
                raise InvalidTypeError(f"typ {typ!r} is not accepted here")
        jkt = bound_jkt(claims)
        if dpop is None:
            if "cnf" in claims:
                raise SenderConstrainedError(
                    "this token is bound to a key (cnf) and cannot be used as a bearer token"
                )
            if self._dpop is not None and self._dpop.required:
                raise DPoPRequiredError("this API accepts DPoP-bound tokens only")
        elif jkt is None:
            raise UnboundTokenError("a token sent with the DPoP scheme must be bound (cnf.jkt)")
        if self._denylist is not None:
            why = self._denylist.denies(claims)
            if why is not None:
                raise RevokedError(f"the token has been revoked (by {why})")
        result = _access_token(
            header,
            claims,
            verified.key,
            names_in(claims.get(self.options.scope_claim)),
            names_in(claims.get(self.options.roles_claim)),
        )
        if dpop is not None:
            self._check_proof(token, jkt, dpop)
        if self._scopes or self._roles:
            check_access(result, scopes=self._scopes, roles=self._roles)
        if self._cache is not None:
            if len(results) >= self.options.cache_max_entries:
                results.clear()
            results[token] = result
        return result

    def _check_proof(self, token: str, jkt: str | None, dpop: DPoPRequest) -> None:
        assert self._dpop is not None
        assert jkt is not None
        check_proof(self._dpop, token=token, jkt=jkt, request=dpop, now=self.options.now())

    def _count(self, outcome: str, started: float) -> None:
        self.outcomes[outcome] += 1
        if self.observe is not None:
            self.observe(outcome, time.perf_counter() - started)

    def _keys_changed(self, keys: JWKSet) -> None:
        cache = self._cache
        if cache is not None and hasattr(cache, "retain_keys"):
            cache.retain_keys(keys)


def _static_set(keys: JWK | JWKSet | Sequence[JWK]) -> JWKSet:
    if isinstance(keys, JWK):
        members: list[JWK] = [keys]
    elif isinstance(keys, (JWKSet, list, tuple)):
        members = list(keys)
    else:
        raise TypeError("keys must be None, a JWKS URL, a RemoteKeySet, a JWK, a JWKSet or a list")
    if not members:
        raise ValueError("keys must hold at least one key")
    out = []
    for key in members:
        if not isinstance(key, JWK):
            raise TypeError("keys must be JWK objects")
        out.append(key if key.is_symmetric or not key.is_private else key.public())
    return JWKSet(out)


__all__ = [
    "DEFAULT_TYP",
    "AccessToken",
    "AccessTokenVerifier",
    "VerifierOptions",
    "bound_jkt",
    "check_access",
    "names_in",
]
