"""DPoP binding at the auth server (RFC 9449), without HTTP.

The proof itself is checked by :func:`tokensmith.jose.dpop.verify_proof` (``typ``, the
algorithm allow-list, a public ``jwk``, the signature, ``htm``/``htu``, the ``iat``
window, ``ath``, ``cnf.jkt``, the nonce). What needs state or a secret lives here:

- **Replay** (§11.1): a proof's ``jti`` is remembered, per key thumbprint, in the
  :class:`~tokensmith.store.AssertionReplayStore` under the ``dpop:`` namespace until
  the proof would be too old anyway; a second sight is refused. The store is shared by
  every process of a deployment (SQL, or Redis at scale), so a proof replayed against
  another instance is refused too.
- **Server nonces** (§8, §9), when enabled: the stateless nonces of
  :class:`tokensmith.jose.dpop.DPoPNonces` (an HMAC of the time window's number)
  under a key derived from the master key, so every instance issues and accepts the
  same nonces with no shared state. The current window's nonce is handed out; the
  previous window's is accepted too.
- **Modes** (per client): ``required`` refuses a token request without a proof
  (``invalid_dpop_proof``); ``optional`` binds the token when a proof comes; ``off``
  ignores a ``DPoP`` header, and the answer's ``token_type: Bearer`` tells the client
  its token is not bound (RFC 9449 §5 leaves an AS that does not bind free to do so).

Errors: :class:`~tokensmith.issuer.errors.DPoPProofError` at the token endpoints,
:class:`~tokensmith.issuer.errors.DPoPAuthError` at the server's protected endpoints.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tokensmith.jose import dpop as jose_dpop
from tokensmith.jose.dpop import DPoPNonces
from tokensmith.jose.errors import DPoPError, DPoPNonceError, DPoPReplayedError
from tokensmith.store import AssertionReplayStore, DPoPMode

from .config import DPoPConfig
from .errors import DPoPAuthError, DPoPProofError

__all__ = [
    "DPOP_SCHEME",
    "DPoPBinder",
    "DPoPRequest",
    "bind",
    "bound_jkt",
    "token_type",
]

#: the Authorization scheme of a DPoP-bound token (RFC 9449 §7.1)
DPOP_SCHEME: Final = "DPoP"
_REPLAY_PREFIX: Final = "dpop:"
#: the replay store keeps keys of at most 64 characters
_REPLAY_DIGEST: Final = 64 - len(_REPLAY_PREFIX)


@dataclass(frozen=True)
class DPoPRequest:
    """What one HTTP request presented for DPoP.

    ``proofs``: every ``DPoP`` header value (none, one, or several, which is refused);
    ``method``: the request method; ``url``: the endpoint's public URL (the issuer URL
    and the path: what a client built ``htu`` from, never the request's ``Host``)."""

    proofs: tuple[str, ...]
    method: str
    url: str


def bound_jkt(claims: Mapping[str, Any]) -> str | None:
    """The ``cnf.jkt`` of a token's claims (None: not DPoP-bound)."""
    cnf = claims.get("cnf")
    if isinstance(cnf, dict):
        jkt = cnf.get("jkt")
        if isinstance(jkt, str) and jkt:
            return jkt
    return None


def bind(claims: dict[str, Any], jkt: str | None) -> None:
    """Bind access-token ``claims`` to the key ``jkt`` (``cnf.jkt``, RFC 9449 §6.1)."""
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}


def token_type(jkt: str | None) -> str:
    """The ``token_type`` of an answer (RFC 9449 §5): ``DPoP`` for a bound token."""
    return "Bearer" if jkt is None else DPOP_SCHEME


