"""The paths of issue 5, exactly, and OpenAPI at /docs."""

from __future__ import annotations

import httpx
import pytest

from tokensmith.server import create_app
from tokensmith.settings import load_settings

pytestmark = pytest.mark.anyio

ISSUE_PATHS = {
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("GET", "/auth/sessions"),
    ("DELETE", "/auth/sessions/{session_id}"),
    ("GET", "/userinfo"),
    ("POST", "/oauth/token"),
    ("POST", "/oauth/revoke"),
    ("GET", "/auth/revocations"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}


def test_every_path_of_the_issue_is_served() -> None:
    spec = create_app(load_settings()).openapi()
    served = {(m.upper(), p) for p, item in spec["paths"].items() for m in item}
    assert served >= ISSUE_PATHS
    issue_6 = {
        ("POST", "/oauth/introspect"),
        ("GET", "/admin/clients"),
        ("POST", "/admin/clients"),
        ("POST", "/admin/clients/{client_id}/rotate-secret"),
        ("POST", "/admin/clients/{client_id}/disable"),
    }
    issue_10 = {
        ("GET", "/admin/users"),
        ("GET", "/admin/users/{user_id}"),
        ("POST", "/admin/users/{user_id}/disable"),
        ("POST", "/admin/users/{user_id}/enable"),
        ("POST", "/admin/users/{user_id}/revoke-sessions"),
        ("GET", "/admin/keys"),
        ("POST", "/admin/keys/rotate"),
        ("GET", "/admin/audit"),
        ("POST", "/inspector/analyze"),
    }
    assert served - ISSUE_PATHS - issue_6 - issue_10 == {
        ("POST", "/auth/setup"),
        ("POST", "/auth/password"),
    }


def test_oauth_endpoints_document_a_form_body() -> None:
    spec = create_app(load_settings()).openapi()
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        content = spec["paths"][path]["post"]["requestBody"]["content"]
        assert list(content) == ["application/x-www-form-urlencoded"]


async def test_openapi_ui_is_at_docs_and_health_answers_before_startup() -> None:
    app = create_app(load_settings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        docs = await client.get("/docs")
        spec = await client.get("/openapi.json")
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        login = await client.post("/auth/login", json={"username": "a", "password": "b"})
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert spec.json()["info"]["title"] == "tokensmith"
    assert health.json() == {"status": "ok"}
    assert ready.status_code == 503  # no issuer yet: not ready
    assert (login.status_code, login.json()["error"]) == (503, "not_ready")
