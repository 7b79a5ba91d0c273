"""How the server reads a ``private_key_jwt`` client's ``jwks_uri``: the issuer's
:class:`~tokensmith.issuer.client_auth.RemoteKeySets`, over the API side's bounded fetch
(:mod:`tokensmith.resource.fetch`, S4): https only (http only to a loopback host), no
redirects, no proxy from the environment, 256 KiB and 10 s at most."""

from __future__ import annotations

import httpx

from ..resource.fetch import FetchLimits, check_url, fetch_async

JWKS_URI_LIMITS = FetchLimits(max_bytes=256 * 1024, timeout=5.0, deadline=10.0)


class HttpRemoteKeySets:
    """:class:`~tokensmith.issuer.client_auth.RemoteKeySets` over HTTP (S4's rules)."""

    def __init__(self, limits: FetchLimits = JWKS_URI_LIMITS) -> None:
        self._limits = limits

    def check_url(self, url: str) -> None:
        check_url(url, allow_http_loopback=self._limits.allow_http_loopback)

    async def fetch(self, url: str) -> bytes:
        """The document's bytes; ``ValueError`` for a refused URL, a ``JoseError``
        (``FetchError``) for anything the fetch refuses or cannot do."""
        self.check_url(url)
        async with httpx.AsyncClient(trust_env=False) as client:
            return (await fetch_async(client, url, self._limits)).body
