"""Issue 10: the admin API for users, signing keys and the audit log, in process over
httpx's ASGI transport (a real Issuer over memory stores, a fixed clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer.service import Issuer
from tokensmith.server import create_app
from tokensmith.settings import load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


@dataclass
class Admin:
    app: FastAPI
    issuer: Issuer
    clock: FakeClock
    http: httpx.AsyncClient
    token: str

    async def login(self, username: str) -> str:
        return (await self.issuer.login(username=username, password=PASSWORD)).access_token

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


@pytest.fixture
async def admin() -> AsyncIterator[Admin]:
    clock = FakeClock()
    stores = memory_stores()
    issuer = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    await issuer.add_user(username="root", password=PASSWORD, admin=True)
    app = create_app(load_settings(), issuer=issuer)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        token = (await issuer.login(username="root", password=PASSWORD)).access_token
        yield Admin(app, issuer, clock, http, token)
    await issuer.close()
    await stores.close()


ROUTES = [
    ("GET", "/admin/users"),
    ("GET", "/admin/users/x"),
    ("POST", "/admin/users/x/disable"),
    ("POST", "/admin/users/x/enable"),
    ("POST", "/admin/users/x/revoke-sessions"),
    ("GET", "/admin/keys"),
    ("POST", "/admin/keys/rotate"),
    ("GET", "/admin/audit"),
]


async def test_every_admin_route_needs_an_admin_token(admin: Admin) -> None:
    await admin.issuer.add_user(username="bob", password=PASSWORD)
    user_token = await admin.login("bob")
    for method, path in ROUTES:
        anonymous = await admin.http.request(method, path)
        assert anonymous.status_code == 401, path
        assert anonymous.json()["error"] == "unauthorized"
        plain = await admin.http.request(method, path, headers=admin.auth(user_token))
        assert plain.status_code == 403, path
        assert plain.json()["error"] == "forbidden"
        assert plain.headers["cache-control"] == "no-store"


async def test_users_search_and_paging(admin: Admin) -> None:
    admin.clock.advance(1)  # users are listed by creation time; root was made at T0
    for name in ("alice", "bob", "Alina", "carol"):
        await admin.issuer.add_user(username=name, password=PASSWORD)
        admin.clock.advance(1)
    everyone = await admin.http.get("/admin/users", headers=admin.auth())
    assert [u["username"] for u in everyone.json()["users"]] == [
        "root",
        "alice",
        "bob",
        "Alina",
        "carol",
    ]
    assert everyone.json()["next_offset"] is None
    found = await admin.http.get("/admin/users", params={"q": "AL"}, headers=admin.auth())
    assert [u["username"] for u in found.json()["users"]] == ["alice", "Alina"]
    page = await admin.http.get("/admin/users", params={"limit": 2}, headers=admin.auth())
    assert [u["username"] for u in page.json()["users"]] == ["root", "alice"]
    assert page.json()["next_offset"] == 2
    last = await admin.http.get(
        "/admin/users", params={"limit": 2, "offset": 4}, headers=admin.auth()
    )
    assert [u["username"] for u in last.json()["users"]] == ["carol"]
    assert last.json()["next_offset"] is None
    by_id = await admin.http.get(
        "/admin/users", params={"q": page.json()["users"][1]["id"]}, headers=admin.auth()
    )
    assert [u["username"] for u in by_id.json()["users"]] == ["alice"]
    root = page.json()["users"][0]
    assert root["roles"] == ["admin"]
    assert root["disabled"] is False
    one = await admin.http.get(f"/admin/users/{root['id']}", headers=admin.auth())
    assert one.json() == root


async def test_disable_enable_and_reset_sessions(admin: Admin) -> None:
    bob = await admin.issuer.add_user(username="bob", password=PASSWORD)
    bob_token = await admin.login("bob")
    assert (await admin.http.get("/userinfo", headers=admin.auth(bob_token))).status_code == 200

    reset = await admin.http.post(f"/admin/users/{bob.id}/revoke-sessions", headers=admin.auth())
    assert reset.json() == {"user_id": bob.id, "revoked": 1}
    refused = await admin.http.get("/userinfo", headers=admin.auth(bob_token))
    assert refused.status_code == 401
    assert not (await admin.issuer.get_user(user_id=bob.id)).disabled

    admin.clock.advance(1)
    await admin.login("bob")  # still allowed: resetting sessions does not disable
    disabled = await admin.http.post(f"/admin/users/{bob.id}/disable", headers=admin.auth())
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    with pytest.raises(Exception, match="disabled"):
        await admin.login("bob")
    enabled = await admin.http.post(f"/admin/users/{bob.id}/enable", headers=admin.auth())
    assert enabled.json()["disabled"] is False
    admin.clock.advance(1)
    assert await admin.login("bob")

    kinds = [e.details.get("action") for e in await admin.issuer.audit_events(kind="admin_action")]
    assert kinds[:3] == ["enable_user", "disable_user", "revoke_user"]


async def test_admin_cannot_disable_self_and_unknown_users_are_404(admin: Admin) -> None:
    me = (await admin.http.get("/userinfo", headers=admin.auth())).json()["sub"]
    own = await admin.http.post(f"/admin/users/{me}/disable", headers=admin.auth())
    assert own.status_code == 400
    assert own.json()["error"] == "own_account"
    for method, path in ROUTES[1:5]:
        missing = await admin.http.request(
            method, path.replace("/x", "/nobody"), headers=admin.auth()
        )
        assert missing.status_code == 404, path
        assert missing.json()["error"] == "user_not_found"


async def test_key_timeline_and_rotation(admin: Admin) -> None:
    config = admin.issuer.config
    before = (await admin.http.get("/admin/keys", headers=admin.auth())).json()
    states = [k["state"] for k in before["keys"]]
    assert states == ["next", "current"]
    nxt, current = before["keys"]
    assert before["now"] == admin.clock.now
    assert before["next_ready_at"] == nxt["created_at"] + config.jwks_max_age
    assert before["next_rotation_at"] == max(
        current["activated_at"] + config.key_rotation, before["next_ready_at"]
    )
    assert nxt["published"]
    assert current["published"]

    early = await admin.http.post("/admin/keys/rotate", headers=admin.auth())
    assert early.status_code == 409
    assert early.json()["error"] == "key_state"

    admin.clock.advance(config.jwks_max_age + 1)
    token = await admin.login("root")
    rotated = await admin.http.post("/admin/keys/rotate", json={}, headers=admin.auth(token))
    assert rotated.status_code == 200
    assert rotated.json()["current"]["kid"] == nxt["kid"]
    after = (await admin.http.get("/admin/keys", headers=admin.auth(token))).json()
    by_state = {k["state"]: k for k in after["keys"]}
    assert [k["state"] for k in after["keys"]] == ["next", "current", "previous"]
    assert by_state["current"]["kid"] == nxt["kid"]
    assert by_state["current"]["activated_at"] == admin.clock.now
    assert by_state["previous"]["kid"] == current["kid"]
    assert by_state["previous"]["deactivated_at"] == admin.clock.now
    assert by_state["previous"]["publish_until"] > admin.clock.now
    assert by_state["next"]["kid"] not in (nxt["kid"], current["kid"])

    forced = await admin.http.post(
        "/admin/keys/rotate", json={"force": True}, headers=admin.auth(token)
    )
    assert forced.json()["current"]["kid"] == by_state["next"]["kid"]
    states = [
        k["state"]
        for k in (await admin.http.get("/admin/keys", headers=admin.auth(token))).json()["keys"]
    ]
    assert states == ["next", "current", "previous", "retired"]


async def test_rotate_rejects_a_malformed_body(admin: Admin) -> None:
    for body in ({"force": "yes"}, {"force": True, "extra": 1}, [1]):
        bad = await admin.http.post("/admin/keys/rotate", json=body, headers=admin.auth())
        assert bad.status_code == 400, body
        assert bad.json()["error"] == "invalid_request"


async def test_audit_filters_and_paging(admin: Admin) -> None:
    bob = await admin.issuer.add_user(username="bob", password=PASSWORD)
    admin.clock.advance(10)
    start = admin.clock.now
    for _ in range(3):
        with pytest.raises(Exception, match="wrong"):
            await admin.issuer.login(username="bob", password="wrong password!")
        admin.clock.advance(10)
    await admin.login("bob")

    failed = await admin.http.get(
        "/admin/audit", params={"kind": "login_failed"}, headers=admin.auth()
    )
    events = failed.json()["events"]
    assert [e["kind"] for e in events] == ["login_failed"] * 3
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)

    for user in ("bob", bob.id):
        mine = await admin.http.get("/admin/audit", params={"user": user}, headers=admin.auth())
        assert {e["user_id"] for e in mine.json()["events"]} == {bob.id}
        assert mine.json()["events"][0]["kind"] == "login_ok"

    window = await admin.http.get(
        "/admin/audit",
        params={"since": str(start), "until": str(start + 15)},
        headers=admin.auth(),
    )
    assert [e["at"] for e in window.json()["events"]] == [start + 10, start]
    iso = await admin.http.get(
        "/admin/audit",
        params={"since": "2027-01-15T08:00:20+00:00", "kind": "login_failed"},
        headers=admin.auth(),
    )
    # T0 is 2027-01-15T08:00:00Z: the failures at T0+20 and T0+30
    assert [e["at"] for e in iso.json()["events"]] == [start + 20, start + 10]

    page1 = await admin.http.get(
        "/admin/audit", params={"kind": "login_failed", "limit": 2}, headers=admin.auth()
    )
    cursor = page1.json()["next_before"]
    assert cursor == page1.json()["events"][-1]["id"]
    page2 = await admin.http.get(
        "/admin/audit",
        params={"kind": "login_failed", "limit": 2, "before": cursor},
        headers=admin.auth(),
    )
    assert len(page2.json()["events"]) == 1
    assert page2.json()["next_before"] is None
    seen = [e["id"] for e in page1.json()["events"] + page2.json()["events"]]
    assert len(set(seen)) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "DROP TABLE"},
        {"kind": "x" * 65},
        {"since": "yesterday"},
        {"since": "2027-01-01T00:00:00"},
        {"since": "nan"},
        {"since": "-5"},
        {"since": "100", "until": "50"},
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "ten"},
        {"before": "0"},
        {"user": "u" * 300},
    ],
)
async def test_audit_bad_filters_are_invalid_request(admin: Admin, params: dict[str, str]) -> None:
    bad = await admin.http.get("/admin/audit", params=params, headers=admin.auth())
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_request"


async def test_audit_unknown_user_is_404_and_bad_user_paging_is_400(admin: Admin) -> None:
    missing = await admin.http.get("/admin/audit", params={"user": "ghost"}, headers=admin.auth())
    assert missing.status_code == 404
    assert missing.json()["error"] == "user_not_found"
    for params in ({"limit": "0"}, {"offset": "-1"}, {"q": "q" * 257}):
        bad = await admin.http.get("/admin/users", params=params, headers=admin.auth())
        assert bad.status_code == 400, params
        assert bad.json()["error"] == "invalid_request"
