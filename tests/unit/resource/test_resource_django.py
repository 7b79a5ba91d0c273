"""Django middleware, view decorator and the DRF authentication class, through Django's
test client and DRF's APIClient. This module is its own ROOT_URLCONF."""

from __future__ import annotations

import django
import pytest
from django.conf import settings
from resource_helpers import AUDIENCE, ISSUER, bound_token, dpop_headers, make_token

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
    assert missing["WWW-Authenticate"].startswith("Bearer, DPoP algs=")
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
    assert missing["WWW-Authenticate"].startswith("Bearer, DPoP algs=")
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


# ---- DPoP (RFC 9449) ------------------------------------------------------------------

CLIENT_KEY = JWK.generate("ES256")


def _dpop(token: str, url: str, key: JWK = CLIENT_KEY, **kwargs: object) -> dict[str, str]:
    headers = dpop_headers(key, token, url=url, **kwargs)  # type: ignore[arg-type]
    return {"HTTP_AUTHORIZATION": headers["Authorization"], "HTTP_DPOP": headers["DPoP"]}


def test_dpop_through_the_django_middleware_and_decorator() -> None:
    client = Client()
    token = bound_token(KEY, CLIENT_KEY)
    headers = _dpop(token, "http://testserver/orders")
    assert client.get("/orders", **headers).json() == {"sub": "user-1"}
    replay = client.get("/orders", **headers)
    assert replay.status_code == 401
    assert replay.json()["code"] == "dpop_replayed"
    assert replay["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    assert 'algs="ES256' in replay["WWW-Authenticate"]
    stolen = client.get(
        "/orders", **_dpop(token, "http://testserver/orders", JWK.generate("ES256"))
    )
    assert stolen.json()["code"] == "dpop_jkt_mismatch"
    as_bearer = client.get("/orders", **_bearer(token))
    assert as_bearer.status_code == 401
    assert as_bearer["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    # two DPoP headers (Django joins them with a comma): refused
    twice = _dpop(token, "http://testserver/orders")
    twice["HTTP_DPOP"] += "," + twice["HTTP_DPOP"]
    assert client.get("/orders", **twice).json()["code"] == "dpop_invalid_proof"


def test_dpop_nonce_through_the_django_middleware() -> None:
    from django.test import override_settings

    from tokensmith.resource import DPoPNonces, DPoPOptions, VerifierOptions

    nonces = DPoPNonces(b"d" * 32)
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=KEY,
        options=VerifierOptions(dpop=DPoPOptions(nonces=nonces)),
    )
    client = Client()
    token = bound_token(KEY, CLIENT_KEY)
    with override_settings(TOKENSMITH_VERIFIER=verifier):
        first = client.get("/orders", **_dpop(token, "http://testserver/orders"))
        assert first.status_code == 401
        assert first["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
        nonce = first["DPoP-Nonce"]
        retry = client.get("/orders", **_dpop(token, "http://testserver/orders", nonce=nonce))
        assert retry.status_code == 200
        assert retry["DPoP-Nonce"] == nonce


def test_dpop_through_drf() -> None:
    client = APIClient()
    token = bound_token(KEY, CLIENT_KEY, scope="a")
    ok = client.get("/api/me", **_dpop(token, "http://testserver/api/me"))
    assert ok.status_code == 200
    assert ok.json() == {"sub": "user-1", "scopes": ["a"]}
    # DRF alone (no middleware in front): the authentication class checks the proof
    from rest_framework.test import APIRequestFactory

    view = Me.as_view()
    factory = APIRequestFactory()
    good = view(factory.get("/api/me", **_dpop(token, "http://testserver/api/me")))
    assert good.status_code == 200
    stolen_proof = _dpop(token, "http://testserver/api/me", JWK.generate("ES256"))
    refused = view(factory.get("/api/me", **stolen_proof))
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')
