"""Reading what a person gives the CLI: key files, key sets, tokens, durations."""

from __future__ import annotations

import ipaddress
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import click

from ..jose import JWK, JoseError, JWKSet

MAX_KEY_FILE = 1024 * 1024
MAX_JWKS_DOWNLOAD = 512 * 1024
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


def fetch_jwks(url: str, *, timeout: float = 10.0) -> JWKSet:
    """Fetch a public key set: https only (http on loopback), no redirects, bounded (S4)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Rejected("jwks_fetch_refused", f"{url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise Rejected("jwks_fetch_refused", "plain http is allowed only on loopback")
    opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise Rejected("jwks_fetch_failed", f"HTTP {response.status} from {url}")
            body = response.read(MAX_JWKS_DOWNLOAD + 1)
    except OSError as exc:
        raise Rejected("jwks_fetch_failed", f"cannot fetch {url}: {exc}") from None
    if len(body) > MAX_JWKS_DOWNLOAD:
        raise Rejected("jwks_fetch_failed", f"the key set at {url} is too large")
    return JWKSet.from_json(body, public_only=True)


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
