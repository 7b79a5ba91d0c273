"""Strict base64url and JSON, and the size limits applied to untrusted input.

base64url (RFC 7515 §2): no padding, only ``A-Z a-z 0-9 - _``, and the unused
low bits of the last character must be zero (S13).

JSON (RFC 8259 / RFC 7515 §5.2): valid UTF-8, no duplicate member names at any
depth (S12), no ``NaN`` / ``Infinity`` (S14), no lone surrogates, and bounded in
size and nesting depth (S22).
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import LimitExceededError, MalformedError

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
_B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL_VALUE = {c: i for i, c in enumerate(_B64URL_ALPHABET)}
_TO_STD = str.maketrans("-_", "+/")
_PAD = ("", "", "==", "=")
# The fast path: one C-level bytes.translate maps base64url onto standard base64 and
# every character that strict base64url forbids ('+', '/', '=') onto '!', which
# a2b_base64(strict_mode=True) then refuses, as it refuses whitespace and any other
# character outside the alphabet. The trailing-bits rule (S13) is checked separately.
_B_TO_STD = bytes.maketrans(b"-_+/=", b"+/!!!")
_B_FROM_STD = bytes.maketrans(b"+/", b"-_")
_B_PAD = (b"", b"", b"==", b"=")
_UNUSED_BITS = (0, 0, 0x0F, 0x03)
_a2b = binascii.a2b_base64
# By length mod 4, by last byte: True when that byte cannot end a canonical segment (a
# non-zero unused bit, or not in the alphabet); the checked decoder then says which.
_LAST_REFUSED = tuple(
    tuple(
        chr(byte) not in _B64URL_VALUE or bool(_B64URL_VALUE[chr(byte)] & _UNUSED_BITS[rem])
        for byte in range(256)
    )
    for rem in range(4)
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Size limits for untrusted input, checked before any decoding (S22).

    ``max_token`` bounds a whole compact token or JSON serialization in characters;
    ``max_header`` and ``max_payload`` bound the decoded header and payload in bytes;
    ``max_depth`` bounds JSON nesting.
    """

    max_token: int = 256 * 1024
    max_header: int = 8 * 1024
    max_payload: int = 128 * 1024
    max_depth: int = 16

    def __post_init__(self) -> None:
        for name in ("max_token", "max_header", "max_payload", "max_depth"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive int, got {value!r}")


DEFAULT_LIMITS = Limits()


def b64url_encode(data: bytes) -> str:
    """base64url without padding."""
    return (
        binascii.b2a_base64(data, newline=False).translate(_B_FROM_STD).rstrip(b"=").decode("ascii")
    )


def b64url_decode(text: str | bytes, *, what: str = "segment") -> bytes:
    """Decode strict base64url (S13); raise :class:`MalformedError` on any deviation."""
    # Fast path for well-formed input; anything it refuses is diagnosed by the slow path.
    try:
        raw = text.encode("ascii") if type(text) is str else text
        rem = len(raw) & 3
        if rem != 1 and type(raw) is bytes and not (rem and _LAST_REFUSED[rem][raw[-1]]):
            return _a2b(raw.translate(_B_TO_STD) + _B_PAD[rem], strict_mode=True)
    except (UnicodeEncodeError, binascii.Error, TypeError):
        pass
    return _b64url_decode_checked(text, what)


def _b64url_decode_checked(text: str | bytes, what: str) -> bytes:
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedError(f"{what} is not base64url", code="jose_bad_base64") from None
    if not isinstance(text, str):
        raise MalformedError(f"{what} is not a string", code="jose_bad_base64")
    n = len(text)
    if n == 0:
        return b""
    if _B64URL_RE.fullmatch(text) is None:
        raise MalformedError(
            f"{what} has characters outside base64url (padding, whitespace, '+' or '/')",
            code="jose_bad_base64",
        )
    rem = n % 4
    if rem == 1:
        raise MalformedError(f"{what} has an impossible base64url length", code="jose_bad_base64")
    if rem:
        # The last character carries 2 (rem == 3) or 4 (rem == 2) unused low bits.
        unused_mask = 0x0F if rem == 2 else 0x03
        if _B64URL_VALUE[text[-1]] & unused_mask:
            raise MalformedError(
                f"{what} has non-zero trailing bits (non-canonical base64url)",
                code="jose_bad_base64",
            )
    return binascii.a2b_base64(text.translate(_TO_STD) + _PAD[rem])


def _reject_constant(name: str) -> Any:
    raise MalformedError(f"JSON constant {name} is not allowed", code="jose_bad_json")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise MalformedError(
                    f"duplicate JSON member name {name!r}", code="jose_duplicate_member"
                )
            seen.add(name)
    return obj


def _finite_float(text: str) -> float:
    # 1e999 overflows to inf: as forbidden as the Infinity literal (S14).
    value = float(text)
    if value - value != 0.0:
        raise MalformedError(f"JSON number {text[:32]} is out of range", code="jose_bad_json")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_constant=_reject_constant,
    parse_float=_finite_float,
)