class DPoPBinder:
    """Proof checks with replay and nonces, for the issuer's token requests and its own
    protected endpoints."""

    def __init__(
        self,
        config: DPoPConfig,
        *,
        replays: AssertionReplayStore,
        nonce_key: bytes,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.policy = config.policy()
        self._replays = replays
        self._nonces = DPoPNonces(nonce_key, window=config.nonce_period) if config.nonce else None
        self._clock = clock

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self.policy.algorithms)

    # ---- nonces ------------------------------------------------------------------------

    def nonce(self) -> str | None:
        """The nonce to hand out now (``DPoP-Nonce``); None when nonces are off."""
        return None if self._nonces is None else self._nonces.current(self._clock())

    # ---- proofs ------------------------------------------------------------------------

    async def _verify(
        self,
        request: DPoPRequest,
        *,
        access_token: str | None = None,
        expected_jkt: str | None = None,
    ) -> jose_dpop.VerifiedProof:
        """One proof, checked by jose.dpop, then its ``jti`` recorded (DPoPError if any
        check fails, a replay included)."""
        if len(request.proofs) != 1:
            raise DPoPError("send exactly one DPoP header")
        now = self._clock()
        proof = jose_dpop.verify_proof(
            request.proofs[0],
            htm=request.method,
            htu=request.url,
            now=now,
            policy=self.policy,
            access_token=access_token,
            expected_jkt=expected_jkt,
            nonce=None if self._nonces is None else self._nonces.accepted(now),
        )
        key = _REPLAY_PREFIX + proof.replay_key.hex()[:_REPLAY_DIGEST]
        expires_at = self.policy.expires_at(proof.iat)
        if not await self._replays.use(key, expires_at=expires_at, now=now):
            raise DPoPReplayedError("this DPoP proof was used before (replay)")
        return proof

    async def token_request(
        self, request: DPoPRequest | None, *, mode: DPoPMode
    ) -> jose_dpop.VerifiedProof | None:
        """The checked proof of a token request (None: no proof, or ``mode`` is off and
        it is ignored). Errors: DPoPProofError ``invalid_dpop_proof`` (a bad or replayed
        proof, or none when ``mode`` is required), ``use_dpop_nonce``."""
        if mode == "off":
            return None
        if request is None or not request.proofs:
            if mode == "required":
                raise DPoPProofError(
                    "invalid_dpop_proof",
                    "this client must send a DPoP proof (RFC 9449)",
                    nonce=self.nonce(),
                )
            return None
        try:
            return await self._verify(request)
        except DPoPNonceError as exc:
            raise DPoPProofError("use_dpop_nonce", exc.message, nonce=self.nonce()) from None
        except DPoPError as exc:
            raise DPoPProofError(
                "invalid_dpop_proof", f"{exc.message} ({exc.code})", nonce=self.nonce()
            ) from None

    def _refuse(self, code: str, message: str) -> DPoPAuthError:
        return DPoPAuthError(code, message, algs=self.algorithms, nonce=self.nonce())

    async def resource_request(
        self, request: DPoPRequest | None, *, access_token: str, jkt: str | None
    ) -> None:
        """An access token at a protected endpoint of the server (RFC 9449 §7):
        ``request`` is None for ``Authorization: Bearer``, else the DPoP request; ``jkt``
        the token's ``cnf.jkt``. A bound token needs the DPoP scheme and a proof of its
        key with ``ath``; an unbound token is refused under the DPoP scheme.
        Errors: DPoPAuthError."""
        if request is None:
            if jkt is not None:
                raise self._refuse(
                    "invalid_token",
                    "this token is DPoP-bound: send it as 'Authorization: DPoP' with a proof",
                )
            return
        if jkt is None:
            raise self._refuse("invalid_token", "this token is not DPoP-bound: send it as Bearer")
        if not request.proofs:
            raise self._refuse("invalid_dpop_proof", "a DPoP proof is required")
        try:
            await self._verify(request, access_token=access_token, expected_jkt=jkt)
        except DPoPNonceError as exc:
            raise self._refuse("use_dpop_nonce", exc.message) from None
        except DPoPError as exc:
            raise self._refuse("invalid_dpop_proof", f"{exc.message} ({exc.code})") from None
