"""Introspection for high-risk routes against a real ``tokensmith serve``: the API's
verifier asks the server's RFC 7662 endpoint as a confidential client; a logged-out
session's token still passes the local checks (no revocation feed here) but not the
introspected ones, at once."""

from __future__ import annotations

import asyncio

import pytest

from tokensmith.resource import (
    AccessTokenVerifier,
    InactiveTokenError,
    IntrospectionOptions,
    Introspector,
    VerifierOptions,
)

from .server_process import Server
from .test_clients import add_client


def test_logout_is_seen_at_once_by_introspected_checks_only(server: Server) -> None:
    api = add_client(server, "orders-api", "--grant", "client_credentials")
    introspector = Introspector(
        IntrospectionOptions(
            url=f"{server.url}/oauth/introspect",
            client_id=api["client_id"],
            client_secret=api["client_secret"],
        )
    )
    verifier = AccessTokenVerifier(
        issuer=server.url,
        audience=server.url,
        options=VerifierOptions(introspection=introspector, now=server.now),
    )
    with server.client() as http:
        login = server.register_and_login(http, "carol")
        token = login["access_token"]
        assert verifier.verify(token, introspect=True).claims["sub"]
        assert asyncio.run(verifier.verify_async(token, introspect=True)).claims["sub"]
        assert introspector.requests == 2
        out = http.post("/auth/logout", json={"refresh_token": login["refresh_token"]})
        assert out.status_code == 204, out.text
    assert verifier.verify(token).claims["sub"]  # local checks: still a valid token
    with pytest.raises(InactiveTokenError):
        verifier.verify(token, introspect=True)
    introspector.close()
