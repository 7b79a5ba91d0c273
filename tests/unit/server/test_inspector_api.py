"""Issue 10: ``POST /inspector/analyze``, the token inspector's server side: decoding,
signature checks against the server's JWKS or a pasted key, JWE, RFC 8725 warnings,
stable error codes, and nothing pasted in any log line."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer.service import Issuer
from tokensmith.jose import JWK, jwe, jwt
from tokensmith.server import create_app
from tokensmith.server.compose import issuer_config
from tokensmith.settings import Settings, load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


@dataclass
class Inspector:
    app: FastAPI
    issuer: Issuer
    clock: FakeClock
    http: httpx.AsyncClient

    async def analyze(self, token: str, key: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"token": token}
        if key is not None:
            body["key"] = key
        return await self.http.post("/inspector/analyze", json=body)

    async def access_token(self) -> str:
        await self.issuer.add_user(username="ann", password=PASSWORD)
        return (await self.issuer.login(username="ann", password=PASSWORD)).access_token


@pytest.fixture
async def inspector() -> AsyncIterator[Inspector]:
    clock = FakeClock()
    stores = memory_stores()
    issuer = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    app = create_app(load_settings(), issuer=issuer)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        yield Inspector(app, issuer, clock, http)
    await issuer.close()
    await stores.close()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def codes(answer: httpx.Response) -> set[str]:
    return {w["code"] for w in answer.json()["warnings"]}


async def test_a_server_token_verifies_against_the_jwks(inspector: Inspector) -> None:
    token = await inspector.access_token()
    answer = await inspector.analyze(token)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["format"] == "jws"
    assert body["signature"]["status"] == "valid"
    assert body["signature"]["source"] == "this server's JWKS"
    assert body["signature"]["kid"] == body["header"]["kid"]
    assert body["times"]["exp"] == body["claims"]["exp"]
    assert body["times"]["iat"] == inspector.clock.now
    assert body["now"] == inspector.clock.now
    # a well-made access token: nothing worse than informational notes
    assert {w["severity"] for w in body["warnings"]} <= {"info"}


async def test_a_tampered_server_token_is_invalid(inspector: Inspector) -> None:
    token = await inspector.access_token()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin"]
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    body = (await inspector.analyze(forged)).json()
    assert body["signature"]["status"] == "invalid"
    assert body["claims"]["roles"] == ["admin"]


async def test_alg_none_is_flagged_and_not_verified(inspector: Inspector) -> None:
    answer = await inspector.analyze(unsigned({"sub": "x", "aud": "api", "exp": 2e9}))
    assert answer.status_code == 200
    body = answer.json()
    assert body["signature"]["status"] == "unsigned"
    danger = [w for w in body["warnings"] if w["code"] == "alg_none"]
    assert danger[0]["severity"] == "danger"
    assert "RFC 8725" in danger[0]["message"]


async def test_no_exp_hmac_and_missing_aud_with_a_pasted_secret(inspector: Inspector) -> None:
    secret = JWK.from_secret(b"k" * 32, kid="shared")
    token = jwt.encode({"sub": "svc", "iss": "me"}, secret, alg="HS256")
    body = (await inspector.analyze(token, key=secret.to_json())).json()
    assert body["signature"] == {
        "status": "valid",
        "source": "pasted key",
        "kid": "shared",
        "message": "the signature verifies",
    }
    assert {"no_exp", "hmac_alg", "no_aud"} <= codes(await inspector.analyze(token))
    # against the server's JWKS an HS token has no key (the key decides the family)
    against_server = (await inspector.analyze(token)).json()["signature"]
    assert against_server["status"] == "unchecked"
    wrong = JWK.from_secret(b"w" * 32, kid="shared")
    assert (await inspector.analyze(token, key=wrong.to_json())).json()["signature"][
        "status"
    ] == "invalid"


async def test_pem_and_jwk_set_keys_verify(inspector: Inspector) -> None:
    key = JWK.generate("ES256", kid="e1")
    now = int(inspector.clock.now)
    token = jwt.encode({"sub": "a", "aud": "api", "iat": now, "exp": now + 600}, key)
    pem = key.public().to_pem().decode()
    assert (await inspector.analyze(token, key=pem)).json()["signature"]["status"] == "valid"
    keyset = json.dumps({"keys": [key.public().to_dict()]})
    assert (await inspector.analyze(token, key=keyset)).json()["signature"]["status"] == "valid"
    other = JWK.generate("ES256", kid="e1").public().to_json()
    assert (await inspector.analyze(token, key=other)).json()["signature"]["status"] == "invalid"


async def test_lifetime_size_time_and_sensitive_claim_warnings(inspector: Inspector) -> None:
    key = JWK.generate("ES256")
    now = int(inspector.clock.now)
    claims = {
        "sub": "a",
        "aud": "api",
        "iss": "me",
        "iat": now,
        "exp": now + 8 * 3600,
        "profile": {"creditCardNumber": "4111", "home": {"ssn": "1"}},
        "user_password": "x",
        "shipping": "not sensitive",
        "discard": "not sensitive",
        "blob": "x" * 1200,
    }
    body = (await inspector.analyze(jwt.encode(claims, key))).json()
    by_code = {w["code"]: w for w in body["warnings"]}
    assert "8.0 h" in by_code["long_lifetime"]["message"]
    assert "over 1024" in by_code["large_payload"]["message"]
    sensitive = by_code["sensitive_claims"]["message"]
    assert "profile.creditCardNumber" in sensitive
    assert "profile.home.ssn" in sensitive
    assert "user_password" in sensitive
    assert "shipping" not in sensitive
    assert "discard" not in sensitive
    short = jwt.encode({"sub": "a", "aud": "x", "iat": now - 900, "exp": now - 300}, key)
    found = codes(await inspector.analyze(short))
    assert "expired" in found
    assert "long_lifetime" not in found
    assert "no_aud" not in found


async def test_jwe_header_only_without_a_key_and_decrypted_with_one(inspector: Inspector) -> None:
    server_token = await inspector.access_token()
    recipient = JWK.generate("RSA-OAEP-256", kid="r1")
    sealed = jwe.encrypt(server_token, recipient.public(), header={"cty": "JWT"})
    closed = (await inspector.analyze(sealed)).json()
    assert closed["format"] == "jwe"
    assert closed["header"]["alg"] == "RSA-OAEP-256"
    assert closed["decryption"]["status"] == "not_attempted"
    assert "claims" not in closed
    opened = (await inspector.analyze(sealed, key=recipient.to_json())).json()
    assert opened["decryption"]["status"] == "decrypted"
    assert opened["nested"]["signature"]["status"] == "valid"
    assert opened["nested"]["claims"]["iss"] == inspector.issuer.config.issuer
    wrong = JWK.generate("RSA-OAEP-256", kid="r1").to_json()
    failed = (await inspector.analyze(sealed, key=wrong)).json()
    assert failed["decryption"]["status"] == "failed"
    assert "nested" not in failed


async def test_encrypted_claims_without_signature(inspector: Inspector) -> None:
    shared = JWK.from_secret(b"s" * 32, alg="dir")
    sealed = jwe.encrypt(json.dumps({"sub": "a", "pin": 1234}), shared, enc="A256GCM")
    body = (await inspector.analyze(sealed, key=shared.to_json())).json()
    assert body["claims"] == {"sub": "a", "pin": 1234}
    assert {"no_exp", "sensitive_claims", "no_aud"} <= codes_of(body)


def codes_of(body: dict[str, Any]) -> set[str]:
    return {w["code"] for w in body["warnings"]}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"token": ""}, "token_malformed"),
        ({"token": "abc"}, "token_malformed"),
        ({"token": "a.b.c.d"}, "token_malformed"),
        ({"token": "!!!.e30."}, "token_malformed"),
        ({"token": "e30.bm90IGpzb24."}, "token_malformed"),
        ({"token": "a" * 40000}, "invalid_request"),
        ({"token": "e30.e30.", "key": "not a key"}, "key_invalid"),
        ({"token": "e30.e30.", "key": '{"kty": "RSA"}'}, "key_invalid"),
        ({"token": "e30.e30.", "key": "-----BEGIN PUBLIC KEY-----\nAAAA\n"}, "key_invalid"),
        ({"token": 5}, "invalid_request"),
        ({"token": "e30.e30.", "extra": 1}, "invalid_request"),
        ({}, "invalid_request"),
    ],
)
async def test_bad_input_is_a_stable_400(
    inspector: Inspector, body: dict[str, Any], code: str
) -> None:
    answer = await inspector.http.post("/inspector/analyze", json=body)
    assert answer.status_code == 400
    assert answer.json()["error"] == code


async def test_s27_nothing_pasted_into_the_inspector_reaches_a_log_line(
    inspector: Inspector, caplog: pytest.LogCaptureFixture
) -> None:
    token = await inspector.access_token()
    key = JWK.generate("ES256")
    pem = key.to_pem().decode()
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    await inspector.analyze(token, key=pem)
    await inspector.analyze(token + "x")
    await inspector.http.post("/inspector/analyze", json={"token": token, "nope": 1})
    lines = [(r.getMessage(), repr(getattr(r, "fields", None))) for r in caplog.records]
    assert any("/inspector/analyze" in fields for _, fields in lines)  # the access log ran
    signature = token.split(".")[2]
    for message, fields in lines:
        for secret in (token, signature, pem, pem.splitlines()[1]):
            assert secret not in message
            assert secret not in fields


# ---- the per-address rate limit ---------------------------------------------------------


@dataclass
class Limited:
    clock: FakeClock
    app: FastAPI

    async def analyze(self, ip: str, token: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            return await http.post("/inspector/analyze", json={"token": token})


@pytest.fixture
async def limited_inspector() -> AsyncIterator[Callable[[Settings], Awaitable[Limited]]]:
    """``open(settings)``: an app whose issuer takes its rate limits from ``settings``."""
    async with contextlib.AsyncExitStack() as stack:

        async def open_(settings: Settings) -> Limited:
            clock = FakeClock()
            stores = memory_stores()
            stack.push_async_callback(stores.close)
            config = dataclasses.replace(
                make_config(), rate_limits=issuer_config(settings).rate_limits
            )
            issuer = await Issuer.open(
                config, stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
            )
            stack.push_async_callback(issuer.close)
            app = create_app(settings, issuer=issuer)
            await stack.enter_async_context(app.router.lifespan_context(app))
            return Limited(clock, app)

        yield open_


TOKEN = unsigned({"sub": "someone", "exp": 2_000_000_000})


async def test_inspector_calls_are_limited_per_address(
    limited_inspector: Callable[[Settings], Awaitable[Limited]],
) -> None:
    site = await limited_inspector(load_settings(rate_inspect_limit=3, rate_inspect_window="1m"))
    for _ in range(3):
        assert (await site.analyze("192.0.2.1", TOKEN)).status_code == 200
    refused = await site.analyze("192.0.2.1", TOKEN)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["cache-control"] == "no-store"
    assert refused.json()["error"] == "rate_limited"
    # counted before any work: a malformed token is refused for the rate, not decoded
    assert (await site.analyze("192.0.2.1", "not a token")).status_code == 429
    # another address is not affected
    assert (await site.analyze("192.0.2.2", TOKEN)).status_code == 200
    # the block is a back-off, not a ban; hammering on doubles it
    site.clock.advance(1.5)
    assert (await site.analyze("192.0.2.1", TOKEN)).status_code == 200
    again = await site.analyze("192.0.2.1", TOKEN)
    assert again.status_code == 429
    assert again.headers["retry-after"] == "2"


async def test_inspector_default_limit_is_60_calls_per_address(
    limited_inspector: Callable[[Settings], Awaitable[Limited]],
) -> None:
    site = await limited_inspector(load_settings())
    for _ in range(60):
        assert (await site.analyze("192.0.2.3", TOKEN)).status_code == 200
    assert (await site.analyze("192.0.2.3", TOKEN)).status_code == 429


async def test_inspector_calls_pass_when_rate_limits_are_disabled(
    limited_inspector: Callable[[Settings], Awaitable[Limited]],
) -> None:
    site = await limited_inspector(load_settings(rate_limits=False, rate_inspect_limit=1))
    for _ in range(5):
        assert (await site.analyze("192.0.2.4", TOKEN)).status_code == 200
