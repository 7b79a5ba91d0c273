"""RemoteKeySet against a real JWKS server on 127.0.0.1: rotation, the unknown-kid
flood, single-flight, stale-if-error then fail closed, and S4's fetch rules."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time

import pytest
from resource_helpers import AUDIENCE, ISSUER, Clock, JWKSServer, make_token

from tokensmith.jose import JWK
from tokensmith.jose.errors import JoseError, KeyNotFoundError
from tokensmith.resource import (
    AccessTokenVerifier,
    FetchLimits,
    KeySetOptions,
    KeySetUnavailableError,
    RemoteKeySet,
    VerifierOptions,
)
from tokensmith.resource.jwks import describe, ttl_from_cache_control


def _verifier(
    server: JWKSServer, clock: Clock, *, cache: bool = True, **key_set: object
) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=server.jwks_url,
        options=VerifierOptions(cache=cache, key_set=KeySetOptions(now=clock, **key_set)),  # type: ignore[arg-type]
    )


def test_key_rotation_on_the_server_is_picked_up_without_restart(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    old, new = JWK.generate("ES256", kid="k-old"), JWK.generate("ES256", kid="k-new")
    jwks_server.keys = [old]
    verifier = _verifier(jwks_server, clock)
    assert verifier.verify(make_token(old)).claims["sub"] == "user-1"
    assert jwks_server.jwks_fetches == 1

    jwks_server.keys = [new]  # rotation: the new key replaces the old one
    clock.advance(31)  # past the unknown-kid cooldown
    assert verifier.verify(make_token(new)).key.kid == "k-new"
    assert jwks_server.jwks_fetches == 2
    # the retired key is gone from the refetched set: its tokens no longer verify
    with pytest.raises(KeyNotFoundError):
        verifier.verify(make_token(old))


def test_rotation_is_also_picked_up_when_the_cache_control_ttl_runs_out(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    first, second = JWK.generate("EdDSA", kid="a"), JWK.generate("EdDSA", kid="b")
    jwks_server.keys = [first]
    jwks_server.cache_control = "public, max-age=120"
    verifier = _verifier(jwks_server, clock)
    verifier.verify(make_token(first))
    jwks_server.keys = [second]
    clock.advance(119)
    verifier.verify(make_token(first))  # still fresh: no fetch
    assert jwks_server.jwks_fetches == 1
    clock.advance(2)
    with pytest.raises(KeyNotFoundError):
        verifier.verify(make_token(first))
    assert jwks_server.jwks_fetches == 2
    assert verifier.verify(make_token(second)).key.kid == "b"
    assert jwks_server.jwks_fetches == 2


def test_thousand_unknown_kids_cost_one_fetch_per_cooldown_while_valid_tokens_verify(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    good = JWK.generate("ES256", kid="good")
    jwks_server.keys = [good]
    verifier = _verifier(jwks_server, clock)
    valid = make_token(good)
    verifier.verify(valid)
    attacker = JWK.generate("ES256")
    clock.advance(30)
    for round_ in range(3):
        before = jwks_server.jwks_fetches
        for i in range(1000):
            forged = make_token(attacker, header={"kid": secrets.token_hex(8)})
            with pytest.raises(KeyNotFoundError):
                verifier.verify(forged)
            if i % 50 == 0:
                assert verifier.verify(valid).claims["sub"] == "user-1"
            clock.advance(0.02)  # 1000 tokens spread over 20 s: inside one cooldown
        assert jwks_server.jwks_fetches - before == 1, f"round {round_}"
        clock.advance(30)
    assert verifier.key_set.unknown_kids >= 3000  # type: ignore[union-attr]


def test_single_flight_many_threads_waiting_on_one_fetch(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    jwks_server.delay = 0.3  # the fetch is slow: every thread arrives while it runs
    verifier = _verifier(jwks_server, clock, cache=False)
    token = make_token(key)
    results: list[str] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        barrier.wait()
        results.append(verifier.verify(token).claims["sub"])

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["user-1"] * 32
    assert jwks_server.jwks_fetches == 1


def test_single_flight_async_many_tasks_one_fetch(jwks_server: JWKSServer, clock: Clock) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    jwks_server.delay = 0.2
    verifier = _verifier(jwks_server, clock, cache=False)
    token = make_token(key)

    async def main() -> list[str]:
        found = await asyncio.gather(*(verifier.verify_async(token) for _ in range(50)))
        return [r.claims["sub"] for r in found]

    assert asyncio.run(main()) == ["user-1"] * 50
    assert jwks_server.jwks_fetches == 1


def test_async_rotation_is_picked_up(jwks_server: JWKSServer, clock: Clock) -> None:
    old, new = JWK.generate("RS256", kid="r1"), JWK.generate("RS256", kid="r2")
    jwks_server.keys = [old]
    verifier = _verifier(jwks_server, clock)

    async def main() -> None:
        await verifier.verify_async(make_token(old))
        jwks_server.keys = [old, new]
        clock.advance(30)
        assert (await verifier.verify_async(make_token(new))).key.kid == "r2"
        assert (await verifier.verify_async(make_token(old))).key.kid == "r1"

    asyncio.run(main())
    assert jwks_server.jwks_fetches == 2


def test_server_down_serves_stale_keys_until_max_staleness_then_fails_closed(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    jwks_server.cache_control = "max-age=300"
    verifier = _verifier(jwks_server, clock, cache=False, max_stale=3600.0, retry_interval=10.0)
    token = make_token(key, ttl=86400)
    verifier.verify(token)
    remote = verifier.key_set
    assert isinstance(remote, RemoteKeySet)

    jwks_server.mode = "down"
    clock.advance(301)  # expired: the refetch fails, the stale set is served
    assert verifier.verify(token).key.kid == "k1"
    assert (remote.fetch_failures, remote.stale_served) == (1, 1)
    clock.advance(5)  # within retry_interval: no new attempt, stale again
    verifier.verify(token)
    assert jwks_server.jwks_fetches == 2
    clock.advance(3600 - 5 - 2)  # one second short of max staleness past expiry
    verifier.verify(token)
    assert remote.stale_served == 3
    clock.advance(2)  # past it: fail closed
    with pytest.raises(KeySetUnavailableError) as caught:
        verifier.verify(token)
    assert caught.value.code == "jwks_unavailable"
    assert verifier.outcomes["jwks_unavailable"] == 1

    jwks_server.mode = "ok"  # back up: the next attempt recovers
    clock.advance(10)
    assert verifier.verify(token).key.kid == "k1"


def test_never_fetched_and_down_fails_closed(jwks_server: JWKSServer, clock: Clock) -> None:
    jwks_server.mode = "down"
    verifier = _verifier(jwks_server, clock)
    with pytest.raises(KeySetUnavailableError, match="HTTP 503"):
        verifier.verify(make_token(JWK.generate("ES256", kid="x")))


@pytest.mark.parametrize("mode", ["redirect", "big", "big-chunked", "private"])
def test_s4_s19_redirect_oversized_body_and_private_keys_are_refused(
    jwks_server: JWKSServer, clock: Clock, mode: str
) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    jwks_server.mode = mode
    verifier = _verifier(jwks_server, clock)
    with pytest.raises(KeySetUnavailableError) as caught:
        verifier.verify(make_token(key))
    message = caught.value.message
    expected = {
        "redirect": "redirect",
        "big": "larger than",
        "big-chunked": "larger than",
        "private": "private",
    }[mode]
    assert expected in message
    assert jwks_server.requests["/elsewhere"] == 0  # the redirect was not followed


def test_s4_a_slow_drip_is_cut_off_at_the_deadline(jwks_server: JWKSServer, clock: Clock) -> None:
    jwks_server.mode = "drip"
    remote = RemoteKeySet(
        jwks_uri=jwks_server.jwks_url,
        options=KeySetOptions(now=clock, limits=FetchLimits(timeout=2.0, deadline=0.5)),
    )
    started = time.monotonic()
    with pytest.raises(KeySetUnavailableError, match="longer than"):
        remote.keys_for(None)
    assert time.monotonic() - started < 3.0


@pytest.mark.parametrize("call", ["blocking", "async"])
def test_s4_headers_dripped_are_cut_off_at_the_deadline(
    jwks_server: JWKSServer, clock: Clock, call: str
) -> None:
    """A header line every 50 ms keeps each read inside its 2 s timeout, for 50 s; the
    deadline (0.5 s) stops the fetch, before the body's first chunk ever arrives."""
    jwks_server.mode = "drip-headers"
    remote = RemoteKeySet(
        jwks_uri=jwks_server.jwks_url,
        options=KeySetOptions(now=clock, limits=FetchLimits(timeout=2.0, deadline=0.5)),
    )

    def fetch() -> object:
        if call == "blocking":
            return remote.keys_for(None)
        return asyncio.run(remote.keys_for_async(None))

    started = time.monotonic()
    with pytest.raises(KeySetUnavailableError, match=r"longer than 0\.5 s"):
        fetch()
    assert time.monotonic() - started < 3.0
    assert jwks_server.requests["/jwks"] == 1


