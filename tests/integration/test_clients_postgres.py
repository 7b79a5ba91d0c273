"""Issue 6 across two `tokensmith serve` processes sharing one PostgreSQL database: a
client created once authenticates on both, a private_key_jwt assertion used on one is a
replay on the other, and revoking or disabling on one is seen by the other."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services import postgres_database
from tokensmith.jose import JWK

from .server_process import Server, start_pair
from .test_clients import ASSERTION_TYPE, add_client, assertion, basic, token_request, verified

pytestmark = pytest.mark.services


@pytest.fixture
def pg_pair(make_server: Any) -> Iterator[tuple[Server, Server]]:
    with postgres_database("tokensmith_clients") as url:
        first, second = start_pair(make_server, database_url=url, master_key="M" * 43)
        yield first, second
        second.stop()
        first.stop()


def test_postgres_clients_span_two_processes(
    pg_pair: tuple[Server, Server], tmp_path: Path
) -> None:
    a, b = pg_pair
    key = JWK.generate("ES256", kid="k")
    (tmp_path / "k.json").write_text(json.dumps({"keys": [key.public().to_dict()]}))
    add_client(
        a,
        "svc-k",
        "--auth",
        "private_key_jwt",
        "--jwks",
        str(tmp_path / "k.json"),
        "--audience",
        "svc-b",
    )
    s = add_client(a, "svc-s", "--audience", "svc-b")
    with a.client() as on_a, b.client() as on_b:
        signed = assertion(a, key, "svc-k")
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
        }
        first = token_request(on_a, form)
        assert first.status_code == 200, first.text
        replay = token_request(on_b, form)
        assert replay.status_code == 401
        assert "replay" in replay.json()["error_description"]
        # a secret client's token from A is introspected on B; revoked on A, inactive on B
        auth = basic("svc-s", s["client_secret"])
        token = token_request(on_a, {"grant_type": "client_credentials"}, auth).json()
        assert verified(a, token["access_token"], "svc-b")["sub"] == "svc-s"
        seen = on_b.post("/oauth/introspect", data={"token": token["access_token"]}, headers=auth)
        assert seen.json()["active"] is True
        revoked = on_a.post("/oauth/revoke", data={"token": token["access_token"]}, headers=auth)
        assert revoked.status_code == 200
        seen = on_b.post("/oauth/introspect", data={"token": token["access_token"]}, headers=auth)
        assert seen.json() == {"active": False}
        # disabled through A's CLI: B refuses the client at once
        assert a.cli("clients", "disable", "svc-s").returncode == 0
        refused = token_request(on_b, {"grant_type": "client_credentials"}, auth)
        assert refused.status_code == 401
    assert httpx.get(f"{b.url}/readyz").status_code == 200
