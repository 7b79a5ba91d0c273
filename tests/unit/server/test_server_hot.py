"""server/hot.py: ``POST /auth/login`` and ``/auth/refresh`` on the short path answer
exactly as on FastAPI's own path.

Two apps with the same settings, each over its own real Issuer (memory stores, one fixed
clock), get the same requests in the same order: one app with the short path, one
without. Their answers must match: status, headers, body; only the random token values
are masked. The short path must also be taken (its counter), or the comparison would
prove nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
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
from tokensmith.server.hot import HotRoutes
from tokensmith.settings import Settings, load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio

ORIGIN = "https://app.example"
NOW = 1_800_000_000.0
TOKEN_MEMBERS = ("access_token", "refresh_token", "csrf_token", "id")  # random values


@dataclass
class Side:
    app: FastAPI
    client: httpx.AsyncClient
    refresh: str = ""  # the newest refresh token this side was given (body mode)


@dataclass
class Pair:
    hot: Side
    slow: Side

    async def both(self, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
        """The same request to both apps; their answers, normalized."""
        answers = []
        for side in (self.hot, self.slow):
            response = await side.client.request(method, path, **kwargs)
            answers.append(_normal(response))
            body = answers[-1][2]
            if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
                side.refresh = response.json()["refresh_token"]
        return answers[0], answers[1]

    async def same(self, method: str, path: str, **kwargs: Any) -> Any:
        hot, slow = await self.both(method, path, **kwargs)
        assert hot == slow, f"{method} {path} {kwargs}"
        return hot


def _mask_cookie(value: str) -> str:
    return re.sub(r"^([^=]+)=[^;]+", r"\1=<token>", value)


def _normal(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    headers = [
        (name, _mask_cookie(value) if name == "set-cookie" else value)
        for name, value in response.headers.multi_items()
        if name not in ("content-length", "date")
    ]
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body = {k: "<token>" if k in TOKEN_MEMBERS and v else v for k, v in body.items()}
    return response.status_code, headers, body


async def _side(settings: Settings, *, short_path: bool) -> tuple[Side, Issuer]:
    hasher = Argon2Hasher(Argon2Params(time_cost=1, memory_cost=1024, parallelism=1))
    issuer = await Issuer.open(
        issuer_config(settings),
        memory_stores(),
        master_key=bytes(32),
        hasher=hasher,
        clock=lambda: NOW,
    )
    app = create_app(settings, issuer=issuer, short_path=short_path)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    client = httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1:8000")
    return Side(app, client), issuer


def _hot(app: FastAPI) -> HotRoutes | None:
    """The app's HotRoutes layer, if it has one (the stack is built at the first call)."""
    layer: Any = app.middleware_stack
    while layer is not None:
        if isinstance(layer, HotRoutes):
            return layer
        layer = getattr(layer, "app", None)
    return None


