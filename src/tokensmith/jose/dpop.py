"""DPoP proofs (RFC 9449): make one, verify one.

A DPoP proof is a JWT signed by the client's own key, whose public half travels in the
proof's ``jwk`` header. It names the request it was made for (``htm``, ``htu``), when
(``iat``), a unique ``jti``, and, at a resource server, the access token it goes with
(``ath``). :func:`verify_proof` checks RFC 9449 §4.3 (S24) with the strict parsing of
:mod:`tokensmith.jose.jws`; it reads no clock (``now`` is passed in) and keeps no state.

**Replay is the caller's job**: ``jti`` uniqueness needs a store. Keep each verified
``VerifiedProof.jti`` (per key thumbprint) until :meth:`DPoPPolicy.expires_at` of its
``iat`` and refuse a second sight with :class:`~tokensmith.jose.errors.DPoPReplayedError`.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import struct
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from .algorithms import SIGNING_ALGORITHMS, SigningAlgorithm
from .encoding import (
    FrozenDict,
    Limits,
    b64url_decode,
    b64url_encode,
    dump_json,
    parse_json_object,
)
from .errors import (
    AlgorithmNotAllowedError,
    DPoPAlgorithmNotAllowedError,
    DPoPAthMismatchError,
    DPoPError,
    DPoPHtmMismatchError,
    DPoPHtuMismatchError,
    DPoPIatError,
    DPoPInvalidClaimError,
    DPoPInvalidKeyError,
    DPoPInvalidSignatureError,
    DPoPInvalidTypError,
    DPoPJktMismatchError,
    DPoPNonceError,
    JoseError,
    LimitExceededError,
    UnsupportedError,
)
from .jwk import JWK
from .jws import (
    check_crit,
    parse_protected,
    resolve_signing_alg,
    resolve_verify_alg,
    split_compact,
)

#: The ``typ`` header of a DPoP proof (RFC 9449 §4.2).
DPOP_TYP: Final = "dpop+jwt"
#: The asymmetric algorithms accepted by default.
DEFAULT_DPOP_ALGORITHMS: Final = ("ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA", "Ed25519")
#: The longest ``jti`` / ``nonce`` accepted: a replay cache must not hold megabytes per entry.
MAX_JTI_LENGTH: Final = 256
MAX_NONCE_LENGTH: Final = 512
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_PERCENT: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
#: How long a nonce of :class:`DPoPNonces` stays current, by default (seconds).
DEFAULT_NONCE_WINDOW: Final = 300
_METADATA_MEMBERS: Final = frozenset(
    {"kid", "alg", "use", "key_ops", "x5c", "x5t", "x5t#S256", "x5u"}
)
_METHOD: Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}")


@dataclass(frozen=True, slots=True)
class DPoPPolicy:
    """What a DPoP proof must satisfy, validated when built.

    - ``algorithms``: the allow-list; asymmetric signing algorithms only (never ``none``
      or HMAC: the proof's key is public).
    - ``max_age``: seconds a proof stays acceptable after its ``iat``.
    - ``leeway``: seconds of clock skew tolerated either side (an ``iat`` slightly in the
      future, or slightly older than ``max_age``).
    - ``max_proof_size``: the longest proof accepted, in characters (S22).
    """

    algorithms: Collection[str] = DEFAULT_DPOP_ALGORITHMS
    max_age: float = 60
    leeway: float = 5
    max_proof_size: int = 8 * 1024
    limits: Limits = field(init=False, repr=False, compare=False)
    # Header segments already checked against this policy -> (header, algorithm, key).
    # A memo, bounded, never part of the policy's value.
    header_plans: dict[str, tuple[Mapping[str, Any], SigningAlgorithm, JWK]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if isinstance(self.algorithms, str):
            raise TypeError("algorithms must be a collection of names, not a string")
        algs = tuple(dict.fromkeys(self.algorithms))
        if not algs:
            raise ValueError("algorithms must not be empty")
        for name in algs:
            if type(name) is not str:
                raise TypeError("algorithm names are strings")
            if name.lower() == "none":
                raise ValueError("'none' can never be an allowed algorithm")
            alg = SIGNING_ALGORITHMS.get(name)
            if alg is None:
                raise ValueError(f"unknown signing algorithm {name!r}")
            if alg.kty == "oct":
                raise ValueError(f"{name} is symmetric: a DPoP proof is signed with a private key")
        set_(self, "algorithms", algs)
        for name in ("max_age", "leeway"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"DPoPPolicy.{name} must be a number of seconds")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"DPoPPolicy.{name} must be finite and >= 0, got {value!r}")
        if self.max_age == 0:
            raise ValueError("DPoPPolicy.max_age must be > 0")
        if self.leeway > 300:
            raise ValueError("DPoPPolicy.leeway is clock skew: at most 300 seconds")
        size = self.max_proof_size
        if type(size) is not int or not 256 <= size <= 64 * 1024:
            raise ValueError("DPoPPolicy.max_proof_size must be an int from 256 to 65536")
        set_(self, "limits", Limits(max_token=size, max_header=size, max_payload=size))

    def expires_at(self, iat: float) -> float:
        """The time after which a proof with this ``iat`` is refused anyway: how long a
        replay cache must remember its ``jti``."""
        return iat + self.max_age + self.leeway


DEFAULT_DPOP_POLICY: Final = DPoPPolicy()


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """A DPoP proof that passed every check but replay (see the module docstring).

    ``key`` is the public key from the proof's ``jwk`` header, ``jkt`` its RFC 7638
    SHA-256 thumbprint (what a bound token's ``cnf.jkt`` holds)."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    key: JWK
    jkt: str
    jti: str
    iat: float

    @property
    def replay_key(self) -> bytes:
        """SHA-256 of the key's thumbprint and the ``jti``: what a replay cache keeps
        (a fixed size whatever the ``jti``, RFC 9449 §11.1)."""
        return hashlib.sha256(f"{self.jkt}\x00{self.jti}".encode()).digest()


def access_token_hash(access_token: str) -> str:
    """The ``ath`` value for an access token: base64url(SHA-256(ASCII token)) (§4.2)."""
    if type(access_token) is not str or not access_token:
        raise TypeError("access_token must be a non-empty string")
    try:
        raw = access_token.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("an access token is ASCII") from None
    return b64url_encode(hashlib.sha256(raw).digest())


def _percent_normalise(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def normalize_htu(url: str) -> str:
    """The form two ``htu`` values are compared in (RFC 9449 §4.3 item 9; RFC 3986 §6.2.2,
    §6.2.3): lowercase scheme and host, the default port dropped, an empty path as ``/``,
    percent-encoding normalised, query and fragment removed. Only ``http(s)`` absolute
    URIs without user info are accepted; anything else raises ``ValueError``."""
    if type(url) is not str:
        raise TypeError("a URL is a string")
    if len(url) > 8192 or not url.isascii() or any(c in url for c in " \t\r\n\\"):
        raise ValueError("not an absolute http(s) URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("not an absolute http(s) URL") from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        raise ValueError("not an absolute http(s) URL without user info")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = _PERCENT.sub(_percent_normalise, parts.path) or "/"
    return f"{scheme}://{netloc}{path}"


class DPoPNonces:
    """Stateless server nonces (RFC 9449 §8, §9): ``HMAC(secret, window index)``, a new
    one every ``window`` seconds; the current and the previous one are accepted. Servers
    sharing ``secret`` share nonces; without a secret, a random one is made (one
    process). Reads no clock: ``now`` is passed in."""

    def __init__(
        self,
        secret: bytes | None = None,
        *,
        window: float = DEFAULT_NONCE_WINDOW,
    ) -> None:
        if secret is None:
            secret = secrets.token_bytes(32)
        if not isinstance(secret, bytes) or len(secret) < 16:
            raise ValueError("the nonce secret is at least 16 bytes")
        if isinstance(window, bool) or not isinstance(window, (int, float)):
            raise TypeError("window is a number of seconds")
        if not math.isfinite(window) or not 10 <= window <= 86_400:
            raise ValueError("window is from 10 seconds to a day")
        self._secret = secret
        self.window = window

    def _nonce(self, index: int) -> str:
        packed = struct.pack(">q", index)
        return b64url_encode(hmac.digest(self._secret, b"dpop-nonce" + packed, "sha256")[:18])

    def current(self, now: float) -> str:
        """The nonce to hand out at ``now`` (``DPoP-Nonce``)."""
        return self._nonce(int(now // self.window))

    def accepted(self, now: float) -> tuple[str, str]:
        """The nonces a proof may carry at ``now``: the current and the previous."""
        index = int(now // self.window)
        return (self._nonce(index), self._nonce(index - 1))


def make_proof(
    key: JWK,
    *,
    htm: str,
    htu: str,
    iat: int,
    jti: str | None = None,
    access_token: str | None = None,
    nonce: str | None = None,
    alg: str | None = None,
) -> str:
    """A DPoP proof for one request, signed with the private ``key`` (its public half
    goes in the ``jwk`` header). ``htu`` loses its query and fragment; ``jti`` is random
    unless given; ``ath`` is added for ``access_token``; ``alg`` defaults to the key's."""
    if not isinstance(key, JWK):
        raise TypeError("key must be a JWK")
    if key.is_symmetric or not key.is_private:
        raise ValueError("a DPoP proof is signed with an asymmetric private key")
    algorithm = resolve_signing_alg(key, alg)
    key_obj = key.signing_key_for(algorithm)
    if type(htm) is not str or not _METHOD.fullmatch(htm):
        raise ValueError("htm must be an HTTP method name")
    if type(htu) is not str:
        raise TypeError("htu must be a string")
    normalize_htu(htu)  # refuses what a verifier could never accept
    htu = htu.split("#", 1)[0].split("?", 1)[0]
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise TypeError("iat must be an int (POSIX seconds)")
    if jti is None:
        jti = secrets.token_urlsafe(16)
    elif type(jti) is not str or not jti or len(jti) > MAX_JTI_LENGTH:
        raise ValueError(f"jti must be a non-empty string of at most {MAX_JTI_LENGTH} characters")
    claims: dict[str, Any] = {"jti": jti, "htm": htm, "htu": htu, "iat": iat}
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        if type(nonce) is not str or not nonce or len(nonce) > MAX_NONCE_LENGTH:
            raise ValueError("nonce must be a non-empty string")
        claims["nonce"] = nonce
    # The public key members only: metadata (kid, alg, use...) means nothing to a verifier.
    public = {k: v for k, v in key.public().to_dict().items() if k not in _METADATA_MEMBERS}
    header = {"typ": DPOP_TYP, "alg": algorithm.name, "jwk": public}
    signing_input = b64url_encode(dump_json(header)) + "." + b64url_encode(dump_json(claims))
    signature = algorithm.sign(key_obj, signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def _accepted_nonces(nonce: str | Collection[str] | None) -> tuple[str, ...] | None:
    if nonce is None:
        return None
    if isinstance(nonce, str):
        return (nonce,)
    values = tuple(nonce)
    if not values or not all(type(v) is str and v for v in values):
        raise TypeError("nonce must be a string or a non-empty collection of strings")
    return values


_MAX_HEADER_PLANS: Final = 256
_SCALARS: Final = (str, int, float, bool, type(None))


def _check_header(
    header_b64: str, policy: DPoPPolicy
) -> tuple[Mapping[str, Any], SigningAlgorithm, JWK]:
    """Every check that depends on the header alone; the answer is remembered in
    ``policy.header_plans`` (a client's proofs all share one header segment)."""
    plan = policy.header_plans.get(header_b64)
    if plan is not None:
        return plan
    try:
        header = parse_protected(header_b64, policy.limits)
    except JoseError as exc:
        raise DPoPError(f"the DPoP proof is not a compact JWS: {exc.message}") from exc
    typ = header.get("typ")
    if type(typ) is not str or typ.lower() != DPOP_TYP:
        raise DPoPInvalidTypError(f"a DPoP proof has 'typ: {DPOP_TYP}'")
    try:
        alg = resolve_verify_alg(header, policy.algorithms)
    except (AlgorithmNotAllowedError, UnsupportedError) as exc:
        raise DPoPAlgorithmNotAllowedError(
            f"the DPoP proof's algorithm is not allowed: {exc.message}"
        ) from exc
    except JoseError as exc:
        raise DPoPError(exc.message) from exc
    try:
        check_crit(header, None, ())
    except JoseError as exc:
        raise DPoPError(exc.message) from exc
    if "b64" in header:
        raise DPoPError("'b64' (RFC 7797) is not allowed in a DPoP proof")
    members = header.get("jwk")
    if type(members) is not dict:
        raise DPoPInvalidKeyError("a DPoP proof carries its public key in a 'jwk' header")
    try:
        key = JWK(members)
    except JoseError as exc:
        raise DPoPInvalidKeyError(f"the proof's 'jwk' is not a usable key: {exc.message}") from exc
    if key.is_private:
        raise DPoPInvalidKeyError("the proof's 'jwk' must be a public key (private members found)")
    try:
        key.verifying_key_for(alg)
    except JoseError as exc:
        raise DPoPInvalidKeyError(
            f"the proof's 'jwk' cannot verify {alg.name}: {exc.message}"
        ) from exc
    shareable = all(type(v) is str for v in members.values()) and all(
        type(v) in _SCALARS for k, v in header.items() if k != "jwk"
    )
    if not shareable:
        return header, alg, key
    plan = (FrozenDict({**header, "jwk": FrozenDict(members)}), alg, key)
    plans = policy.header_plans
    if len(plans) >= _MAX_HEADER_PLANS:
        plans.clear()
    plans[header_b64] = plan
    return plan


def _parse(proof: str, policy: DPoPPolicy) -> tuple[Mapping[str, Any], dict[str, Any], JWK]:
    """Header checks, the signature by the header's key, then the claims as JSON."""
    limits = policy.limits
    if type(proof) is not str:
        raise DPoPError("a DPoP proof is a string")
    if len(proof) > policy.max_proof_size:
        raise DPoPError(f"the DPoP proof is longer than {policy.max_proof_size} characters")
    try:
        header_b64, payload_b64, signature_b64 = split_compact(proof, limits)
    except JoseError as exc:
        raise DPoPError(f"the DPoP proof is not a compact JWS: {exc.message}") from exc
    header, alg, key = _check_header(header_b64, policy)
    try:
        signature = b64url_decode(signature_b64, what="signature")
        if len(payload_b64) > (limits.max_payload * 4 + 2) // 3:
            raise LimitExceededError("the proof's claims are too large")
        claims_json = b64url_decode(payload_b64, what="claims")
    except JoseError as exc:
        raise DPoPError(f"the DPoP proof is malformed: {exc.message}") from exc
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    if not alg.verify(key.verifying_key_for(alg), signing_input, signature):
        raise DPoPInvalidSignatureError("the DPoP proof's signature does not verify")
    try:
        claims = parse_json_object(
            claims_json, max_size=limits.max_payload, max_depth=limits.max_depth, what="claims"
        )
    except JoseError as exc:
        raise DPoPError(f"the DPoP proof's claims are malformed: {exc.message}") from exc
    return header, claims, key


def _string_claim(claims: Mapping[str, Any], name: str, max_length: int = 8192) -> str:
    value = claims.get(name)
    if type(value) is not str or not value or len(value) > max_length:
        raise DPoPInvalidClaimError(f"the DPoP proof needs a '{name}' string claim")
    return value


def verify_proof(
    proof: str,
    *,
    htm: str,
    htu: str,
    now: float,
    policy: DPoPPolicy = DEFAULT_DPOP_POLICY,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    nonce: str | Collection[str] | None = None,
) -> VerifiedProof:
    """Verify a DPoP proof for the request ``htm htu`` at time ``now`` (RFC 9449 §4.3).

    Checks: one compact JWS within ``policy.max_proof_size``; ``typ: dpop+jwt``; an
    ``alg`` from ``policy.algorithms``; a public ``jwk`` header that verifies the
    signature; ``jti``, ``htm``, ``htu`` and ``iat`` present; ``htm`` equal to the
    request's method; ``htu`` equal to the request's URL once both are normalised
    (:func:`normalize_htu`); ``iat`` within ``[now - max_age - leeway, now + leeway]``;
    with ``access_token``, ``ath`` equal to its hash; with ``nonce`` (one accepted value
    or several, e.g. the current and previous of a rotating nonce), the proof's ``nonce``
    equal to one of them; with ``expected_jkt`` (a bound token's ``cnf.jkt``), the key's
    thumbprint equal to it.

    NOT checked: ``jti`` replay, which needs state. The caller keeps ``result.jti`` until
    ``policy.expires_at(result.iat)`` and refuses a repeat (``DPoPReplayedError``).

    Raises only :class:`~tokensmith.jose.errors.DPoPError` subclasses for a bad proof;
    ``ValueError``/``TypeError`` for a caller's bad ``htm``/``htu``/``now``.
    """
    if type(htm) is not str or not _METHOD.fullmatch(htm):
        raise ValueError("htm must be an HTTP method name")
    expected_htu = normalize_htu(htu)
    if isinstance(now, bool) or not isinstance(now, (int, float)) or not math.isfinite(now):
        raise TypeError("now must be POSIX seconds")
    if not isinstance(policy, DPoPPolicy):
        raise TypeError("policy must be a DPoPPolicy")
    accepted_nonces = _accepted_nonces(nonce)
    expected_ath = access_token_hash(access_token) if access_token is not None else None
    if expected_jkt is not None and (type(expected_jkt) is not str or not expected_jkt):
        raise TypeError("expected_jkt must be a non-empty string")

    header, claims, key = _parse(proof, policy)
    jti = _string_claim(claims, "jti", MAX_JTI_LENGTH)
    proof_htm = _string_claim(claims, "htm", 32)
    proof_htu = _string_claim(claims, "htu")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, (int, float)) or not math.isfinite(iat):
        raise DPoPInvalidClaimError("the DPoP proof needs a numeric 'iat' claim")
    if proof_htm != htm:
        raise DPoPHtmMismatchError(f"the DPoP proof is for method {proof_htm!r}, not {htm!r}")
    try:
        normalised = normalize_htu(proof_htu)
    except ValueError:
        raise DPoPHtuMismatchError("the DPoP proof's 'htu' is not an http(s) URL") from None
    if normalised != expected_htu:
        raise DPoPHtuMismatchError("the DPoP proof was made for another URL")
    if iat > now + policy.leeway:
        raise DPoPIatError("the DPoP proof's 'iat' is in the future")
    if now > policy.expires_at(iat):
        raise DPoPIatError("the DPoP proof is too old")
    if expected_ath is not None:
        ath = claims.get("ath")
        if type(ath) is not str:
            raise DPoPAthMismatchError("the DPoP proof has no 'ath' for this access token")
        if not hmac.compare_digest(ath.encode("utf-8"), expected_ath.encode("ascii")):
            raise DPoPAthMismatchError("the DPoP proof was made for another access token")
    if accepted_nonces is not None:
        proof_nonce = claims.get("nonce")
        if type(proof_nonce) is not str:
            raise DPoPNonceError("the server requires a DPoP nonce")
        if not any(
            hmac.compare_digest(proof_nonce.encode("utf-8"), n.encode("utf-8"))
            for n in accepted_nonces
        ):
            raise DPoPNonceError("the DPoP nonce is stale or unknown")
    jkt = key.thumbprint()
    if expected_jkt is not None and not hmac.compare_digest(
        jkt.encode("ascii"), expected_jkt.encode("utf-8")
    ):
        raise DPoPJktMismatchError("the DPoP proof is signed by another key than the token's")
    return VerifiedProof(header=header, claims=claims, key=key, jkt=jkt, jti=jti, iat=iat)


def algorithm_names(policy: DPoPPolicy = DEFAULT_DPOP_POLICY) -> str:
    """The policy's algorithms as a space-separated list (the ``algs`` challenge parameter
    and ``dpop_signing_alg_values_supported``, in list form ``.split()``)."""
    return " ".join(policy.algorithms)


__all__ = [
    "DEFAULT_DPOP_ALGORITHMS",
    "DEFAULT_DPOP_POLICY",
    "DEFAULT_NONCE_WINDOW",
    "DPOP_TYP",
    "DPoPNonces",
    "DPoPPolicy",
    "VerifiedProof",
    "access_token_hash",
    "algorithm_names",
    "make_proof",
    "normalize_htu",
    "verify_proof",
]