@pytest.mark.parametrize("call", ["blocking", "async"])
def test_s4_the_deadline_covers_a_name_lookup_that_hangs(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    """A resolver that never answers (the stand-in for a dead DNS server:
    ``socket.getaddrinfo`` has no timeout of its own) is cut off by the deadline."""
    release = threading.Event()
    looked_up: list[str] = []

    def hanging_lookup(host: str | bytes, *args: object, **kwargs: object) -> object:
        looked_up.append(host.decode() if isinstance(host, bytes) else host)  # anyio: IDNA bytes
        release.wait(10)
        raise OSError("test: no resolver")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    remote = RemoteKeySet(
        jwks_uri="https://jwks.example.test/jwks.json",
        options=KeySetOptions(now=clock, limits=FetchLimits(timeout=2.0, deadline=0.3)),
    )

    async def fetch_async() -> float:
        started = time.monotonic()
        try:
            with pytest.raises(KeySetUnavailableError, match=r"longer than 0\.3 s"):
                await remote.keys_for_async(None)
            return time.monotonic() - started
        finally:
            release.set()  # the resolver's thread ends; asyncio.run waits for it

    def fetch_blocking() -> float:
        started = time.monotonic()
        try:
            with pytest.raises(KeySetUnavailableError, match=r"longer than 0\.3 s"):
                remote.keys_for(None)
            return time.monotonic() - started
        finally:
            release.set()

    elapsed = fetch_blocking() if call == "blocking" else asyncio.run(fetch_async())
    assert elapsed < 3.0  # generous: the point is "not for ever"
    assert looked_up == ["jwks.example.test"]


def test_s4_jku_and_x5u_headers_never_cause_a_fetch(jwks_server: JWKSServer, clock: Clock) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    verifier = _verifier(jwks_server, clock)
    attacker = JWK.generate("ES256", kid="evil")
    forged = make_token(
        attacker, header={"jku": jwks_server.url + "/evil", "x5u": jwks_server.url + "/x5u"}
    )
    with pytest.raises(KeyNotFoundError):
        verifier.verify(forged)
    assert jwks_server.requests["/evil"] == jwks_server.requests["/x5u"] == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/jwks",
        "http://10.0.0.1/jwks",
        "ftp://127.0.0.1/jwks",
        "file:///etc/passwd",
        "https://user:pw@id.example/jwks",
        "",
    ],
)
def test_s4_only_https_or_loopback_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match=r"URL|https|host|credentials"):
        RemoteKeySet(jwks_uri=url)


