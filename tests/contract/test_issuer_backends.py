"""The issuer over every backend: the rotation story (S25) with real concurrency on SQLite
and PostgreSQL, secrets at rest (S27) read straight from the SQLite file and the PostgreSQL
rows, and a restart on the same SQLite file."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tokensmith.issuer import AuthError, Issuer, MasterKeyError, OAuthError, RequestContext
from tokensmith.issuer.keys import KeyCipher
from tokensmith.store import Stores, open_stores
from tokensmith.store.sql import create_engine
from tokensmith.store.sql.schema import metadata

from .support import MASTER_KEY, CountingHasher, FakeClock, make_config

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def issuer(stores: Stores, clock: FakeClock) -> AsyncIterator[Issuer]:
    built = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    try:
        yield built
    finally:
        await built.close()


async def test_s25_rotation_story(issuer: Issuer, clock: FakeClock) -> None:
    await issuer.register(username="alice", password=PASSWORD)
    a = await issuer.login(username="alice", password=PASSWORD)
    b = await issuer.refresh(refresh_token=a.refresh_token)
    clock.advance(5)
    assert (await issuer.refresh(refresh_token=a.refresh_token)).refresh_token == b.refresh_token
    clock.advance(1)
    c = await issuer.refresh(refresh_token=b.refresh_token)
    await issuer.authenticate(c.access_token)
    clock.advance(1)
    with pytest.raises(OAuthError) as reuse:
        await issuer.refresh(refresh_token=a.refresh_token)  # an ancestor
    assert reuse.value.error == "invalid_grant"
    for token in (a.access_token, b.access_token, c.access_token):
        with pytest.raises(AuthError):
            await issuer.authenticate(token)
    with pytest.raises(OAuthError):
        await issuer.refresh(refresh_token=c.refresh_token)


async def test_s25_fifty_concurrent_refreshes_one_rotation(issuer: Issuer) -> None:
    await issuer.register(username="alice", password=PASSWORD)
    pair = await issuer.login(username="alice", password=PASSWORD)
    results = await asyncio.gather(
        *(issuer.refresh(refresh_token=pair.refresh_token) for _ in range(50)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert len({r.refresh_token for r in results if not isinstance(r, BaseException)}) == 1
    refreshes = await issuer.audit_events(kind="refresh", limit=200)
    assert len(refreshes) == 50
    assert sum(1 for e in refreshes if not e.details["grace_retry"]) == 1
    assert len(await issuer.list_sessions(user_id=refreshes[0].user_id or "")) == 1


async def test_revocation_reaches_a_second_issuer_on_the_same_database(
    stores: Stores, issuer: Issuer, clock: FakeClock
) -> None:
    other = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    try:
        await issuer.register(username="alice", password=PASSWORD)
        pair = await issuer.login(username="alice", password=PASSWORD)
        await other.authenticate(pair.access_token)
        await issuer.logout(refresh_token=pair.refresh_token)
        with pytest.raises(AuthError):
            await other.authenticate(pair.access_token)
        assert [e.value for e in await other.revocation_events()] == [pair.session_id]
    finally:
        await other.close()


# ---- S27: secrets at rest --------------------------------------------------------------


async def _secrets_issued(issuer: Issuer) -> list[str]:
    await issuer.register(username="alice", password=PASSWORD)
    a = await issuer.login(username="alice", password=PASSWORD)
    b = await issuer.refresh(refresh_token=a.refresh_token)
    c = await issuer.login(username="alice", password=PASSWORD)
    invite = await issuer.create_invite()
    setup = await issuer.setup_token()
    assert setup is not None
    return [a.refresh_token, b.refresh_token, c.refresh_token, invite, setup, PASSWORD]


async def _private_parts(stores: Stores) -> list[str]:
    cipher = KeyCipher(MASTER_KEY)
    parts = []
    for record in await stores.keys.list():
        private = json.loads(cipher.decrypt(record.kid, record.private_jwk))
        parts.append(private["d"])
    assert parts
    return parts


def _forms(secret: str) -> list[bytes]:
    """The secret as text, and its raw bytes when it is base64url."""
    forms = [secret.encode()]
    with contextlib.suppress(ValueError):
        forms.append(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4)))
    return [f for f in forms if len(f) >= 16]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_s27_sqlite_file_holds_no_raw_secret(
    backend: str, database_url: str, stores: Stores, issuer: Issuer
) -> None:
    secrets_ = await _secrets_issued(issuer) + await _private_parts(stores)
    path = Path(database_url.split("///", 1)[1])
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    content = b"".join(p.read_bytes() for p in files)
    assert len(content) > 4096
    for secret in secrets_:
        for form in _forms(secret):
            assert form not in content
    # the hashes are there (so the search above looked at the right bytes)
    from tokensmith.issuer.tokens import hash_secret

    assert hash_secret(secrets_[0]).encode() in content


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_s27_postgres_rows_hold_no_raw_secret(
    backend: str, database_url: str, stores: Stores, issuer: Issuer
) -> None:
    secrets_ = await _secrets_issued(issuer) + await _private_parts(stores)
    engine = create_engine(database_url)
    try:
        dump: list[bytes] = []
        async with engine.connect() as conn:
            for table in metadata.sorted_tables:
                for row in await conn.execute(table.select()):
                    for value in row:
                        if isinstance(value, (bytes, memoryview)):
                            dump.append(bytes(value))
                        elif value is not None:
                            dump.append(str(value).encode())
            count = (await conn.execute(sa.text("SELECT count(*) FROM refresh_tokens"))).scalar()
    finally:
        await engine.dispose()
    content = b"\n".join(dump)
    assert count == 3
    for secret in secrets_:
        for form in _forms(secret):
            assert form not in content


async def test_s27_no_secret_in_audit_log_lines_or_records(
    issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        secrets_ = await _secrets_issued(issuer)
        pair = await issuer.login(username="alice", password=PASSWORD)
        await issuer.refresh(refresh_token=pair.refresh_token)
        with pytest.raises(AuthError):
            await issuer.login(username="alice", password="my wrong secret")
        await issuer.revoke_token(token=pair.access_token)
        secrets_ += [pair.access_token, pair.refresh_token, "my wrong secret"]
    lines = [r.getMessage() for r in caplog.records]
    audit_lines = [r.getMessage() for r in caplog.records if r.name == "tokensmith.audit"]
    assert len(audit_lines) >= 8
    for line in audit_lines:
        json.loads(line)  # JSON lines
    stored = json.dumps([e.__dict__ for e in await issuer.audit_events(limit=1000)], default=str)
    for secret in secrets_:
        assert all(secret not in line for line in lines)
        assert secret not in stored


# ---- restart -----------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_restart_on_the_same_sqlite_file_keeps_everything(
    backend: str, database_url: str, clock: FakeClock
) -> None:
    config = make_config()
    stores = await open_stores(database_url)
    first = await Issuer.open(
        config, stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    await first.register(username="alice", password=PASSWORD)
    pair = await first.login(username="alice", password=PASSWORD)
    keys = [(k.kid, k.state) for k in await first.list_keys()]
    jwks = first.jwks()
    await first.close()
    await stores.close()

    clock.advance(30)
    stores = await open_stores(database_url)
    second = await Issuer.open(
        config, stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    try:
        assert [(k.kid, k.state) for k in await second.list_keys()] == keys
        assert second.jwks() == jwks
        assert [u.username for u in await second.list_users()] == ["alice"]
        claims = await second.authenticate(pair.access_token)
        assert [s.id for s in await second.list_sessions(user_id=claims.sub)] == [pair.session_id]
        fresh = await second.refresh(refresh_token=pair.refresh_token)
        await second.authenticate(fresh.access_token)
        await second.login(username="alice", password=PASSWORD)
    finally:
        await second.close()
        await stores.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_restart_with_another_master_key_fails_loudly(
    backend: str, database_url: str, clock: FakeClock
) -> None:
    stores = await open_stores(database_url)
    try:
        first = await Issuer.open(
            make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
        )
        await first.close()
        with pytest.raises(MasterKeyError, match="does not decrypt with this master key"):
            await Issuer.open(
                make_config(), stores, master_key=bytes(32), clock=clock, hasher=CountingHasher()
            )
    finally:
        await stores.close()


async def test_two_processes_rotating_at_once_make_one_rotation(
    stores: Stores, issuer: Issuer, clock: FakeClock
) -> None:
    other = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    try:
        before = {k.state: k.kid for k in await issuer.list_keys()}
        clock.advance(issuer.config.key_rotation)
        await asyncio.gather(issuer.maintain_keys(), other.maintain_keys())
        after = await issuer.list_keys()
        states = sorted(k.state for k in after)
        assert states == ["current", "next", "previous"]
        by_state = {k.state: k.kid for k in after}
        assert by_state["current"] == before["next"]
        assert by_state["previous"] == before["current"]
        # both processes sign with the new key and verify each other's tokens
        await issuer.register(username="alice", password=PASSWORD)
        one = await issuer.login(username="alice", password=PASSWORD)
        two = await other.login(username="alice", password=PASSWORD)
        await other.authenticate(one.access_token)
        await issuer.authenticate(two.access_token)
        # the loser may not have seen the winner's new next key yet; the next periodic
        # maintenance (well inside one JWKS cache lifetime) brings it in
        await other.maintain_keys()
        assert other.jwks() == issuer.jwks()
    finally:
        await other.close()


async def test_two_processes_starting_on_an_empty_database_share_keys(
    stores: Stores, clock: FakeClock
) -> None:
    one, two = await asyncio.gather(
        *(
            Issuer.open(
                make_config(),
                stores,
                master_key=MASTER_KEY,
                clock=clock,
                hasher=CountingHasher(),
            )
            for _ in range(2)
        )
    )
    try:
        await one.maintain_keys()
        await two.maintain_keys()
        assert sorted(k.state for k in await one.list_keys()) == ["current", "next"]
        assert one.jwks() == two.jwks()
    finally:
        await one.close()
        await two.close()


async def test_long_client_strings_are_cut_to_the_columns(issuer: Issuer) -> None:
    """A client controls its User-Agent: a 4 KB one must not break a login on PostgreSQL
    (whose varchar columns refuse longer values)."""
    ctx = RequestContext(ip="2001:db8::1\x00" * 10, user_agent="A" * 4096)
    await issuer.register(username="alice", password=PASSWORD, ctx=ctx)
    pair = await issuer.login(username="alice", password=PASSWORD, ctx=ctx)
    with pytest.raises(AuthError):
        await issuer.login(username="alice", password="wrong password!", ctx=ctx)
    claims = await issuer.authenticate(pair.access_token)
    session = (await issuer.list_sessions(user_id=claims.sub))[0]
    assert session.user_agent == "A" * 512
    odd = RequestContext(ip="\ud800", user_agent="x\x00\udfff")
    await issuer.login(username="alice", password=PASSWORD, ctx=odd)
    events = await issuer.audit_events(kind="login_ok")
    assert events[0].ip is not None
    assert len(events[0].ip) <= 64


HOSTILE = ["a\x00b", "\ud800", "x" * 5000, "é" * 300]


async def test_hostile_identifiers_get_domain_answers_not_driver_errors(issuer: Issuer) -> None:
    """NUL bytes, lone surrogates and huge strings in any identifier a client or an
    operator sends end in the issuer's own errors on every backend (PostgreSQL refuses
    NUL in text; every driver refuses lone surrogates)."""
    await issuer.register(username="alice", password=PASSWORD)
    pair = await issuer.login(username="alice", password=PASSWORD)
    user_id = (await issuer.authenticate(pair.access_token)).sub
    for value in HOSTILE:
        with pytest.raises(AuthError) as login:
            await issuer.login(username=value, password=PASSWORD)
        assert login.value.code == "invalid_credentials"
        with pytest.raises(AuthError) as register:
            await issuer.register(username=value, password=PASSWORD)
        assert register.value.code == "invalid_username"
        with pytest.raises(OAuthError) as grant:
            await issuer.refresh(refresh_token=value)
        assert grant.value.error == "invalid_grant"
        with pytest.raises(OAuthError):
            await issuer.refresh(refresh_token=pair.refresh_token, client_id=value)
        with pytest.raises(AuthError) as session:
            await issuer.revoke_session(user_id=user_id, session_id=value)
        assert session.value.code == "session_not_found"
        await issuer.logout(session_id=value, user_id=user_id)
        await issuer.revoke_token(token=value)
        with pytest.raises(AuthError) as op:
            await issuer.disable_user(username=value)
        assert op.value.code == "user_not_found"
        with pytest.raises(AuthError) as key:
            await issuer.retire_key(kid=value)
        assert key.value.code == "key_not_found"
        with pytest.raises(AuthError) as user:
            await issuer.get_user(user_id=value)
        assert user.value.code == "user_not_found"
        assert await issuer.logout_all(user_id=value) == 0
        assert await issuer.list_sessions(user_id=value) == []
        with pytest.raises(AuthError) as token:
            await issuer.authenticate(value)
        assert token.value.code == "invalid_token"
        with pytest.raises(AuthError) as change:
            await issuer.change_password(
                user_id=value, old_password=PASSWORD, new_password=PASSWORD
            )
        assert change.value.code == "invalid_credentials"
        with pytest.raises(AuthError) as invite_err:
            await issuer.redeem_setup_token(token=value, username="root", password=PASSWORD)
        assert invite_err.value.code == "invalid_setup_token"
    # the session that was never touched still works
    await issuer.refresh(refresh_token=pair.refresh_token)


async def test_passwords_that_cannot_be_encoded_are_refused_not_crashing(issuer: Issuer) -> None:
    bad = "\ud800" * 12
    with pytest.raises(AuthError) as register:
        await issuer.register(username="alice", password=bad)
    assert register.value.code == "weak_password"
    await issuer.register(username="alice", password=PASSWORD)
    with pytest.raises(AuthError) as login:
        await issuer.login(username="alice", password=bad)
    assert login.value.code == "invalid_credentials"
    # a NUL is just a character in a password
    await issuer.register(username="bob", password="with\x00nul inside")
    await issuer.login(username="bob", password="with\x00nul inside")


async def test_invite_registration_with_a_long_username(stores: Stores, clock: FakeClock) -> None:
    """The invite records the new user's id (a 60-character username once overflowed the
    36-character column on PostgreSQL)."""
    issuer = await Issuer.open(
        make_config(registration="invite"),
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=CountingHasher(),
    )
    try:
        code = await issuer.create_invite()
        user = await issuer.register(username="u" * 60, password=PASSWORD, invite=code)
        assert user.username == "u" * 60
        await issuer.login(username="u" * 60, password=PASSWORD)
    finally:
        await issuer.close()
