# mypy: disable-error-code="import-untyped,unused-ignore"
"""Django middleware, a view decorator and a Django REST framework authentication class.
Imports Django (and DRF for :class:`BearerTokenAuthentication`); import this module
only in Django projects.

Settings: ``TOKENSMITH_VERIFIER`` — an :class:`AccessTokenVerifier`, or the dotted path
of one (or of a callable returning one). Optional ``TOKENSMITH_REALM``.

- :class:`BearerTokenMiddleware` verifies a present ``Authorization: Bearer`` header,
  or ``Authorization: DPoP`` with its ``DPoP`` proof (RFC 9449) (a bad token is refused
  with 401 at once) and sets ``request.auth_token`` (None without a header).
- :func:`token_required` decorates a view: a token (with scopes/roles) or a refusal.
- :class:`BearerTokenAuthentication` for DRF: ``request.user`` is a :class:`TokenUser`,
  ``request.auth`` the :class:`AccessToken`; :class:`HasScopes` checks a view's
  ``required_scopes``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.module_loading import import_string

from tokensmith.jose.errors import JoseError

from .challenge import challenge_for
from .errors import MissingTokenError
from .request import RequestParts
from .verifier import AccessToken, AccessTokenVerifier, check_access

_resolved: dict[int, AccessTokenVerifier] = {}


def get_verifier() -> AccessTokenVerifier:
    """The verifier named by ``settings.TOKENSMITH_VERIFIER`` (resolved once)."""
    configured = getattr(settings, "TOKENSMITH_VERIFIER", None)
    if isinstance(configured, AccessTokenVerifier):
        return configured
    if not isinstance(configured, str):
        raise RuntimeError("settings.TOKENSMITH_VERIFIER must be an AccessTokenVerifier or a path")
    key = id(configured)
    if key not in _resolved:
        found = import_string(configured)
        verifier = (
            found() if callable(found) and not isinstance(found, AccessTokenVerifier) else found
        )
        if not isinstance(verifier, AccessTokenVerifier):
            raise RuntimeError(f"{configured} is not an AccessTokenVerifier")
        _resolved[key] = verifier
    return _resolved[key]


def refusal(exc: JoseError, request: HttpRequest | None = None) -> HttpResponse:
    """The RFC 6750 (RFC 9449 with DPoP) answer as a Django response."""
    answer = _challenge(exc, request)
    response = JsonResponse(answer.body, status=answer.status)
    joined: dict[str, str] = {}
    for name, value in answer.headers:
        # Two challenges (Bearer and DPoP) share one header line, comma-joined (RFC 9110).
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    for name, value in joined.items():
        response[name] = value
    return response


def _challenge(exc: JoseError, request: HttpRequest | None) -> Any:
    authorization = request.META.get("HTTP_AUTHORIZATION") if request is not None else None
    dpop = get_verifier().dpop_challenge(authorization) if request is not None else None
    return challenge_for(exc, realm=getattr(settings, "TOKENSMITH_REALM", None), dpop=dpop)


def request_parts(request: HttpRequest) -> RequestParts:
    """The :class:`RequestParts` of a Django request. Django joins repeated headers
    with a comma: several ``DPoP`` proofs arrive as one value with a comma, which no
    compact JWS contains, and are refused as such."""
    proof = request.META.get("HTTP_DPOP")
    authorization = request.META.get("HTTP_AUTHORIZATION")
    dpop_scheme = authorization is not None and authorization.lstrip()[:5].lower() == "dpop "
    return RequestParts(
        authorization=authorization,
        dpop=tuple(proof.split(",")) if proof else (),
        method=request.method or "GET",
        scheme=request.scheme or "http",
        # get_host() checks ALLOWED_HOSTS; only a DPoP request needs the host
        host=request.get_host() if dpop_scheme else None,
        path=request.path,
    )


def _add_nonce(response: HttpResponse, token: AccessToken | None) -> HttpResponse:
    if token is not None and token.jkt is not None:
        nonce = get_verifier().dpop_nonce()
        if nonce is not None:
            response["DPoP-Nonce"] = nonce
    return response


class BearerTokenMiddleware:
    """See the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.auth_token = None  # type: ignore[attr-defined]
        header = request.META.get("HTTP_AUTHORIZATION")
        token = None
        if header:
            try:
                token = get_verifier().verify_request(request_parts(request))
            except MissingTokenError:
                token = None  # another scheme (e.g. Basic): not ours to judge
            except JoseError as exc:
                return refusal(exc, request)
            request.auth_token = token  # type: ignore[attr-defined]
        return _add_nonce(self.get_response(request), token)


def token_required(
    *, scopes: Collection[str] = (), roles: Collection[str] = ()
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view (behind :class:`BearerTokenMiddleware`)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            token = getattr(request, "auth_token", None)
            try:
                if token is None:
                    raise MissingTokenError("no bearer token")
                check_access(token, scopes=scopes, roles=roles)
            except JoseError as exc:
                return refusal(exc, request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


class TokenUser:
    """``request.user`` under DRF: who the token names. Not a database user."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, token: AccessToken) -> None:
        self.token = token
        self.pk = self.id = self.username = token.subject or ""

    def __str__(self) -> str:
        return self.username


try:
    from rest_framework import exceptions as _drf_exceptions
    from rest_framework.authentication import BaseAuthentication as _BaseAuthentication
    from rest_framework.permissions import BasePermission as _BasePermission
except ImportError:  # pragma: no cover - DRF not installed: only the plain Django parts
    _BaseAuthentication = object  # type: ignore[assignment,misc]
    _BasePermission = object  # type: ignore[assignment,misc]
    _drf_exceptions = None  # type: ignore[assignment]


class BearerTokenAuthentication(_BaseAuthentication):  # type: ignore[misc]
    """DRF authentication: ``request.user`` a :class:`TokenUser`, ``request.auth`` the
    :class:`AccessToken`. A bad token answers 401 with RFC 6750 ``WWW-Authenticate``."""

    def authenticate(self, request: Any) -> tuple[TokenUser, AccessToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        already = getattr(request._request, "auth_token", None)
        if isinstance(already, AccessToken):
            # BearerTokenMiddleware verified this request: a second check would see its
            # DPoP proof as a replay (and redo the work).
            return TokenUser(already), already
        try:
            token = get_verifier().verify_request(request_parts(request._request))
        except MissingTokenError:
            return None
        except JoseError as exc:
            request._request.tokensmith_error = exc
            raise _drf_exceptions.AuthenticationFailed(
                {"error": challenge_for(exc).body["error"], "error_description": exc.message}
            ) from None
        return TokenUser(token), token

    def authenticate_header(self, request: Any) -> str:
        exc = getattr(request._request, "tokensmith_error", None) or MissingTokenError("none")
        answer = _challenge(exc, request._request)
        challenges = [v for k, v in answer.headers if k == "www-authenticate"]
        return ", ".join(challenges) or "Bearer"


class HasScopes(_BasePermission):  # type: ignore[misc]
    """DRF permission: the token carries the view's ``required_scopes`` and
    ``required_roles`` (403 otherwise)."""

    message = "insufficient_scope"

    def has_permission(self, request: Any, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, AccessToken):
            return False
        return token.has_scopes(*getattr(view, "required_scopes", ())) and token.has_roles(
            *getattr(view, "required_roles", ())
        )


__all__ = [
    "BearerTokenAuthentication",
    "BearerTokenMiddleware",
    "HasScopes",
    "TokenUser",
    "get_verifier",
    "refusal",
    "request_parts",
    "token_required",
]
