"""Thin adapters over the interop peers (PyJWT, joserfc, jwcrypto).

Each adapter speaks the peer's own public API and nothing else, so a test can say
"PyJWT verifies our token" without knowing PyJWT's calling conventions. When a peer
does not implement an algorithm, :meth:`Peer.refusal` asks the peer itself and returns
the message the peer raised, which the test turns into a skip reason.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from joserfc import jwk as rfc_jwk
from joserfc import jws as rfc_jws
from joserfc import jwt as rfc_jwt
from joserfc.errors import BadSignatureError
from jwcrypto import jwk as c_jwk
from jwcrypto import jwt as c_jwt
from jwcrypto.jws import InvalidJWSSignature

# Claims exchanged in every direction. Far-future exp and past iat/nbf, so the peers'
# own clocks accept them; ours uses a fixed clock (see FIXED_NOW).
FIXED_NOW = 1_700_000_100
CLAIMS: dict[str, Any] = {
    "iss": "https://id.example",
    "sub": "user-1",
    "aud": ["api", "other"],
    "exp": 4_102_444_800,
    "nbf": 1_700_000_000,
    "iat": 1_700_000_000,
    "jti": "b0a1e8c2",
    "scope": "read write",
    "nested": {"list": [1, 2.5, None, True, {"deep": "x"}]},
    "text": "ñ ☃ 😀 \u00e9",
}


@dataclass(frozen=True)
class Case:
    """One algorithm (and, for EdDSA, one curve) to exchange."""

    alg: str
    kty: str
    crv: str | None = None

    @property
    def id(self) -> str:
        return f"{self.alg}-{self.crv}" if self.alg == "EdDSA" else self.alg

    @property
    def family(self) -> str:
        """Cases of one family can share key material (one RSA key for RS*/PS*)."""
        if self.kty == "oct":
            return f"oct-{_HMAC_SIZES[self.alg]}"
        return f"{self.kty}-{self.crv}" if self.crv else self.kty


CASES: tuple[Case, ...] = (
    Case("HS256", "oct"),
    Case("HS384", "oct"),
    Case("HS512", "oct"),
    Case("RS256", "RSA"),
    Case("RS384", "RSA"),
    Case("RS512", "RSA"),
    Case("PS256", "RSA"),
    Case("PS384", "RSA"),
    Case("PS512", "RSA"),
    Case("ES256", "EC", "P-256"),
    Case("ES384", "EC", "P-384"),
    Case("ES512", "EC", "P-521"),
    Case("ES256K", "EC", "secp256k1"),
    Case("EdDSA", "OKP", "Ed25519"),
    Case("EdDSA", "OKP", "Ed448"),
    Case("Ed25519", "OKP", "Ed25519"),  # RFC 9864 fully-specified names
    Case("Ed448", "OKP", "Ed448"),
)

_EC_CURVES = {
    "P-256": ec.SECP256R1,
    "P-384": ec.SECP384R1,
    "P-521": ec.SECP521R1,
    "secp256k1": ec.SECP256K1,
}
_HMAC_SIZES = {"HS256": 32, "HS384": 48, "HS512": 64}


class KeyMaterial:
    """Private key objects generated once and shared by every case of a family.

    One RSA key serves all RS*/PS* cases (RSA keygen is the slow part); each test
    module builds one of these.
    """

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def private_object(self, case: Case) -> Any:
        """A cryptography private key, or the HMAC secret bytes."""
        if case.family not in self._cache:
            self._cache[case.family] = _generate(case)
        return self._cache[case.family]


def _generate(case: Case) -> Any:
    import secrets

    if case.kty == "oct":
        return secrets.token_bytes(_HMAC_SIZES[case.alg])
    if case.kty == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if case.kty == "EC":
        assert case.crv is not None
        return ec.generate_private_key(_EC_CURVES[case.crv]())
    if case.crv == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ed448.Ed448PrivateKey.generate()


class Peer:
    """The operations every interop test needs from a peer."""

    name: str
    #: True when the peer computes RFC 7638 thumbprints itself.
    has_thumbprint: bool = True
    #: What the peer raises for a signature that does not verify.
    signature_error: type[Exception] = Exception
    #: True when the peer exports keys as PEM.
    exports_pem: bool = True

    def __repr__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return f"{self.name} {version(self.distribution)}"

    distribution: str

    def knows(self, alg: str) -> bool:
        raise NotImplementedError

    def refusal(self, case: Case, our_private_jwk: dict[str, Any]) -> str | None:
        """None when the peer implements ``case``; else the peer's own words for why not.

        For an algorithm missing from the peer's registry, the peer is asked to sign
        anyway and its exception message becomes the reason. A peer that then signs
        after all is a wrong expectation here, and raises AssertionError.
        """
        if self.knows(case.alg):
            return None
        try:
            self.sign_jwt({"sub": "probe"}, self.import_jwk(our_private_jwk), case.alg)
        except Exception as exc:
            return f"{self.label} refuses {case.alg}: {type(exc).__name__}: {exc}"
        raise AssertionError(f"{self.label} signed {case.alg} though it does not list it")

    # key exchange
    def import_jwk(self, members: dict[str, Any]) -> Any:
        raise NotImplementedError

    def export_jwk(self, key: Any, *, private: bool) -> dict[str, Any]:
        raise NotImplementedError

    def import_pem(self, pem: bytes, case: Case, password: bytes | None = None) -> Any:
        raise NotImplementedError

    def export_pem(self, key: Any, *, private: bool, password: bytes | None = None) -> bytes:
        raise NotImplementedError

    def thumbprint(self, key: Any) -> str:
        raise NotImplementedError

    def holds_private(self, key: Any) -> bool:
        raise NotImplementedError

    def generate(self, case: Case) -> Any:
        raise NotImplementedError

    # tokens
    def sign_jwt(self, claims: dict[str, Any], key: Any, alg: str) -> str:
        raise NotImplementedError

    def verify_jwt(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        raise NotImplementedError


class PyJWTPeer(Peer):
    """PyJWT: keys are cryptography objects (or PEM / PyJWK); no thumbprints."""

    name = "pyjwt"
    distribution = "PyJWT"
    has_thumbprint = False
    exports_pem = False
    signature_error = pyjwt.InvalidSignatureError

    def knows(self, alg: str) -> bool:
        return alg in pyjwt.algorithms.get_default_algorithms()

    def import_jwk(self, members: dict[str, Any]) -> Any:
        # The algorithm object's from_jwk gives the cryptography key PyJWT signs with.
        kty = members["kty"]
        cls = {
            "oct": pyjwt.algorithms.HMACAlgorithm,
            "RSA": pyjwt.algorithms.RSAAlgorithm,
            "EC": pyjwt.algorithms.ECAlgorithm,
            "OKP": pyjwt.algorithms.OKPAlgorithm,
        }[kty]
        return cls.from_jwk(members)

    def export_jwk(self, key: Any, *, private: bool) -> dict[str, Any]:
        if isinstance(key, bytes):
            return pyjwt.algorithms.HMACAlgorithm.to_jwk(key, as_dict=True)
        if not private and hasattr(key, "private_bytes"):
            key = key.public_key()
        if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
            return pyjwt.algorithms.RSAAlgorithm.to_jwk(key, as_dict=True)
        if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
            return pyjwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True)
        return pyjwt.algorithms.OKPAlgorithm.to_jwk(key, as_dict=True)

    def import_pem(self, pem: bytes, case: Case, password: bytes | None = None) -> Any:
        # PyJWT takes PEM directly as the key of encode/decode; prepare_key parses it.
        if password is not None:
            raise NotImplementedError("PyJWT loads PEM keys without a password")
        return pyjwt.algorithms.get_default_algorithms()[case.alg].prepare_key(pem)

    def holds_private(self, key: Any) -> bool:
        return isinstance(key, bytes) or hasattr(key, "private_bytes")

    def generate(self, case: Case) -> Any:
        return _generate(case)  # PyJWT has no key generation; its keys are these objects

    def sign_jwt(self, claims: dict[str, Any], key: Any, alg: str) -> str:
        return pyjwt.encode(claims, key, algorithm=alg)

    def verify_jwt(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        return pyjwt.decode(
            token,
            key,
            algorithms=[alg],
            audience="api",
            issuer=CLAIMS["iss"],
            options={"require": ["exp", "iat"]},
        )


class JoserfcPeer(Peer):
    name = "joserfc"
    distribution = "joserfc"
    signature_error = BadSignatureError

    def knows(self, alg: str) -> bool:
        return alg in rfc_jws.JWSRegistry.algorithms

    def import_jwk(self, members: dict[str, Any]) -> Any:
        return rfc_jwk.import_key(dict(members))

    def export_jwk(self, key: Any, *, private: bool) -> dict[str, Any]:
        return dict(key.as_dict(private=private))

    def import_pem(self, pem: bytes, case: Case, password: bytes | None = None) -> Any:
        cls = {"RSA": rfc_jwk.RSAKey, "EC": rfc_jwk.ECKey, "OKP": rfc_jwk.OKPKey}[case.kty]
        return cls.import_key(pem, password=password)

    def export_pem(self, key: Any, *, private: bool, password: bytes | None = None) -> bytes:
        text = password.decode("utf-8") if password is not None else None
        return bytes(key.as_pem(private=private, password=text))

    def thumbprint(self, key: Any) -> str:
        return str(key.thumbprint())

    def holds_private(self, key: Any) -> bool:
        return bool(key.is_private)

    def generate(self, case: Case) -> Any:
        if case.kty == "oct":
            return rfc_jwk.OctKey.generate_key(_HMAC_SIZES[case.alg] * 8)
        if case.kty == "RSA":
            return rfc_jwk.RSAKey.generate_key(2048)
        if case.kty == "EC":
            return rfc_jwk.ECKey.generate_key(case.crv)
        return rfc_jwk.OKPKey.generate_key(case.crv)

    def sign_jwt(self, claims: dict[str, Any], key: Any, alg: str) -> str:
        # joserfc signs only its "recommended" algorithms unless they are named.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SecurityWarning: EdDSA deprecated by RFC 9864
            return rfc_jwt.encode({"alg": alg}, claims, key, algorithms=[alg])

    def verify_jwt(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            token_obj = rfc_jwt.decode(token, key, algorithms=[alg])
        registry = rfc_jwt.JWTClaimsRegistry(
            now=FIXED_NOW,
            iss={"essential": True, "value": CLAIMS["iss"]},
            aud={"essential": True, "value": "api"},
            exp={"essential": True},
        )
        registry.validate(token_obj.claims)
        return dict(token_obj.claims)


class JwcryptoPeer(Peer):
    name = "jwcrypto"
    distribution = "jwcrypto"
    signature_error = InvalidJWSSignature

    def knows(self, alg: str) -> bool:
        from jwcrypto.jwa import JWA

        return alg in JWA.algorithms_registry

    def import_jwk(self, members: dict[str, Any]) -> Any:
        return c_jwk.JWK(**members)

    def export_jwk(self, key: Any, *, private: bool) -> dict[str, Any]:
        if private:
            return dict(key.export(private_key=True, as_dict=True))
        return dict(key.export_public(as_dict=True))

    def import_pem(self, pem: bytes, case: Case, password: bytes | None = None) -> Any:
        return c_jwk.JWK.from_pem(pem, password=password)

    def export_pem(self, key: Any, *, private: bool, password: bytes | None = None) -> bytes:
        return bytes(key.export_to_pem(private_key=private, password=password))

    def thumbprint(self, key: Any) -> str:
        return str(key.thumbprint())

    def holds_private(self, key: Any) -> bool:
        # jwcrypto's has_private is about asymmetric keys; a symmetric key is all secret.
        return key.get("kty") == "oct" or bool(key.has_private)

    def generate(self, case: Case) -> Any:
        if case.kty == "oct":
            return c_jwk.JWK.generate(kty="oct", size=_HMAC_SIZES[case.alg] * 8)
        if case.kty == "RSA":
            return c_jwk.JWK.generate(kty="RSA", size=2048)
        return c_jwk.JWK.generate(kty=case.kty, crv=case.crv)

    def sign_jwt(self, claims: dict[str, Any], key: Any, alg: str) -> str:
        token = c_jwt.JWT(header={"alg": alg, "typ": "JWT"}, claims=claims)
        token.make_signed_token(key)
        return str(token.serialize())

    def verify_jwt(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        verified = c_jwt.JWT(
            jwt=token,
            key=key,
            algs=[alg],
            check_claims={"iss": CLAIMS["iss"], "aud": "api", "exp": None},
        )
        return dict(json.loads(verified.claims))


PEERS: tuple[Peer, ...] = (PyJWTPeer(), JoserfcPeer(), JwcryptoPeer())
