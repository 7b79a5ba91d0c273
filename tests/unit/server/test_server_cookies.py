"""Cookie mode: __Host- cookie attributes, double-submit CSRF, Origin check."""

from __future__ import annotations

import pytest
from fastapi import Response
from starlette.requests import Request

from tokensmith.issuer.errors import AuthError, OAuthError
from tokensmith.server import cookies

ALLOWED = ("https://app.example",)


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/auth/refresh", "headers": raw})


def _cookie_header(**values: str) -> str:
    names = {"refresh": cookies.REFRESH_COOKIE, "csrf": cookies.CSRF_COOKIE}
    return "; ".join(f"{names[k]}={v}" for k, v in values.items())


def test_refresh_cookie_is_host_prefixed_httponly_secure_strict_path_root() -> None:
    response = Response()
    cookies.set_session_cookies(response, refresh_token="rt", max_age=600, csrf_token="c1")
    set_cookies = [v for k, v in response.raw_headers if k == b"set-cookie"]
    refresh = next(c.decode() for c in set_cookies if c.startswith(b"__Host-tokensmith-refresh="))
    csrf = next(c.decode() for c in set_cookies if c.startswith(b"__Host-tokensmith-csrf="))
    for attribute in ("HttpOnly", "Secure", "SameSite=strict", "Path=/", "Max-Age=600"):
        assert attribute.lower() in refresh.lower()
    assert "domain" not in refresh.lower()
    assert "httponly" not in csrf.lower()
    assert "secure" in csrf.lower()


def test_clearing_the_cookies_expires_both() -> None:
    response = Response()
    cookies.clear_session_cookies(response)
    set_cookies = [v.decode() for k, v in response.raw_headers if k == b"set-cookie"]
    assert len(set_cookies) == 2
    assert all("Max-Age=0" in c for c in set_cookies)


def test_csrf_tokens_are_random_and_long() -> None:
    tokens = {cookies.new_csrf_token() for _ in range(50)}
    assert len(tokens) == 50
    assert min(len(t) for t in tokens) >= 40


def test_refresh_by_cookie_with_origin_and_matching_csrf_returns_the_token() -> None:
    request = _request(
        {
            "origin": "https://app.example",
            "cookie": _cookie_header(refresh="rt-1", csrf="c1"),
            "x-csrf-token": "c1",
        }
    )
    assert cookies.refresh_cookie(request, ALLOWED) == "rt-1"


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (
            {"cookie": _cookie_header(refresh="r", csrf="c"), "x-csrf-token": "c"},
            "origin_not_allowed",
        ),
        (
            {
                "origin": "https://evil.example",
                "cookie": _cookie_header(refresh="r", csrf="c"),
                "x-csrf-token": "c",
            },
            "origin_not_allowed",
        ),
        (
            {"origin": "https://app.example", "cookie": _cookie_header(refresh="r", csrf="c")},
            "csrf_failed",
        ),
        (
            {
                "origin": "https://app.example",
                "cookie": _cookie_header(refresh="r", csrf="c"),
                "x-csrf-token": "d",
            },
            "csrf_failed",
        ),
        (
            {
                "origin": "https://app.example",
                "cookie": _cookie_header(refresh="r"),
                "x-csrf-token": "c",
            },
            "csrf_failed",
        ),
    ],
    ids=["no-origin", "foreign-origin", "no-header", "wrong-header", "no-csrf-cookie"],
)
def test_cookie_requests_without_origin_or_csrf_are_refused(
    headers: dict[str, str], code: str
) -> None:
    with pytest.raises(AuthError) as info:
        cookies.refresh_cookie(_request(headers), ALLOWED)
    assert info.value.code == code


def test_missing_refresh_cookie_is_invalid_grant() -> None:
    request = _request(
        {"origin": "https://app.example", "cookie": _cookie_header(csrf="c"), "x-csrf-token": "c"}
    )
    with pytest.raises(OAuthError) as info:
        cookies.refresh_cookie(request, ALLOWED)
    assert info.value.error == "invalid_grant"


def test_origin_comparison_ignores_case_and_a_trailing_slash() -> None:
    cookies.check_origin(_request({"origin": "HTTPS://APP.example/"}), ALLOWED, required=True)
    cookies.check_origin(_request({}), ALLOWED, required=False)
