"""The examples' walk-throughs, against a real ``tokensmith serve``: each example app is
loaded from examples/ with its environment set and called through its framework's
test client."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .server_process import Server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FEED_SECRET = "examples-feed-secret-0123456789abcdef"


def _load(name: str, path: Path, monkeypatch: pytest.MonkeyPatch, server: Server) -> ModuleType:
    monkeypatch.setenv("ISSUER", server.url)
    monkeypatch.setenv("FEED_SECRET", FEED_SECRET)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _until_refused(call: Any, timeout: float = 1.0) -> float:
    started = time.monotonic()
    while call() == 200:
        assert time.monotonic() - started < timeout, "still accepted"
        time.sleep(0.01)
    return time.monotonic() - started


def test_fastapi_example_walk_through(make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    example = _load(
        "example_fastapi_app", EXAMPLES / "fastapi_service" / "app.py", monkeypatch, server
    )
    with server.client() as auth, TestClient(example.app) as api:
        token = server.register_and_login(auth, "alice")["access_token"]
        assert example.feed.wait_connected(10)
        me = api.get("/me", headers=_bearer(token))
        assert me.status_code == 200, me.text
        assert "profile" in me.json()["scopes"]
        assert api.post("/orders", headers=_bearer(token)).status_code == 201
        assert len(api.get("/orders", headers=_bearer(token)).json()) == 1
        forbidden = api.delete("/orders", headers=_bearer(token))
        assert forbidden.status_code == 403
        assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
        # no credentials: the Bearer challenge, and DPoP's (on by default, RFC 9449 §7.1)
        assert api.get("/me").headers["www-authenticate"].startswith("Bearer, DPoP algs=")
        assert api.get("/health").status_code == 200
        assert auth.post("/auth/logout-all", headers=_bearer(token)).status_code == 200
        _until_refused(lambda: api.get("/me", headers=_bearer(token)).status_code)
        assert api.get("/me", headers=_bearer(token)).json()["code"] == "jwt_revoked"


def test_flask_example_walk_through(make_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    example = _load("example_flask_app", EXAMPLES / "flask_service" / "app.py", monkeypatch, server)
    try:
        api = example.app.test_client()
        with server.client() as auth:
            token = server.register_and_login(auth, "bob")["access_token"]
            assert example.feed.wait_connected(10)
            assert api.post("/notes", headers=_bearer(token)).status_code == 201
            listed = api.get("/notes", headers=_bearer(token))
            assert listed.status_code == 200
            assert listed.get_json()["notes"] == ["note 1"]
            admin = api.get("/admin", headers=_bearer(token))
            assert admin.status_code == 403
            assert 'error="insufficient_scope"' in admin.headers["WWW-Authenticate"]
            assert auth.post("/auth/logout-all", headers=_bearer(token)).status_code == 200
            _until_refused(lambda: api.get("/notes", headers=_bearer(token)).status_code)
            assert api.get("/notes", headers=_bearer(token)).get_json()["code"] == "jwt_revoked"
    finally:
        example.feed.stop()
