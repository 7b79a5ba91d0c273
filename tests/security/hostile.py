"""Helpers for building hostile tokens by hand, the way an attacker would.

Tokens are assembled from raw JSON text and signed with the algorithm table's raw
primitives (or ``hmac`` directly), bypassing every check the library applies when
it signs, so each test controls exactly which rule the token breaks.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pytest

from tokensmith.jose import JWK, ClaimsPolicy, JoseError
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.jose.encoding import b64url_encode

NOW = 1_700_000_000
POLICY = ClaimsPolicy(now=lambda: NOW)
LATER = NOW + 3600
CLAIMS = {"sub": "u1", "exp": LATER}


def text_of(value: str | bytes | Mapping[str, Any]) -> bytes:
    """Raw JSON text: a dict is serialized compactly, str/bytes are taken as written."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def seg(value: str | bytes | Mapping[str, Any]) -> str:
    return b64url_encode(text_of(value))


def raw_sign(alg: str, key: JWK, signing_input: bytes) -> bytes:
    """Sign with the table's primitive and the key's raw material: no usability checks."""
    return SIGNING_ALGORITHMS[alg].sign(key.private_key_object, signing_input)


def sign_segments(header_b64: str, payload_b64: str, key: JWK, alg: str) -> str:
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    return f"{header_b64}.{payload_b64}.{b64url_encode(raw_sign(alg, key, signing_input))}"


def forge(
    header: str | bytes | Mapping[str, Any],
    payload: str | bytes | Mapping[str, Any],
    key: JWK,
    alg: str | None = None,
) -> str:
    """A compact token with exactly this header and payload text, correctly signed."""
    if alg is None:
        assert isinstance(header, Mapping)
        alg = header["alg"]
    return sign_segments(seg(header), seg(payload), key, alg)


def hmac_forge(
    header: str | bytes | Mapping[str, Any],
    payload: str | bytes | Mapping[str, Any],
    secret: bytes,
    hash_name: str = "sha256",
) -> str:
    """What an attacker does with a secret they know (or think the verifier uses)."""
    signing_input = f"{seg(header)}.{seg(payload)}"
    tag = hmac.digest(secret, signing_input.encode("ascii"), hash_name)
    return f"{signing_input}.{b64url_encode(tag)}"


@contextmanager
def rejected(code: str) -> Iterator[pytest.ExceptionInfo[JoseError]]:
    """Expect a JoseError with exactly this stable code."""
    with pytest.raises(JoseError) as exc_info:
        yield exc_info
    assert exc_info.value.code == code, f"{exc_info.value!r}"


def expect_code(code: str, call: Callable[[], object]) -> JoseError:
    with rejected(code) as exc_info:
        call()
    return exc_info.value
