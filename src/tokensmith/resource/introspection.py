"""Introspection (RFC 7662) as a second opinion for high-risk routes.

Every request is verified locally (signature, claims, the revocation feed's denylist):
no network. A route where a revocation must count *now* (a payment, an admin action),
not within the feed's second, can also ask the auth server whether the token is still
active::

    introspector = Introspector(IntrospectionOptions(
        url="https://id.example/oauth/introspect",
        client_id="orders-api", client_secret=os.environ["ORDERS_API_SECRET"]))
    verifier = AccessTokenVerifier(issuer=..., audience=..., options=VerifierOptions(
        introspection=introspector))
    token = await verifier.verify_async(raw, introspect=True)

The middleware does it for path prefixes (``MiddlewareOptions(introspect_paths=...)``)
and FastAPI routes with the ``require_active`` dependency. The answer must say
``"active": true`` for this very token (same ``jti``/``sub``/``iss`` when it names
them); anything else is :class:`InactiveTokenError` (401 ``invalid_token``). When the
server cannot answer (down, timeout, not JSON, a redirect, too big) the check fails
closed with :class:`IntrospectionUnavailableError` (503). The request follows S4's
rules (https, or http to a loopback host; no redirects; size and time limits) and
authenticates with ``client_secret_basic``.

Active answers may be reused for ``cache_ttl`` seconds (0, the default, asks every
time); an inactive answer is never cached away: the next request asks again.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote_plus

import httpx

from tokensmith.jose.errors import ClaimsError

from .errors import FetchError, UnavailableError
from .fetch import FetchLimits, check_url, fetch, fetch_async

__all__ = [
    "InactiveTokenError",
    "IntrospectionOptions",
    "IntrospectionUnavailableError",
    "Introspector",
]

#: the claims an active answer must agree on with the locally verified token
_SAME_CLAIMS: Final = ("jti", "sub", "iss")


class InactiveTokenError(ClaimsError):
    """The auth server says the token is not active (revoked, expired, unknown)."""

    code = "token_inactive"


class IntrospectionUnavailableError(UnavailableError):
    """The introspection endpoint gave no usable answer: fail closed (HTTP 503)."""

    code = "introspection_unavailable"


@dataclass(frozen=True, slots=True)
class IntrospectionOptions:
    """Where and as whom to ask. ``url``: the server's introspection endpoint (its
    discovery document's ``introspection_endpoint``); ``client_id``/``client_secret``:
    a confidential client of that server (``tokensmith clients add``); ``timeout``:
    seconds for the whole exchange; ``cache_ttl``: seconds an active answer is reused
    (0: never); ``cache_max_entries`` bounds that cache."""

    url: str
    client_id: str
    client_secret: str
    timeout: float = 2.0
    cache_ttl: float = 0.0
    cache_max_entries: int = 10_000
    max_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        check_url(self.url)
        for name in ("client_id", "client_secret"):
            value = getattr(self, name)
            if type(value) is not str or not value:
                raise ValueError(f"{name} must be a non-empty string")
        if not 0 < self.timeout <= 60:
            raise ValueError("timeout must be between 0 and 60 seconds")
        if not 0 <= self.cache_ttl <= 300:
            raise ValueError("cache_ttl must be between 0 and 300 seconds")
        if self.cache_max_entries < 1 or self.max_bytes < 1:
            raise ValueError("cache_max_entries and max_bytes must be positive")


@contextlib.contextmanager
def _failing_closed() -> Iterator[None]:
    try:
        yield
    except FetchError as exc:
        raise IntrospectionUnavailableError(f"introspection failed: {exc}") from None


def _basic(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: form-urlencode each part before joining them
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class Introspector:
    """Asks the auth server about one token; see the module docstring. Thread-safe;
    pass your own ``httpx`` clients to share connection pools."""

    def __init__(
        self,
        options: IntrospectionOptions,
        *,
        client: httpx.Client | None = None,
        async_client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(options, IntrospectionOptions):
            raise TypeError("options must be IntrospectionOptions")
        self.options = options
        self._client = client
        self._async_client = async_client
        self._clock = clock
        self._limits = FetchLimits(
            max_bytes=options.max_bytes, timeout=options.timeout, deadline=options.timeout
        )
        self._headers = {"Authorization": _basic(options.client_id, options.client_secret)}
        self._active: OrderedDict[str, float] = OrderedDict()  # token -> reusable until
        self._lock = threading.Lock()
        #: requests sent to the endpoint (for tests and metrics)
        self.requests = 0

    def check(self, token: str, claims: Mapping[str, Any]) -> None:
        """Raise unless the server says ``token`` (whose verified claims are ``claims``)
        is active."""
        if self._cached(token):
            return
        if self._client is None:
            self._client = httpx.Client()
        self.requests += 1
        with _failing_closed():
            fetched = fetch(self._client, self.options.url, self._limits, **self._request(token))
        self._judge(token, claims, fetched.body)

    async def check_async(self, token: str, claims: Mapping[str, Any]) -> None:
        """:meth:`check` for async code."""
        if self._cached(token):
            return
        if self._async_client is None:
            self._async_client = httpx.AsyncClient()
        self.requests += 1
        with _failing_closed():
            fetched = await fetch_async(
                self._async_client, self.options.url, self._limits, **self._request(token)
            )
        self._judge(token, claims, fetched.body)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.aclose()

    # ---- steps -------------------------------------------------------------------------

    def _request(self, token: str) -> dict[str, Any]:
        return {
            "form": {"token": token, "token_type_hint": "access_token"},
            "headers": self._headers,
        }

    def _cached(self, token: str) -> bool:
        if self.options.cache_ttl <= 0:
            return False
        with self._lock:
            until = self._active.get(token)
            if until is None:
                return False
            if self._clock() < until:
                return True
            del self._active[token]
            return False

    def _judge(self, token: str, claims: Mapping[str, Any], body: bytes) -> None:
        try:
            answer = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise IntrospectionUnavailableError("introspection answered no JSON") from None
        if type(answer) is not dict or type(answer.get("active")) is not bool:
            raise IntrospectionUnavailableError("introspection answered no 'active' member")
        if answer["active"] is not True:
            raise InactiveTokenError("the auth server says this token is no longer active")
        for name in _SAME_CLAIMS:
            if name in answer and answer[name] != claims.get(name):
                raise InactiveTokenError(f"introspection describes another token ({name})")
        if self.options.cache_ttl > 0:
            with self._lock:
                self._active[token] = self._clock() + self.options.cache_ttl
                self._active.move_to_end(token)
                while len(self._active) > self.options.cache_max_entries:
                    self._active.popitem(last=False)
