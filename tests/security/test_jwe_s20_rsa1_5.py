"""S20: the RSA1_5 padding oracle (jwcrypto CVE-2016-6298, Bleichenbacher).

RSA1_5 is off by default, never used to encrypt, and when a caller enables it for
decryption, RFC 7516 §11.5 applies: a bad padding or a CEK of the wrong length is
replaced by a random CEK drawn beforehand, so every failure is the same
``jwe_decryption_failed`` error after the same work (one content decryption each).
The modified-padding tokens are Wycheproof's (json_web_encryption tcId 112-120).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tokensmith.jose import JWK, jwe
from tokensmith.jose import jwe as jwe_module
from tokensmith.jose.content import ContentEncryption, content_algorithm
from tokensmith.jose.errors import AlgorithmNotAllowedError, DecryptionError
from tokensmith.jose.keymgmt import KEY_MANAGEMENT, UnwrapOptions

# ../shared/vectors relative to the project root (read in place, never copied).
WYCHEPROOF = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "wycheproof"


def wycheproof_cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    data = json.loads((WYCHEPROOF / name).read_text(encoding="utf-8"))
    return [(g, t) for g in data["testGroups"] for t in g["tests"]]


ENABLED = jwe.JWEPolicy(algorithms={"RSA1_5"})
CASES = {
    test["tcId"]: (group, test)
    for group, test in wycheproof_cases("json_web_encryption_test.json")
    if 112 <= test["tcId"] <= 120
}
KEY = JWK(CASES[112][0]["private"])
BAD_PADDING = [tc for tc in CASES if tc != 112]


def _flip_tag(token: str) -> str:
    *head, tag = token.split(".")
    flipped = ("A" if tag[0] != "A" else "B") + tag[1:]
    return ".".join([*head, flipped])


@pytest.fixture
def content_decryptions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts content decryptions (the expensive step after the key unwrap)."""
    calls: list[str] = []

    def resolver(name: object) -> ContentEncryption:
        real = content_algorithm(name)
        inner: Callable[..., bytes] = real.decrypt

        def counting(*args: Any) -> bytes:
            calls.append(real.name)
            return inner(*args)

        return dataclasses.replace(real, decrypt=counting)

    monkeypatch.setattr(jwe_module, "content_algorithm", resolver)
    return calls


def test_s20_rsa1_5_off_by_default() -> None:
    assert "RSA1_5" not in jwe.DEFAULT_ALGORITHMS
    with pytest.raises(AlgorithmNotAllowedError):
        jwe.decrypt(CASES[112][1]["jwe"], KEY)


def test_s20_rsa1_5_never_encrypts() -> None:
    with pytest.raises(ValueError, match="RSA1_5"):
        jwe.encrypt(b"x", KEY.public(), alg="RSA1_5")
    with pytest.raises(ValueError, match="RSA1_5"):
        jwe.encrypt_json(b"x", [jwe.Recipient(KEY.public(), alg="RSA1_5")])
    assert KEY_MANAGEMENT["RSA1_5"].encrypts is False


def test_s20_enabled_good_padding_decrypts() -> None:
    assert jwe.decrypt(CASES[112][1]["jwe"], KEY, policy=ENABLED).plaintext == b"foo"


@pytest.mark.parametrize("tc", BAD_PADDING)
def test_s20_bad_padding_same_error_as_a_bad_tag(tc: int) -> None:
    with pytest.raises(DecryptionError) as bad_tag:
        jwe.decrypt(_flip_tag(CASES[112][1]["jwe"]), KEY, policy=ENABLED)
    with pytest.raises(DecryptionError) as bad_padding:
        jwe.decrypt(CASES[tc][1]["jwe"], KEY, policy=ENABLED)
    assert type(bad_padding.value) is type(bad_tag.value)
    assert bad_padding.value.code == bad_tag.value.code == "jwe_decryption_failed"
    assert str(bad_padding.value) == str(bad_tag.value)


@pytest.mark.parametrize("tc", BAD_PADDING)
def test_s20_bad_padding_same_work_as_a_bad_tag(tc: int, content_decryptions: list[str]) -> None:
    """Same work: exactly one content decryption, with a CEK of the right size, whether
    the padding was good (and the tag bad) or bad."""
    with pytest.raises(DecryptionError):
        jwe.decrypt(_flip_tag(CASES[112][1]["jwe"]), KEY, policy=ENABLED)
    with pytest.raises(DecryptionError):
        jwe.decrypt(CASES[tc][1]["jwe"], KEY, policy=ENABLED)
    assert content_decryptions == ["A128GCM", "A128GCM"]


def test_s20_random_cek_on_failure_has_the_content_key_size() -> None:
    unwrap = KEY_MANAGEMENT["RSA1_5"].unwrap

    for enc_name in ("A128GCM", "A256CBC-HS512"):
        enc = content_algorithm(enc_name)
        first = unwrap(KEY, enc, b"\x00" * 256, {}, UnwrapOptions())
        second = unwrap(KEY, enc, b"\x00" * 256, {}, UnwrapOptions())
        assert len(first) == len(second) == enc.key_bytes
        assert first != second  # fresh randomness, not a fixed fallback
