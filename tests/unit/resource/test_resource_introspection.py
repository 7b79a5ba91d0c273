"""Introspection (RFC 7662) for high-risk routes: the Introspector against a real
loopback endpoint, the verifier's ``introspect=True``, the middleware's
``introspect_paths`` and FastAPI's ``require_active``."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from resource_helpers import AUDIENCE, ISSUER, Clock, make_token

from tokensmith.jose import JWK
from tokensmith.resource import (
    AccessTokenVerifier,
    InactiveTokenError,
    IntrospectionOptions,
    IntrospectionUnavailableError,
    Introspector,
    VerifierOptions,
)
from tokensmith.resource.asgi import BearerAuthMiddleware, MiddlewareOptions
from tokensmith.resource.fastapi import Authenticated, require_active

CLIENT_ID = "orders api"  # a space: RFC 6749 §2.3.1 form-encodes it in Basic auth
SECRET = "s3cret:with/colon"


class IntrospectionServer:
    """A loopback RFC 7662 endpoint: answers what ``answer`` says (a dict, or a status
    code and raw body), and records each request's Authorization header and form."""

    def __init__(self) -> None:
        self.answer: dict[str, Any] = {"active": True}
        self.raw: tuple[int, bytes, dict[str, str]] | None = None
        self.requests: list[tuple[str | None, dict[str, list[str]]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = parse_qs(self.rfile.read(length).decode("ascii"))
                server.requests.append((self.headers.get("authorization"), form))
                status, body, headers = server.raw or (
                    200,
                    json.dumps(server.answer).encode(),
                    {"content-type": "application/json"},
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/oauth/introspect"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def endpoint() -> Iterator[IntrospectionServer]:
    server = IntrospectionServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def key() -> JWK:
    return JWK.generate("ES256", kid="k1")


def _options(url: str, **overrides: Any) -> IntrospectionOptions:
    return IntrospectionOptions(url=url, client_id=CLIENT_ID, client_secret=SECRET, **overrides)


def _claims() -> dict[str, Any]:
    return {"iss": ISSUER, "sub": "user-1", "jti": "jti-1"}


def test_active_answer_passes_and_the_request_is_an_authenticated_rfc7662_post(
    endpoint: IntrospectionServer,
) -> None:
    introspector = Introspector(_options(endpoint.url))
    endpoint.answer = {"active": True, **_claims()}
    introspector.check("the.token.value", _claims())
    ((authorization, form),) = endpoint.requests
    assert form == {"token": ["the.token.value"], "token_type_hint": ["access_token"]}
    assert authorization is not None
    assert authorization.startswith("Basic ")
    user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
    assert (user, password) == ("orders+api", "s3cret%3Awith%2Fcolon")


@pytest.mark.parametrize(
    "answer",
    [
        {"active": False},
        {"active": True, "jti": "another-token"},
        {"active": True, "sub": "user-2"},
        {"active": True, "iss": "https://elsewhere.example"},
    ],
)
def test_inactive_or_another_tokens_answer_is_token_inactive(
    endpoint: IntrospectionServer, answer: dict[str, Any]
) -> None:
    endpoint.answer = answer
    with pytest.raises(InactiveTokenError) as caught:
        Introspector(_options(endpoint.url)).check("t.o.k", _claims())
    assert caught.value.code == "token_inactive"


@pytest.mark.parametrize(
    "raw",
    [
        (500, b"{}", {}),
        (200, b"not json", {}),
        (200, b'{"active": "yes"}', {}),
        (200, b"[true]", {}),
        (302, b"", {"location": "http://127.0.0.1:1/elsewhere"}),
        (200, b'{"active": true, "pad": "' + b"x" * 70_000 + b'"}', {}),
    ],
    ids=["500", "not-json", "active-not-bool", "not-object", "redirect", "too-big"],
)
def test_no_usable_answer_fails_closed(
    endpoint: IntrospectionServer, raw: tuple[int, bytes, dict[str, str]]
) -> None:
    endpoint.raw = raw
    with pytest.raises(IntrospectionUnavailableError) as caught:
        Introspector(_options(endpoint.url)).check("t.o.k", _claims())
    assert caught.value.code == "introspection_unavailable"


def test_a_server_that_is_down_fails_closed_sync_and_async(endpoint: IntrospectionServer) -> None:
    url = endpoint.url
    endpoint.close()
    introspector = Introspector(_options(url, timeout=1.0))
    with pytest.raises(IntrospectionUnavailableError):
        introspector.check("t.o.k", _claims())
    with pytest.raises(IntrospectionUnavailableError):
        asyncio.run(introspector.check_async("t.o.k", _claims()))


def test_active_answers_are_reused_for_cache_ttl_and_inactive_ones_never(
    endpoint: IntrospectionServer,
) -> None:
    clock = Clock()
    introspector = Introspector(_options(endpoint.url, cache_ttl=5), clock=clock)
    introspector.check("a.b.c", _claims())
    introspector.check("a.b.c", _claims())
    assert len(endpoint.requests) == 1
    clock.advance(5)
    introspector.check("a.b.c", _claims())
    assert len(endpoint.requests) == 2
    endpoint.answer = {"active": False}
    for _ in range(2):
        with pytest.raises(InactiveTokenError):
            introspector.check("x.y.z", _claims())
    assert len(endpoint.requests) == 4


def test_options_refuse_what_would_leak_or_never_work() -> None:
    with pytest.raises(ValueError, match="https"):
        _options("http://id.example/oauth/introspect")
    with pytest.raises(ValueError, match="client_secret"):
        IntrospectionOptions(url="https://id.example/i", client_id="a", client_secret="")
    with pytest.raises(ValueError, match="cache_ttl"):
        _options("https://id.example/i", cache_ttl=3600)
    with pytest.raises(TypeError):
        VerifierOptions(introspection=_options("https://id.example/i"))  # type: ignore[arg-type]


def test_verifier_introspects_only_when_asked(endpoint: IntrospectionServer, key: JWK) -> None:
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=key,
        options=VerifierOptions(introspection=Introspector(_options(endpoint.url))),
    )
    token = make_token(key)
    assert verifier.verify(token).claims["sub"] == "user-1"
    assert endpoint.requests == []
    assert verifier.verify(token, introspect=True).claims["sub"] == "user-1"
    assert len(endpoint.requests) == 1
    endpoint.answer = {"active": False}
    with pytest.raises(InactiveTokenError):
        verifier.verify(token, introspect=True)
    with pytest.raises(InactiveTokenError):
        asyncio.run(verifier.verify_async(token, introspect=True))
    assert verifier.verify(token).claims["sub"] == "user-1"  # local checks alone still pass
    plain = AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key)
    with pytest.raises(ValueError, match="introspection"):
        plain.verify(token, introspect=True)


def _app(verifier: AccessTokenVerifier) -> FastAPI:
    app = FastAPI()

    @app.get("/orders")
    async def orders(token: Authenticated) -> dict[str, str]:
        return {"sub": token.claims["sub"]}

    @app.post("/payments/{n}")
    async def pay(n: int, token: Authenticated) -> dict[str, str]:
        return {"paid": str(n)}

    @app.post("/refunds", dependencies=[require_active()])
    async def refund() -> dict[str, bool]:
        return {"refunded": True}

    return app


def test_middleware_introspects_the_high_risk_paths_only(
    endpoint: IntrospectionServer, key: JWK
) -> None:
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=key,
        options=VerifierOptions(introspection=Introspector(_options(endpoint.url))),
    )
    app = BearerAuthMiddleware(
        _app(verifier),
        verifier=verifier,
        options=MiddlewareOptions(introspect_paths=("/payments",)),
    )
    headers = {"Authorization": f"Bearer {make_token(key)}"}
    with TestClient(app) as client:
        assert client.get("/orders", headers=headers).status_code == 200
        assert endpoint.requests == []
        assert client.post("/payments/1", headers=headers).json() == {"paid": "1"}
        assert len(endpoint.requests) == 1
        endpoint.answer = {"active": False}
        refused = client.post("/payments/2", headers=headers)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert client.get("/orders", headers=headers).status_code == 200
        endpoint.raw = (503, b"", {})
        down = client.post("/payments/3", headers=headers)
        assert down.status_code == 503
        assert down.json()["error"] == "temporarily_unavailable"
    with pytest.raises(ValueError, match="introspect_paths"):
        BearerAuthMiddleware(
            _app(verifier),
            verifier=AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key),
            options=MiddlewareOptions(introspect_paths=("/payments",)),
        )


def test_fastapi_require_active(endpoint: IntrospectionServer, key: JWK) -> None:
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=key,
        options=VerifierOptions(introspection=Introspector(_options(endpoint.url))),
    )
    app = _app(verifier)
    app.state.tokensmith_verifier = verifier
    headers = {"Authorization": f"Bearer {make_token(key)}"}
    with TestClient(app) as client:
        assert client.post("/refunds", headers=headers).json() == {"refunded": True}
        assert len(endpoint.requests) == 1
        assert client.get("/orders", headers=headers).status_code == 200
        assert len(endpoint.requests) == 1
        endpoint.answer = {"active": False}
        refused = client.post("/refunds", headers=headers)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
