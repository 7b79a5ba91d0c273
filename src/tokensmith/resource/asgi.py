"""Pure ASGI middleware (Starlette, FastAPI, Litestar, or a bare ASGI app).

::

    app.add_middleware(BearerAuthMiddleware, verifier=verifier)

Each HTTP (and websocket) request's ``Authorization: Bearer`` token, or ``Authorization:
DPoP`` token with its ``DPoP`` proof (RFC 9449), is verified with
``verifier.verify_request_async``; the :class:`~.verifier.AccessToken` lands in
``scope["auth"]``. Refusals are answered per RFC 6750 / RFC 9449 §7.1
(:mod:`.challenge`); with resource-server nonces, a DPoP request's answer carries the
current ``DPoP-Nonce``. Paths under
``exclude_paths`` pass untouched; with ``optional=True`` a request without a token
passes with ``scope["auth"] = None`` (routes then decide, e.g. with the FastAPI
dependencies), while a bad token is still refused.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from dataclasses import dataclass
from typing import Any

from tokensmith.jose.errors import JoseError

from .challenge import Challenge, challenge_for
from .errors import MissingTokenError
from .request import RequestParts, asgi_parts
from .verifier import AccessTokenVerifier, check_access

Scope = MutableMapping[str, Any]
#: where the middleware leaves its verifier in the scope (read by the FastAPI glue)
VERIFIER_SCOPE_KEY = "tokensmith.verifier"
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MiddlewareOptions:
    """``realm`` for ``WWW-Authenticate``; ``optional``: let token-less requests through
    (``scope["auth"] = None``); ``exclude_paths``: path prefixes never checked
    (health checks, docs); ``scopes``/``roles``: required of every request;
    ``introspect_paths``: path prefixes of high-risk routes where the auth server is
    also asked whether the token is still active (the verifier's ``introspection``)."""

    realm: str | None = None
    optional: bool = False
    exclude_paths: Collection[str] = ()
    scopes: Collection[str] = ()
    roles: Collection[str] = ()
    introspect_paths: Collection[str] = ()

    def __post_init__(self) -> None:
        for name in ("exclude_paths", "scopes", "roles", "introspect_paths"):
            if isinstance(getattr(self, name), str):
                raise TypeError(f"{name} is a collection of strings, not a string")


class BearerAuthMiddleware:
    """See the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: AccessTokenVerifier,
        options: MiddlewareOptions | None = None,
    ) -> None:
        if not isinstance(verifier, AccessTokenVerifier):
            raise TypeError("verifier must be an AccessTokenVerifier")
        self.app = app
        self.verifier = verifier
        self.options = options if options is not None else MiddlewareOptions()
        self._exclude = tuple(self.options.exclude_paths)
        self._scopes = tuple(self.options.scopes)
        self._roles = tuple(self.options.roles)
        self._introspect = tuple(self.options.introspect_paths)
        if self._introspect and verifier.introspector is None:
            raise ValueError("introspect_paths needs VerifierOptions(introspection=...)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket") or (
            self._exclude and scope.get("path", "").startswith(self._exclude)
        ):
            await self.app(scope, receive, send)
            return
        scope["auth"] = None
        scope[VERIFIER_SCOPE_KEY] = self.verifier  # for the framework glue's challenges
        parts: RequestParts | None = None
        try:
            parts = asgi_parts(scope)
            try:
                verified = await self.verifier.verify_request_async(
                    parts,
                    introspect=bool(self._introspect)
                    and scope.get("path", "").startswith(self._introspect),
                )
            except MissingTokenError:
                if self.options.optional:
                    await self.app(scope, receive, send)
                    return
                raise
            if self._scopes or self._roles:
                check_access(verified, scopes=self._scopes, roles=self._roles)
        except JoseError as exc:
            authorization = parts.authorization if parts is not None else None
            answer = challenge_for(
                exc,
                realm=self.options.realm,
                dpop=self.verifier.dpop_challenge(authorization),
            )
            if kind == "websocket":
                await send(
                    {"type": "websocket.close", "code": 1008, "reason": answer.body["error"]}
                )
            else:
                await send_challenge(send, answer)
            return
        scope["auth"] = verified
        # (a bound token carries cnf: the common, unbound one skips the jkt lookup)
        bound = "cnf" in verified.claims and verified.jkt is not None
        nonce = self.verifier.dpop_nonce() if bound else None
        if nonce is None or kind != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_nonce(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"dpop-nonce", nonce.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_nonce)


async def send_challenge(send: Send, answer: Challenge) -> None:
    body = json.dumps(answer.body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = [
    "VERIFIER_SCOPE_KEY",
    "BearerAuthMiddleware",
    "MiddlewareOptions",
    "send_challenge",
]
