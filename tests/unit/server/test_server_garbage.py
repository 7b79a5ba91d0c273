"""Bad input is a 4xx with a stable ``error`` code on every path: never a 500, never a
stack trace. The app runs in process with the real Issuer over memory stores."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith.issuer.config import Argon2Params
from tokensmith.issuer.passwords import Argon2Hasher
from tokensmith.issuer.service import Issuer
from tokensmith.server import create_app
from tokensmith.server.compose import issuer_config
from tokensmith.settings import load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio

GARBAGE_BODIES: list[bytes] = [
    b"",
    b"\x00\xff\xfe",
    b"{",
    b"[]",
    b"null",
    b'"just a string"',
    b"1e999999",
    b'{"username": 1, "password": 2}',
    b'{"username": "a", "password": {"x": [1, 2]}}',
    b'{"username": "\\ud800", "password": "\\udfff"}',
    b'{"refresh_token": ["a"]}',
    b'{"refresh_token": ""}',
    b'{"username": "' + b"u" * 5000 + b'", "password": "p"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a": ' * 2000 + b"1" + b"}" * 2000,
    b"grant_type=refresh_token&grant_type=refresh_token",
    b"token=%ZZ&x=%",
    b"\xc3\x28=\xa0\xa1",
]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
]
AUTH_HEADERS = [
    None,
    "Bearer",
    "Bearer ",
    "Bearer a.b.c",
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "Basic dXNlcjpwYXNz",
    "Bearer " + "x" * 4000,
    "Bearer two tokens",
]


@pytest.fixture(params=[False, True], ids=["body-mode", "cookie-mode"])
async def app(request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    settings = load_settings(
        revocation_feed_secret="s" * 32,
        max_body_bytes=65536,
        cookie_mode=request.param,
        allowed_origins="https://app.example",
        trust_forwarded=True,
    )
    stores = memory_stores()
    hasher = Argon2Hasher(Argon2Params(time_cost=1, memory_cost=1024, parallelism=1))
    issuer = await Issuer.open(issuer_config(settings), stores, master_key=bytes(32), hasher=hasher)
    application = create_app(settings, issuer=issuer)
    async with application.router.lifespan_context(application):
        yield application
    await issuer.close()
    await stores.close()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


def _routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            out.append((method.upper(), path.replace("{session_id}", "garbage")))
    return out


def _check(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:200]}"
    assert "Traceback" not in response.text, what
    if response.status_code >= 400 and response.status_code != 405:
        body: dict[str, Any] = response.json()
        assert isinstance(body.get("error"), str), what


async def test_garbage_bodies_to_every_endpoint_are_4xx(app: FastAPI) -> None:
    routes = _routes(app)
    assert len(routes) >= 18
    async with _client(app) as client:
        for method, path in routes:
            if path == "/auth/revocations":
                continue  # a stream; its garbage is in the next test
            for body in GARBAGE_BODIES:
                for content_type in CONTENT_TYPES:
                    headers = {"content-type": content_type} if content_type else {}
                    response = await client.request(method, path, content=body, headers=headers)
                    _check(response, f"{method} {path} {content_type} {body[:40]!r}")


async def test_garbage_credentials_to_every_endpoint_are_4xx(app: FastAPI) -> None:
    async with _client(app) as client:
        for method, path in _routes(app):
            for auth in AUTH_HEADERS:
                headers = {"authorization": auth} if auth is not None else {}
                headers["content-type"] = "application/json"
                headers["cookie"] = "__Host-tokensmith-refresh=\x7f; __Host-tokensmith-csrf=;"
                headers["last-event-id"] = "-1"
                response = await client.request(method, path, content=b"{}", headers=headers)
                _check(response, f"{method} {path} auth={str(auth)[:30]}")


@pytest.mark.parametrize(
    "path",
    [
        "/auth/sessions/..%2F..%2Fetc%2Fpasswd",
        "/auth/sessions/%00",
        "/auth/sessions/" + "x" * 3000,
        "/auth/revocations?after=-1",
        "/auth/revocations?after=abc",
        "/userinfo?access_token=abc",
        "/.well-known/../../etc/passwd",
        "/%ff%fe",
    ],
)
async def test_garbage_paths_and_queries_are_4xx(app: FastAPI, path: str) -> None:
    async with _client(app) as client:
        for method in ("GET", "POST", "DELETE"):
            response = await client.request(method, path)
            _check(response, f"{method} {path}")


async def test_body_over_the_limit_is_413_on_a_real_route(app: FastAPI) -> None:
    async with _client(app) as client:
        response = await client.post("/auth/login", content=b"x" * 70000)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(
    st.sampled_from(
        [
            "username",
            "password",
            "refresh_token",
            "invite",
            "setup_token",
            "old_password",
            "new_password",
            "grant_type",
            "token",
        ]
    ),
    json_values,
    max_size=4,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=bodies,
    path=st.sampled_from(
        [
            "/auth/register",
            "/auth/login",
            "/auth/refresh",
            "/auth/logout",
            "/auth/setup",
            "/auth/password",
            "/oauth/token",
            "/oauth/revoke",
        ]
    ),
)
async def test_random_json_bodies_never_500(app: FastAPI, body: dict[str, Any], path: str) -> None:
    async with _client(app) as client:
        response = await client.post(path, content=json.dumps(body).encode())
    _check(response, f"{path} {body!r}")


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b2", "-1", "1e3", " 7", "9" * 19])
async def test_regression_last_event_id_with_non_ascii_digits_is_400_not_500(
    app: FastAPI, value: str
) -> None:
    """'²'.isdigit() is True but int('²') raises: the feed once answered 500 to it."""
    async with _client(app) as client:
        response = await client.get(
            "/auth/revocations",
            headers={
                "authorization": "Bearer " + "s" * 32,
                "last-event-id": value.encode("latin-1"),
            },
        )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


LATIN1_VALUES = [b"\xb2", b"\xff\xfe", b"Bearer \xe9\xe9", b"a\x7fb", b"\xc3\xa9" * 50]


async def test_non_ascii_header_values_on_every_endpoint_are_4xx(app: FastAPI) -> None:
    names = [
        "authorization",
        "cookie",
        "origin",
        "x-csrf-token",
        "last-event-id",
        "user-agent",
        "x-forwarded-for",
        "content-type",
    ]
    async with _client(app) as client:
        for method, path in _routes(app):
            if path == "/auth/revocations" and method == "GET":
                continue  # with a valid secret it streams; covered by the regression test
            for value in LATIN1_VALUES:
                headers = dict.fromkeys(names, value)
                response = await client.request(method, path, content=b"{}", headers=headers)
                _check(response, f"{method} {path} {value!r}")


async def test_cookie_requests_with_garbage_cookies_are_4xx(app: FastAPI) -> None:
    cookies = [
        "__Host-tokensmith-refresh=; __Host-tokensmith-csrf=",
        "__Host-tokensmith-refresh=x; __Host-tokensmith-csrf=y",
        "__Host-tokensmith-refresh=" + "r" * 3000 + "; __Host-tokensmith-csrf=c",
        '__Host-tokensmith-refresh="quoted"; __Host-tokensmith-csrf="c"',
        "=====; ;;; __Host-tokensmith-refresh",
    ]
    async with _client(app) as client:
        for path in ("/auth/refresh", "/auth/logout", "/auth/login"):
            for cookie in cookies:
                response = await client.post(
                    path,
                    headers={
                        "cookie": cookie,
                        "origin": "https://app.example",
                        "x-csrf-token": "c",
                        "content-type": "application/json",
                    },
                    content=b"",
                )
                _check(response, f"{path} {cookie[:40]}")


async def test_protected_paths_ask_for_a_token_before_looking_at_anything_else(
    app: FastAPI,
) -> None:
    async with _client(app) as client:
        for method, path in [
            ("DELETE", "/auth/sessions/" + "x" * 500),
            ("DELETE", "/auth/sessions/some-id"),
            ("GET", "/auth/sessions"),
            ("GET", "/userinfo"),
            ("POST", "/auth/logout-all"),
            ("POST", "/auth/password"),
            ("GET", "/auth/revocations"),
        ]:
            response = await client.request(
                method, path, json={"old_password": "a", "new_password": "b"}
            )
            assert response.status_code == 401, f"{method} {path}"
            assert response.headers["www-authenticate"].startswith("Bearer")
