"""``DPoPAuth``: an ``httpx.Auth`` that keeps a DPoP key and the tokens bound to it.

For each request it signs a fresh proof (``htm``, ``htu``, ``iat``, a random ``jti``,
the origin's last ``DPoP-Nonce``):

- to a token endpoint (``/auth/login``, ``/auth/refresh``, ``/oauth/token`` by default),
  the proof alone; a successful answer's tokens are kept;
- to anything else, ``Authorization: DPoP <access token>`` and a proof with ``ath``
  (``Bearer`` without a proof when the server issued a bearer token).

It retries a request once when the server asks for a nonce (a token endpoint's 400
``use_dpop_nonce``, a resource's 401 ``WWW-Authenticate: DPoP error="use_dpop_nonce"``),
and refreshes the tokens (the ``refresh_token`` grant) when the access token is about to
expire or a resource answers 401 ``invalid_token``, then retries once. Works with
``httpx.Client`` and ``httpx.AsyncClient`` alike.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Generator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

import httpx

from tokensmith.jose import JWK, dpop

from .tokens import TokenSet

DEFAULT_TOKEN_PATHS: Final = ("/auth/login", "/auth/refresh", "/oauth/token")
_ERROR_PARAM: Final = re.compile(r'error="([^"]*)"')


@dataclass(frozen=True, slots=True)
class DPoPClientOptions:
    """- ``refresh_url``: where the refresh-token grant goes; by default the token
      endpoint that issued the tokens (``/auth/login``'s become ``/auth/refresh``).
      A URL ending in ``/auth/refresh`` gets tokensmith's JSON body, any other the
      RFC 6749 form (``grant_type=refresh_token``).
    - ``client_id``: sent with the OAuth refresh form, when set.
    - ``refresh_margin``: seconds before expiry at which tokens are refreshed first.
    - ``token_paths``: URL paths treated as token endpoints (proof only, tokens kept).
    - ``now``: the clock for ``iat`` and expiry (POSIX seconds).
    """

    refresh_url: str | None = None
    client_id: str | None = None
    refresh_margin: float = 30.0
    token_paths: Collection[str] = DEFAULT_TOKEN_PATHS
    now: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        if isinstance(self.token_paths, str):
            raise TypeError("token_paths is a collection of paths")
        if self.refresh_margin < 0:
            raise ValueError("refresh_margin must be >= 0")
        if self.refresh_url is not None:
            dpop.normalize_htu(self.refresh_url)  # ValueError unless an http(s) URL


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}".lower()


def _htu(url: httpx.URL) -> str:
    return str(url.copy_with(query=None, fragment=None))


class DPoPAuth(httpx.Auth):
    """See the module docstring. ``key``: the private DPoP key (a new ``alg`` key when
    None); ``tokens``: tokens already held (e.g. restored from storage)."""

    requires_response_body = True

    def __init__(
        self,
        key: JWK | None = None,
        *,
        tokens: TokenSet | None = None,
        options: DPoPClientOptions | None = None,
        alg: str = "ES256",
    ) -> None:
        if key is None:
            key = JWK.generate(alg)
        if not isinstance(key, JWK) or key.is_symmetric or not key.is_private:
            raise ValueError("a DPoP key is an asymmetric private JWK")
        if tokens is not None and not isinstance(tokens, TokenSet):
            raise TypeError("tokens must be a TokenSet")
        self.key = key
        self._alg = key.alg or alg
        self.options = options if options is not None else DPoPClientOptions()
        self._tokens = tokens
        self._refresh_url = self.options.refresh_url
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    # ---- state -------------------------------------------------------------------------

    @property
    def jkt(self) -> str:
        """The key's RFC 7638 thumbprint: what bound tokens carry in ``cnf.jkt``."""
        return self.key.thumbprint()

    @property
    def tokens(self) -> TokenSet | None:
        return self._tokens

    def nonce_for(self, url: str | httpx.URL) -> str | None:
        """The last ``DPoP-Nonce`` an origin sent (nonces are per server, RFC 9449 §9)."""
        return self._nonces.get(_origin(httpx.URL(url)))

    def proof(self, method: str, url: str | httpx.URL, *, access_token: str | None = None) -> str:
        """A fresh proof for one request (what the flow puts in the ``DPoP`` header)."""
        target = httpx.URL(url)
        return dpop.make_proof(
            self.key,
            htm=method,
            htu=_htu(target),
            iat=int(self.options.now()),
            access_token=access_token,
            nonce=self._nonces.get(_origin(target)),
            alg=self._alg,
        )

    # ---- the flow ----------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._is_token_request(request):
            yield from self._token_flow(request)
        else:
            yield from self._resource_flow(request)

    def _is_token_request(self, request: httpx.Request) -> bool:
        path = request.url.path.rstrip("/")
        return any(path.endswith(p.rstrip("/")) for p in self.options.token_paths) or (
            self._refresh_url is not None and _htu(request.url) == self._refresh_url
        )

    def _token_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["DPoP"] = self.proof(request.method, request.url)
        response = yield request
        self._learn_nonce(response)
        if _token_error(response) == "use_dpop_nonce":
            request.headers["DPoP"] = self.proof(request.method, request.url)
            response = yield request
            self._learn_nonce(response)
        self._keep_tokens(request.url, response)

    def _resource_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        refreshed = False
        tokens = self._tokens
        if tokens is not None and tokens.expires_within(
            self.options.refresh_margin, self.options.now()
        ):
            refreshed = yield from self._refresh()
        self._authorize(request)
        response = yield request
        self._learn_nonce(response)
        error = _resource_error(response)
        if error == "use_dpop_nonce":
            self._authorize(request)
            response = yield request
            self._learn_nonce(response)
            error = _resource_error(response)
        if error == "invalid_token" and not refreshed and self._can_refresh():
            refreshed = yield from self._refresh()
            if refreshed:
                self._authorize(request)
                response = yield request
                self._learn_nonce(response)

    def _authorize(self, request: httpx.Request) -> None:
        tokens = self._tokens
        if tokens is None:
            request.headers.pop("Authorization", None)
            request.headers["DPoP"] = self.proof(request.method, request.url)
            return
        if tokens.is_dpop:
            request.headers["Authorization"] = f"DPoP {tokens.access_token}"
            request.headers["DPoP"] = self.proof(
                request.method, request.url, access_token=tokens.access_token
            )
        else:
            request.headers["Authorization"] = f"Bearer {tokens.access_token}"
            request.headers.pop("DPoP", None)

    def _can_refresh(self) -> bool:
        tokens = self._tokens
        return tokens is not None and tokens.refresh_token is not None and bool(self._refresh_url)

    def _refresh(self) -> Generator[httpx.Request, httpx.Response, bool]:
        """The refresh-token grant (with its own proof and nonce retry); True on success."""
        tokens = self._tokens
        url = self._refresh_url
        if tokens is None or tokens.refresh_token is None or url is None:
            return False
        for _attempt in range(2):
            request = self._refresh_request(url, tokens.refresh_token)
            response = yield request
            self._learn_nonce(response)
            if _token_error(response) != "use_dpop_nonce":
                break
        return self._keep_tokens(request.url, response)

    def _refresh_request(self, url: str, refresh_token: str) -> httpx.Request:
        headers = {"DPoP": self.proof("POST", url)}
        if url.rstrip("/").endswith("/auth/refresh"):
            return httpx.Request(
                "POST", url, json={"refresh_token": refresh_token}, headers=headers
            )
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.options.client_id is not None:
            form["client_id"] = self.options.client_id
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return httpx.Request("POST", url, content=urlencode(form).encode(), headers=headers)

    # ---- responses ---------------------------------------------------------------------

    def _learn_nonce(self, response: httpx.Response) -> None:
        nonce = response.headers.get("DPoP-Nonce")
        if nonce and len(nonce) <= dpop.MAX_NONCE_LENGTH and nonce.isascii():
            with self._lock:
                self._nonces[_origin(response.request.url)] = nonce

    def _keep_tokens(self, url: httpx.URL, response: httpx.Response) -> bool:
        if response.status_code != 200:
            return False
        body = _json(response)
        if body is None:
            return False
        with self._lock:
            tokens = TokenSet.from_response(body, now=self.options.now(), previous=self._tokens)
            if tokens is None:
                return False
            self._tokens = tokens
            if self.options.refresh_url is None:
                htu = _htu(url)
                self._refresh_url = (
                    htu[: -len("/auth/login")] + "/auth/refresh"
                    if htu.endswith("/auth/login")
                    else htu
                )
        return True


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _token_error(response: httpx.Response) -> str | None:
    """A token endpoint's RFC 6749 error code (400/401 JSON), or None."""
    if response.status_code not in (400, 401):
        return None
    body = _json(response)
    error = body.get("error") if body is not None else None
    return error if isinstance(error, str) else None


def _resource_error(response: httpx.Response) -> str | None:
    """The ``error`` of a 401's ``DPoP`` or ``Bearer`` challenge, or None."""
    if response.status_code != 401:
        return None
    for value in response.headers.get_list("WWW-Authenticate"):
        found = _ERROR_PARAM.search(value)
        if found:
            return found.group(1)
    return None


__all__ = ["DEFAULT_TOKEN_PATHS", "DPoPAuth", "DPoPClientOptions"]
