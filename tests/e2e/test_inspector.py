"""The token inspector in a real browser: an ``alg: none`` token and a token without
``exp`` are flagged, a token this server signed shows as verified with local and relative
times, a JWE shows its header and decrypts with a pasted key, and nothing pasted ends up
in a URL, in storage or in the server's log."""

from __future__ import annotations

import base64
import json
from typing import Any

from integration.server_process import PASSWORD, Server
from tokensmith.jose import JWK, jwe, jwt

from .conftest import docs_shot, shot, sign_up, unique


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _inspect(page: Any, server: Server, token: str, key: str | None = None) -> None:
    if not page.url.endswith("/inspector"):
        page.goto(f"{server.url}/inspector")
    page.get_by_label("Token", exact=True).fill(token)
    page.get_by_label("Key (optional)").fill(key or "")
    page.get_by_role("button", name="Inspect").click()


def _warnings(page: Any) -> list[str]:
    codes: list[str] = page.locator("ul.warnings li[data-code]").evaluate_all(
        "items => items.map(i => i.dataset.code)"
    )
    return codes


def _verdict(page: Any) -> str:
    status: str = page.locator("[data-bind=verdict]").get_attribute("data-status")
    return status


def test_alg_none_and_missing_exp_are_flagged(web_server: Server, new_page: Any) -> None:
    page = new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'mallory', 'admin': True})}."
    _inspect(page, web_server, unsigned)
    page.locator("ul.warnings li[data-code=alg_none]").wait_for()
    assert _verdict(page) == "unsigned"
    assert {"alg_none", "no_exp", "no_aud"} <= set(_warnings(page))
    assert "Danger" in page.locator("ul.warnings li[data-code=alg_none]").inner_text()
    assert page.locator("tr[data-name=sub]").inner_text().endswith("mallory")
    docs_shot(page, "inspector-warnings")

    secret = JWK.from_secret(b"s" * 32, kid="shared")
    no_exp = jwt.encode({"sub": "svc", "aud": "api", "password": "hunter2"}, secret, alg="HS256")
    _inspect(page, web_server, no_exp, secret.to_json())
    page.locator("[data-bind=verdict][data-status=valid]").wait_for()
    page.locator("ul.warnings li[data-code=no_exp]").wait_for()
    assert {"no_exp", "hmac_alg", "sensitive_claims"} <= set(_warnings(page))
    assert "alg_none" not in _warnings(page)
    assert "pasted key" in page.locator("[data-bind=verdict]").inner_text()
    # the token travelled in a POST body only
    assert not [u for u in urls if no_exp in u or unsigned in u]
    storage = page.evaluate("localStorage.length + sessionStorage.length")
    assert storage == 0


def test_a_server_token_shows_as_verified_with_times(web_server: Server, new_page: Any) -> None:
    name = unique("inspected")
    sign_up(web_server, name)
    with web_server.client() as client:
        login = client.post("/auth/login", json={"username": name, "password": PASSWORD})
    token = login.json()["access_token"]
    page = new_page()
    _inspect(page, web_server, token)
    page.locator("[data-bind=verdict][data-status=valid]").wait_for()
    verdict = page.locator("[data-bind=verdict]").inner_text()
    assert "this server's JWKS" in verdict
    assert "alg_none" not in _warnings(page)
    assert "no_exp" not in _warnings(page)
    exp = page.locator("tr[data-name=exp] [data-time=exp]").inner_text()
    assert "expires in" in exp  # "expires in 30 seconds" (the test server's lifetime)
    iat = page.locator("tr[data-name=iat] [data-time=iat]").inner_text()
    assert "issued" in iat
    docs_shot(page, "inspector")

    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    _inspect(page, web_server, tampered)
    page.locator("[data-bind=verdict][data-status=invalid]").wait_for()

    page.get_by_label("Token", exact=True).fill("not a token")
    page.get_by_role("button", name="Inspect").click()
    page.locator("[data-bind=error]").filter(has_text="3 dot-separated").wait_for()
    assert page.locator("[data-bind=result]").is_hidden()

    log = web_server.output()
    assert '"path": "/inspector/analyze"' in log
    assert token not in log
    assert token.split(".")[2] not in log


def test_jwe_header_then_decrypted_with_a_pasted_key(web_server: Server, new_page: Any) -> None:
    recipient = JWK.generate("ECDH-ES+A256KW", kid="mine")
    signer = JWK.generate("ES256", kid="other-issuer")
    inner = jwt.encode({"sub": "x", "aud": "api", "exp": 4_000_000_000, "iat": 1}, signer)
    sealed = jwe.encrypt(inner, recipient.public(), header={"cty": "JWT"})
    page = new_page(phone=True)
    _inspect(page, web_server, sealed)
    page.locator("[data-bind=decryption][data-status=unchecked]").wait_for()
    assert "Protected header" in page.locator("[data-bind=header-title]").inner_text()
    assert page.locator("tr[data-name=alg]").inner_text().endswith("ECDH-ES+A256KW")
    assert page.locator("[data-bind=claims-card]").is_hidden()

    _inspect(page, web_server, sealed, recipient.to_json())
    page.locator("[data-bind=decryption][data-status=valid]").wait_for()
    page.locator("tr[data-name=sub]").wait_for()
    # signed by a key this server does not have: decrypted, but the signature unchecked
    assert _verdict(page) == "unchecked"
    assert "long_lifetime" in _warnings(page)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "inspector-jwe-phone")
