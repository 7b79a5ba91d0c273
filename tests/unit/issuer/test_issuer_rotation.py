"""Refresh-token rotation with reuse detection (S25), sessions, logout and revocation."""

from __future__ import annotations

import asyncio

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import AuthError, Issuer, OAuthError, TokenPair
from tokensmith.issuer.tokens import hash_secret
from tokensmith.jose import jwt
from tokensmith.store import Stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def login(issuer: Issuer, username: str = "alice") -> TokenPair:
    if username not in {u.username for u in await issuer.list_users()}:
        await issuer.register(username=username, password=PASSWORD)
    return await issuer.login(username=username, password=PASSWORD)


async def assert_denied(issuer: Issuer, access_token: str) -> None:
    with pytest.raises(AuthError) as caught:
        await issuer.authenticate(access_token)
    assert caught.value.code == "invalid_token"


async def assert_invalid_grant(issuer: Issuer, refresh_token: str) -> OAuthError:
    with pytest.raises(OAuthError) as caught:
        await issuer.refresh(refresh_token=refresh_token)
    assert caught.value.error == "invalid_grant"
    return caught.value


async def test_refresh_rotates_in_the_same_session(issuer: Issuer, clock: FakeClock) -> None:
    first = await login(issuer)
    clock.advance(60)
    second = await issuer.refresh(refresh_token=first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    assert second.access_token != first.access_token
    assert second.refresh_expires_in == issuer.config.refresh_idle_ttl
    claims = await issuer.authenticate(second.access_token)
    assert claims.sid == first.session_id


async def test_s25_grace_retry_returns_the_same_child_never_a_branch(
    issuer: Issuer, stores: Stores, clock: FakeClock
) -> None:
    first = await login(issuer)
    child = await issuer.refresh(refresh_token=first.refresh_token)
    clock.advance(issuer.config.refresh_grace)  # still inside the window
    retry = await issuer.refresh(refresh_token=first.refresh_token)
    assert retry.refresh_token == child.refresh_token
    assert retry.session_id == child.session_id
    # the child is still the live token: no second branch exists
    parent = await stores.refresh_tokens.get(hash_secret(first.refresh_token))
    stored_child = await stores.refresh_tokens.get(hash_secret(child.refresh_token))
    assert parent is not None
    assert stored_child is not None
    assert stored_child.parent_hash == parent.token_hash
    assert stored_child.consumed_at is None
    grandchild = await issuer.refresh(refresh_token=child.refresh_token)
    await issuer.authenticate(grandchild.access_token)


async def test_s25_reuse_after_the_window_revokes_the_family(
    issuer: Issuer, clock: FakeClock
) -> None:
    first = await login(issuer)
    child = await issuer.refresh(refresh_token=first.refresh_token)
    clock.advance(issuer.config.refresh_grace + 1)
    error = await assert_invalid_grant(issuer, first.refresh_token)
    assert "reuse" in error.description
    # the whole family is gone: the live child is refused too
    await assert_invalid_grant(issuer, child.refresh_token)
    # and every access token of the session is denied
    await assert_denied(issuer, first.access_token)
    await assert_denied(issuer, child.access_token)
    events = await issuer.audit_events(kind="refresh_reuse_detected")
    assert len(events) == 1
    assert events[0].session_id == first.session_id
    assert await issuer.list_sessions(user_id=events[0].user_id or "") == []


async def test_s25_ancestor_reuse_inside_the_window_revokes_the_family(
    issuer: Issuer, clock: FakeClock
) -> None:
    a = await login(issuer)
    b = await issuer.refresh(refresh_token=a.refresh_token)
    clock.advance(1)
    c = await issuer.refresh(refresh_token=b.refresh_token)
    clock.advance(1)
    # a was consumed 2 s ago (inside the window) but its child b is consumed: an ancestor
    await assert_invalid_grant(issuer, a.refresh_token)
    await assert_invalid_grant(issuer, c.refresh_token)
    await assert_denied(issuer, c.access_token)


async def test_s25_reuse_in_one_session_leaves_others_alone(
    issuer: Issuer, clock: FakeClock
) -> None:
    victim = await login(issuer)
    other = await issuer.login(username="alice", password=PASSWORD)
    await issuer.refresh(refresh_token=victim.refresh_token)
    clock.advance(issuer.config.refresh_grace + 1)
    await assert_invalid_grant(issuer, victim.refresh_token)
    await issuer.authenticate(other.access_token)
    await issuer.refresh(refresh_token=other.refresh_token)


async def test_s25_grace_zero_makes_any_retry_a_reuse(stores: Stores, clock: FakeClock) -> None:
    issuer = await Issuer.open(
        make_config(refresh_grace=0),
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=CountingHasher(),
    )
    first = await login(issuer)
    child = await issuer.refresh(refresh_token=first.refresh_token)
    await assert_invalid_grant(issuer, first.refresh_token)
    await assert_invalid_grant(issuer, child.refresh_token)
    await issuer.close()


async def test_s25_fifty_concurrent_refreshes_make_one_rotation(
    issuer: Issuer, stores: Stores
) -> None:
    first = await login(issuer)
    results = await asyncio.gather(
        *(issuer.refresh(refresh_token=first.refresh_token) for _ in range(50))
    )
    assert {r.refresh_token for r in results} == {results[0].refresh_token}
    rotations = [
        e
        for e in await issuer.audit_events(kind="refresh", limit=100)
        if not e.details["grace_retry"]
    ]
    assert len(rotations) == 1
    # the session is alive and its one child works
    nxt = await issuer.refresh(refresh_token=results[0].refresh_token)
    await issuer.authenticate(nxt.access_token)


async def test_refresh_refuses_malformed_unknown_and_other_clients(issuer: Issuer) -> None:
    first = await login(issuer)
    for bad in ("", "short", "x" * 43 + "!", "A" * 43):
        await assert_invalid_grant(issuer, bad)
    with pytest.raises(OAuthError) as other:
        await issuer.refresh(refresh_token=first.refresh_token, client_id="someone-else")
    assert other.value.error == "invalid_grant"
    # the refused call consumed nothing
    ok = await issuer.refresh(refresh_token=first.refresh_token, client_id="first-party")
    await issuer.authenticate(ok.access_token)


async def test_refresh_idle_expiry(issuer: Issuer, clock: FakeClock) -> None:
    first = await login(issuer)
    clock.advance(issuer.config.refresh_idle_ttl)
    error = await assert_invalid_grant(issuer, first.refresh_token)
    assert "expired" in error.description


async def test_refresh_absolute_expiry(issuer: Issuer, clock: FakeClock) -> None:
    pair = await login(issuer)
    step = issuer.config.refresh_idle_ttl - 60
    elapsed = 0
    while elapsed + step < issuer.config.refresh_absolute_ttl:
        clock.advance(step)
        elapsed += step
        pair = await issuer.refresh(refresh_token=pair.refresh_token)
        assert pair.refresh_expires_in <= issuer.config.refresh_absolute_ttl - elapsed
    clock.advance(issuer.config.refresh_absolute_ttl - elapsed)
    await assert_invalid_grant(issuer, pair.refresh_token)


async def test_access_token_expires_with_the_clock(issuer: Issuer, clock: FakeClock) -> None:
    pair = await login(issuer)
    clock.advance(issuer.config.access_ttl - 1)
    await issuer.authenticate(pair.access_token)
    clock.advance(1)
    await assert_denied(issuer, pair.access_token)


async def test_logout_by_refresh_token_ends_the_session(issuer: Issuer) -> None:
    pair = await login(issuer)
    await issuer.logout(refresh_token=pair.refresh_token)
    await assert_invalid_grant(issuer, pair.refresh_token)
    await assert_denied(issuer, pair.access_token)
    await issuer.logout(refresh_token=pair.refresh_token)  # again: not an error
    await issuer.logout(refresh_token="garbage")


async def test_logout_all_and_session_listing(issuer: Issuer, clock: FakeClock) -> None:
    a = await login(issuer)
    clock.advance(1)
    b = await issuer.login(username="alice", password=PASSWORD)
    bob = await login(issuer, "bob")
    user_id = (await issuer.authenticate(a.access_token)).sub
    assert [s.id for s in await issuer.list_sessions(user_id=user_id)] == [
        b.session_id,
        a.session_id,
    ]
    assert await issuer.logout_all(user_id=user_id) == 2
    await assert_denied(issuer, a.access_token)
    await assert_denied(issuer, b.access_token)
    await issuer.authenticate(bob.access_token)
    assert await issuer.list_sessions(user_id=user_id) == []


async def test_revoke_session_only_for_its_owner(issuer: Issuer) -> None:
    alice = await login(issuer)
    bob = await login(issuer, "bob")
    bob_id = (await issuer.authenticate(bob.access_token)).sub
    alice_id = (await issuer.authenticate(alice.access_token)).sub
    with pytest.raises(AuthError) as caught:
        await issuer.revoke_session(user_id=bob_id, session_id=alice.session_id)
    assert caught.value.code == "session_not_found"
    await issuer.authenticate(alice.access_token)
    await issuer.revoke_session(user_id=alice_id, session_id=alice.session_id)
    await assert_denied(issuer, alice.access_token)
    with pytest.raises(AuthError):
        await issuer.revoke_session(user_id=alice_id, session_id=alice.session_id)


async def test_rfc7009_revoke_access_token_by_jti(issuer: Issuer) -> None:
    pair = await login(issuer)
    await issuer.revoke_token(token=pair.access_token, token_type_hint="access_token")
    await assert_denied(issuer, pair.access_token)
    # only that access token: the session still refreshes
    fresh = await issuer.refresh(refresh_token=pair.refresh_token)
    await issuer.authenticate(fresh.access_token)


async def test_rfc7009_revoke_refresh_token_ends_session(issuer: Issuer) -> None:
    pair = await login(issuer)
    await issuer.revoke_token(token=pair.refresh_token)
    await assert_invalid_grant(issuer, pair.refresh_token)
    await assert_denied(issuer, pair.access_token)


async def test_rfc7009_never_reveals_validity(issuer: Issuer) -> None:
    pair = await login(issuer)
    for token in ("", "garbage", "a.b.c", "A" * 43, "x" * 20_000):
        assert await issuer.revoke_token(token=token) is None
    # a hint that does not match the token is only a hint
    await issuer.revoke_token(token=pair.access_token, token_type_hint="refresh_token")
    await assert_denied(issuer, pair.access_token)


async def test_revocation_feed_ids_increase_and_entries_expire(
    issuer: Issuer, clock: FakeClock
) -> None:
    a = await login(issuer)
    b = await issuer.login(username="alice", password=PASSWORD)
    await issuer.revoke_token(token=a.access_token)
    await issuer.logout(refresh_token=b.refresh_token)
    events = await issuer.revocation_events()
    assert [(e.kind, e.value) for e in events] == [
        ("jti", jwt.peek(a.access_token).claims["jti"]),
        ("sid", b.session_id),
    ]
    assert events[0].id < events[1].id
    assert await issuer.revocation_events(after=events[0].id) == events[1:]
    assert events[0].to_dict()["kind"] == "jti"
    clock.advance(issuer.config.access_ttl + 61)
    assert await issuer.revocation_events() == []


async def test_wait_for_revocations_wakes_on_a_revocation(issuer: Issuer) -> None:
    pair = await login(issuer)
    assert await issuer.revocation_events() == []
    waiter = asyncio.create_task(issuer.wait_for_revocations(after=None, timeout=30))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiter.done()
    await issuer.logout(refresh_token=pair.refresh_token)
    events = await asyncio.wait_for(waiter, timeout=5)
    assert [(e.kind, e.value) for e in events] == [("sid", pair.session_id)]


async def test_wait_for_revocations_times_out_empty(issuer: Issuer) -> None:
    assert await issuer.wait_for_revocations(after=None, timeout=0.05) == []


async def test_revocation_seen_by_another_process(stores: Stores, clock: FakeClock) -> None:
    """Two issuers over one store (two server processes): a revocation written by one is
    enforced by the other's authenticate."""
    one = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    two = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    pair = await login(one)
    await two.authenticate(pair.access_token)
    await one.logout(refresh_token=pair.refresh_token)
    await assert_denied(two, pair.access_token)
    # and the second process's grace retry sees the first's rotation
    fresh = await one.login(username="alice", password=PASSWORD)
    child = await one.refresh(refresh_token=fresh.refresh_token)
    retry = await two.refresh(refresh_token=fresh.refresh_token)
    assert retry.refresh_token == child.refresh_token
    await one.close()
    await two.close()


async def test_operator_revokes_a_user_by_not_before(issuer: Issuer, clock: FakeClock) -> None:
    pair = await login(issuer)
    assert await issuer.revoke_user(username="alice") == 1
    await assert_denied(issuer, pair.access_token)
    await assert_invalid_grant(issuer, pair.refresh_token)
    events = await issuer.revocation_events()
    assert [e.kind for e in events] == ["sid", "sub"]
    assert events[1].not_before == int(clock.now)
    # the account stays usable, even in the same second
    clock.advance(0.5)
    fresh = await issuer.login(username="alice", password=PASSWORD)
    await issuer.authenticate(fresh.access_token)
    with pytest.raises(AuthError) as missing:
        await issuer.revoke_user(username="nobody")
    assert missing.value.code == "user_not_found"


async def test_last_revocation_id_survives_expiry_for_feed_resets(
    issuer: Issuer, clock: FakeClock
) -> None:
    assert await issuer.last_revocation_id() == 0
    pair = await login(issuer)
    await issuer.logout(refresh_token=pair.refresh_token)
    last = await issuer.last_revocation_id()
    assert last == (await issuer.revocation_events())[-1].id
    clock.advance(issuer.config.access_ttl + 61)
    await issuer.maintain_keys()  # purges the expired entry
    assert await issuer.revocation_events() == []
    assert await issuer.last_revocation_id() == last