@pytest.fixture(params=[False, True], ids=["body-mode", "cookie-mode"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    settings = load_settings(
        cookie_mode=request.param,
        allowed_origins=ORIGIN,
        rate_account_limit=5,
        issuer="https://127.0.0.1:8000",
    )
    hot, hot_issuer = await _side(settings, short_path=True)
    slow, slow_issuer = await _side(settings, short_path=False)
    both = Pair(hot, slow)
    async with (
        hot.app.router.lifespan_context(hot.app),
        slow.app.router.lifespan_context(slow.app),
        hot.client,
        slow.client,
    ):
        for name in ("alice", "bob"):
            created = await both.same(
                "POST", "/auth/register", json={"username": name, "password": "a long password"}
            )
            assert created[0] == 201
        yield both
    assert _hot(slow.app) is None
    for issuer in (hot_issuer, slow_issuer):
        await issuer.close()


def _login(body: Any, **headers: str) -> dict[str, Any]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {"content": content, "headers": {"content-type": "application/json", **headers}}


GOOD = {"username": "alice", "password": "a long password"}

LOGINS: list[tuple[str, dict[str, Any]]] = [
    ("ok", _login(GOOD)),
    ("ok, origin", _login(GOOD, origin=ORIGIN)),
    ("charset", _login(GOOD, **{"content-type": "application/json; charset=utf-8"})),
    ("upper case type", _login(GOOD, **{"content-type": "Application/JSON"})),
    ("+json type", _login(GOOD, **{"content-type": "application/vnd.api+json"})),
    ("form type", _login(GOOD, **{"content-type": "application/x-www-form-urlencoded"})),
    ("no type", {"content": json.dumps(GOOD).encode()}),
    ("wrong password", _login({**GOOD, "password": "not the password"})),
    ("unknown user", _login({"username": "nobody", "password": "a long password"})),
    ("missing password", _login({"username": "alice"})),
    ("extra member", _login({**GOOD, "remember": True})),
    ("number as name", _login({"username": 7, "password": "a long password"})),
    ("empty password", _login({**GOOD, "password": ""})),
    ("long name", _login({**GOOD, "username": "u" * 5000})),
    ("unknown client", _login({**GOOD, "client_id": "nope"})),
    ("empty client", _login({**GOOD, "client_id": ""})),
    ("dpop garbage", _login(GOOD, dpop="not.a.proof")),
    ("not JSON", _login(b"{")),
    ("empty body", _login(b"")),
    ("null", _login(b"null")),
    ("array", _login(b"[]")),
    ("deep", _login(b"[" * 5000 + b"]" * 5000)),
    ("huge number", _login(b'{"username": 1e999999, "password": "x"}')),
    ("lone surrogates", _login(b'{"username": "\\ud800", "password": "\\udfff"}')),
    ("bad utf-8", _login(b'{"username": "\xc3\x28", "password": "x"}')),
    ("duplicate members", _login(b'{"username": "x", "username": "alice", "password": "a"}')),
]


async def test_login_answers_alike_on_both_paths(pair: Pair) -> None:
    for what, request in LOGINS:
        hot, slow = await pair.both("POST", "/auth/login", **request)
        assert hot == slow, what
    for path in ("/auth/login/", "/auth/login?x=1"):
        await pair.same("POST", path, **_login(GOOD))
    await pair.same("GET", "/auth/login")
    layer = _hot(pair.hot.app)
    assert layer is not None
    assert layer.taken >= 10  # the valid JSON bodies above, at least


async def test_rate_limit_answers_alike_on_both_paths(pair: Pair) -> None:
    answers = []
    for _ in range(8):
        answers.append(await pair.same("POST", "/auth/login", **_login({**GOOD, "password": "x"})))
    assert answers[-1][0] == 429
    assert any(name == "retry-after" for name, _ in answers[-1][1])


async def test_refresh_answers_alike_on_both_paths(pair: Pair) -> None:
    cookie_mode = bool(pair.hot.app.state.settings.cookie_mode)
    first = await pair.same("POST", "/auth/login", **_login(GOOD, origin=ORIGIN))
    assert first[0] == 200
    if cookie_mode:
        csrf = {}
        for side in (pair.hot, pair.slow):
            csrf[id(side)] = side.client.cookies.get("__Host-tokensmith-csrf")
        for headers in ({"origin": ORIGIN}, {}):
            answers = []
            for side in (pair.hot, pair.slow):
                sent = {"content-type": "application/json", **headers}
                if headers:
                    sent["x-csrf-token"] = csrf[id(side)] or ""
                answers.append(
                    _normal(await side.client.post("/auth/refresh", content=b"{}", headers=sent))
                )
            assert answers[0] == answers[1], headers
        await pair.same("POST", "/auth/refresh", **_login({"refresh_token": "x" * 43}))
    else:
        tokens = (pair.hot.refresh, pair.slow.refresh)
        for _ in range(2):  # a rotation, then its retry inside the grace window
            answers = []
            for side, token in zip((pair.hot, pair.slow), tokens, strict=True):
                request = _login({"refresh_token": token})
                answers.append(_normal(await side.client.post("/auth/refresh", **request)))
            assert answers[0] == answers[1]
            assert answers[0][0] == 200
        for body in ({"refresh_token": "x" * 43}, {"refresh_token": ""}, {}, {"refresh": "x"}):
            await pair.same("POST", "/auth/refresh", **_login(body))
    layer = _hot(pair.hot.app)
    assert layer is not None
    assert layer.taken >= 2


async def test_the_metrics_count_the_short_path_under_its_route(pair: Pair) -> None:
    for request in (_login(GOOD), _login({**GOOD, "password": "x"}), _login(b"{")):
        await pair.same("POST", "/auth/login", **request)

    def counted(side: Side) -> dict[tuple[str, ...], float]:
        found = {}
        for metric in side.app.state.metrics.requests.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    found[tuple(sorted(sample.labels.items()))] = sample.value
        return found

    hot, slow = counted(pair.hot), counted(pair.slow)
    assert hot == slow
    assert any(("route", "/auth/login") in labels for labels in hot)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
members = st.sampled_from(["username", "password", "client_id", "refresh_token", "x"])
texts = st.sampled_from(["alice", "bob", "a long password", "", "first-party", "x" * 70])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(members, texts | json_values, max_size=4),
    path=st.sampled_from(["/auth/login", "/auth/refresh"]),
)
async def test_any_json_body_answers_alike_on_both_paths(
    pair: Pair, body: dict[str, Any], path: str
) -> None:
    await pair.same("POST", path, **_login(body, origin=ORIGIN))
