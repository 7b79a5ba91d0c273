"""S25 against a model: any sequence of refreshes (of the live token, its parent or any
older ancestor) and clock steps behaves as the rules say."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import AuthError, Issuer, OAuthError
from tokensmith.store import memory_stores

PASSWORD = "correct horse battery"
GRACE = 10

actions = st.lists(
    st.one_of(
        st.tuples(st.just("refresh"), st.integers(min_value=0, max_value=6)),
        st.tuples(st.just("advance"), st.sampled_from([0, 1, 5, GRACE, GRACE + 1, 30])),
    ),
    min_size=1,
    max_size=25,
)


async def run(steps: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    issuer = await Issuer.open(
        make_config(refresh_grace=GRACE),
        memory_stores(),
        master_key=MASTER_KEY,
        clock=clock,
        hasher=CountingHasher(),
    )
    try:
        await issuer.register(username="alice", password=PASSWORD)
        first = await issuer.login(username="alice", password=PASSWORD)
        chain = [first.refresh_token]  # every refresh token of the family, oldest first
        consumed_at: dict[int, float] = {}
        access = [first.access_token]
        revoked = False
        for kind, arg in steps:
            if kind == "advance":
                clock.advance(arg)
                continue
            back = min(arg, len(chain) - 1)  # 0: the live token, 1: its parent, ...
            index = len(chain) - 1 - back
            presented = chain[index]
            live = index == len(chain) - 1
            grace_retry = back == 1 and clock.now - consumed_at[index] <= GRACE
            if revoked or not (live or grace_retry):
                with pytest.raises(OAuthError) as refused:
                    await issuer.refresh(refresh_token=presented)
                assert refused.value.error == "invalid_grant"
                revoked = True
                continue
            pair = await issuer.refresh(refresh_token=presented)
            access.append(pair.access_token)
            if live:
                assert pair.refresh_token not in chain
                consumed_at[index] = clock.now
                chain.append(pair.refresh_token)
            else:
                assert pair.refresh_token == chain[-1]  # the same child, no new branch
        # at most 25 steps of 30 s: every access token is inside its 900 s lifetime, so
        # each one is denied exactly when the family was revoked
        for token in access:
            try:
                await issuer.authenticate(token)
                alive = True
            except AuthError:
                alive = False
            assert alive is not revoked
    finally:
        await issuer.close()


@settings(max_examples=60, deadline=None)
@given(actions)
def test_s25_any_sequence_of_refreshes_follows_the_rules(steps: list[tuple[str, int]]) -> None:
    asyncio.run(run(steps))
