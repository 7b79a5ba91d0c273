"""``tokensmith migrate-data`` and ``tokensmith db upgrade`` with real processes: an
embedded data dir written by a real server moves into PostgreSQL, and a server on
PostgreSQL with the same master key carries on (logins, rotation, the same JWKS)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from services import postgres_database
from tokensmith.store.sql.engine import head_revision, revisions_between

from .server_process import PASSWORD, Server

pytestmark = pytest.mark.services


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("tokensmith_migrate") as url:
        yield url


def _pg_rows(url: str, table: str) -> int:
    import asyncpg

    async def count() -> int:
        parts = make_url(url)
        conn = await asyncpg.connect(
            host=parts.host, port=parts.port, user=parts.username, database=parts.database
        )
        try:
            return int(await conn.fetchval(f'SELECT count(*) FROM "{table}"'))  # noqa: S608 (fixed names)
        finally:
            await conn.close()

    return asyncio.run(count())


def _refresh(server: Server, token: str) -> Any:
    with server.client() as client:
        return client.post("/auth/refresh", json={"refresh_token": token})


def test_migrate_data_moves_a_live_data_dir_into_postgresql(make_server: Any, pg_url: str) -> None:
    old: Server = make_server()
    with old.client() as client:
        alice = old.register_and_login(client, "alice")
        bob = old.register_and_login(client, "bob")
        carol = old.register_and_login(client, "carol")
        rotated = _refresh(old, alice["refresh_token"])
        assert rotated.status_code == 200
        alice_token = rotated.json()["refresh_token"]
        out = client.post("/auth/logout", json={"refresh_token": carol["refresh_token"]})
        assert out.status_code == 204
        jwks = client.get("/.well-known/jwks.json").json()
    old.stop()

    moved = old.cli("migrate-data", "--from", str(old.data_dir), "--to", pg_url)
    assert moved.returncode == 0, moved.stderr
    assert "verified:" in moved.stdout
    assert f"cat {old.data_dir / 'master.key'}" in moved.stdout  # says which key to keep
    assert _pg_rows(pg_url, "users") == 3
    with sqlite3.connect(old.data_dir / "tokensmith.db") as db:
        for table in ("sessions", "refresh_tokens", "signing_keys", "revocations", "audit_events"):
            (expected,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            assert expected > 0, table
            assert _pg_rows(pg_url, table) == expected, table

    again = old.cli("migrate-data", "--from", str(old.data_dir), "--to", pg_url)
    assert again.returncode == 1
    assert "target_not_empty" in again.stderr
    assert "--force" in again.stderr
    forced = old.cli("migrate-data", "--from", str(old.data_dir), "--to", pg_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert _pg_rows(pg_url, "users") == 3  # replaced, not doubled

    master_key = (old.data_dir / "master.key").read_text().strip()
    new: Server = make_server(database_url=pg_url, master_key=master_key, issuer=old.url)
    with new.client() as client:
        assert client.get("/.well-known/jwks.json").json() == jwks
        login = client.post("/auth/login", json={"username": "bob", "password": PASSWORD})
        assert login.status_code == 200, login.text
    first = _refresh(new, alice_token)
    assert first.status_code == 200, first.text
    assert _refresh(new, first.json()["refresh_token"]).status_code == 200
    assert _refresh(new, bob["refresh_token"]).status_code == 200
    assert _refresh(new, carol["refresh_token"]).status_code == 400  # logged out stays out
    # the old token rotated before the move is an ancestor: reuse, the family is revoked
    assert _refresh(new, alice["refresh_token"]).status_code == 400


def test_migrate_data_failure_commits_nothing(tmp_path: Path, pg_url: str) -> None:
    data = tmp_path / "data"
    helper = Server(data, {})
    made = helper.cli("users", "add", "dora", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    with sqlite3.connect(data / "tokensmith.db") as db:
        # SQLite does not enforce VARCHAR(256); PostgreSQL does: the copy fails midway
        db.execute(
            "INSERT INTO users (id, username, username_key, password_hash, roles, created_at,"
            " updated_at) VALUES ('u-long', ?, ?, 'x', '', 0, 0)",
            ("l" * 300, "l" * 300),
        )
    failed = helper.cli("migrate-data", "--from", str(data), "--to", pg_url)
    assert failed.returncode == 1
    assert "copy_failed" in failed.stderr
    assert "nothing was committed" in failed.stderr
    for table in ("users", "signing_keys", "audit_events"):
        assert _pg_rows(pg_url, table) == 0, table
    with sqlite3.connect(data / "tokensmith.db") as db:
        db.execute("DELETE FROM users WHERE id = 'u-long'")
    retried = helper.cli("migrate-data", "--from", str(data), "--to", pg_url)
    assert retried.returncode == 0, retried.stderr  # the same command, once fixed
    assert _pg_rows(pg_url, "users") == 1


def test_migrate_data_refuses_a_missing_data_dir_and_a_non_postgres_target(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    helper = Server(data, {})
    assert helper.cli("users", "add", "erin", stdin=PASSWORD + "\n").returncode == 0
    missing = helper.cli("migrate-data", "--from", str(tmp_path / "nope"), "--to", "x")
    assert missing.returncode == 2
    sqlite_target = helper.cli(
        "migrate-data", "--from", str(data), "--to", f"sqlite:///{tmp_path / 'other.db'}"
    )
    assert sqlite_target.returncode == 1
    assert "not_postgresql" in sqlite_target.stderr


def test_db_upgrade_says_what_it_applied_then_that_nothing_is_left(
    tmp_path: Path, pg_url: str
) -> None:
    helper = Server(tmp_path / "data", {"TOKENSMITH_DATABASE_URL": pg_url})
    first = helper.cli("db", "upgrade")
    assert first.returncode == 0, first.stderr
    expected = revisions_between(None, head_revision())
    assert expected
    for revision, _doc in expected:
        assert f"applied {revision}:" in first.stdout
    assert "***" in first.stdout or "@" in first.stdout  # the URL, password hidden
    second = helper.cli("db", "upgrade")
    assert second.returncode == 0
    assert "already at the newest schema" in second.stdout
    assert "applied" not in second.stdout
