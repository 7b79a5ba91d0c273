"""Username and password rules."""

from __future__ import annotations

import re
import unicodedata

from .config import IssuerConfig
from .errors import AuthError

__all__ = [
    "check_password",
    "clean_text",
    "encodable",
    "normalise_username",
    "storable",
    "username_key",
]

_USERNAME = re.compile(r"[\w.@+-]+")
#: longest password read at login at all (longer ones are refused without hashing them)
LOGIN_PASSWORD_CEILING = 4096


def encodable(value: str) -> bool:
    """No lone surrogates (what UTF-8, argon2 and every database driver refuse)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: str | None, max_len: int) -> str | None:
    """A client-supplied free text (User-Agent, address) made safe to store: cut to
    ``max_len``, NUL and lone surrogates replaced."""
    if value is None:
        return None
    cut = value[:max_len].replace("\x00", "\ufffd")
    return cut.encode("utf-8", "replace").decode("utf-8")


def clean_text(value: object, max_len: int) -> str | None:
    """``value`` when it is a string a database can hold in a ``max_len`` column (no NUL,
    no lone surrogate, not too long), else None: callers answer "not found" instead of
    letting a driver error through."""
    if not isinstance(value, str) or len(value) > max_len or "\x00" in value:
        return None
    return value if encodable(value) else None


def normalise_username(username: object, config: IssuerConfig) -> str:
    """NFKC, trimmed; letters, digits and ``. _ @ + -`` only."""
    if not isinstance(username, str):
        raise AuthError("invalid_username", "the username must be a string")
    name = unicodedata.normalize("NFKC", username).strip()
    if not name:
        raise AuthError("invalid_username", "the username is empty")
    if len(name) > config.username_max:
        raise AuthError(
            "invalid_username", f"the username is longer than {config.username_max} characters"
        )
    if clean_text(name, 256) is None or _USERNAME.fullmatch(name) is None:
        raise AuthError(
            "invalid_username",
            "the username may hold letters, digits and . _ @ + - only",
        )
    return name


def username_key(username: object) -> str:
    """The case-folded lookup key (never raises: unknown shapes find nobody)."""
    name = clean_text(username, 1024)
    if name is None:
        return ""
    return clean_text(unicodedata.normalize("NFKC", name).strip().casefold(), 256) or ""


def check_password(password: object, config: IssuerConfig) -> str:
    if not isinstance(password, str) or not encodable(password):
        raise AuthError("weak_password", "the password must be a string of Unicode characters")
    if len(password) < config.password_min:
        raise AuthError(
            "weak_password", f"the password must have at least {config.password_min} characters"
        )
    if len(password) > config.password_max:
        raise AuthError(
            "password_too_long",
            f"the password must have at most {config.password_max} characters",
        )
    return password
