"""S2: HMAC/RSA algorithm confusion. A public key, in any form it is published in,
never becomes an HMAC secret: ``JWK.from_secret`` refuses it, and the asymmetric key
``JWK.import_key`` makes of it never verifies an HS256/384/512 token forged with the
public key bytes as the HMAC secret."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from hostile import CLAIMS, POLICY, hmac_forge, rejected

from tokensmith.jose import JWK, ClaimsPolicy, JWKSet, jws, jwt

HS_ALGS = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}
Enc = serialization.Encoding
Pub = serialization.PublicFormat


def _certificate(private: Any) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokensmith test")])
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=365))
    )
    algorithm = None if isinstance(private, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(private, algorithm)


def _forms(private: Any, kty: str) -> dict[str, bytes | dict[str, Any]]:
    """Every form a public key is published in."""
    public = private.public_key()
    cert = _certificate(private)
    jwk = JWK.from_object(public).to_dict()
    forms: dict[str, bytes | dict[str, Any]] = {
        "spki-pem": public.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo),
        "spki-der": public.public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo),
        "x509-pem": cert.public_bytes(Enc.PEM),
        "x509-der": cert.public_bytes(Enc.DER),
        "openssh": public.public_bytes(Enc.OpenSSH, Pub.OpenSSH),
        "openssh-line-with-comment": public.public_bytes(Enc.OpenSSH, Pub.OpenSSH) + b" me@host\n",
        "spki-pem-leading-newline": b"\n" + public.public_bytes(Enc.PEM, Pub.SubjectPublicKeyInfo),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-json-pretty": json.dumps(jwk, indent=2).encode(),
        "jwk-dict": jwk,
    }
    if kty == "RSA":
        forms["pkcs1-pem"] = public.public_bytes(Enc.PEM, Pub.PKCS1)
    return forms


def _all_forms() -> list[tuple[str, str, bytes | dict[str, Any]]]:
    privates = {
        "RSA": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "EC": ec.generate_private_key(ec.SECP256R1()),
        "OKP": ed25519.Ed25519PrivateKey.generate(),
    }
    return [
        (kty, name, form)
        for kty, private in privates.items()
        for name, form in _forms(private, kty).items()
    ]


FORMS = _all_forms()
FORM_IDS = [f"{kty}-{name}" for kty, name, _ in FORMS]


def _secret_bytes(form: bytes | dict[str, Any]) -> bytes:
    """The bytes an attacker feeds HMAC: the file as published (a dict as its JSON)."""
    return form if isinstance(form, bytes) else json.dumps(form).encode()


@pytest.mark.parametrize(("kty", "name", "form"), FORMS, ids=FORM_IDS)
def test_s2_public_key_forms_refused_as_hmac_secret(
    kty: str, name: str, form: bytes | dict[str, Any]
) -> None:
    if isinstance(form, dict):
        # A JWK dict is not bytes at all: a caller mistake, refused at once.
        with pytest.raises(TypeError):
            JWK.from_secret(form)  # type: ignore[arg-type]
        form = json.dumps(form).encode()
    for alg in HS_ALGS:
        with rejected("jwk_not_usable"):
            JWK.from_secret(form, alg=alg)
    with rejected("jwk_not_usable"):
        JWK.from_secret(form)


@pytest.mark.parametrize(("kty", "name", "form"), FORMS, ids=FORM_IDS)
@pytest.mark.parametrize("alg", HS_ALGS)
def test_s2_hmac_token_forged_with_public_key_bytes_rejected(
    kty: str, name: str, form: bytes | dict[str, Any], alg: str
) -> None:
    """The key decides the family: an imported public key is asymmetric whatever the
    token's header says, so the forged HS* token is refused."""
    key = JWK.import_key(form)
    assert key.kty == kty
    assert not key.is_symmetric
    token = hmac_forge({"alg": alg, "typ": "JWT"}, CLAIMS, _secret_bytes(form), HS_ALGS[alg])
    with rejected("jwk_not_usable"):
        jwt.decode(token, key, policy=POLICY)
    with rejected("jwk_not_usable"):
        jws.verify(token, key)
    with rejected("jwks_key_not_found"):
        jwt.decode(token, JWKSet([key]), policy=POLICY)
    with rejected("jwks_key_not_found"):
        jws.verify(token, [key])
    # Even a caller who allow-lists the HS algorithm does not turn the key into a secret.
    with rejected("jwk_not_usable"):
        jwt.decode(token, key, policy=ClaimsPolicy(algorithms=[alg], now=POLICY.now))
    header_b64, payload_b64, signature_b64 = token.split(".")
    flattened = {"protected": header_b64, "payload": payload_b64, "signature": signature_b64}
    with rejected("jwk_not_usable"):
        jws.verify_json(flattened, key)


@pytest.mark.parametrize(("kty", "name", "form"), FORMS, ids=FORM_IDS)
def test_s2_public_key_labelled_hs256_still_refuses_hmac(
    kty: str, name: str, form: bytes | dict[str, Any]
) -> None:
    """A key imported with ``alg="HS256"`` forced on it stays asymmetric."""
    key = JWK.import_key(form, alg="HS256")
    assert key.kty == kty
    token = hmac_forge({"alg": "HS256"}, CLAIMS, _secret_bytes(form))
    with rejected("jwk_not_usable"):
        jwt.decode(token, key, policy=POLICY)


def test_s2_asymmetric_algorithm_never_accepts_a_symmetric_key(hs256: JWK, rs256: JWK) -> None:
    """The other direction: an RS256 token is never checked against an oct key."""
    token = jwt.encode(CLAIMS, rs256)
    with rejected("jwk_not_usable"):
        jwt.decode(token, hs256, policy=POLICY)
    assert jwt.decode(token, rs256.public(), policy=POLICY).claims == CLAIMS


def _ed25519_with_public_key_ending_in(byte_values: bytes) -> ed25519.Ed25519PrivateKey:
    """A deterministic Ed25519 key whose raw public key ends in one of these bytes."""
    for seed in range(100_000):
        private = ed25519.Ed25519PrivateKey.from_private_bytes(seed.to_bytes(32, "big"))
        raw = private.public_key().public_bytes(Enc.Raw, Pub.Raw)
        if raw[-1] in byte_values:
            return private
    raise AssertionError("no such seed")  # pragma: no cover


@pytest.mark.parametrize("last_byte", [b" ", b"\n", b"\t", b"\r", b"\x0b", b"\x0c"])
def test_regression_der_public_key_ending_in_whitespace_byte_refused_as_secret(
    last_byte: bytes,
) -> None:
    """S2: from_secret stripped whitespace before trying the DER loaders, so a DER
    public key (or certificate) whose last byte happened to be 0x20, 0x09-0x0d was
    accepted as an HMAC secret (about 2% of EC/Ed25519 keys)."""
    private = _ed25519_with_public_key_ending_in(last_byte)
    spki_der = private.public_key().public_bytes(Enc.DER, Pub.SubjectPublicKeyInfo)
    assert spki_der.endswith(last_byte)
    with rejected("jwk_not_usable"):
        JWK.from_secret(spki_der)
