"""The one set of keys, claims and tokens every implementation is measured on."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tokensmith.jose import jwt
from tokensmith.jose.claims import ClaimsPolicy
from tokensmith.jose.jwk import JWK

SIGN_ALGS = ("HS256", "RS256", "PS256", "ES256", "EdDSA")
JWE_CASES = (
    ("dir", "A256GCM"),
    ("ECDH-ES+A256KW", "A256GCM"),
    ("RSA-OAEP-256", "A256GCM"),
)
ISSUER = "https://issuer.example.com"
AUDIENCE = "https://api.example.com"
KID = "bench-1"


def access_token_claims(now: int | None = None, **extra: Any) -> dict[str, Any]:
    """A typical access token: sub, iss, aud, iat, exp, jti, roles, org_id."""
    now = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "sub": "user-8c1f2a",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "roles": ["reader", "billing"],
        "org_id": "org-4711",
    }
    claims.update(extra)
    return claims


def policy() -> ClaimsPolicy:
    """Full claims validation: exp required and checked, iss and aud required and
    checked, iat/nbf checked when present."""
    return ClaimsPolicy(issuer=ISSUER, audience=AUDIENCE)


@dataclass(frozen=True)
class SigningKey:
    alg: str
    private: Any  # cryptography private key object (bytes for HS256)
    public: Any  # cryptography public key object (bytes for HS256)
    private_pem: bytes | None
    public_pem: bytes | None
    jwk_private: JWK
    jwk_public: JWK

    @property
    def secret(self) -> bytes:
        assert isinstance(self.private, bytes)
        return self.private


def _pem(private: Any) -> tuple[bytes, bytes]:
    return (
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def signing_key(alg: str) -> SigningKey:
    if alg == "HS256":
        secret = os.urandom(32)
        jwk = JWK.from_secret(secret, kid=KID, alg=alg)
        return SigningKey(alg, secret, secret, None, None, jwk, jwk)
    private: Any
    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(alg)
    private_pem, public_pem = _pem(private)
    jwk = JWK.from_object(private, kid=KID, alg=alg)
    return SigningKey(
        alg, private, private.public_key(), private_pem, public_pem, jwk, jwk.public()
    )


@dataclass(frozen=True)
class EncryptionKey:
    alg: str
    enc: str
    private: Any  # cryptography private key object, or the 32-byte secret for dir
    public: Any
    private_pem: bytes | None
    public_pem: bytes | None
    jwk_private: JWK
    jwk_public: JWK


def encryption_key(alg: str, enc: str) -> EncryptionKey:
    if alg == "dir":
        secret = os.urandom(32)
        jwk = JWK.from_secret(secret, kid=KID, alg=alg)
        return EncryptionKey(alg, enc, secret, secret, None, None, jwk, jwk)
    private: Any
    if alg.startswith("RSA"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        private = ec.generate_private_key(ec.SECP256R1())
    private_pem, public_pem = _pem(private)
    jwk = JWK.from_object(private, kid=KID, alg=alg)
    return EncryptionKey(
        alg, enc, private, private.public_key(), private_pem, public_pem, jwk, jwk.public()
    )


def token_for(key: SigningKey, claims: dict[str, Any] | None = None) -> str:
    """The token every verifier is given: signed by tokensmith, header alg/typ/kid."""
    return jwt.encode(claims or access_token_claims(), key.jwk_private, alg=key.alg)
