"""ConsumeResult tells a grace-window retry from a reuse (S25); session activity."""

from __future__ import annotations

from tokensmith.store import ConsumeResult, RefreshTokenRecord, SessionRecord

T0 = 1_800_000_000.0


def token(name: str, *, consumed_at: float | None = None) -> RefreshTokenRecord:
    return RefreshTokenRecord(
        token_hash=name,
        session_id="s",
        user_id="u",
        issued_at=T0,
        expires_at=T0 + 100,
        consumed_at=consumed_at,
    )


def test_s25_grace_retry_needs_a_recent_consume_and_a_live_child() -> None:
    parent = token("p", consumed_at=T0)
    live_child = token("c")
    used_child = token("c", consumed_at=T0 + 1)
    retry = ConsumeResult(won=False, token=parent, child=live_child)
    assert retry.is_grace_retry(T0 + 10, grace=10)
    assert not retry.is_grace_retry(T0 + 10.5, grace=10)  # outside the window
    assert not retry.is_grace_retry(T0, grace=0)  # grace disabled
    assert not ConsumeResult(won=False, token=parent, child=used_child).is_grace_retry(
        T0 + 1, grace=10
    )  # an ancestor
    assert not ConsumeResult(won=False, token=parent, child=None).is_grace_retry(T0, grace=10)
    assert not ConsumeResult(won=True, token=parent, child=live_child).is_grace_retry(
        T0, grace=10
    )  # the winner is no retry
    unknown = ConsumeResult(won=False, token=None)
    assert not unknown.found
    assert not unknown.is_grace_retry(T0, grace=10)


def test_session_active_until_revoked_or_expired() -> None:
    session = SessionRecord(
        id="s",
        user_id="u",
        client_id="c",
        scope="",
        created_at=T0,
        last_used_at=T0,
        expires_at=T0 + 100,
    )
    assert session.active(T0 + 99)
    assert not session.active(T0 + 100)
    revoked = SessionRecord(**{**session.__dict__, "revoked_at": T0 + 1})
    assert not revoked.active(T0 + 2)
