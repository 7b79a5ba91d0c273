"""Unit tests of tokensmith.jose.jwk: import/export in every form, generation, public
halves, thumbprints, metadata and equality."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from tokensmith.jose import JWK
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import (
    InvalidKeyError,
    KeyMismatchError,
    UnsupportedError,
    WeakKeyError,
)
from tokensmith.jose.jwk import generatable_algorithms


def test_regression_to_pem_empty_password_is_not_silently_unencrypted() -> None:
    """``to_pem(password=b"")`` used to write an unencrypted private key: an empty
    password was treated as no password. Asking for encryption with an unusable
    password is a caller mistake: ValueError, never plaintext key material."""
    key = JWK.generate("ES256")
    with pytest.raises(ValueError, match="Password"):
        key.to_pem(password=b"")
    with pytest.raises(ValueError, match="Password"):
        key.to_der(password=b"")
    assert b"ENCRYPTED PRIVATE KEY" in key.to_pem(password=b"x")


# ---- shared material ---------------------------------------------------------------------

Enc = serialization.Encoding
PrivFmt = serialization.PrivateFormat
PubFmt = serialization.PublicFormat
NoEnc = serialization.NoEncryption()
PASSWORD = b"s3cret pass"

# RFC 7638 §3.1: the example RSA key and its published SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
    "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6W"
    "eZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
# RFC 8037 Appendix A.2/A.3: the Ed25519 public key and its thumbprint.
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key_objects(rsa_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    return {
        "RSA": rsa_key,
        "P-256": ec.generate_private_key(ec.SECP256R1()),
        "P-384": ec.generate_private_key(ec.SECP384R1()),
        "P-521": ec.generate_private_key(ec.SECP521R1()),
        "secp256k1": ec.generate_private_key(ec.SECP256K1()),
        "Ed25519": ed25519.Ed25519PrivateKey.generate(),
        "Ed448": ed448.Ed448PrivateKey.generate(),
    }


KINDS = ["RSA", "P-256", "P-384", "P-521", "secp256k1", "Ed25519", "Ed448"]


def public_jwk_of(obj: Any) -> JWK:
    return JWK.from_object(obj.public_key())


def self_signed_cert(obj: Any) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokensmith test")])
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(obj.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
    )
    algorithm = (
        None
        if isinstance(obj, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey))
        else hashes.SHA256()
    )
    return builder.sign(obj, algorithm)


# ---- import in every form ----------------------------------------------------------------


PRIVATE_FORMS = [
    (kind, fmt)
    for kind in KINDS
    for fmt in ("pkcs8-pem", "pkcs8-der", "traditional-pem", "openssh-private")
    if not (fmt == "traditional-pem" and kind in ("Ed25519", "Ed448"))  # no PKCS#1/SEC1 form
]
PUBLIC_FORMS = [
    (kind, fmt)
    for kind in KINDS
    for fmt in ("spki-pem", "spki-der", "pkcs1-pem", "openssh", "cert-pem", "cert-der")
    if not (fmt == "pkcs1-pem" and kind != "RSA")  # PKCS#1 public keys are RSA only
    and not (fmt == "openssh" and kind in ("secp256k1", "Ed448"))  # not OpenSSH key types
]


@pytest.mark.parametrize(("kind", "fmt"), PRIVATE_FORMS)
def test_private_key_imports_in_every_form(
    kind: str, fmt: str, key_objects: dict[str, Any]
) -> None:
    obj = key_objects[kind]
    if fmt == "pkcs8-pem":
        data = obj.private_bytes(Enc.PEM, PrivFmt.PKCS8, NoEnc)
    elif fmt == "pkcs8-der":
        data = obj.private_bytes(Enc.DER, PrivFmt.PKCS8, NoEnc)
    elif fmt == "traditional-pem":  # PKCS#1 for RSA, SEC1 for EC
        data = obj.private_bytes(Enc.PEM, PrivFmt.TraditionalOpenSSL, NoEnc)
        assert data.startswith(b"-----BEGIN RSA" if kind == "RSA" else b"-----BEGIN EC")
    else:
        if kind in ("secp256k1", "Ed448"):
            with pytest.raises(ValueError, match="Unsupported"):  # not OpenSSH key types
                obj.private_bytes(Enc.PEM, PrivFmt.OpenSSH, NoEnc)
            return
        data = obj.private_bytes(Enc.PEM, PrivFmt.OpenSSH, NoEnc)
    key = JWK.import_key(data)
    assert key.is_private
    assert key.thumbprint() == public_jwk_of(obj).thumbprint()
    assert key.public() == public_jwk_of(obj)


@pytest.mark.parametrize(("kind", "fmt"), PUBLIC_FORMS)
def test_public_key_imports_in_every_form(kind: str, fmt: str, key_objects: dict[str, Any]) -> None:
    obj = key_objects[kind]
    pub = obj.public_key()
    if fmt == "spki-pem":
        data = pub.public_bytes(Enc.PEM, PubFmt.SubjectPublicKeyInfo)
    elif fmt == "spki-der":
        data = pub.public_bytes(Enc.DER, PubFmt.SubjectPublicKeyInfo)
    elif fmt == "pkcs1-pem":
        data = pub.public_bytes(Enc.PEM, PubFmt.PKCS1)
    elif fmt == "openssh":
        data = pub.public_bytes(Enc.OpenSSH, PubFmt.OpenSSH)
    elif fmt == "cert-pem":
        data = self_signed_cert(obj).public_bytes(Enc.PEM)
    else:
        data = self_signed_cert(obj).public_bytes(Enc.DER)
    key = JWK.import_key(data)
    assert not key.is_private
    assert key == public_jwk_of(obj)


@pytest.mark.parametrize("encoding", [Enc.PEM, Enc.DER], ids=["pem", "der"])
@pytest.mark.parametrize("kind", ["RSA", "P-256", "Ed25519"])
def test_encrypted_private_key_needs_the_right_password(
    kind: str, encoding: serialization.Encoding, key_objects: dict[str, Any]
) -> None:
    obj = key_objects[kind]
    data = obj.private_bytes(
        encoding, PrivFmt.PKCS8, serialization.BestAvailableEncryption(PASSWORD)
    )
    with pytest.raises(InvalidKeyError):
        JWK.import_key(data)  # missing
    with pytest.raises(InvalidKeyError):
        JWK.import_key(data, password=b"wrong")
    key = JWK.import_key(data, password=PASSWORD)
    assert key.thumbprint() == public_jwk_of(obj).thumbprint()


def test_password_given_for_an_unencrypted_key_is_refused(key_objects: dict[str, Any]) -> None:
    data = key_objects["P-256"].private_bytes(Enc.PEM, PrivFmt.PKCS8, NoEnc)
    with pytest.raises(InvalidKeyError):
        JWK.import_key(data, password=PASSWORD)


def test_to_pem_with_password_round_trips(key_objects: dict[str, Any]) -> None:
    key = JWK.from_object(key_objects["P-384"])
    pem = key.to_pem(password=PASSWORD)
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert JWK.from_pem(pem, password=PASSWORD) == key
    der = key.to_der(password=PASSWORD)
    assert JWK.from_der(der, password=PASSWORD) == key


@pytest.mark.parametrize("kind", KINDS)
def test_pem_der_and_json_round_trips(kind: str, key_objects: dict[str, Any]) -> None:
    key = JWK.from_object(key_objects[kind], kid="k1", alg=None)
    assert key.to_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key.public().to_pem().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert JWK.from_pem(key.to_pem(), kid="k1") == key
    assert JWK.from_der(key.to_der(), kid="k1") == key
    assert JWK.from_pem(key.public().to_pem(), kid="k1") == key.public()
    assert JWK.from_json(key.to_json()) == key
    assert JWK.import_key(key.to_json()) == key
    assert JWK.import_key(key.to_dict()) == key
    assert json.loads(key.to_json()) == key.to_dict()


def test_import_key_metadata_conflict_is_a_caller_error() -> None:
    members = JWK.generate("ES256", kid="a").to_dict()
    with pytest.raises(ValueError, match="kid"):
        JWK.import_key(members, kid="b")
    assert JWK.import_key(members, kid="a").kid == "a"


def test_symmetric_keys_have_no_pem_and_no_public_half() -> None:
    key = JWK.generate("HS256")
    with pytest.raises(ValueError, match="symmetric key"):
        key.to_pem()
    with pytest.raises(ValueError, match="symmetric key"):
        key.public()


# ---- RSA private keys --------------------------------------------------------------------


def test_rsa_private_jwk_with_only_d_recovers_crt(vectors_dir: Path) -> None:
    """RFC 7518 §6.3.2: p, q, dp, dq, qi are optional; the prepared key recovers them."""
    full = json.loads((vectors_dir / "rfc7520-cookbook/jwk/3_4.rsa_private_key.json").read_text())
    only_d = {k: full[k] for k in ("kty", "n", "e", "d")}
    key = JWK(only_d)
    assert key.is_private
    numbers = key.private_key_object.private_numbers()

    def b64(v: int) -> str:
        return b64url_encode(v.to_bytes((v.bit_length() + 7) // 8, "big"))

    assert {b64(numbers.p), b64(numbers.q)} == {full["p"], full["q"]}
    by_prime = {full["p"]: (full["dp"], full["q"]), full["q"]: (full["dq"], full["p"])}
    assert b64(numbers.dmp1) == by_prime[b64(numbers.p)][0]
    assert b64(numbers.dmq1) == by_prime[b64(numbers.q)][0]
    assert numbers.iqmp * numbers.q % numbers.p == 1
    assert key.thumbprint() == JWK(full).thumbprint()
    # The recovered key signs what the full key verifies.
    from tokensmith.jose import jws

    token = jws.sign(b"x", key, alg="RS256")
    assert jws.verify(token, JWK(full).public()).payload == b"x"


def test_rsa_partial_crt_members_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    members = JWK.from_object(rsa_key).to_dict()
    del members["dq"]
    with pytest.raises(InvalidKeyError):
        JWK(members)
    members = JWK.from_object(rsa_key).to_dict()
    del members["d"]
    with pytest.raises(InvalidKeyError, match="without 'd'"):
        JWK(members)


def test_rsa_inconsistent_private_key_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    members = JWK.from_object(rsa_key).to_dict()
    members["qi"] = members["dp"]
    with pytest.raises(InvalidKeyError):
        JWK(members)


def test_rsa_multi_prime_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    members = JWK.from_object(rsa_key).to_dict()
    members["oth"] = [{"r": "AQ", "d": "AQ", "t": "AQ"}]
    with pytest.raises(UnsupportedError):
        JWK(members)


# ---- EC and OKP validation ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["P-256", "P-521", "secp256k1", "Ed25519", "Ed448"])
def test_private_d_not_matching_public_refused(kind: str, key_objects: dict[str, Any]) -> None:
    members = JWK.from_object(key_objects[kind]).to_dict()
    other = JWK.from_object(_another(key_objects[kind]))
    members["d"] = other.to_dict()["d"]
    with pytest.raises(InvalidKeyError, match="does not match"):
        JWK(members)


def _another(obj: Any) -> Any:
    if isinstance(obj, ec.EllipticCurvePrivateKey):
        return ec.generate_private_key(obj.curve)
    if isinstance(obj, ed25519.Ed25519PrivateKey):
        return ed25519.Ed25519PrivateKey.generate()
    return ed448.Ed448PrivateKey.generate()


@pytest.mark.parametrize("member", ["x", "y", "d"])
@pytest.mark.parametrize("delta", [-1, 1])
def test_ec_wrong_coordinate_length_refused(
    member: str, delta: int, key_objects: dict[str, Any]
) -> None:
    members = JWK.from_object(key_objects["P-256"]).to_dict()
    raw = b64url_decode(members[member])
    members[member] = b64url_encode(raw[1:] if delta < 0 else b"\x00" + raw)
    with pytest.raises(InvalidKeyError, match="exactly 32 bytes"):
        JWK(members)


@pytest.mark.parametrize("member", ["x", "d"])
def test_okp_wrong_length_refused(member: str, key_objects: dict[str, Any]) -> None:
    members = JWK.from_object(key_objects["Ed25519"]).to_dict()
    members[member] = b64url_encode(b64url_decode(members[member]) + b"\x00")
    with pytest.raises(InvalidKeyError, match="exactly 32 bytes"):
        JWK(members)


def test_ec_point_off_the_curve_refused(key_objects: dict[str, Any]) -> None:
    members = JWK.from_object(key_objects["P-256"].public_key()).to_dict()
    y = int.from_bytes(b64url_decode(members["y"]), "big")
    members["y"] = b64url_encode(((y + 1) % 2**256).to_bytes(32, "big"))
    with pytest.raises(InvalidKeyError, match="not on curve"):
        JWK(members)


def test_ec_point_of_another_curve_refused(key_objects: dict[str, Any]) -> None:
    members = JWK.from_object(key_objects["secp256k1"].public_key()).to_dict()
    members["crv"] = "P-256"
    with pytest.raises(InvalidKeyError, match="not on curve"):
        JWK(members)


@pytest.mark.parametrize(
    ("members", "error"),
    [
        ({"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"}, UnsupportedError),
        ({"kty": "OKP", "crv": "Ed1", "x": "AA"}, UnsupportedError),
        ({"kty": "DSA"}, UnsupportedError),
        ({"kty": 1}, InvalidKeyError),
        ({}, InvalidKeyError),
        ({"kty": "oct", "k": ""}, WeakKeyError),
        ({"kty": "oct", "k": "AAAA", "n": "AQAB"}, InvalidKeyError),
        ({"kty": "oct", "k": "AA=="}, InvalidKeyError),
        ({"kty": "oct", "k": 5}, InvalidKeyError),
        ({"kty": "OKP", "crv": "Ed25519"}, InvalidKeyError),
        ({"kty": "oct", "k": "AAAA", "kid": 5}, InvalidKeyError),
        ({"kty": "oct", "k": "AAAA", "key_ops": "sign"}, InvalidKeyError),
        ({"kty": "oct", "k": "AAAA", "key_ops": ["sign", "sign"]}, InvalidKeyError),
        (
            {"kty": "oct", "k": "AAAA", "key_ops": ["sign", "encrypt"], "use": "sig"},
            InvalidKeyError,
        ),
        ({"kty": "oct", "k": "AAAA", "key_ops": ["sign"], "use": "enc"}, InvalidKeyError),
        ({"kty": "oct", "k": "AAAA", "x5c": "abc"}, InvalidKeyError),
    ],
    ids=lambda v: json.dumps(v) if isinstance(v, dict) else v.__name__,
)
def test_malformed_jwk_refused(members: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        JWK(members)


def test_rsa_weak_keys_refused() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    with pytest.raises(WeakKeyError):
        JWK.from_object(small)
    with pytest.raises(WeakKeyError):
        JWK.import_key(small.public_key().public_bytes(Enc.PEM, PubFmt.SubjectPublicKeyInfo))


# ---- generate ----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", generatable_algorithms())
def test_generate_every_algorithm_with_thumbprint_kid(alg: str) -> None:
    key = JWK.generate(alg)
    assert key.alg == alg
    assert key.is_private
    assert key.kid == key.thumbprint()
    again = JWK(key.to_dict())
    assert again == key
    assert JWK.generate(alg, kid="mine").kid == "mine"


def test_generate_unknown_algorithm_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="cannot generate"):
        JWK.generate("none")
    with pytest.raises(ValueError, match="rsa_bits"):
        JWK.generate("RS256", rsa_bits=1024)


# ---- public(), thumbprint, metadata, equality --------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_public_strips_private_members(kind: str, key_objects: dict[str, Any]) -> None:
    key = JWK.from_object(key_objects[kind], kid="k", alg=None, use="sig")
    public = key.public()
    assert not public.is_private
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(public.to_dict())
    assert public.kid == "k"
    assert public.use == "sig"
    assert public.thumbprint() == key.thumbprint()
    assert public.public() is public


def test_public_maps_key_ops() -> None:
    members = JWK.generate("ES256").to_dict()
    members["key_ops"] = ["sign", "verify"]
    public = JWK(members).public()
    assert public.key_ops == ("verify",)
    members["key_ops"] = ["sign"]
    assert JWK(members).public().key_ops == ("verify",)


def test_thumbprint_rfc7638_example() -> None:
    key = JWK({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"})
    assert key.thumbprint() == RFC7638_THUMBPRINT
    # Optional members do not change it.
    assert JWK({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}).thumbprint() == RFC7638_THUMBPRINT


def test_thumbprint_rfc8037_ed25519_example() -> None:
    key = JWK({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})
    assert key.thumbprint() == RFC8037_THUMBPRINT


def test_thumbprint_other_hashes() -> None:
    key = JWK({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"})
    assert len(b64url_decode(key.thumbprint("sha384"))) == 48
    assert len(b64url_decode(key.thumbprint("sha512"))) == 64
    with pytest.raises(ValueError, match="thumbprint hash"):
        key.thumbprint("md5")


def test_with_kid_returns_a_new_key() -> None:
    key = JWK.generate("ES256", kid="a")
    renamed = key.with_kid("b")
    assert renamed.kid == "b"
    assert key.kid == "a"
    assert renamed != key
    assert renamed.thumbprint() == key.thumbprint()


def test_equality_and_hash() -> None:
    key = JWK.generate("Ed25519", kid="a")
    same = JWK(key.to_dict())
    assert key == same
    assert hash(key) == hash(same)
    assert len({key, same}) == 1
    assert key != key.public()
    assert key != key.to_dict()
    secret = JWK.generate("HS256")
    assert hash(secret) == hash(JWK(secret.to_dict()))
    assert secret != JWK.generate("HS256")


def test_to_dict_is_a_copy() -> None:
    key = JWK.generate("ES256")
    exported = key.to_dict()
    exported["kid"] = "changed"
    assert key.kid != "changed"
    assert key.to_dict()["kid"] == key.kid


# ---- usability checks (S2, S17, S19) -----------------------------------------------------


def test_from_secret_refuses_asymmetric_material(key_objects: dict[str, Any]) -> None:
    """S2: public keys in every form never become HMAC secrets."""
    pub = key_objects["RSA"].public_key()
    for data in (
        pub.public_bytes(Enc.PEM, PubFmt.SubjectPublicKeyInfo),
        pub.public_bytes(Enc.DER, PubFmt.SubjectPublicKeyInfo),
        pub.public_bytes(Enc.OpenSSH, PubFmt.OpenSSH),
        JWK.from_object(pub).to_json().encode(),
    ):
        with pytest.raises(KeyMismatchError):
            JWK.from_secret(data)
    with pytest.raises(TypeError):
        JWK.from_secret("text")  # type: ignore[arg-type]


def test_s17_short_hmac_key_refused_for_its_alg() -> None:
    with pytest.raises(WeakKeyError):
        JWK.from_secret(b"x" * 31, alg="HS256")
    key = JWK.from_secret(b"x" * 32)
    with pytest.raises(WeakKeyError):
        key.check_usable(alg="HS384", op="sign", kty="oct", min_key_bytes=48)


def test_s19_check_usable_honours_alg_use_and_key_ops() -> None:
    key = JWK.generate("ES256")
    key.check_usable(alg="ES256", op="sign", kty="EC", curves=["P-256"])
    with pytest.raises(KeyMismatchError):
        key.check_usable(alg="ES384", op="sign", kty="EC")
    with pytest.raises(KeyMismatchError):
        key.check_usable(alg="ES256", op="sign", kty="RSA")
    with pytest.raises(KeyMismatchError):
        key.check_usable(alg="ES256", op="sign", kty="EC", curves=["P-384"])
    with pytest.raises(KeyMismatchError):
        key.public().check_usable(alg="ES256", op="sign", kty="EC")
    enc = JWK({**key.to_dict(), "use": "enc"})
    with pytest.raises(KeyMismatchError):
        enc.check_usable(alg="ES256", op="verify", kty="EC")
    verify_only = JWK({**key.to_dict(), "key_ops": ["verify"]})
    with pytest.raises(KeyMismatchError):
        verify_only.check_usable(alg="ES256", op="sign", kty="EC")
    with pytest.raises(ValueError, match="unknown key operation"):
        key.check_usable(alg="ES256", op="frobnicate", kty="EC")  # type: ignore[arg-type]


def test_repr_never_shows_key_material() -> None:
    key = JWK.generate("HS256", kid="k")
    text = repr(key)
    assert key.to_dict()["k"] not in text
    assert "secret" in text
    assert "private" in repr(JWK.generate("ES256"))
    assert "public" in repr(JWK.generate("ES256").public())
