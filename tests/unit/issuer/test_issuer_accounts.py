"""Accounts: registration modes, login, S26, rate limits, passwords, operators, setup token."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import (
    Argon2Params,
    AuthError,
    Issuer,
    RateLimitedError,
    RateLimitRule,
    RateLimits,
    RequestContext,
)
from tokensmith.issuer.passwords import Argon2Hasher, Passwords
from tokensmith.store import Stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def open_issuer(
    stores: Stores, clock: FakeClock, hasher: CountingHasher | None = None, **config: object
) -> Issuer:
    return await Issuer.open(
        make_config(**config),
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=hasher or CountingHasher(),
    )


# ---- registration --------------------------------------------------------------------


async def test_register_then_login_case_insensitively(issuer: Issuer) -> None:
    user = await issuer.register(username="Alice", password=PASSWORD)
    assert (user.username, user.roles, user.disabled) == ("Alice", (), False)
    pair = await issuer.login(username="alice", password=PASSWORD)
    claims = await issuer.authenticate(pair.access_token)
    assert claims.sub == user.id


async def test_register_refuses_taken_bad_and_weak(issuer: Issuer) -> None:
    await issuer.register(username="alice", password=PASSWORD)
    cases = [
        ({"username": "ALICE", "password": PASSWORD}, "username_taken"),
        ({"username": "", "password": PASSWORD}, "invalid_username"),
        ({"username": "a b", "password": PASSWORD}, "invalid_username"),
        ({"username": "x" * 65, "password": PASSWORD}, "invalid_username"),
        ({"username": "bob", "password": "short"}, "weak_password"),
        ({"username": "bob", "password": "p" * 129}, "password_too_long"),
    ]
    for kwargs, code in cases:
        with pytest.raises(AuthError) as caught:
            await issuer.register(**kwargs)  # type: ignore[arg-type]
        assert caught.value.code == code, kwargs


async def test_registration_closed(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(stores, clock, registration="closed")
    with pytest.raises(AuthError) as caught:
        await issuer.register(username="alice", password=PASSWORD)
    assert caught.value.code == "registration_closed"
    # operators still add users
    await issuer.add_user(username="alice", password=PASSWORD)
    await issuer.close()


async def test_registration_by_invite_once(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(stores, clock, registration="invite")
    with pytest.raises(AuthError) as no_invite:
        await issuer.register(username="alice", password=PASSWORD)
    assert no_invite.value.code == "invite_required"
    with pytest.raises(AuthError) as bad_invite:
        await issuer.register(username="alice", password=PASSWORD, invite="nope")
    assert bad_invite.value.code == "invite_required"
    code = await issuer.create_invite()
    await issuer.register(username="alice", password=PASSWORD, invite=code)
    with pytest.raises(AuthError) as reused:
        await issuer.register(username="bob", password=PASSWORD, invite=code)
    assert reused.value.code == "invite_required"
    expiring = await issuer.create_invite(ttl=60)
    clock.advance(61)
    with pytest.raises(AuthError):
        await issuer.register(username="carol", password=PASSWORD, invite=expiring)
    await issuer.close()


# ---- login and S26 ---------------------------------------------------------------------


async def test_s26_unknown_user_and_wrong_password_same_answer_same_work(
    issuer: Issuer, hasher: CountingHasher
) -> None:
    await issuer.register(username="alice", password=PASSWORD)
    answers = []
    work = []
    for username, password in (("alice", "wrong password"), ("nobody", "wrong password")):
        before = hasher.verifies
        with pytest.raises(AuthError) as caught:
            await issuer.login(username=username, password=password)
        answers.append((type(caught.value), caught.value.code, caught.value.message))
        work.append(hasher.verifies - before)
    assert answers[0] == answers[1]
    assert answers[0][1] == "invalid_credentials"
    # one argon2 verify each: the unknown user is checked against a dummy hash
    assert work == [1, 1]
    dummy, real = hasher.verified_hashes[-1], hasher.verified_hashes[-2]
    # the dummy hash has the same parameters as a real one, so the work is the same
    assert dummy.split("$")[1:4] == real.split("$")[1:4]


async def test_disabled_account_answers_only_to_the_right_password(issuer: Issuer) -> None:
    await issuer.register(username="alice", password=PASSWORD)
    before = await issuer.login(username="alice", password=PASSWORD)
    await issuer.disable_user(username="alice")
    # every access token issued so far is denied, and the session is over
    with pytest.raises(AuthError) as denied:
        await issuer.authenticate(before.access_token)
    assert denied.value.code == "invalid_token"
    kinds = sorted(e.kind for e in await issuer.revocation_events())
    assert kinds == ["sid", "sub"]
    with pytest.raises(AuthError) as wrong:
        await issuer.login(username="alice", password="wrong password")
    assert wrong.value.code == "invalid_credentials"
    with pytest.raises(AuthError) as right:
        await issuer.login(username="alice", password=PASSWORD)
    assert right.value.code == "account_disabled"
    await issuer.enable_user(username="alice")
    await issuer.login(username="alice", password=PASSWORD)


async def test_rehash_on_login_when_parameters_change(stores: Stores, clock: FakeClock) -> None:
    old = Argon2Params(time_cost=1, memory_cost=256)
    new = Argon2Params(time_cost=2, memory_cost=512)
    first = await open_issuer(stores, clock, CountingHasher(old), argon2=old)
    user = await first.register(username="alice", password=PASSWORD)
    await first.close()
    before = await stores.users.get(user.id)
    assert before is not None
    assert "m=256,t=1" in before.password_hash

    second = await open_issuer(stores, clock, CountingHasher(new), argon2=new)
    await second.login(username="alice", password=PASSWORD)
    after = await stores.users.get(user.id)
    assert after is not None
    assert "m=512,t=2" in after.password_hash
    # and the new hash still checks the same password
    await second.login(username="alice", password=PASSWORD)
    await second.close()


async def test_login_with_huge_password_refused_after_dummy_work(
    issuer: Issuer, hasher: CountingHasher
) -> None:
    user = await issuer.register(username="alice", password=PASSWORD)
    stored = await issuer._stores.users.get(user.id)
    assert stored is not None
    before = hasher.verifies
    with pytest.raises(AuthError) as caught:
        await issuer.login(username="alice", password="x" * 100_000)
    assert caught.value.code == "invalid_credentials"
    assert hasher.verifies == before + 1
    assert hasher.verified_hashes[-1] != stored.password_hash  # the dummy, not the user's


# ---- rate limits ---------------------------------------------------------------------------


async def test_s26_account_rate_limit_with_backoff(
    issuer: Issuer, clock: FakeClock, hasher: CountingHasher
) -> None:
    await issuer.register(username="alice", password=PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthError) as caught:
            await issuer.login(username="alice", password="wrong password")
        assert caught.value.code == "invalid_credentials"
    before = hasher.verifies
    with pytest.raises(RateLimitedError) as limited:
        await issuer.login(username="alice", password=PASSWORD)
    assert limited.value.code == "rate_limited"
    assert limited.value.retry_after == 1
    assert hasher.verifies == before  # refused before any hashing
    clock.advance(1)
    with pytest.raises(AuthError):
        await issuer.login(username="alice", password="wrong again")
    with pytest.raises(RateLimitedError) as longer:
        await issuer.login(username="alice", password=PASSWORD)
    assert longer.value.retry_after == 2  # back-off doubles
    clock.advance(2)
    await issuer.login(username="alice", password=PASSWORD)  # success resets the account
    with pytest.raises(AuthError) as again:
        await issuer.login(username="alice", password="wrong password")
    assert again.value.code == "invalid_credentials"


async def test_s26_unknown_accounts_are_limited_alike(issuer: Issuer) -> None:
    for _ in range(5):
        with pytest.raises(AuthError):
            await issuer.login(username="nobody", password="wrong password")
    with pytest.raises(RateLimitedError):
        await issuer.login(username="nobody", password="wrong password")


async def test_s26_address_rate_limit_across_usernames(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(
        stores,
        clock,
        rate_limits=RateLimits(
            account=RateLimitRule(100, 300.0), address=RateLimitRule(3, 300.0, 30.0, 900.0)
        ),
    )
    ctx = RequestContext(ip="192.0.2.7")
    for n in range(3):
        with pytest.raises(AuthError):
            await issuer.login(username=f"user{n}", password="wrong password", ctx=ctx)
    with pytest.raises(RateLimitedError) as limited:
        await issuer.login(username="someone-else", password="x", ctx=ctx)
    assert limited.value.retry_after == 30
    # another address is not affected
    with pytest.raises(AuthError) as other:
        await issuer.login(
            username="someone-else", password="x", ctx=RequestContext(ip="192.0.2.8")
        )
    assert other.value.code == "invalid_credentials"
    await issuer.close()


async def test_registration_rate_limited_per_address(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(
        stores, clock, rate_limits=RateLimits(register=RateLimitRule(2, 3600.0, 60.0, 3600.0))
    )
    ctx = RequestContext(ip="192.0.2.9")
    await issuer.register(username="a1", password=PASSWORD, ctx=ctx)
    await issuer.register(username="a2", password=PASSWORD, ctx=ctx)
    with pytest.raises(RateLimitedError):
        await issuer.register(username="a3", password=PASSWORD, ctx=ctx)
    await issuer.close()


async def test_inspections_rate_limited_per_address(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(
        stores, clock, rate_limits=RateLimits(inspect=RateLimitRule(2, 60.0, 1.0, 300.0))
    )
    ctx = RequestContext(ip="192.0.2.10")
    await issuer.count_inspection(ctx=ctx)
    await issuer.count_inspection(ctx=ctx)
    with pytest.raises(RateLimitedError) as limited:
        await issuer.count_inspection(ctx=ctx)
    assert limited.value.retry_after == 1
    await issuer.count_inspection(ctx=RequestContext(ip="192.0.2.11"))
    for _ in range(5):  # no address, nothing to count against
        await issuer.count_inspection()
    # the register limit is a separate count for the same address
    await issuer.register(username="a1", password=PASSWORD, ctx=ctx)
    await issuer.close()


async def test_rate_limits_can_be_disabled(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(stores, clock, rate_limits=RateLimits(enabled=False))
    for _ in range(10):
        with pytest.raises(AuthError) as caught:
            await issuer.login(username="nobody", password="wrong password")
        assert caught.value.code == "invalid_credentials"
    await issuer.close()


# ---- passwords off the event loop ----------------------------------------------------------


class BlockingHasher(CountingHasher):
    """hash() blocks its thread until released; tracks how many run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.running = 0
        self.peak = 0
        self._count_lock = threading.Lock()

    def hash(self, password: str) -> str:
        with self._count_lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            assert self.release.wait(timeout=10)
            return super().hash(password)
        finally:
            with self._count_lock:
                self.running -= 1


