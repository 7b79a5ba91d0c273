"""The revocation feed client against a loopback SSE server, and the denylist."""

from __future__ import annotations

import asyncio
import sys
import time
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from resource_helpers import AUDIENCE, ISSUER, Clock, FeedServer, make_token, wait_for

from tokensmith.jose import JWK
from tokensmith.resource import (
    AccessTokenVerifier,
    Denylist,
    FeedOptions,
    FeedUnavailableError,
    RevocationFeed,
    RevokedError,
    VerifierOptions,
)

FAST = FeedOptions(backoff_initial=0.05, backoff_max=0.2)


def _feed(
    server: FeedServer, options: FeedOptions = FAST, token: str | None = None
) -> RevocationFeed:
    return RevocationFeed(server.url, token=token or FeedServer.SECRET, options=options)


def test_feed_applies_events_and_the_verifier_denies_by_jti_sid_and_user(
    feed_server: FeedServer,
) -> None:
    key = JWK.generate("ES256", kid="k1")
    later = time.time() + 600
    feed = _feed(feed_server).start()
    try:
        verifier = AccessTokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, keys=key, options=VerifierOptions(revocations=feed)
        )
        by_jti = make_token(key, jti="j-1", sid="s-1")
        by_sid = make_token(key, jti="j-2", sid="s-2")
        issued = int(time.time())
        by_user = make_token(key, jti="j-3", sid="s-3", sub="u-9", iat=issued - 10)
        fresh_user = make_token(key, jti="j-4", sid="s-4", sub="u-9", iat=issued)
        for token in (by_jti, by_sid, by_user, fresh_user):
            verifier.verify(token)  # all fine (and cached) before the revocations
        feed_server.publish("jti", "j-1", expires_at=later)
        feed_server.publish("sid", "s-2", expires_at=later)
        feed_server.publish("sub", "u-9", expires_at=later, not_before=issued - 5)
        assert wait_for(lambda: feed.denylist.last_id == 3)
        for token, why in ((by_jti, "jti"), (by_sid, "sid"), (by_user, "sub")):
            with pytest.raises(RevokedError, match=why) as caught:
                verifier.verify(token)  # a cache hit is still checked
            assert caught.value.code == "jwt_revoked"
        assert verifier.verify(fresh_user).claims["sub"] == "u-9"  # issued after not_before
    finally:
        feed.stop()


def test_feed_resumes_with_last_event_id_after_a_reconnect(feed_server: FeedServer) -> None:
    later = time.time() + 600
    feed_server.publish("jti", "a", expires_at=later)
    feed = _feed(feed_server).start()
    try:
        assert wait_for(lambda: feed.denylist.last_id == 1)
        feed_server.drop_connections()
        assert wait_for(lambda: feed_server.connections >= 2)
        feed_server.publish("jti", "b", expires_at=later)
        assert wait_for(lambda: feed.denylist.last_id == 2)
    finally:
        feed.stop()
    assert feed_server.last_event_ids[0] is None
    assert feed_server.last_event_ids[1] == "1"
    assert feed.events_applied == 2  # nothing applied twice
    assert feed.denylist.sizes()["jti"] == 2


def test_feed_skips_events_whose_tokens_already_expired(feed_server: FeedServer) -> None:
    feed_server.publish("jti", "old", expires_at=time.time() - 1)
    feed_server.publish("jti", "new", expires_at=time.time() + 60)
    feed = _feed(feed_server).start()
    try:
        assert wait_for(lambda: feed.denylist.last_id == 2)
    finally:
        feed.stop()
    assert len(feed.denylist) == 1
    assert feed.denylist.denies({"jti": "new"}) == "jti"
    assert feed.denylist.denies({"jti": "old"}) is None


def test_malformed_events_are_counted_and_skipped_not_fatal(feed_server: FeedServer) -> None:
    feed = _feed(feed_server).start()
    try:
        assert feed.wait_connected(5)
        feed_server.send_raw(b"event: revocation\ndata: {not json\n\n")
        feed_server.send_raw(b'event: revocation\ndata: {"id": 7, "kind": "nope"}\n\n')
        feed_server.send_raw(b"event: other\ndata: {}\n\n")  # another event type: ignored
        feed_server.publish("sid", "s", expires_at=time.time() + 60)
        assert wait_for(lambda: feed.denylist.last_id == 1)
    finally:
        feed.stop()
    assert feed.events_rejected == 2
    assert feed.connects == 1


