"""The storage contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tokensmith.store import (
    AuditRecord,
    DuplicateError,
    InviteRecord,
    KeyRecord,
    RefreshTokenRecord,
    SessionRecord,
    Stores,
    UserRecord,
)

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000.0


def user(n: int = 1, *, roles: tuple[str, ...] = (), at: float = T0) -> UserRecord:
    return UserRecord(
        id=f"user-{n}",
        username=f"User{n}",
        username_key=f"user{n}",
        password_hash=f"$argon2id$fake{n}",
        created_at=at,
        updated_at=at,
        roles=roles,
    )


def session(n: int = 1, *, user_id: str = "user-1", at: float = T0) -> SessionRecord:
    return SessionRecord(
        id=f"sess-{n}",
        user_id=user_id,
        client_id="first-party",
        scope="openid",
        created_at=at,
        last_used_at=at,
        expires_at=at + 1000,
        ip="127.0.0.1",
        user_agent="pytest",
    )


def token(
    name: str, *, session_id: str = "sess-1", parent: str | None = None, at: float = T0
) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=name.ljust(64, "0"),
        session_id=session_id,
        user_id="user-1",
        issued_at=at,
        expires_at=at + 500,
        parent_hash=None if parent is None else parent.ljust(64, "0"),
    )


def key(kid: str, state: str, *, at: float = T0, alg: str = "ES256") -> KeyRecord:
    return KeyRecord(
        kid=kid,
        alg=alg,
        state=state,  # type: ignore[arg-type]
        private_jwk=b"\x01encrypted-" + kid.encode(),
        public_jwk='{"kty":"EC"}',
        created_at=at,
        activated_at=at if state == "current" else None,
    )


async def with_session(stores: Stores) -> None:
    await stores.users.create(user())
    await stores.sessions.create(session())


# ---- users --------------------------------------------------------------------------


async def test_user_roundtrip_by_id_and_username(stores: Stores) -> None:
    await stores.users.create(user(1, roles=("admin",)))
    assert await stores.users.get("user-1") == user(1, roles=("admin",))
    assert await stores.users.get_by_username("user1") == user(1, roles=("admin",))
    assert await stores.users.get("nobody") is None
    assert await stores.users.get_by_username("nobody") is None


async def test_duplicate_username_key_refused(stores: Stores) -> None:
    await stores.users.create(user(1))
    clash = dataclasses.replace(user(2), username_key="user1")
    with pytest.raises(DuplicateError):
        await stores.users.create(clash)
    assert await stores.users.get("user-2") is None


async def test_user_updates(stores: Stores) -> None:
    await stores.users.create(user(1))
    assert await stores.users.set_password("user-1", "$new", now=T0 + 1)
    assert await stores.users.set_disabled("user-1", T0 + 2, now=T0 + 2)
    assert await stores.users.set_roles("user-1", ["admin", "ops"], now=T0 + 3)
    got = await stores.users.get("user-1")
    assert got is not None
    assert (got.password_hash, got.disabled_at, got.roles, got.updated_at) == (
        "$new",
        T0 + 2,
        ("admin", "ops"),
        T0 + 3,
    )
    assert got.disabled
    assert got.is_admin
    assert await stores.users.set_disabled("user-1", None, now=T0 + 4)
    again = await stores.users.get("user-1")
    assert again is not None
    assert not again.disabled
    assert not await stores.users.set_password("nobody", "$x", now=T0)


async def test_user_list_ordered_and_paged(stores: Stores) -> None:
    for n in (3, 1, 2):
        await stores.users.create(user(n, at=T0 + n))
    assert [u.id for u in await stores.users.list()] == ["user-1", "user-2", "user-3"]
    assert [u.id for u in await stores.users.list(limit=1, offset=1)] == ["user-2"]


async def test_user_list_search_by_name_part_or_exact_id(stores: Stores) -> None:
    for n in (1, 2, 12):
        await stores.users.create(user(n, at=T0 + n))
    await stores.users.create(
        dataclasses.replace(user(7, at=T0 + 7), username="a%b_c", username_key="a%b_c")
    )
    assert [u.id for u in await stores.users.list(search="user1")] == ["user-1", "user-12"]
    assert [u.id for u in await stores.users.list(search="2")] == ["user-2", "user-12"]
    assert [u.id for u in await stores.users.list(search="user-2")] == ["user-2"]
    assert [u.id for u in await stores.users.list(search="user", limit=1, offset=1)] == ["user-2"]
    # LIKE wildcards in the search are plain characters
    assert [u.id for u in await stores.users.list(search="%")] == ["user-7"]
    assert [u.id for u in await stores.users.list(search="_")] == ["user-7"]
    assert await stores.users.list(search="nobody") == []


async def test_count_with_role_matches_whole_roles(stores: Stores) -> None:
    await stores.users.create(user(1, roles=("admin",)))
    await stores.users.create(user(2, roles=("administrator",)))
    await stores.users.create(user(3, roles=("ops", "admin")))
    assert await stores.users.count_with_role("admin") == 2
    assert await stores.users.count_with_role("ops") == 1
    assert await stores.users.count_with_role("root") == 0


# ---- sessions -----------------------------------------------------------------------


async def test_session_roundtrip_touch_and_revoke_once(stores: Stores) -> None:
    await with_session(stores)
    assert await stores.sessions.get("sess-1") == session()
    await stores.sessions.touch("sess-1", now=T0 + 5)
    got = await stores.sessions.get("sess-1")
    assert got is not None
    assert got.last_used_at == T0 + 5
    assert await stores.sessions.revoke("sess-1", now=T0 + 6, reason="logout")
    assert not await stores.sessions.revoke("sess-1", now=T0 + 7, reason="again")
    got = await stores.sessions.get("sess-1")
    assert got is not None
    assert (got.revoked_at, got.revoked_reason) == (T0 + 6, "logout")
    assert not got.active(T0 + 8)


async def test_session_created_with_its_first_token(stores: Stores) -> None:
    await stores.users.create(user())
    await stores.sessions.create(session(), first_token=token("a"))
    assert await stores.sessions.get("sess-1") == session()
    assert await stores.refresh_tokens.get(token("a").token_hash) == token("a")
    # a clash on the token leaves no session behind (one transaction)
    with pytest.raises(DuplicateError):
        await stores.sessions.create(session(2), first_token=token("a", session_id="sess-2"))
    assert await stores.sessions.get("sess-2") is None


async def test_session_created_with_its_audit_event(stores: Stores) -> None:
    await stores.users.create(user())
    event = AuditRecord(kind="login_ok", at=T0, user_id="user-1", session_id="sess-1")
    event_id = await stores.sessions.create(session(), first_token=token("a"), audit=event)
    assert event_id is not None
    assert await stores.audit.list() == [dataclasses.replace(event, id=event_id)]
    assert await stores.sessions.create(session(2)) is None
    # a clash stores neither the session nor its event (one transaction)
    with pytest.raises(DuplicateError):
        await stores.sessions.create(
            session(3), first_token=token("a", session_id="sess-3"), audit=event
        )
    assert await stores.sessions.get("sess-3") is None
    assert [r.id for r in await stores.audit.list()] == [event_id]


async def test_session_needs_its_user_or_unique_id(stores: Stores) -> None:
    await with_session(stores)
    with pytest.raises(DuplicateError):
        await stores.sessions.create(session())


async def test_revoke_for_user_returns_only_what_it_revoked(stores: Stores) -> None:
    await stores.users.create(user(1))
    await stores.users.create(user(2))
    for n in (1, 2, 3):
        await stores.sessions.create(session(n))
    await stores.sessions.create(session(4, user_id="user-2"))
    await stores.sessions.revoke("sess-2", now=T0, reason="logout")
    ids = await stores.sessions.revoke_for_user("user-1", now=T0 + 1, reason="logout_all")
    assert sorted(ids) == ["sess-1", "sess-3"]
    other = await stores.sessions.get("sess-4")
    assert other is not None
    assert other.revoked_at is None


async def test_list_for_user_active_newest_first(stores: Stores) -> None:
    await stores.users.create(user(1))
    await stores.sessions.create(session(1, at=T0))
    await stores.sessions.create(session(2, at=T0 + 10))
    await stores.sessions.create(session(3, at=T0 + 20))
    await stores.sessions.revoke("sess-2", now=T0 + 30, reason="logout")
    assert [s.id for s in await stores.sessions.list_for_user("user-1", now=T0 + 30)] == [
        "sess-3",
        "sess-1",
    ]
    # sess-1 ends at T0 + 1000
    assert [s.id for s in await stores.sessions.list_for_user("user-1", now=T0 + 1005)] == [
        "sess-3",
    ]


async def test_purge_drops_ended_sessions_and_their_tokens(stores: Stores) -> None:
    await with_session(stores)
    await stores.sessions.create(session(2, at=T0 + 5000))
    await stores.refresh_tokens.add(token("a"))
    await stores.refresh_tokens.add(token("b", session_id="sess-2"))
    assert await stores.sessions.purge(before=T0 + 2000) == 1
    assert await stores.sessions.get("sess-1") is None
    assert await stores.refresh_tokens.get(token("a").token_hash) is None
    assert await stores.refresh_tokens.get(token("b").token_hash) is not None


# ---- refresh tokens -------------------------------------------------------------------


async def test_refresh_token_roundtrip_and_duplicate(stores: Stores) -> None:
    await with_session(stores)
    await stores.refresh_tokens.add(token("a"))
    assert await stores.refresh_tokens.get(token("a").token_hash) == token("a")
    with pytest.raises(DuplicateError):
        await stores.refresh_tokens.add(token("a"))


async def test_s25_consume_wins_once_and_loser_sees_the_child(stores: Stores) -> None:
    await with_session(stores)
    await stores.refresh_tokens.add(token("a"))
    child = token("b", parent="a", at=T0 + 1)
    first = await stores.refresh_tokens.consume(token("a").token_hash, T0 + 1, child=child)
    assert first.won
    assert first.found
    assert first.token is not None
    assert first.token.consumed_at == T0 + 1
    assert first.child == child
    assert await stores.refresh_tokens.get(child.token_hash) == child
    touched = await stores.sessions.get("sess-1")
    assert touched is not None
    assert touched.last_used_at == T0 + 1

    other_child = token("c", parent="a", at=T0 + 2)
    second = await stores.refresh_tokens.consume(token("a").token_hash, T0 + 2, child=other_child)
    assert not second.won
    assert second.token is not None
    assert second.token.consumed_at == T0 + 1
    assert second.child == child
    assert await stores.refresh_tokens.get(other_child.token_hash) is None


async def test_token_read_with_its_session_and_user(stores: Stores) -> None:
    await with_session(stores)
    await stores.refresh_tokens.add(token("a"))
    found = await stores.refresh_tokens.get_with_owner(token("a").token_hash)
    assert found is not None
    assert found.token == token("a")
    assert found.session == session()
    assert found.user == user()
    await stores.sessions.revoke("sess-1", now=T0 + 1, reason="logout")
    found = await stores.refresh_tokens.get_with_owner(token("a").token_hash)
    assert found is not None
    assert found.session is not None
    assert found.session.revoked_at == T0 + 1
    assert await stores.refresh_tokens.get_with_owner("f" * 64) is None


async def test_consume_stores_its_audit_event_only_when_it_wins(stores: Stores) -> None:
    await with_session(stores)
    await stores.refresh_tokens.add(token("a"))
    event = AuditRecord(kind="refresh", at=T0 + 1, user_id="user-1", details={"n": 1})
    first = await stores.refresh_tokens.consume(
        token("a").token_hash, T0 + 1, child=token("b", parent="a", at=T0 + 1), audit=event
    )
    assert first.won
    assert first.audit_id is not None
    assert await stores.audit.list() == [dataclasses.replace(event, id=first.audit_id)]
    second = await stores.refresh_tokens.consume(
        token("a").token_hash, T0 + 2, child=token("c", parent="a", at=T0 + 2), audit=event
    )
    assert not second.won
    assert second.audit_id is None
    assert [r.id for r in await stores.audit.list()] == [first.audit_id]
    unknown = await stores.refresh_tokens.consume("f" * 64, T0, audit=event)
    assert unknown.audit_id is None
    assert len(await stores.audit.list()) == 1


async def test_consume_unknown_token(stores: Stores) -> None:
    result = await stores.refresh_tokens.consume("f" * 64, T0)
    assert not result.won
    assert not result.found
    assert result.child is None


async def test_s25_loser_tells_grace_retry_from_reuse(stores: Stores) -> None:
    await with_session(stores)
    await stores.refresh_tokens.add(token("a"))
    await stores.refresh_tokens.consume(token("a").token_hash, T0, child=token("b", parent="a"))
    retry = await stores.refresh_tokens.consume(token("a").token_hash, T0 + 5)
    assert retry.is_grace_retry(T0 + 5, grace=10)
    assert not retry.is_grace_retry(T0 + 11, grace=10)
    assert not retry.is_grace_retry(T0 + 5, grace=0)
    # once the child itself is consumed, the parent is an ancestor: reuse
    await stores.refresh_tokens.consume(token("b").token_hash, T0 + 6, child=token("c", parent="b"))
    ancestor = await stores.refresh_tokens.consume(token("a").token_hash, T0 + 7)
    assert not ancestor.is_grace_retry(T0 + 7, grace=10)


async def test_s25_fifty_concurrent_consumes_exactly_one_winner(stores: Stores) -> None:
    await with_session(stores)
    await stores.refresh_tokens.add(token("a"))
    parent = token("a").token_hash

    async def attempt(n: int) -> tuple[bool, str | None]:
        child = token(f"c{n:02d}", parent="a", at=T0 + 1)
        result = await stores.refresh_tokens.consume(parent, T0 + 1, child=child)
        return result.won, None if result.child is None else result.child.token_hash

    results = await asyncio.gather(*(attempt(n) for n in range(50)))
    winners = [child for won, child in results if won]
    assert len(winners) == 1
    # every loser saw the winner's child, and no other child was stored
    assert {child for _, child in results} == {winners[0]}
    stored = [
        n
        for n in range(50)
        if await stores.refresh_tokens.get(token(f"c{n:02d}").token_hash) is not None
    ]
    assert len(stored) == 1


# ---- signing keys -----------------------------------------------------------------------


async def test_keys_roundtrip_and_single_current_and_next(stores: Stores) -> None:
    assert await stores.keys.add(key("k1", "current"))
    assert await stores.keys.add(key("k2", "next", at=T0 + 1))
    assert not await stores.keys.add(key("k3", "current", at=T0 + 2))
    assert not await stores.keys.add(key("k4", "next", at=T0 + 2))
    assert not await stores.keys.add(key("k1", "previous"))
    assert [k.kid for k in await stores.keys.list()] == ["k1", "k2"]
    assert await stores.keys.get("k1") == key("k1", "current")
    assert await stores.keys.get("k3") is None


async def test_key_promotion_moves_the_whole_lifecycle(stores: Stores) -> None:
    await stores.keys.add(key("k1", "current"))
    await stores.keys.add(key("k2", "next", at=T0 + 1))
    assert await stores.keys.promote(
        next_kid="k2", current_kid="k1", now=T0 + 10, publish_until=T0 + 910
    )
    await stores.keys.add(key("k3", "next", at=T0 + 11))
    assert await stores.keys.promote(
        next_kid="k3", current_kid="k2", now=T0 + 20, publish_until=T0 + 920
    )
    states = {k.kid: k for k in await stores.keys.list()}
    assert {kid: k.state for kid, k in states.items()} == {
        "k1": "retired",
        "k2": "previous",
        "k3": "current",
    }
    assert states["k1"].retired_at == T0 + 20
    assert states["k1"].publish_until == T0 + 910
    assert states["k2"].deactivated_at == T0 + 20
    assert states["k2"].publish_until == T0 + 920
    assert states["k3"].activated_at == T0 + 20


async def test_key_promotion_refused_when_state_changed(stores: Stores) -> None:
    await stores.keys.add(key("k1", "current"))
    await stores.keys.add(key("k2", "next", at=T0 + 1))
    await stores.keys.add(key("k0", "previous", at=T0 - 1))
    before = await stores.keys.list()
    assert not await stores.keys.promote(
        next_kid="k2", current_kid="k9", now=T0 + 5, publish_until=T0 + 100
    )
    assert not await stores.keys.promote(
        next_kid="k1", current_kid="k1", now=T0 + 5, publish_until=T0 + 100
    )
    assert not await stores.keys.promote(
        next_kid="k2", current_kid=None, now=T0 + 5, publish_until=T0 + 100
    )
    assert await stores.keys.list() == before


async def test_first_key_promotion_without_current(stores: Stores) -> None:
    await stores.keys.add(key("k1", "next"))
    assert await stores.keys.promote(next_kid="k1", current_kid=None, now=T0, publish_until=T0)
    got = await stores.keys.get("k1")
    assert got is not None
    assert got.state == "current"
    assert got.activated_at == T0


async def test_retire_and_forget_private(stores: Stores) -> None:
    await stores.keys.add(key("k1", "current"))
    await stores.keys.add(key("k2", "next"))
    assert not await stores.keys.retire("k1", now=T0, publish_until=T0 + 5)
    assert not await stores.keys.forget_private("k2")  # next
    assert not await stores.keys.forget_private("k1")  # current
    assert await stores.keys.retire("k2", now=T0 + 1, publish_until=T0 + 5)
    assert not await stores.keys.retire("k2", now=T0 + 2, publish_until=T0 + 6)
    got = await stores.keys.get("k2")
    assert got is not None
    assert (got.state, got.retired_at, got.publish_until) == ("retired", T0 + 1, T0 + 5)
    assert await stores.keys.forget_private("k2")
    wiped = await stores.keys.get("k2")
    assert wiped is not None
    assert wiped.private_jwk == b""


async def test_forget_private_of_a_previous_key(stores: Stores) -> None:
    await stores.keys.add(key("k1", "current"))
    await stores.keys.add(key("k2", "next"))
    await stores.keys.promote(next_kid="k2", current_kid="k1", now=T0, publish_until=T0 + 100)
    assert await stores.keys.forget_private("k1")
    got = await stores.keys.get("k1")
    assert got is not None
    assert (got.state, got.private_jwk) == ("previous", b"")


async def test_retire_keeps_the_earlier_publish_end(stores: Stores) -> None:
    await stores.keys.add(key("k1", "current"))
    await stores.keys.add(key("k2", "next"))
    await stores.keys.promote(next_kid="k2", current_kid="k1", now=T0, publish_until=T0 + 100)
    assert await stores.keys.retire("k1", now=T0 + 1, publish_until=T0 + 500)
    got = await stores.keys.get("k1")
    assert got is not None
    assert got.publish_until == T0 + 100


async def test_each_algorithm_has_its_own_next_and_current(stores: Stores) -> None:
    assert await stores.keys.add(key("e1", "current"))
    assert await stores.keys.add(key("e2", "next"))
    assert await stores.keys.add(key("d1", "current", alg="EdDSA"))
    assert await stores.keys.add(key("d2", "next", alg="EdDSA"))
    assert not await stores.keys.add(key("d3", "next", alg="EdDSA", at=T0 + 1))
    assert not await stores.keys.add(key("d4", "current", alg="EdDSA", at=T0 + 1))
    listed = {k.kid: (k.alg, k.state) for k in await stores.keys.list()}
    assert listed == {
        "e1": ("ES256", "current"),
        "e2": ("ES256", "next"),
        "d1": ("EdDSA", "current"),
        "d2": ("EdDSA", "next"),
    }
    assert await stores.keys.get("d2") == key("d2", "next", alg="EdDSA")


async def test_promotion_touches_only_its_algorithm(stores: Stores) -> None:
    await stores.keys.add(key("e0", "previous", at=T0 - 1))
    await stores.keys.add(key("e1", "current"))
    await stores.keys.add(key("e2", "next"))
    await stores.keys.add(key("d0", "previous", alg="EdDSA", at=T0 - 1))
    await stores.keys.add(key("d1", "current", alg="EdDSA"))
    await stores.keys.add(key("d2", "next", alg="EdDSA"))
    assert await stores.keys.promote(
        next_kid="d2", current_kid="d1", now=T0 + 10, publish_until=T0 + 910
    )
    states = {k.kid: k.state for k in await stores.keys.list()}
    assert states == {
        "e0": "previous",
        "e1": "current",
        "e2": "next",
        "d0": "retired",
        "d1": "previous",
        "d2": "current",
    }
    # a first promotion is refused while the algorithm has a current key, not another's
    await stores.keys.add(key("d3", "next", alg="EdDSA", at=T0 + 11))
    assert not await stores.keys.promote(
        next_kid="d3", current_kid=None, now=T0 + 12, publish_until=T0 + 12
    )
    await stores.keys.add(key("r1", "next", alg="RS256"))
    assert await stores.keys.promote(
        next_kid="r1", current_kid=None, now=T0 + 12, publish_until=T0 + 12
    )
    # the next key of one algorithm may take over from another's current key (the
    # default algorithm changed), never while its own algorithm has a current key
    assert not await stores.keys.promote(
        next_kid="d3", current_kid="e1", now=T0 + 13, publish_until=T0 + 913
    )
    await stores.keys.add(key("p1", "next", alg="PS256"))
    assert await stores.keys.promote(
        next_kid="p1", current_kid="e1", now=T0 + 13, publish_until=T0 + 913
    )
    got = {k.kid: k.state for k in await stores.keys.list()}
    assert (got["e0"], got["e1"], got["p1"]) == ("retired", "previous", "current")
    assert (got["d2"], got["d3"], got["r1"]) == ("current", "next", "current")


async def test_demote_a_current_key_without_successor(stores: Stores) -> None:
    await stores.keys.add(key("d1", "current", alg="EdDSA"))
    await stores.keys.add(key("d2", "next", alg="EdDSA"))
    assert not await stores.keys.demote("d2", now=T0 + 1, publish_until=T0 + 100)
    assert await stores.keys.demote("d1", now=T0 + 1, publish_until=T0 + 100)
    assert not await stores.keys.demote("d1", now=T0 + 2, publish_until=T0 + 200)
    got = await stores.keys.get("d1")
    assert got is not None
    assert (got.state, got.deactivated_at, got.publish_until) == ("previous", T0 + 1, T0 + 100)
    # its slot is free again
    assert await stores.keys.add(key("d3", "current", alg="EdDSA", at=T0 + 3))


async def test_concurrent_adds_of_one_algorithm_keep_one_next(stores: Stores) -> None:
    results = await asyncio.gather(
        *(stores.keys.add(key(f"n{n:02d}", "next", alg="EdDSA")) for n in range(20))
    )
    assert results.count(True) == 1
    nexts = [k for k in await stores.keys.list() if k.state == "next"]
    assert len(nexts) == 1


# ---- revocations ------------------------------------------------------------------------


async def test_revocation_ids_increase_and_feed_filters(stores: Stores) -> None:
    assert await stores.revocations.last_id() == 0
    a = await stores.revocations.add("jti", "j1", now=T0, expires_at=T0 + 100)
    b = await stores.revocations.add("sid", "s1", now=T0, expires_at=T0 + 50)
    c = await stores.revocations.add("sub", "u1", now=T0, expires_at=T0 + 200, not_before=T0)
    assert a.id < b.id < c.id
    assert await stores.revocations.last_id() == c.id
    assert await stores.revocations.after(None, now=T0) == [a, b, c]
    assert await stores.revocations.after(a.id, now=T0) == [b, c]
    assert await stores.revocations.after(None, now=T0 + 60) == [a, c]
    assert await stores.revocations.after(None, now=T0, limit=1) == [a]
    assert c.not_before == T0
    assert c.kind == "sub"


async def test_revocation_ids_never_reused_after_purge(stores: Stores) -> None:
    await stores.revocations.add("jti", "j1", now=T0, expires_at=T0 + 1)
    b = await stores.revocations.add("jti", "j2", now=T0, expires_at=T0 + 2)
    assert await stores.revocations.purge(now=T0 + 5) == 2
    assert await stores.revocations.after(None, now=T0) == []
    assert await stores.revocations.last_id() == b.id
    c = await stores.revocations.add("jti", "j3", now=T0 + 6, expires_at=T0 + 10)
    assert c.id > b.id


async def test_concurrent_revocations_get_distinct_increasing_ids(stores: Stores) -> None:
    records = await asyncio.gather(
        *(stores.revocations.add("jti", f"j{n}", now=T0, expires_at=T0 + 9) for n in range(20))
    )
    ids = sorted(r.id for r in records)
    assert len(set(ids)) == 20
    assert [r.id for r in await stores.revocations.after(None, now=T0)] == ids


# ---- audit, invites, setup token ------------------------------------------------------------


async def test_audit_newest_first_with_filters(stores: Stores) -> None:
    first = await stores.audit.append(
        AuditRecord(kind="login_ok", at=T0, user_id="u1", details={"client_id": "fp"})
    )
    second = await stores.audit.append(AuditRecord(kind="login_failed", at=T0 + 1, username="x"))
    third = await stores.audit.append(AuditRecord(kind="login_ok", at=T0 + 2, user_id="u2"))
    assert first < second < third
    assert [r.id for r in await stores.audit.list()] == [third, second, first]
    assert [r.id for r in await stores.audit.list(kind="login_ok")] == [third, first]
    only = await stores.audit.list(user_id="u1")
    assert len(only) == 1
    assert only[0].details == {"client_id": "fp"}
    assert [r.id for r in await stores.audit.list(limit=1)] == [third]


async def test_audit_pages_by_id_and_filters_by_time(stores: Stores) -> None:
    ids = [
        await stores.audit.append(AuditRecord(kind="login_ok", at=T0 + n, user_id="u1"))
        for n in range(5)
    ]
    first_page = await stores.audit.list(limit=2)
    assert [r.id for r in first_page] == [ids[4], ids[3]]
    second = await stores.audit.list(limit=2, before_id=first_page[-1].id)
    assert [r.id for r in second] == [ids[2], ids[1]]
    assert [r.id for r in await stores.audit.list(since=T0 + 1, until=T0 + 3)] == [ids[2], ids[1]]
    assert [r.id for r in await stores.audit.list(since=T0 + 4)] == [ids[4]]
    assert await stores.audit.list(until=T0) == []
    both = await stores.audit.list(user_id="u1", kind="login_ok", before_id=ids[1])
    assert [r.id for r in both] == [ids[0]]


async def test_invite_redeemed_once_and_not_after_expiry(stores: Stores) -> None:
    await stores.invites.add(InviteRecord(code_hash="a" * 64, created_at=T0, expires_at=T0 + 10))
    await stores.invites.add(InviteRecord(code_hash="b" * 64, created_at=T0, expires_at=T0 + 10))
    assert await stores.invites.redeem("a" * 64, now=T0 + 1, used_by="u1")
    assert not await stores.invites.redeem("a" * 64, now=T0 + 2, used_by="u2")
    assert not await stores.invites.redeem("b" * 64, now=T0 + 10, used_by="u3")
    assert not await stores.invites.redeem("c" * 64, now=T0, used_by="u4")
    with pytest.raises(DuplicateError):
        await stores.invites.add(InviteRecord(code_hash="a" * 64, created_at=T0, expires_at=T0))


async def test_concurrent_invite_redeem_one_winner(stores: Stores) -> None:
    await stores.invites.add(InviteRecord(code_hash="a" * 64, created_at=T0, expires_at=T0 + 10))
    results = await asyncio.gather(
        *(stores.invites.redeem("a" * 64, now=T0 + 1, used_by=f"u{n}") for n in range(20))
    )
    assert results.count(True) == 1


async def test_setup_token_replaced_and_redeemed_once(stores: Stores) -> None:
    assert not await stores.setup_tokens.exists(now=T0)
    await stores.setup_tokens.put("a" * 64, now=T0, expires_at=T0 + 100)
    await stores.setup_tokens.put("b" * 64, now=T0, expires_at=T0 + 100)
    assert await stores.setup_tokens.exists(now=T0)
    assert not await stores.setup_tokens.redeem("a" * 64, now=T0 + 1)
    assert await stores.setup_tokens.redeem("b" * 64, now=T0 + 1)
    assert not await stores.setup_tokens.redeem("b" * 64, now=T0 + 2)
    assert not await stores.setup_tokens.exists(now=T0 + 2)


async def test_setup_token_expires(stores: Stores) -> None:
    await stores.setup_tokens.put("a" * 64, now=T0, expires_at=T0 + 100)
    assert not await stores.setup_tokens.exists(now=T0 + 100)
    assert not await stores.setup_tokens.redeem("a" * 64, now=T0 + 100)


# ---- rate limiter ---------------------------------------------------------------------------


async def test_rate_limiter_blocks_after_limit_with_backoff(stores: Stores) -> None:
    limiter = stores.rate_limiter
    rule = {"limit": 3, "window": 60.0, "backoff": 2.0, "max_backoff": 10.0}
    assert await limiter.failure("k", now=T0, **rule) == 0
    assert await limiter.failure("k", now=T0 + 1, **rule) == 0
    assert await limiter.failure("k", now=T0 + 2, **rule) == 2.0
    assert await limiter.blocked_for("k", now=T0 + 3) == 1.0
    assert await limiter.blocked_for("other", now=T0 + 3) == 0
    assert await limiter.failure("k", now=T0 + 4, **rule) == 4.0
    assert await limiter.failure("k", now=T0 + 8, **rule) == 8.0
    assert await limiter.failure("k", now=T0 + 16, **rule) == 10.0  # capped
    await limiter.reset("k")
    assert await limiter.blocked_for("k", now=T0 + 17) == 0


async def test_rate_limiter_window_expires(stores: Stores) -> None:
    limiter = stores.rate_limiter
    rule = {"limit": 2, "window": 10.0, "backoff": 1.0, "max_backoff": 10.0}
    await limiter.failure("k", now=T0, **rule)
    assert await limiter.failure("k", now=T0 + 11, **rule) == 0