async def test_hashing_never_blocks_the_event_loop_and_is_bounded() -> None:
    hasher = BlockingHasher()
    passwords = Passwords(hasher, workers=2)
    jobs = [asyncio.create_task(passwords.hash(f"password-{n}")) for n in range(6)]
    # the loop keeps running while every hash thread is blocked
    for _ in range(50):
        await asyncio.sleep(0)
    assert not any(job.done() for job in jobs)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, lambda: None)  # the loop still serves other work
    hasher.release.set()
    hashes = await asyncio.gather(*jobs)
    assert len(set(hashes)) == 6
    assert hasher.peak <= 2
    passwords.close()


async def test_argon2_defaults_are_owasp() -> None:
    hasher = Argon2Hasher(Argon2Params())
    encoded = hasher.hash("x" * 12)
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify(encoded, "x" * 12)
    assert not hasher.verify(encoded, "y" * 12)
    assert not hasher.verify("not a hash", "x")


# ---- change password, operators -------------------------------------------------------------


async def test_change_password(issuer: Issuer) -> None:
    user = await issuer.register(username="alice", password=PASSWORD)
    with pytest.raises(AuthError) as wrong:
        await issuer.change_password(
            user_id=user.id, old_password="not it", new_password="new password 1"
        )
    assert wrong.value.code == "invalid_credentials"
    with pytest.raises(AuthError) as weak:
        await issuer.change_password(user_id=user.id, old_password=PASSWORD, new_password="x")
    assert weak.value.code == "weak_password"
    await issuer.change_password(
        user_id=user.id, old_password=PASSWORD, new_password="new password 1"
    )
    await issuer.login(username="alice", password="new password 1")
    with pytest.raises(AuthError):
        await issuer.login(username="alice", password=PASSWORD)


