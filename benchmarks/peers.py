"""Every implementation measured, behind one small interface.

Each factory prepares what its library would keep between requests (key objects,
validators) and returns a zero-argument callable for the timed loop. Verifiers do
full claims validation with the library's own API: signature, ``exp``, ``iss`` and
``aud`` (and ``iat``/``nbf`` where the library checks them). A library that cannot do
an operation raises :class:`Unsupported`; the table shows a dash.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import importlib.metadata
import json
import warnings
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from tokensmith.jose import jwt

from .fixtures import AUDIENCE, ISSUER, EncryptionKey, SigningKey, policy

warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*authlib.jose.*")

Op = Callable[[], Any]


class Unsupported(Exception):
    """This implementation does not offer this algorithm or operation."""


PEERS = ("PyJWT", "joserfc", "jwcrypto", "python-jose", "Authlib")
_DISTRIBUTIONS = {
    "tokensmith": "tokensmith",
    "PyJWT": "PyJWT",
    "joserfc": "joserfc",
    "jwcrypto": "jwcrypto",
    "python-jose": "python-jose",
    "Authlib": "Authlib",
    "cryptography": "cryptography",
}


def versions() -> dict[str, str]:
    out = {}
    for name, dist in _DISTRIBUTIONS.items():
        try:
            out[name] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


# ---- the floor: cryptography alone, then with base64url + JSON --------------------------

_PKCS1 = padding.PKCS1v15()
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
_SHA256 = hashes.SHA256()
_ECDSA = ec.ECDSA(hashes.SHA256())


_TO_STD = bytes.maketrans(b"-_", b"+/")
_JSON = json.JSONDecoder()


def _b64d(segment: str) -> bytes:
    # As lean as base64url decoding gets in Python: lax (non-strict) a2b_base64
    # ignores the surplus padding, so no length arithmetic.
    return binascii.a2b_base64(segment.encode("ascii").translate(_TO_STD) + b"==")


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _raw_verifier(key: SigningKey) -> Callable[[bytes, bytes], Any]:
    """(signing input, JWS signature) -> None or raise; JWS ES256 r||s converted to DER."""
    pub = key.public
    if key.alg == "HS256":

        def verify(data: bytes, sig: bytes) -> None:
            if not hmac.compare_digest(hmac.digest(pub, data, "sha256"), sig):
                raise ValueError("bad signature")

    elif key.alg == "RS256":

        def verify(data: bytes, sig: bytes) -> None:
            pub.verify(sig, data, _PKCS1, _SHA256)

    elif key.alg == "PS256":

        def verify(data: bytes, sig: bytes) -> None:
            pub.verify(sig, data, _PSS, _SHA256)

    elif key.alg == "ES256":

        def verify(data: bytes, sig: bytes) -> None:
            r = int.from_bytes(sig[:32], "big")
            s = int.from_bytes(sig[32:], "big")
            pub.verify(encode_dss_signature(r, s), data, _ECDSA)

    else:

        def verify(data: bytes, sig: bytes) -> None:
            pub.verify(sig, data)

    return verify


def raw_verify(key: SigningKey, token: str) -> Op:
    """The cryptography signature check alone (input bytes and DER signature ready)."""
    header_b64, payload_b64, sig_b64 = token.split(".")
    data = f"{header_b64}.{payload_b64}".encode("ascii")
    sig = _b64d(sig_b64)
    pub = key.public
    if key.alg == "HS256":
        return lambda: hmac.compare_digest(hmac.digest(pub, data, "sha256"), sig)
    if key.alg == "RS256":
        return lambda: pub.verify(sig, data, _PKCS1, _SHA256)
    if key.alg == "PS256":
        return lambda: pub.verify(sig, data, _PSS, _SHA256)
    if key.alg == "ES256":
        der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        return lambda: pub.verify(der, data, _ECDSA)
    return lambda: pub.verify(sig, data)


def floor_verify(key: SigningKey, token: str) -> Op:
    """Split, base64url-decode three segments, parse two JSON objects, check the
    signature: the least any JWT library must do (no claims checks, no strictness)."""
    check = _raw_verifier(key)
    loads = _JSON.decode

    def run() -> dict[str, Any]:
        header_b64, payload_b64, sig_b64 = token.split(".")
        loads(_b64d(header_b64).decode())
        claims: dict[str, Any] = loads(_b64d(payload_b64).decode())
        check(f"{header_b64}.{payload_b64}".encode("ascii"), _b64d(sig_b64))
        return claims

    return run


def raw_sign(key: SigningKey) -> Op:
    data = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    priv = key.private
    if key.alg == "HS256":
        return lambda: hmac.digest(priv, data, "sha256")
    if key.alg == "RS256":
        return lambda: priv.sign(data, _PKCS1, _SHA256)
    if key.alg == "PS256":
        return lambda: priv.sign(data, _PSS, _SHA256)
    if key.alg == "ES256":
        return lambda: priv.sign(data, _ECDSA)
    return lambda: priv.sign(data)


def floor_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    """Serialize header and claims, base64url, sign, base64url the signature."""
    priv = key.private
    alg = key.alg
    header = {"alg": alg, "typ": "JWT", "kid": key.jwk_private.kid}
    dumps = json.dumps
    if alg == "HS256":

        def sig(data: bytes) -> bytes:
            return hmac.digest(priv, data, "sha256")

    elif alg == "RS256":

        def sig(data: bytes) -> bytes:
            return priv.sign(data, _PKCS1, _SHA256)  # type: ignore[no-any-return]

    elif alg == "PS256":

        def sig(data: bytes) -> bytes:
            return priv.sign(data, _PSS, _SHA256)  # type: ignore[no-any-return]

    elif alg == "ES256":

        def sig(data: bytes) -> bytes:
            r, s = decode_dss_signature(priv.sign(data, _ECDSA))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    else:

        def sig(data: bytes) -> bytes:
            return priv.sign(data)  # type: ignore[no-any-return]

    def run() -> str:
        signing_input = (
            _b64e(dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64e(dumps(claims, separators=(",", ":")).encode())
        )
        return signing_input + "." + _b64e(sig(signing_input.encode("ascii")))

    return run


# ---- tokensmith ---------------------------------------------------------------------------


def tokensmith_verify(key: SigningKey, token: str) -> Op:
    pol = policy()
    pub = key.jwk_public
    decode = jwt.decode
    return lambda: decode(token, pub, policy=pol).claims


def tokensmith_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    priv = key.jwk_private
    alg = key.alg
    encode = jwt.encode
    return lambda: encode(claims, priv, alg=alg)


def tokensmith_encrypt(key: EncryptionKey, plaintext: bytes) -> Op:
    from tokensmith.jose import jwe

    pub = key.jwk_public
    return lambda: jwe.encrypt(plaintext, pub, alg=key.alg, enc=key.enc)


def tokensmith_decrypt(key: EncryptionKey, token: str) -> Op:
    from tokensmith.jose import jwe

    priv = key.jwk_private
    pol = jwe.JWEPolicy(algorithms=[key.alg], encryptions=[key.enc])
    return lambda: jwe.decrypt(token, priv, policy=pol).plaintext


# ---- PyJWT ----------------------------------------------------------------------------------


def pyjwt_verify(key: SigningKey, token: str) -> Op:
    import jwt as pyjwt

    pub = key.public
    alg = key.alg
    opts = {"require": ["exp", "iss", "aud"]}
    return lambda: pyjwt.decode(
        token, pub, algorithms=[alg], audience=AUDIENCE, issuer=ISSUER, options=opts
    )


def pyjwt_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    import jwt as pyjwt

    priv = key.private
    alg = key.alg
    headers = {"kid": key.jwk_private.kid}
    return lambda: pyjwt.encode(claims, priv, algorithm=alg, headers=headers)


# ---- joserfc --------------------------------------------------------------------------------


def _joserfc_key(key: SigningKey | EncryptionKey, private: bool) -> Any:
    from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

    if key.private_pem is None:
        return OctKey.import_key(key.private)
    pem = key.private_pem if private else key.public_pem
    if key.alg in ("RS256", "PS256") or key.alg.startswith("RSA"):
        return RSAKey.import_key(pem)
    if key.alg == "EdDSA":
        return OKPKey.import_key(pem)
    return ECKey.import_key(pem)


def joserfc_verify(key: SigningKey, token: str) -> Op:
    from joserfc import jwt as jjwt
    from joserfc.jwt import JWTClaimsRegistry

    k = _joserfc_key(key, private=False)
    algs = [key.alg]
    registry = JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        exp={"essential": True},
    )

    def run() -> Any:
        tok = jjwt.decode(token, k, algorithms=algs)
        registry.validate(tok.claims)
        return tok.claims

    return run


def joserfc_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    from joserfc import jwt as jjwt

    k = _joserfc_key(key, private=True)
    header = {"alg": key.alg, "typ": "JWT", "kid": key.jwk_private.kid}
    algs = [key.alg]
    return lambda: jjwt.encode(header, claims, k, algorithms=algs)


def joserfc_encrypt(key: EncryptionKey, plaintext: bytes) -> Op:
    from joserfc import jwe as jjwe

    k = _joserfc_key(key, private=False)
    header = {"alg": key.alg, "enc": key.enc}
    algs = [key.alg, key.enc]
    return lambda: jjwe.encrypt_compact(header, plaintext, k, algorithms=algs)


def joserfc_decrypt(key: EncryptionKey, token: str) -> Op:
    from joserfc import jwe as jjwe

    k = _joserfc_key(key, private=True)
    algs = [key.alg, key.enc]
    return lambda: jjwe.decrypt_compact(token, k, algorithms=algs).plaintext


# ---- jwcrypto -------------------------------------------------------------------------------


def _jwcrypto_key(key: SigningKey | EncryptionKey, private: bool) -> Any:
    from jwcrypto.jwk import JWK as JcJWK

    if key.private_pem is None:
        return JcJWK(kty="oct", k=_b64e(key.private))
    return JcJWK.from_pem(key.private_pem if private else key.public_pem)


def jwcrypto_verify(key: SigningKey, token: str) -> Op:
    from jwcrypto import jwt as jcjwt

    k = _jwcrypto_key(key, private=False)
    algs = [key.alg]
    checks = {"iss": ISSUER, "aud": AUDIENCE, "exp": None}
    loads = json.loads

    def run() -> Any:
        tok = jcjwt.JWT(jwt=token, key=k, algs=algs, check_claims=checks)
        return loads(tok.claims)

    return run


def jwcrypto_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    from jwcrypto import jwt as jcjwt

    k = _jwcrypto_key(key, private=True)
    header = {"alg": key.alg, "typ": "JWT", "kid": key.jwk_private.kid}

    def run() -> str:
        tok = jcjwt.JWT(header=header, claims=claims, algs=[key.alg])
        tok.make_signed_token(k)
        return tok.serialize()  # type: ignore[no-any-return]

    return run


def jwcrypto_encrypt(key: EncryptionKey, plaintext: bytes) -> Op:
    from jwcrypto import jwe as jcjwe

    k = _jwcrypto_key(key, private=False)
    protected = json.dumps({"alg": key.alg, "enc": key.enc})
    algs = [key.alg, key.enc]

    def run() -> str:
        token = jcjwe.JWE(plaintext, protected=protected, algs=algs)
        token.add_recipient(k)
        return token.serialize(compact=True)  # type: ignore[no-any-return]

    return run


def jwcrypto_decrypt(key: EncryptionKey, token: str) -> Op:
    from jwcrypto import jwe as jcjwe

    k = _jwcrypto_key(key, private=True)
    algs = [key.alg, key.enc]

    def run() -> bytes:
        obj = jcjwe.JWE(algs=algs)
        obj.deserialize(token, key=k)
        return obj.payload  # type: ignore[no-any-return]

    return run


# ---- python-jose ----------------------------------------------------------------------------


def _pyjose_key(key: SigningKey, private: bool) -> Any:
    from jose import jwk as jjwk
    from jose.constants import ALGORITHMS

    if key.alg not in ALGORITHMS.SUPPORTED:
        raise Unsupported(f"python-jose has no {key.alg}")
    if key.private_pem is None:
        return jjwk.construct(key.private, key.alg)
    pem = key.private_pem if private else key.public_pem
    return jjwk.construct(pem.decode("ascii") if pem else pem, key.alg)


def pyjose_verify(key: SigningKey, token: str) -> Op:
    from jose import jwt as jjwt

    k = _pyjose_key(key, private=False)
    algs = [key.alg]
    return lambda: jjwt.decode(token, k, algorithms=algs, audience=AUDIENCE, issuer=ISSUER)


def pyjose_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    from jose import jwt as jjwt

    k = _pyjose_key(key, private=True)
    alg = key.alg
    headers = {"kid": key.jwk_private.kid}
    return lambda: jjwt.encode(claims, k, algorithm=alg, headers=headers)


# ---- Authlib --------------------------------------------------------------------------------


def _authlib_key(key: SigningKey, private: bool) -> Any:
    from authlib.jose import JsonWebKey

    if key.private_pem is None:
        return JsonWebKey.import_key(key.private, {"kty": "oct"})
    return JsonWebKey.import_key(key.private_pem if private else key.public_pem)


def authlib_verify(key: SigningKey, token: str) -> Op:
    from authlib.jose import JsonWebToken

    k = _authlib_key(key, private=False)
    jwt_ = JsonWebToken([key.alg])
    options = {
        "iss": {"essential": True, "value": ISSUER},
        "aud": {"essential": True, "value": AUDIENCE},
        "exp": {"essential": True},
    }

    def run() -> Any:
        claims = jwt_.decode(token, k, claims_options=options)
        claims.validate()
        return claims

    return run


def authlib_sign(key: SigningKey, claims: dict[str, Any]) -> Op:
    from authlib.jose import JsonWebToken

    k = _authlib_key(key, private=True)
    jwt_ = JsonWebToken([key.alg])
    header = {"alg": key.alg, "typ": "JWT", "kid": key.jwk_private.kid}
    return lambda: jwt_.encode(header, claims, k)


VERIFIERS: dict[str, Callable[[SigningKey, str], Op]] = {
    "tokensmith": tokensmith_verify,
    "PyJWT": pyjwt_verify,
    "joserfc": joserfc_verify,
    "jwcrypto": jwcrypto_verify,
    "python-jose": pyjose_verify,
    "Authlib": authlib_verify,
}
SIGNERS: dict[str, Callable[[SigningKey, dict[str, Any]], Op]] = {
    "tokensmith": tokensmith_sign,
    "PyJWT": pyjwt_sign,
    "joserfc": joserfc_sign,
    "jwcrypto": jwcrypto_sign,
    "python-jose": pyjose_sign,
    "Authlib": authlib_sign,
}
ENCRYPTERS: dict[str, Callable[[EncryptionKey, bytes], Op]] = {
    "tokensmith": tokensmith_encrypt,
    "joserfc": joserfc_encrypt,
    "jwcrypto": jwcrypto_encrypt,
}
DECRYPTERS: dict[str, Callable[[EncryptionKey, str], Op]] = {
    "tokensmith": tokensmith_decrypt,
    "joserfc": joserfc_decrypt,
    "jwcrypto": jwcrypto_decrypt,
}

__all__ = [
    "DECRYPTERS",
    "ENCRYPTERS",
    "PEERS",
    "SIGNERS",
    "VERIFIERS",
    "Unsupported",
    "floor_sign",
    "floor_verify",
    "raw_sign",
    "raw_verify",
    "versions",
]