def test_an_end_of_backlog_marker_sets_synced(feed_server: FeedServer) -> None:
    feed = _feed(feed_server).start()
    try:
        assert feed.wait_connected(5)
        assert not feed.wait_synced(0.05)
        feed_server.send_raw(b'event: ready\ndata: {"last_id": 0}\n\n')
        assert feed.wait_synced(5)
    finally:
        feed.stop()


def test_a_reset_event_starts_the_ids_over(feed_server: FeedServer) -> None:
    later = time.time() + 600
    feed = _feed(feed_server).start()
    try:
        assert feed.wait_connected(5)
        feed.denylist.last_id = 50  # ids of a database the server no longer has
        feed_server.publish("jti", "lost-without-reset", expires_at=later)  # id 1 <= 50
        feed_server.send_raw(b"event: reset\ndata: {}\n\n")
        feed_server.publish("jti", "after-reset", expires_at=later)  # id 2
        assert wait_for(lambda: feed.denylist.last_id == 2)
    finally:
        feed.stop()
    assert feed.resets == 1
    assert feed.denylist.denies({"jti": "after-reset"}) == "jti"
    assert feed.denylist.denies({"jti": "lost-without-reset"}) is None


def test_wrong_secret_keeps_the_feed_down_and_retrying(feed_server: FeedServer) -> None:
    feed = _feed(feed_server, token="wrong").start()
    try:
        assert wait_for(lambda: feed_server.connections >= 3)
        assert not feed.connected
        assert "HTTP 401" in (feed.last_error or "")
    finally:
        feed.stop()


def test_outage_policy_fail_closed_after_max_outage_and_serve_keeps_serving(
    feed_server: FeedServer,
) -> None:
    key = JWK.generate("ES256", kid="k1")
    token = make_token(key)
    for policy, refused in (("fail_closed", True), ("serve", False)):
        clock = Clock()
        options = FeedOptions(
            max_outage=30,
            on_outage=policy,
            monotonic=clock,
            backoff_initial=0.05,  # type: ignore[arg-type]
        )
        feed = RevocationFeed(feed_server.url, token="wrong", options=options).start()
        try:
            verifier = AccessTokenVerifier(
                issuer=ISSUER,
                audience=AUDIENCE,
                keys=key,
                options=VerifierOptions(revocations=feed),
            )
            verifier.verify(token)  # down for 0 s: within the allowance
            clock.advance(30)
            verifier.verify(token)  # exactly the allowance
            clock.advance(1)
            if refused:
                with pytest.raises(FeedUnavailableError) as caught:
                    verifier.verify(token)
                assert caught.value.code == "revocation_feed_unavailable"
            else:
                assert verifier.verify(token).claims["sub"] == "user-1"
            assert feed.down_for() == 31
        finally:
            feed.stop()


def test_a_reconnected_feed_is_healthy_again(feed_server: FeedServer) -> None:
    clock = Clock()
    feed = RevocationFeed(
        feed_server.url,
        token=FeedServer.SECRET,
        options=FeedOptions(max_outage=5, monotonic=clock, backoff_initial=0.05),
    )
    clock.advance(60)
    with pytest.raises(FeedUnavailableError):
        feed.check()  # never connected yet, for longer than the allowance
    feed.start()
    try:
        assert feed.wait_connected(5)
        feed.check()
        assert feed.down_for() == 0
    finally:
        feed.stop()


def test_feed_runs_as_an_asyncio_task(feed_server: FeedServer) -> None:
    async def main() -> int:
        feed = await _feed(feed_server).start_async()
        feed_server.publish("jti", "x", expires_at=time.time() + 60)
        for _ in range(500):
            if feed.denylist.last_id == 1:
                break
            await asyncio.sleep(0.01)
        await feed.stop_async()
        return feed.denylist.last_id

    assert asyncio.run(main()) == 1