_SCAN_ONCE: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
# The same grammar without the duplicate-name hook: C builds the objects directly. Used
# only where the text itself proves that no name can repeat (see _parse).
_SCAN_PLAIN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_constant=_reject_constant, parse_float=_finite_float
).scan_once


def _max_depth_exceeded(value: Any, max_depth: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json(data: bytes | str, *, max_size: int, max_depth: int, what: str = "JSON") -> Any:
    """Parse strict JSON. Raises :class:`MalformedError` / :class:`LimitExceededError`."""
    return _parse(data, max_size, max_depth, what)


def parse_json_object(
    data: bytes | str, *, max_size: int, max_depth: int, what: str = "JSON"
) -> dict[str, Any]:
    """Parse strict JSON that must be an object."""
    value = _parse(data, max_size, max_depth, what)
    if type(value) is not dict:
        raise MalformedError(f"{what} is not a JSON object", code="jose_bad_json")
    return value


def _parse(data: bytes | str, max_size: int, max_depth: int, what: str) -> Any:
    if len(data) > max_size:
        raise LimitExceededError(f"{what} is larger than {max_size} bytes")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedError(f"{what} is not valid UTF-8", code="jose_bad_json") from None
    else:
        text = data
    objects = text.count("{")
    try:
        # Fast path: the C scanner straight from index 0; leading/trailing whitespace or
        # any error falls through to the full decoder, which accepts or diagnoses it.
        try:
            if objects == 1 and not (" " in text or "\n" in text or "\r" in text or "\t" in text):
                # One object and no whitespace anywhere: each member's name is followed
                # directly by ':', so the text holds at least one '":' per member. When it
                # holds no more than the object has distinct names, no name repeats, and
                # the scanner without the duplicate hook gives the same answer.
                value, end = _SCAN_PLAIN(text, 0)
                if type(value) is not dict or text.count('":') > len(value):
                    value, end = _SCAN_ONCE(text, 0)
            else:
                value, end = _SCAN_ONCE(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _DECODER.decode(text)
    except MalformedError:
        raise
    except RecursionError:
        raise LimitExceededError(f"{what} is nested too deeply") from None
    except (ValueError, TypeError):
        # JSONDecodeError, and ValueError for integers longer than the interpreter allows.
        raise MalformedError(f"{what} is not valid JSON", code="jose_bad_json") from None
    # Cheap guards first: only walk when the text could possibly violate them.
    if objects + text.count("[") > max_depth and _max_depth_exceeded(value, max_depth):
        raise LimitExceededError(f"{what} is nested deeper than {max_depth}")
    # (one-character searches are memchr-fast; the two-character one only if needed)
    if "\\" in text and "\\u" in text and _has_lone_surrogate(value):
        raise MalformedError(f"{what} contains a lone surrogate escape", code="jose_bad_json")
    return value


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def dump_json(value: Any) -> bytes:
    """Compact JSON for headers and claims; refuses NaN / Infinity."""
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except ValueError as exc:
        raise ValueError(f"value cannot be serialized as strict JSON: {exc}") from None


class FrozenDict(dict[str, Any]):
    """A read-only ``dict``: what a cache hands out, so that no caller can change what
    the next caller receives. Still a ``dict`` (``json.dumps`` and ``==`` work); every
    mutating method raises ``TypeError``."""

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("this mapping is read-only (it may be shared by a cache)")

    __setitem__ = __delitem__ = __ior__ = _readonly
    clear = pop = popitem = setdefault = update = _readonly

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


def is_b64url(text: str) -> bool:
    return _B64URL_RE.fullmatch(text) is not None


__all__ = [
    "DEFAULT_LIMITS",
    "FrozenDict",
    "Limits",
    "b64url_decode",
    "b64url_encode",
    "dump_json",
    "is_b64url",
    "parse_json",
    "parse_json_object",
]
