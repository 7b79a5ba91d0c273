"""A Flask extension. Imports Flask; import this module only in Flask apps. ::

    auth = TokenAuth(app, verifier=verifier)

    @app.get("/orders")
    @auth.required(scopes=["orders:read"])
    def orders():
        return {"user": g.auth.subject}

The verified :class:`~.verifier.AccessToken` is ``flask.g.auth`` (also returned by
:func:`current_token`). Bearer and DPoP (RFC 9449) tokens are accepted. Refusals answer
JSON with RFC 6750 / RFC 9449 ``WWW-Authenticate``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, jsonify, request
from flask import make_response as app_response

from tokensmith.jose.errors import JoseError

from .challenge import challenge_for
from .request import RequestParts
from .verifier import AccessToken, AccessTokenVerifier, check_access

F = TypeVar("F", bound=Callable[..., Any])
EXTENSION_KEY = "tokensmith"


class TokenAuth:
    """The extension: ``TokenAuth(app, verifier=v)`` or ``TokenAuth(verifier=v).init_app(app)``."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        verifier: AccessTokenVerifier,
        realm: str | None = None,
    ) -> None:
        if not isinstance(verifier, AccessTokenVerifier):
            raise TypeError("verifier must be an AccessTokenVerifier")
        self.verifier = verifier
        self.realm = realm
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = self

    def required(
        self, *, scopes: Collection[str] = (), roles: Collection[str] = ()
    ) -> Callable[[F], F]:
        """Decorate a view: a valid bearer token (with these scopes and roles) or a refusal."""
        if isinstance(scopes, str) or isinstance(roles, str):
            raise TypeError("scopes and roles are collections of names")

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    token = self.verifier.verify_request(_parts())
                    check_access(token, scopes=scopes, roles=roles)
                except JoseError as exc:
                    return self._refuse(exc)
                g.auth = token
                if token.jkt is None:
                    return view(*args, **kwargs)
                response = app_response(view(*args, **kwargs))
                nonce = self.verifier.dpop_nonce()
                if nonce is not None:
                    response.headers["DPoP-Nonce"] = nonce
                return response

            return cast(F, wrapper)

        return decorate

    def _refuse(self, exc: JoseError) -> Response:
        dpop = self.verifier.dpop_challenge(request.headers.get("Authorization"))
        answer = challenge_for(exc, realm=self.realm, dpop=dpop)
        response = jsonify(answer.body)
        response.status_code = answer.status
        for name, value in answer.headers:
            response.headers.add(name, value)
        return response


def _parts() -> RequestParts:
    return RequestParts(
        authorization=request.headers.get("Authorization"),
        dpop=tuple(request.headers.getlist("DPoP")),
        method=request.method,
        scheme=request.scheme,
        host=request.host,
        path=request.script_root + request.path,
    )


def current_token() -> AccessToken | None:
    """The token verified for this request by :meth:`TokenAuth.required`, if any."""
    token = g.get("auth")
    return token if isinstance(token, AccessToken) else None


__all__ = ["EXTENSION_KEY", "TokenAuth", "current_token"]
