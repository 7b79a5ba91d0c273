"""Django middleware, view decorator and the DRF authentication class, through Django's
test client and DRF's APIClient. This module is its own ROOT_URLCONF."""

from __future__ import annotations

import django
import pytest
from django.conf import settings
from resource_helpers import AUDIENCE, ISSUER, make_token

from tokensmith.jose import JWK
from tokensmith.resource import AccessTokenVerifier

KEY = JWK.generate("ES256", kid="dj")
VERIFIER = AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=KEY)

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=["tokensmith.resource.django.BearerTokenMiddleware"],
        DATABASES={},
        TOKENSMITH_VERIFIER=f"{__name__}.VERIFIER",
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "tokensmith.resource.django.BearerTokenAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import IsAuthenticated  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from tokensmith.resource.django import HasScopes, TokenUser, token_required  # noqa: E402


def public(request: HttpRequest) -> JsonResponse:
    token = request.auth_token  # type: ignore[attr-defined]
    return JsonResponse({"sub": token.subject if token else None})


@token_required(scopes=["orders:read"])
def orders(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": request.auth_token.subject})  # type: ignore[attr-defined]


class Me(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request: object) -> Response:
        user = request.user  # type: ignore[attr-defined]
        assert isinstance(user, TokenUser)
        return Response({"sub": user.username, "scopes": sorted(request.auth.scopes)})  # type: ignore[attr-defined]


class Write(APIView):
    permission_classes = (IsAuthenticated, HasScopes)
    required_scopes = ("orders:write",)

    def post(self, request: object) -> Response:
        return Response({"created": True})


urlpatterns = [
    path("public", public),
    path("orders", orders),
    path("api/me", Me.as_view()),
    path("api/orders", Write.as_view()),
]


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_django_middleware_and_decorator() -> None:
    client = Client()
    assert client.get("/public").json() == {"sub": None}
    assert client.get("/public", **_bearer(make_token(KEY))).json() == {"sub": "user-1"}
    bad = client.get("/public", **_bearer(make_token(KEY, aud="other")))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad["WWW-Authenticate"]
    assert client.get("/public", HTTP_AUTHORIZATION="Basic dTpw").json() == {"sub": None}
    missing = client.get("/orders")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == "Bearer"
    narrow = client.get("/orders", **_bearer(make_token(KEY, scope="profile")))
    assert narrow.status_code == 403
    assert 'error="insufficient_scope"' in narrow["WWW-Authenticate"]
    assert client.get("/orders", **_bearer(make_token(KEY))).json() == {"sub": "user-1"}


def test_drf_authentication_class_and_scope_permission() -> None:
    client = APIClient()
    ok = client.get("/api/me", **_bearer(make_token(KEY, scope="a b")))
    assert ok.status_code == 200
    assert ok.json() == {"sub": "user-1", "scopes": ["a", "b"]}
    missing = client.get("/api/me")
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"] == "Bearer"
    expired = client.get("/api/me", **_bearer(make_token(KEY, now=1_000_000)))
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired["WWW-Authenticate"]
    assert client.post("/api/orders", **_bearer(make_token(KEY))).status_code == 403
    writer = make_token(KEY, scope="orders:write")
    assert client.post("/api/orders", **_bearer(writer)).json() == {"created": True}


def test_django_verifier_setting_must_name_a_verifier() -> None:
    from django.test import override_settings

    from tokensmith.resource.django import get_verifier

    with override_settings(TOKENSMITH_VERIFIER=None), pytest.raises(RuntimeError):
        get_verifier()
    with override_settings(TOKENSMITH_VERIFIER=VERIFIER):
        assert get_verifier() is VERIFIER


def test_drf_authentication_alone_without_the_middleware() -> None:
    """APIRequestFactory calls the view directly: only the DRF class judges the token."""
    from rest_framework.test import APIRequestFactory

    factory = APIRequestFactory()
    view = Me.as_view()
    ok = view(factory.get("/api/me", **_bearer(make_token(KEY, scope="x"))))
    assert ok.status_code == 200
    assert ok.data == {"sub": "user-1", "scopes": ["x"]}
    forged = make_token(JWK.generate("ES256", kid="dj"))
    refused = view(factory.get("/api/me", **_bearer(forged)))
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert refused.data["error"] == "invalid_token"
