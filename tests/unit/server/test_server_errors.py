"""The one mapping from domain errors to HTTP (DESIGN rule 9), on a tiny app."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from tokensmith.issuer.errors import AuthError, OAuthError, RateLimitedError
from tokensmith.server.errors import AUTH_STATUS, auth_status, install_error_handlers, oauth_status

pytestmark = pytest.mark.anyio


class Body(BaseModel):
    name: str


def _app(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/auth/thing")
    async def thing() -> None:
        raise exc

    @app.post("/oauth/thing")
    async def oauth_thing() -> None:
        raise exc

    @app.post("/auth/validated")
    async def validated(body: Body) -> dict[str, str]:
        return {"name": body.name}

    @app.post("/oauth/validated")
    async def oauth_validated(body: Body) -> dict[str, str]:
        return {"name": body.name}

    return app


async def _post(app: FastAPI, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post(path, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("invalid_credentials", 401),
        ("account_disabled", 403),
        ("registration_closed", 403),
        ("invite_required", 403),
        ("username_taken", 409),
        ("weak_password", 400),
        ("password_too_long", 400),
        ("invalid_username", 400),
        ("session_not_found", 404),
        ("user_not_found", 404),
        ("forbidden", 403),
        ("invalid_setup_token", 403),
        ("admin_exists", 409),
        ("key_not_found", 404),
        ("key_state", 409),
        ("csrf_failed", 403),
    ],
)
async def test_auth_error_codes_map_to_their_status_with_a_stable_body(
    code: str, status: int
) -> None:
    response = await _post(_app(AuthError(code, "what went wrong")), "/auth/thing")
    assert response.status_code == status
    assert response.json() == {"error": code, "message": "what went wrong"}
    assert response.headers["cache-control"] == "no-store"


def test_every_issuer_error_code_is_in_the_table() -> None:
    import tokensmith.issuer.errors as errors_module

    codes = re.findall(r"^  ``(\w+)``\s{2,}", errors_module.__doc__ or "", flags=re.MULTILINE)
    assert "invalid_credentials" in codes
    assert [c for c in codes if c not in AUTH_STATUS] == []


def test_unknown_codes_are_a_client_error_never_a_500() -> None:
    assert auth_status("something_new") == 400
    assert oauth_status("invalid_grant") == 400
    assert oauth_status("invalid_client") == 401


async def test_s26_rate_limited_is_429_with_retry_after() -> None:
    response = await _post(_app(RateLimitedError(37)), "/auth/thing")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "37"
    assert response.json()["error"] == "rate_limited"


async def test_invalid_token_carries_a_bearer_challenge_rfc6750() -> None:
    response = await _post(_app(AuthError("invalid_token", 'token "expired"')), "/auth/thing")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    assert challenge.count('"') % 2 == 0


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("invalid_grant", 400),
        ("invalid_request", 400),
        ("unsupported_grant_type", 400),
        ("invalid_client", 401),
    ],
)
async def test_oauth_errors_are_rfc6749_json_on_oauth_paths(error: str, status: int) -> None:
    response = await _post(_app(OAuthError(error, "because")), "/oauth/thing")
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": "because"}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    if status == 401:
        assert "www-authenticate" in response.headers


async def test_oauth_error_elsewhere_uses_the_first_party_shape() -> None:
    response = await _post(_app(OAuthError("invalid_grant", "used")), "/auth/thing")
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "message": "used"}


@pytest.mark.parametrize("path", ["/auth/validated", "/oauth/validated"])
async def test_validation_errors_are_400_invalid_request_not_422(path: str) -> None:
    response = await _post(_app(ValueError()), path, content=b'{"name": 5}')
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_garbage_json_is_400() -> None:
    response = await _post(
        _app(ValueError()),
        "/auth/validated",
        content=b"\xff{{",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_unknown_path_and_method_have_stable_codes() -> None:
    app = _app(ValueError())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        missing = await client.get("/nope")
        wrong = await client.get("/auth/thing")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


async def test_unexpected_exception_is_a_bare_500_without_details() -> None:
    response = await _post(_app(RuntimeError("secret internals")), "/auth/thing")
    assert response.status_code == 500
    assert response.json() == {"error": "server_error", "message": "internal error"}
    assert "secret internals" not in response.text
    assert "Traceback" not in response.text