def test_s4_https_and_loopback_http_urls_are_accepted_without_fetching() -> None:
    for url in ("https://id.example/jwks", "http://127.0.0.1:1/jwks", "http://[::1]:1/jwks"):
        assert RemoteKeySet(jwks_uri=url).key_set is None
    with pytest.raises(ValueError, match="only https"):
        RemoteKeySet(
            jwks_uri="http://127.0.0.1:1/jwks",
            options=KeySetOptions(limits=FetchLimits(allow_http_loopback=False)),
        )


def test_discovery_finds_the_jwks_uri(jwks_server: JWKSServer, clock: Clock) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    verifier = AccessTokenVerifier(
        issuer=jwks_server.url,
        audience=AUDIENCE,
        options=VerifierOptions(key_set=KeySetOptions(now=clock)),
    )
    token = make_token(key, iss=jwks_server.url)
    assert verifier.verify(token).claims["iss"] == jwks_server.url
    assert jwks_server.requests["/.well-known/openid-configuration"] == 1
    assert verifier.key_set.jwks_uri == jwks_server.jwks_url  # type: ignore[union-attr]


def test_discovery_naming_another_issuer_is_refused(jwks_server: JWKSServer, clock: Clock) -> None:
    jwks_server.discovery_issuer = "https://someone-else.example"
    remote = RemoteKeySet(issuer=jwks_server.url, options=KeySetOptions(now=clock))
    with pytest.raises(KeySetUnavailableError, match="another issuer"):
        remote.keys_for(None)
    assert jwks_server.jwks_fetches == 0