def test_feed_url_rules_and_options() -> None:
    assert (
        RevocationFeed("https://id.example", token="t").url == "https://id.example/auth/revocations"
    )
    with pytest.raises(ValueError, match="only https"):
        RevocationFeed("http://id.example", token="t")
    with pytest.raises(TypeError):
        RevocationFeed("https://id.example", token="")
    with pytest.raises(ValueError, match="on_outage"):
        FeedOptions(on_outage="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="backoff"):
        FeedOptions(backoff_initial=10, backoff_max=1)


# ---- the denylist ------------------------------------------------------------------------


def test_denylist_entries_are_dropped_when_the_tokens_they_deny_expire() -> None:
    denylist = Denylist()
    denylist.add("jti", "a", expires_at=100.0, event_id=1)
    denylist.add("sid", "s", expires_at=200.0, event_id=2)
    denylist.add("sub", "u", expires_at=300.0, not_before=50.0, event_id=3)
    assert len(denylist) == 3
    assert denylist.last_id == 3
    assert denylist.prune(150.0) == 1
    assert denylist.denies({"jti": "a"}) is None
    assert denylist.denies({"sid": "s"}) == "sid"
    assert denylist.prune(1000.0) == 2
    assert len(denylist) == 0


def test_denylist_per_user_not_before_compares_iat() -> None:
    denylist = Denylist()
    denylist.add("sub", "u", expires_at=1e10, not_before=1000.0)
    assert denylist.denies({"sub": "u", "iat": 999}) == "sub"
    assert denylist.denies({"sub": "u", "iat": 1000}) is None
    assert denylist.denies({"sub": "u"}) == "sub"  # no iat: cannot prove it is newer
    assert denylist.denies({"sub": "other", "iat": 1}) is None
    denylist.add("sub", "u", expires_at=1e10, not_before=500.0)  # an older event never lowers it
    assert denylist.denies({"sub": "u", "iat": 999}) == "sub"


def test_denylist_ignores_non_string_claims_and_refuses_bad_events() -> None:
    denylist = Denylist()
    denylist.add("jti", "a", expires_at=1e10)
    assert denylist.denies({"jti": ["a"], "sid": {"x": 1}}) is None
    for bad in (
        {"kind": "nope", "value": "v", "expires_at": 1.0},
        {"kind": "jti", "value": "", "expires_at": 1.0},
        {"kind": "jti", "value": "v", "expires_at": float("nan")},
        {"kind": "sub", "value": "v", "expires_at": 1.0},
    ):
        with pytest.raises(ValueError, match=r"kind|value|finite|not_before"):
            denylist.add(bad["kind"], bad["value"], expires_at=bad["expires_at"])  # type: ignore[arg-type]


def test_denylist_memory_is_at_most_200_bytes_per_entry() -> None:
    import secrets

    values = [secrets.token_urlsafe(16) for _ in range(100_000)]  # the server's jti shape
    expiry = [time.time() + 900 + i for i in range(100_000)]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    denylist = Denylist()
    for value, expires in zip(values, expiry, strict=True):
        denylist.add("jti", value, expires_at=expires)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    # the strings themselves arrive with the event and are kept: count them too
    strings = sum(sys.getsizeof(v) for v in values)
    per_entry = (grown + strings) / 100_000
    assert per_entry <= 200, per_entry


def test_a_line_longer_than_64_kb_breaks_the_connection_and_the_feed_reconnects(
    feed_server: FeedServer,
) -> None:
    feed = _feed(feed_server).start()
    try:
        assert feed.wait_connected(5)
        feed_server.send_raw(b"data: " + b"x" * (70 * 1024))
        assert wait_for(lambda: feed.connects >= 2)
        assert "longer than" in (feed.last_error or "")
    finally:
        feed.stop()


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_sse_parser_gives_the_same_events_however_the_stream_is_chunked(cuts: list[int]) -> None:
    from tokensmith.resource.feed import _EventParser

    stream = (
        b"retry: 3000\n\n: keep-alive\n\n"
        b'id: 1\nevent: revocation\ndata: {"id":1}\n\n'
        b'id: 2\r\nevent: revocation\r\ndata: {"id":2}\r\n\r\n'
        b"event: other\ndata: a\ndata: b\n\n"
        b"data:no-space\n\n"
    )
    seen: list[tuple[str, str, str | None]] = []
    parser = _EventParser(lambda e, d, i: seen.append((e, d, i)))
    points = sorted({min(c, len(stream)) for c in cuts})
    last = 0
    for point in [*points, len(stream)]:
        parser.feed(stream[last:point])
        last = point
    assert seen == [
        ("revocation", '{"id":1}', "1"),
        ("revocation", '{"id":2}', "2"),
        ("other", "a\nb", "2"),
        ("message", "no-space", "2"),
    ]