async def test_operators_add_list_disable_set_password(issuer: Issuer, clock: FakeClock) -> None:
    admin = await issuer.add_user(username="root", password=PASSWORD, admin=True)
    assert admin.is_admin
    clock.advance(1)
    await issuer.add_user(username="bob", password=PASSWORD)
    assert [u.username for u in await issuer.list_users()] == ["root", "bob"]
    pair = await issuer.login(username="bob", password=PASSWORD)
    await issuer.set_password(username="bob", password="reset password 1")
    # the reset ends every session: refresh fails and the access token is denied
    with pytest.raises(AuthError):
        await issuer.authenticate(pair.access_token)
    await issuer.login(username="bob", password="reset password 1")
    await issuer.disable_user(username="bob")
    users = {u.username: u for u in await issuer.list_users()}
    assert users["bob"].disabled
    with pytest.raises(AuthError) as missing:
        await issuer.disable_user(username="nobody")
    assert missing.value.code == "user_not_found"
    kinds = [e.details.get("action") for e in await issuer.audit_events(kind="admin_action")]
    assert kinds[:3] == ["disable_user", "set_password", "add_user"]


async def test_first_admin_by_one_time_setup_token(issuer: Issuer, clock: FakeClock) -> None:
    token = await issuer.setup_token()
    assert token is not None
    with pytest.raises(AuthError) as wrong:
        await issuer.redeem_setup_token(token="wrong", username="root", password=PASSWORD)
    assert wrong.value.code == "invalid_setup_token"
    admin = await issuer.redeem_setup_token(token=token, username="root", password=PASSWORD)
    assert admin.is_admin
    with pytest.raises(AuthError) as again:
        await issuer.redeem_setup_token(token=token, username="root2", password=PASSWORD)
    assert again.value.code == "admin_exists"
    assert await issuer.setup_token() is None
    pair = await issuer.login(username="root", password=PASSWORD)
    assert (await issuer.authenticate(pair.access_token)).roles == ("admin",)


