"""S18: RSA keys under 2048 bits, RSA public exponents of 1 or even, and DSA keys are
refused in every import form."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa
from hostile import rejected

from tokensmith.jose import JWK, JWKSet
from tokensmith.jose.encoding import b64url_encode

Enc = serialization.Encoding


def _forms(private: Any) -> dict[str, Any]:
    public = private.public_key()
    none = serialization.NoEncryption()
    forms: dict[str, Any] = {
        "private object": private,
        "public object": public,
        "PKCS#8 PEM": private.private_bytes(Enc.PEM, serialization.PrivateFormat.PKCS8, none),
        "PKCS#8 DER": private.private_bytes(Enc.DER, serialization.PrivateFormat.PKCS8, none),
        "SPKI PEM": public.public_bytes(Enc.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "SPKI DER": public.public_bytes(Enc.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "OpenSSH public": public.public_bytes(Enc.OpenSSH, serialization.PublicFormat.OpenSSH),
    }
    if isinstance(private, rsa.RSAPrivateKey):
        forms["PKCS#1 PEM"] = private.private_bytes(
            Enc.PEM, serialization.PrivateFormat.TraditionalOpenSSL, none
        )
        forms["PKCS#1 public PEM"] = public.public_bytes(Enc.PEM, serialization.PublicFormat.PKCS1)
    return forms


def _import(form: Any) -> JWK:
    if isinstance(form, bytes):
        return JWK.import_key(form)
    return JWK.from_object(form)


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505


@pytest.fixture(scope="module")
def rsa_2048() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_s18_rsa_under_2048_bits_refused_in_every_form(rsa_1024: rsa.RSAPrivateKey) -> None:
    for form in _forms(rsa_1024).values():
        with rejected("jwk_weak"):
            _import(form)


def test_s18_rsa_2047_bit_modulus_refused(rsa_2048: rsa.RSAPrivateKey) -> None:
    """One bit short: a JWK whose n is 2047 bits."""
    n = rsa_2048.public_key().public_numbers().n >> 1
    assert n.bit_length() == 2047
    members = {"kty": "RSA", "n": b64url_encode(n.to_bytes(256, "big").lstrip(b"\0")), "e": "AQAB"}
    with rejected("jwk_weak"):
        JWK(members)


def test_s18_rsa_under_2048_bits_refused_as_jwk(rsa_1024: rsa.RSAPrivateKey) -> None:
    public_jwk = _rsa_jwk(rsa_1024.public_key().public_numbers().n, 65537)
    with rejected("jwk_weak"):
        JWK(public_jwk)
    with rejected("jwks_invalid"):
        JWKSet.from_dict({"keys": [public_jwk]})


def _rsa_jwk(n: int, e: int) -> dict[str, str]:
    def enc(value: int) -> str:
        return b64url_encode(value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))

    return {"kty": "RSA", "n": enc(n), "e": enc(e)}


@pytest.mark.parametrize("e", [1, 2, 4, 65536, 65538, 2**64 + 1], ids=repr)
def test_s18_rsa_bad_public_exponent_refused(e: int, rsa_2048: rsa.RSAPrivateKey) -> None:
    n = rsa_2048.public_key().public_numbers().n
    with rejected("jwk_weak"):
        JWK(_rsa_jwk(n, e))


def test_s18_rsa_zero_exponent_refused(rsa_2048: rsa.RSAPrivateKey) -> None:
    n = rsa_2048.public_key().public_numbers().n
    with rejected("jwk_weak"):
        JWK({**_rsa_jwk(n, 3), "e": "AA"})


@pytest.mark.parametrize("e", [3, 65537])
def test_s18_rsa_good_exponent_accepted(e: int, rsa_2048: rsa.RSAPrivateKey) -> None:
    n = rsa_2048.public_key().public_numbers().n
    assert JWK(_rsa_jwk(n, e)).kty == "RSA"


@pytest.mark.filterwarnings("ignore:SSH DSA key")
@pytest.mark.parametrize("bits", [1024, 2048])
def test_s18_dsa_keys_refused_in_every_form(bits: int) -> None:
    private = dsa.generate_private_key(key_size=bits)
    forms = _forms(private) if bits == 1024 else _forms_without_ssh(private)
    for form in forms.values():
        with rejected("jwk_weak"):
            _import(form)


def _forms_without_ssh(private: Any) -> dict[str, Any]:
    """OpenSSH only speaks 1024-bit DSA."""
    public = private.public_key()
    none = serialization.NoEncryption()
    return {
        "private object": private,
        "public object": public,
        "PKCS#8 PEM": private.private_bytes(Enc.PEM, serialization.PrivateFormat.PKCS8, none),
        "SPKI DER": public.public_bytes(Enc.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
    }


def test_s18_dsa_is_not_a_jwk_key_type() -> None:
    with rejected("jwk_unsupported_kty"):
        JWK({"kty": "DSA", "p": "AQAB", "q": "AQAB", "g": "AQAB", "y": "AQAB"})
