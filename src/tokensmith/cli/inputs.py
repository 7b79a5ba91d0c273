"""Reading what a person gives the CLI: key files, key sets, tokens, durations."""

from __future__ import annotations

import http.client
import ipaddress
import re
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import click

from ..jose import JWK, JoseError, JWKSet

MAX_KEY_FILE = 1024 * 1024
MAX_JWKS_DOWNLOAD = 512 * 1024
_CHUNK = 16 * 1024
_DURATION = re.compile(r"(\d+)([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Rejected(Exception):
    """A rejected token, key or key set: exit 1 with ``error: <code>: <message>``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def fail(exc: JoseError | Rejected) -> None:
    click.echo(f"error: {exc.code}: {exc.message}", err=True)
    raise SystemExit(1)


def parse_duration(text: str) -> int:
    """``90``, ``30s``, ``15m``, ``1h``, ``7d``, ``2w`` -> seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r} is not a duration like 15m, 1h or 7d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def read_file(path: str) -> bytes:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_KEY_FILE:
            raise click.BadParameter(f"{path} is larger than {MAX_KEY_FILE} bytes")
        return p.read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None


def load_key_or_set(path: str) -> JWK | JWKSet:
    """A JWK JSON file, a JWK set JSON file, or a PEM/DER/OpenSSH key file."""
    data = read_file(path)
    if data.lstrip().startswith(b"{") and b'"keys"' in data:
        return JWKSet.from_json(data)
    return JWK.import_key(data)


def load_key(path: str) -> JWK:
    key = load_key_or_set(path)
    if isinstance(key, JWKSet):
        raise click.BadParameter(f"{path} is a key set; give one key")
    return key


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (where plain http is allowed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _check_jwks_url(url: str) -> None:
    """``jwks_fetch_refused`` unless the CLI may fetch ``url`` (S4): https only (http on
    loopback), no credentials in the URL (and the message never echoes them)."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise Rejected("jwks_fetch_refused", "the URL cannot be parsed") from None
    if "@" in parts.netloc:
        raise Rejected("jwks_fetch_refused", "credentials in a URL are refused")
    if parts.scheme not in ("https", "http") or not host:
        raise Rejected("jwks_fetch_refused", f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise Rejected("jwks_fetch_refused", "plain http is allowed only on loopback")


def fetch_jwks(
    url: str,
    *,
    timeout: float = 10.0,
    deadline: float = 20.0,
    max_bytes: int = MAX_JWKS_DOWNLOAD,
) -> JWKSet:
    """Fetch a public key set under S4's rules: https only (http on loopback, never
    through a proxy), no credentials in the URL, no redirects, status 200 only, at most
    ``max_bytes`` (a larger ``Content-Length`` is refused before reading), ``timeout``
    per socket operation and ``deadline`` seconds for the whole fetch: the name lookup,
    the connect, the TLS handshake and the response (status line, headers and body).

    The fetch runs on a daemon thread that this one waits for until the deadline; one
    still under way then ends at its own socket timeouts or with the process (the CLI
    exits on the error), which it does not hold up."""
    _check_jwks_url(url)
    deadline_at = time.monotonic() + deadline
    outcome: list[bytes | Exception] = []

    def run() -> None:
        try:
            outcome.append(_download(url, min(timeout, deadline), max_bytes))
        except Exception as exc:  # handed to the calling thread below
            outcome.append(exc)

    worker = threading.Thread(target=run, name="tokensmith-jwks-fetch", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline_at - time.monotonic()))
    if not outcome:
        raise Rejected("jwks_fetch_failed", f"{url} took longer than {deadline:g} s")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return JWKSet.from_json(outcome[0], public_only=True)


def _download(url: str, timeout: float, max_bytes: int) -> bytes:
    """The body of ``fetch_jwks``'s response (on its worker thread)."""
    handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
    if is_loopback_host(urllib.parse.urlsplit(url).hostname or ""):
        # this machine's own server: never through a proxy from the environment
        # (http_proxy would send the request, and "127.0.0.1", to the proxy's host)
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise Rejected("jwks_fetch_failed", f"HTTP {response.status} from {url}")
            length = response.headers.get("Content-Length")
            if length is not None and not length.isdigit():
                raise Rejected("jwks_fetch_failed", f"{url} sent an invalid Content-Length")
            if length is not None and int(length) > max_bytes:
                raise Rejected("jwks_fetch_failed", f"the key set at {url} is too large")
            body = bytearray()
            while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(body))):
                body += chunk
                if len(body) > max_bytes:
                    raise Rejected("jwks_fetch_failed", f"the key set at {url} is too large")
    except (OSError, http.client.HTTPException) as exc:
        raise Rejected("jwks_fetch_failed", f"cannot fetch {url}: {exc}") from None
    return bytes(body)


def load_jwks(source: str) -> JWKSet:
    if source.startswith(("http://", "https://")):
        return fetch_jwks(source)
    data = read_file(source)
    if b'"keys"' in data:
        return JWKSet.from_json(data)
    return JWKSet([JWK.import_key(data)])


def read_token(token: str) -> str:
    if token == "-":  # noqa: S105 - "-" means stdin
        token = sys.stdin.read(300 * 1024)
    return token.strip()