async def test_setup_token_expires_and_is_replaced(issuer: Issuer, clock: FakeClock) -> None:
    first = await issuer.setup_token()
    second = await issuer.setup_token()
    assert first is not None
    assert second is not None
    with pytest.raises(AuthError):
        await issuer.redeem_setup_token(token=first, username="root", password=PASSWORD)
    clock.advance(issuer.config.setup_token_ttl)
    with pytest.raises(AuthError) as expired:
        await issuer.redeem_setup_token(token=second, username="root", password=PASSWORD)
    assert expired.value.code == "invalid_setup_token"


async def test_userinfo_and_get_user(issuer: Issuer) -> None:
    user = await issuer.register(username="alice", password=PASSWORD)
    pair = await issuer.login(username="alice", password=PASSWORD)
    claims = await issuer.authenticate(pair.access_token)
    assert await issuer.userinfo(claims) == {
        "sub": user.id,
        "preferred_username": "alice",
        "roles": [],
    }
    assert (await issuer.get_user(user_id=user.id)).username == "alice"
    with pytest.raises(AuthError) as missing:
        await issuer.get_user(user_id="nobody")
    assert missing.value.code == "user_not_found"


async def test_closing_the_hasher_cancels_the_hashes_it_has_not_started() -> None:
    hasher = BlockingHasher()
    passwords = Passwords(hasher, workers=1)
    jobs = [asyncio.create_task(passwords.hash(f"password-{n}")) for n in range(4)]
    for _ in range(10_000):  # until the thread has taken the first hash
        if hasher.running:
            break
        await asyncio.sleep(0.001)
    passwords.close()  # one hash running, one queued, two waiting for a slot
    hasher.release.set()
    running, queued, *waiting = await asyncio.gather(*jobs, return_exceptions=True)
    assert isinstance(running, str)
    assert isinstance(queued, asyncio.CancelledError)
    assert all(isinstance(job, RuntimeError) for job in waiting)


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are Linux's")
async def test_hashing_threads_yield_to_the_event_loop(issuer: Issuer) -> None:
    """Under a login flood the loop keeps a core: hashing threads run at a lower
    priority than the thread of the event loop (password_niceness, 5 by default)."""

    def own_niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    niceness = await issuer.passwords._run(own_niceness)  # on a hashing thread
    mine = own_niceness()
    assert issuer.config.password_niceness == 5
    assert niceness == min(19, mine + 5)
    plain = Passwords(CountingHasher(), workers=1, niceness=0)
    same = await plain._run(own_niceness)
    assert same == mine
    plain.close()
