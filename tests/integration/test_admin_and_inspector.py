"""Issue 10 against a real ``tokensmith serve``: the admin API (users, key timeline and
rotation, audit log) over HTTP, and the token inspector leaving no trace in the log."""

from __future__ import annotations

from typing import Any

from .server_process import PASSWORD, Server


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_api_and_inspector_on_a_real_server(make_server: Any) -> None:
    server: Server = make_server(jwks_max_age="60", key_rotation="30d")
    added = server.cli("users", "add", "root", "--admin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    with server.client() as client:
        bob = server.register_and_login(client, "bob")
        login = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
        admin = _bearer(login.json()["access_token"])

        found = client.get("/admin/users", params={"q": "BO"}, headers=admin).json()
        assert [u["username"] for u in found["users"]] == ["bob"]
        bob_id = found["users"][0]["id"]
        reset = client.post(f"/admin/users/{bob_id}/revoke-sessions", headers=admin)
        assert reset.json() == {"user_id": bob_id, "revoked": 1}
        assert client.get("/userinfo", headers=_bearer(bob["access_token"])).status_code == 401
        disabled = client.post(f"/admin/users/{bob_id}/disable", headers=admin)
        assert disabled.json()["disabled"] is True

        keys = client.get("/admin/keys", headers=admin).json()
        assert [k["state"] for k in keys["keys"]] == ["next", "current"]
        assert client.post("/admin/keys/rotate", headers=admin).status_code == 409
        server.advance(61)
        rotated = client.post("/admin/keys/rotate", json={}, headers=admin)
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["current"]["kid"] == keys["keys"][0]["kid"]
        after = client.get("/admin/keys", headers=admin).json()
        assert [k["state"] for k in after["keys"]] == ["next", "current", "previous"]

        audit = client.get(
            "/admin/audit", params={"kind": "admin_action", "user": "bob"}, headers=admin
        ).json()
        assert [e["details"]["action"] for e in audit["events"]] == [
            "disable_user",
            "revoke_user",
        ]
        rotations = client.get("/admin/audit", params={"kind": "key_rotated"}, headers=admin)
        assert any(e["details"].get("manual") for e in rotations.json()["events"])

        fresh = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
        token = fresh.json()["access_token"]
        inspected = client.post("/inspector/analyze", json={"token": token})
        assert inspected.status_code == 200
        assert inspected.json()["signature"]["status"] == "valid"
        assert inspected.json()["header"]["kid"] == rotated.json()["current"]["kid"]
        refused = client.post("/inspector/analyze", json={"token": token[:-3] + "..."})
        assert refused.status_code == 400
    log = server.output()
    assert '"path": "/inspector/analyze"' in log
    for secret in (token, token.split(".")[2], token.split(".")[1]):
        assert secret not in log