def test_keys_are_parsed_once_per_fetch(jwks_server: JWKSServer, clock: Clock) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    remote = RemoteKeySet(jwks_uri=jwks_server.jwks_url, options=KeySetOptions(now=clock))
    first = remote.keys_for("k1")
    assert all(remote.keys_for("k1") is first for _ in range(100))


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        (None, 3600.0),
        ("max-age=600", 600.0),
        ("public, max-age=5", 60.0),  # bounded below
        ("max-age=999999999", 86400.0),  # bounded above
        ("no-store", 60.0),
        ("no-cache, max-age=600", 60.0),
        ("max-age=junk", 3600.0),
        ('max-age="120"', 120.0),
    ],
)
def test_ttl_from_cache_control_is_bounded(header: str | None, ttl: float) -> None:
    assert ttl_from_cache_control(header, KeySetOptions()) == ttl


def test_key_set_options_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="cooldown"):
        KeySetOptions(cooldown=0)
    with pytest.raises(ValueError, match="min_ttl"):
        KeySetOptions(min_ttl=100, default_ttl=50)
    with pytest.raises(ValueError, match="max_stale"):
        KeySetOptions(max_stale=float("inf"))
    with pytest.raises(ValueError, match="exactly one"):
        RemoteKeySet()


S5_KIDS = ["", "../../../../dev/null", "/dev/null", "|sleep 10", "x' UNION SELECT '1';--", "0"]


@pytest.mark.parametrize("kid", [*S5_KIDS, 0, [], {}])
def test_s5_kid_injection_is_a_plain_lookup_and_costs_no_extra_fetch(
    jwks_server: JWKSServer, clock: Clock, kid: object
) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    verifier = _verifier(jwks_server, clock)
    verifier.verify(make_token(key))
    clock.advance(30)
    forged = make_token(JWK.generate("ES256"), header={"kid": kid})
    for _ in range(20):
        with pytest.raises(JoseError) as caught:
            verifier.verify(forged)
        assert caught.value.code in ("jwks_key_not_found", "jws_malformed", "jose_malformed")
    # a string kid may cost one refetch (a rotation is possible); others none
    assert jwks_server.jwks_fetches <= 2


def test_the_async_single_flight_lock_follows_the_running_loop(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_server.keys = [key]
    jwks_server.delay = 0.1
    verifier = _verifier(jwks_server, clock, cache=False)
    token = make_token(key)

    async def burst() -> None:
        await asyncio.gather(*(verifier.verify_async(token) for _ in range(10)))

    asyncio.run(burst())
    clock.advance(3601)  # expired: the next loop's burst refetches under its own lock
    asyncio.run(burst())
    assert jwks_server.jwks_fetches == 2


def test_describe_and_announced_algorithms_report_the_current_set(
    jwks_server: JWKSServer, clock: Clock
) -> None:
    jwks_server.keys = [JWK.generate("ES256", kid="e"), JWK.generate("EdDSA", kid="o")]
    remote = RemoteKeySet(jwks_uri=jwks_server.jwks_url, options=KeySetOptions(now=clock))
    assert describe(remote)["keys"] is None
    remote.refresh()
    summary = describe(remote)
    assert summary["keys"] == ["e", "o"]
    assert summary["fetches"] == 1
    assert summary["last_error"] is None
    assert remote.announced_algorithms == {"ES256", "EdDSA"}
    jwks_server.mode = "down"
    with pytest.raises(KeySetUnavailableError, match="refresh failed"):
        remote.refresh()
    assert describe(remote)["fetch_failures"] == 1


def test_fetch_limits_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        FetchLimits(max_bytes=0)
    with pytest.raises(ValueError, match="timeout"):
        FetchLimits(timeout=0)
