"""The parts of an HTTP request the API side reads, whatever the framework: the
``Authorization`` header, the ``DPoP`` headers, the method and the URL. Each adapter
fills a :class:`RequestParts`; :func:`read_credentials` turns it into a token and, for
the DPoP scheme, a :class:`~.dpop.DPoPRequest`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .challenge import InvalidRequestError, credentials
from .dpop import DPoPRequest, single_proof

_HTTP_SCHEME = {"http": "http", "https": "https", "ws": "http", "wss": "https"}


@dataclass(frozen=True, slots=True)
class RequestParts:
    """``authorization``: the header's value (None when absent); ``dpop``: every ``DPoP``
    header value; ``method``; ``scheme``, ``host`` (the Host header) and ``path`` (the
    full path without the query, decoded) of the request as it arrived."""

    authorization: str | None
    dpop: Sequence[str] = ()
    method: str = "GET"
    scheme: str = "https"
    host: str | None = None
    path: str = "/"

    def url(self, public_url: str | None = None) -> str:
        """The absolute URL a DPoP proof's ``htu`` is compared to: ``public_url`` (or
        ``scheme://host``) followed by the path, percent-encoded."""
        if public_url is not None:
            base = public_url
        else:
            if not self.host:
                raise InvalidRequestError("the request has no Host header")
            base = f"{_HTTP_SCHEME.get(self.scheme.lower(), self.scheme)}://{self.host}"
        return base + (quote(self.path, safe="/%:@!$&'()*+,;=-._~") or "/")


def read_credentials(
    parts: RequestParts, *, public_url: str | None = None
) -> tuple[str, DPoPRequest | None]:
    """The token, and a :class:`DPoPRequest` when the scheme is ``DPoP`` (None for
    ``Bearer``). Raises :class:`~.errors.MissingTokenError` (no credentials, another
    scheme), ``InvalidRequestError`` (malformed) or ``DPoPError`` (several proofs)."""
    scheme, token = credentials(parts.authorization)
    if scheme == "bearer":
        return token, None
    return token, DPoPRequest(
        proof=single_proof(parts.dpop), method=parts.method, url=parts.url(public_url)
    )


def asgi_parts(scope: Any) -> RequestParts:
    """:class:`RequestParts` of an ASGI HTTP or websocket scope. Several ``Authorization``
    headers are refused (``InvalidRequestError``)."""
    authorization: str | None = None
    dpop: list[str] = []
    host: str | None = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            if authorization is not None:
                raise InvalidRequestError("more than one Authorization header")
            authorization = value.decode("latin-1")
        elif name == b"dpop":
            dpop.append(value.decode("latin-1"))
        elif name == b"host":
            host = value.decode("latin-1")
    if host is None and scope.get("server"):
        server_host, port = scope["server"]
        host = f"{server_host}:{port}" if port is not None else server_host
    return _new_parts(
        authorization,
        tuple(dpop),
        scope.get("method", "GET"),
        scope.get("scheme", "http"),
        host,
        _full_path(scope.get("root_path", ""), scope.get("path", "/")),
    )


# RequestParts without the frozen dataclass __init__ (keyword handling and one
# object.__setattr__ per field): the ASGI middleware builds one per request.
_new_object = object.__new__
_PART_SETTERS = tuple(
    RequestParts.__dict__[name].__set__
    for name in ("authorization", "dpop", "method", "scheme", "host", "path")
)


def _new_parts(
    authorization: str | None,
    dpop: Sequence[str],
    method: str,
    scheme: str,
    host: str | None,
    path: str,
) -> RequestParts:
    """``RequestParts(authorization, dpop, method, scheme, host, path)``, built the cheap
    way (``asgi_parts`` runs on every request)."""
    parts: RequestParts = _new_object(RequestParts)
    set_authorization, set_dpop, set_method, set_scheme, set_host, set_path = _PART_SETTERS
    set_authorization(parts, authorization)
    set_dpop(parts, dpop)
    set_method(parts, method)
    set_scheme(parts, scheme)
    set_host(parts, host)
    set_path(parts, path)
    return parts


def _full_path(root: str, path: str) -> str:
    # Servers differ on whether ``path`` already includes ``root_path``.
    return path if not root or path.startswith(root) else root + path


__all__ = ["RequestParts", "asgi_parts", "read_credentials"]
