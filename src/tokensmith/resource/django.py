# mypy: disable-error-code="import-untyped,unused-ignore"
"""Django middleware, a view decorator and a Django REST framework authentication class.
Imports Django (and DRF for :class:`BearerTokenAuthentication`); import this module
only in Django projects.

Settings: ``TOKENSMITH_VERIFIER`` — an :class:`AccessTokenVerifier`, or the dotted path
of one (or of a callable returning one). Optional ``TOKENSMITH_REALM``.

- :class:`BearerTokenMiddleware` verifies a present ``Authorization: Bearer`` header
  (a bad token is refused with 401 at once) and sets ``request.auth_token`` (None
  without a header).
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

from .challenge import bearer_token, challenge_for
from .errors import MissingTokenError
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


def refusal(exc: JoseError) -> HttpResponse:
    """The RFC 6750 answer as a Django response."""
    answer = challenge_for(exc, realm=getattr(settings, "TOKENSMITH_REALM", None))
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


class BearerTokenMiddleware:
    """See the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.auth_token = None  # type: ignore[attr-defined]
        header = request.META.get("HTTP_AUTHORIZATION")
        if header:
            try:
                token = get_verifier().verify(bearer_token(header))
            except MissingTokenError:
                token = None  # another scheme (e.g. Basic): not ours to judge
            except JoseError as exc:
                return refusal(exc)
            request.auth_token = token  # type: ignore[attr-defined]
        return self.get_response(request)


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
                return refusal(exc)
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
        try:
            token = get_verifier().verify(bearer_token(header))
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
        realm = getattr(settings, "TOKENSMITH_REALM", None)
        return dict(challenge_for(exc, realm=realm).headers).get("www-authenticate", "Bearer")


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
    "token_required",
]
