"""JWS interop beyond compact JWTs: JSON serialization (flattened, and general with two
signatures), detached payloads (RFC 7515 Appendix F) and unencoded payloads (RFC 7797
``b64: false``), both directions, with jwcrypto and joserfc.

PyJWT has no JWS JSON serialization; it takes part in the compact detached and
``b64: false`` cases, which its ``PyJWS`` implements.
"""

from __future__ import annotations

import json
import warnings
from importlib.metadata import version
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwk as rfc_jwk
from joserfc import jws as rfc_jws
from jwcrypto import jwk as c_jwk
from jwcrypto import jws as c_jws

from tokensmith.jose import JWK, JWKSet, jws
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import InvalidSignatureError
from tokensmith.jose.jws import Signer

from .conftest import OurKeys
from .peers import CASES, PEERS, Case, Peer

JSON_PEERS = [p for p in PEERS if p.name in ("joserfc", "jwcrypto")]
PYJWT = next(p for p in PEERS if p.name == "pyjwt")
BINARY_PAYLOAD = bytes(range(256)) + "ñ ☃".encode()
JSON_PAYLOAD = b'{"msg":"hello","n":1}'
DOTTED_PAYLOAD = b"$.02"  # RFC 7797 §4's example payload
# RFC 7797 §5.2: an attached unencoded compact payload uses URL-safe characters only
# (joserfc detaches any other payload on its own).
URLSAFE_PAYLOAD = b"hello-world_~42"
CASE_BY_ID = {c.id: c for c in CASES}
TWO_SIGNER_SETS = [
    ("ES256", "RS256"),
    ("HS256", "EdDSA-Ed25519"),
    ("PS384", "ES512"),
    ("ES256K", "Ed448"),
]


def skip_if_refused(peer: Peer, case: Case, our_keys: OurKeys) -> None:
    reason = peer.refusal(case, our_keys.private(case).to_dict())
    if reason is not None:
        pytest.skip(reason)


# ---- the two peers' JWS APIs, behind one face -------------------------------------------


class PeerJWS:
    """JWS operations of one peer; keys are the peer's own key objects."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    def key(self, jwk: JWK) -> Any:
        return self.peer.import_jwk(jwk.to_dict())

    def sign_json(
        self, payload: bytes, signers: list[tuple[JWK, Case]], header: dict[str, Any]
    ) -> dict[str, Any]:
        raise NotImplementedError

    def verify_json(self, obj: dict[str, Any], verifiers: list[JWK]) -> bytes:
        """Verify; returns the payload. Every signature must verify (joserfc's rule);
        for jwcrypto, which accepts any one signature, each key is tried on its own."""
        raise NotImplementedError

    def sign_compact(self, payload: bytes, signer: JWK, case: Case, header: dict[str, Any]) -> str:
        raise NotImplementedError

    def verify_compact(self, token: str, verifier: JWK, detached: bytes | None = None) -> bytes:
        raise NotImplementedError


class JwcryptoJWS(PeerJWS):
    def sign_json(
        self, payload: bytes, signers: list[tuple[JWK, Case]], header: dict[str, Any]
    ) -> dict[str, Any]:
        # jwcrypto serializes an unencoded JSON payload only when it was given as str.
        obj = c_jws.JWS(payload.decode() if header.get("b64") is False else payload)
        for key, case in signers:
            protected = {"alg": case.alg, "kid": key.kid, **header}
            obj.add_signature(self.key(key), None, json.dumps(protected))
        return dict(json.loads(obj.serialize()))

    def verify_json(self, obj: dict[str, Any], verifiers: list[JWK]) -> bytes:
        payload = b""
        for verifier in verifiers:
            parsed = c_jws.JWS()
            parsed.deserialize(json.dumps(obj), self.key(verifier))
            payload = parsed.payload
        return payload.encode() if isinstance(payload, str) else bytes(payload)

    def sign_compact(self, payload: bytes, signer: JWK, case: Case, header: dict[str, Any]) -> str:
        obj = c_jws.JWS(payload)
        obj.add_signature(self.key(signer), None, json.dumps({"alg": case.alg, **header}))
        return str(obj.serialize(compact=True))

    def verify_compact(self, token: str, verifier: JWK, detached: bytes | None = None) -> bytes:
        parsed = c_jws.JWS()
        parsed.deserialize(token)
        parsed.verify(self.key(verifier), detached_payload=detached)
        return bytes(parsed.payload if detached is None else detached)


class JoserfcJWS(PeerJWS):
    def _keyset(self, keys: list[JWK]) -> Any:
        return rfc_jwk.KeySet([self.key(k) for k in keys])

    def sign_json(
        self, payload: bytes, signers: list[tuple[JWK, Case]], header: dict[str, Any]
    ) -> dict[str, Any]:
        members: list[Any] = [
            {"protected": {"alg": case.alg, "kid": key.kid, **header}} for key, case in signers
        ]
        algs = [case.alg for _, case in signers]
        keyset = self._keyset([k for k, _ in signers])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SecurityWarning: EdDSA deprecated by RFC 9864
            if len(members) == 1:
                return dict(rfc_jws.serialize_json(members[0], payload, keyset, algorithms=algs))
            return dict(rfc_jws.serialize_json(members, payload, keyset, algorithms=algs))

    def verify_json(self, obj: dict[str, Any], verifiers: list[JWK]) -> bytes:
        algs = [s["alg"] for s in _protected_headers(obj)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = rfc_jws.deserialize_json(obj, self._keyset(verifiers), algorithms=algs)
        return bytes(result.payload)

    def sign_compact(self, payload: bytes, signer: JWK, case: Case, header: dict[str, Any]) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return rfc_jws.serialize_compact(
                {"alg": case.alg, **header}, payload, self.key(signer), algorithms=[case.alg]
            )

    def verify_compact(self, token: str, verifier: JWK, detached: bytes | None = None) -> bytes:
        alg = _compact_header(token)["alg"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = rfc_jws.deserialize_compact(
                token, self.key(verifier), algorithms=[alg], payload=detached
            )
        return bytes(result.payload)


def _protected_headers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    entries = obj.get("signatures", [obj])
    return [json.loads(b64url_decode(e["protected"])) for e in entries]


def _compact_header(token: str) -> dict[str, Any]:
    return dict(json.loads(b64url_decode(token.split(".", maxsplit=1)[0])))


ADAPTERS: dict[str, PeerJWS] = {
    "jwcrypto": JwcryptoJWS(next(p for p in PEERS if p.name == "jwcrypto")),
    "joserfc": JoserfcJWS(next(p for p in PEERS if p.name == "joserfc")),
}


def json_pairs() -> list[Any]:
    return [
        pytest.param(ADAPTERS[p.name], c, id=f"{p.name}-{c.id}") for p in JSON_PEERS for c in CASES
    ]


def verifier(our_keys: OurKeys, case: Case) -> JWK:
    return our_keys.verifier(case)


# ---- flattened JSON ----------------------------------------------------------------------


@pytest.mark.parametrize(("adapter", "case"), json_pairs())
def test_our_flattened_json_verifies_in_peer(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    obj = jws.sign_json(BINARY_PAYLOAD, [Signer(our_keys.private(case))], flattened=True)
    assert "signatures" not in obj
    assert adapter.verify_json(obj, [verifier(our_keys, case)]) == BINARY_PAYLOAD


@pytest.mark.parametrize(("adapter", "case"), json_pairs())
def test_peer_flattened_json_verifies_in_ours(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    obj = adapter.sign_json(BINARY_PAYLOAD, [(our_keys.private(case), case)], {})
    assert "signatures" not in obj, "one signature should come back flattened"
    result = jws.verify_json(obj, verifier(our_keys, case), algorithms=[case.alg])
    assert result.payload == BINARY_PAYLOAD
    assert result.protected["alg"] == case.alg


# ---- general JSON with two signatures ----------------------------------------------------


def general_pairs() -> list[Any]:
    return [
        pytest.param(ADAPTERS[p.name], pair, id=f"{p.name}-{pair[0]}+{pair[1]}")
        for p in JSON_PEERS
        for pair in TWO_SIGNER_SETS
    ]


@pytest.mark.parametrize(("adapter", "pair"), general_pairs())
def test_our_general_json_two_signatures_verify_in_peer(
    adapter: PeerJWS, pair: tuple[str, str], our_keys: OurKeys
) -> None:
    cases = [CASE_BY_ID[i] for i in pair]
    for case in cases:
        skip_if_refused(adapter.peer, case, our_keys)
    signers = [Signer(our_keys.private(c)) for c in cases]
    obj = jws.sign_json(JSON_PAYLOAD, signers)
    assert len(obj["signatures"]) == 2
    both = [verifier(our_keys, c) for c in cases]
    assert adapter.verify_json(obj, both) == JSON_PAYLOAD
    # Each signature on its own: corrupt the other one and the peer still needs it
    # (joserfc) or still finds the intact one (jwcrypto) -- either way, a corrupted
    # signature alone must not verify.
    broken = json.loads(json.dumps(obj))
    broken["signatures"] = [broken["signatures"][0]]
    broken["signatures"][0]["signature"] = obj["signatures"][1]["signature"]
    with pytest.raises(adapter.peer.signature_error):
        adapter.verify_json(broken, [both[0]])


@pytest.mark.parametrize(("adapter", "pair"), general_pairs())
def test_peer_general_json_two_signatures_verify_in_ours(
    adapter: PeerJWS, pair: tuple[str, str], our_keys: OurKeys
) -> None:
    cases = [CASE_BY_ID[i] for i in pair]
    for case in cases:
        skip_if_refused(adapter.peer, case, our_keys)
    obj = adapter.sign_json(JSON_PAYLOAD, [(our_keys.private(c), c) for c in cases], {})
    assert len(obj["signatures"]) == 2
    # Either key alone finds and verifies its own signature.
    for case in cases:
        result = jws.verify_json(obj, [verifier(our_keys, case)])
        assert result.payload == JSON_PAYLOAD
        assert result.protected["alg"] == case.alg
        assert result.key == verifier(our_keys, case)
    # A key set holding both resolves each signature by kid.
    both = JWKSet([verifier(our_keys, c) for c in cases])
    assert jws.verify_json(obj, both).payload == JSON_PAYLOAD
    # Signatures over another payload, under the same headers, verify with neither key.
    other = adapter.sign_json(b"other", [(our_keys.private(c), c) for c in cases], {})
    forged = json.loads(json.dumps(obj))
    for entry, replacement in zip(forged["signatures"], other["signatures"], strict=True):
        entry["signature"] = replacement["signature"]
    with pytest.raises(InvalidSignatureError):
        jws.verify_json(forged, both)


# ---- detached payloads (RFC 7515 Appendix F) ---------------------------------------------

DETACHED_CASES = [
    CASE_BY_ID[i]
    for i in ("HS256", "RS256", "PS512", "ES256", "ES512", "ES256K", "EdDSA-Ed25519", "Ed448")
]


def detached_pairs() -> list[Any]:
    return [
        pytest.param(ADAPTERS[p.name], c, id=f"{p.name}-{c.id}")
        for p in JSON_PEERS
        for c in DETACHED_CASES
    ]


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_our_detached_compact_verifies_in_peer(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    token = jws.sign(BINARY_PAYLOAD, our_keys.private(case), detached=True)
    assert token.split(".")[1] == ""
    assert adapter.verify_compact(token, verifier(our_keys, case), BINARY_PAYLOAD) == BINARY_PAYLOAD
    with pytest.raises(adapter.peer.signature_error):
        adapter.verify_compact(token, verifier(our_keys, case), BINARY_PAYLOAD + b"!")


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_peer_detached_compact_verifies_in_ours(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    attached = adapter.sign_compact(BINARY_PAYLOAD, our_keys.private(case), case, {})
    if isinstance(adapter, JoserfcJWS):
        token = rfc_jws.detach_content(attached)
    else:  # jwcrypto detaches a JWS object before serializing; same result
        head, _, signature = attached.split(".")
        token = f"{head}..{signature}"
    assert token.split(".")[1] == ""
    result = jws.verify(token, verifier(our_keys, case), detached_payload=BINARY_PAYLOAD)
    assert result.payload == BINARY_PAYLOAD
    with pytest.raises(InvalidSignatureError):
        jws.verify(token, verifier(our_keys, case), detached_payload=BINARY_PAYLOAD + b"!")


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_our_detached_json_verifies_in_peer(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    obj = jws.sign_json(
        BINARY_PAYLOAD, [Signer(our_keys.private(case))], flattened=True, detached=True
    )
    assert "payload" not in obj  # RFC 7515 Appendix F: the member is deleted
    key = verifier(our_keys, case)
    if isinstance(adapter, JwcryptoJWS):
        parsed = c_jws.JWS()
        parsed.deserialize(json.dumps(obj))
        parsed.verify(adapter.key(key), detached_payload=BINARY_PAYLOAD)
        assert parsed.is_valid
        with pytest.raises(c_jws.InvalidJWSSignature):
            parsed.verify(adapter.key(key), detached_payload=b"other")
    else:
        # joserfc verifies detached JSON once the caller puts the payload back.
        reattached = {**obj, "payload": b64url_encode(BINARY_PAYLOAD)}
        assert adapter.verify_json(reattached, [key]) == BINARY_PAYLOAD


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_peer_detached_json_verifies_in_ours(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    obj = adapter.sign_json(BINARY_PAYLOAD, [(our_keys.private(case), case)], {})
    if isinstance(adapter, JoserfcJWS):
        obj = rfc_jws.detach_content(obj)
    else:  # jwcrypto has no JSON detach helper: delete the member (RFC 7515 Appendix F)
        del obj["payload"]
    assert "payload" not in obj
    result = jws.verify_json(obj, verifier(our_keys, case), detached_payload=BINARY_PAYLOAD)
    assert result.payload == BINARY_PAYLOAD
    with pytest.raises(InvalidSignatureError):
        jws.verify_json(obj, verifier(our_keys, case), detached_payload=b"other")


# ---- unencoded payloads (RFC 7797 b64: false) --------------------------------------------

B64_FALSE = {"b64": False, "crit": ["b64"]}


def jwcrypto_cannot_read_attached_b64_false_compact() -> str | None:
    """jwcrypto's compact deserializer base64url-decodes the payload segment whatever
    ``b64`` says, so it cannot read an attached unencoded compact JWS, not even its own.
    Returns jwcrypto's error on its own token, or None if a later release fixes it."""
    key = c_jwk.JWK.generate(kty="oct", size=256)
    own = c_jws.JWS(URLSAFE_PAYLOAD)
    own.add_signature(key, None, json.dumps({"alg": "HS256", **B64_FALSE}))
    token = own.serialize(compact=True)
    try:
        c_jws.JWS().deserialize(token, key)
    except c_jws.InvalidJWSObject as exc:
        return (
            f"jwcrypto {version('jwcrypto')} cannot read an attached b64:false compact JWS, "
            f"not even its own ({exc}; cause: {exc.__cause__!r})"
        )
    return None


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_our_b64_false_compact_verifies_in_peer(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    if isinstance(adapter, JwcryptoJWS):
        reason = jwcrypto_cannot_read_attached_b64_false_compact()
        if reason is not None:
            pytest.skip(reason)
    token = jws.sign(URLSAFE_PAYLOAD, our_keys.private(case), header=B64_FALSE)
    assert token.split(".")[1] == URLSAFE_PAYLOAD.decode()
    assert adapter.verify_compact(token, verifier(our_keys, case)) == URLSAFE_PAYLOAD


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_peer_b64_false_compact_verifies_in_ours(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    token = adapter.sign_compact(URLSAFE_PAYLOAD, our_keys.private(case), case, B64_FALSE)
    assert token.split(".")[1] == URLSAFE_PAYLOAD.decode()
    result = jws.verify(token, verifier(our_keys, case))
    assert result.payload == URLSAFE_PAYLOAD
    assert result.header["b64"] is False


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_our_b64_false_detached_compact_verifies_in_peer(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    """RFC 7797 §4's shape: unencoded and detached, a payload with a '.' in it."""
    skip_if_refused(adapter.peer, case, our_keys)
    token = jws.sign(DOTTED_PAYLOAD, our_keys.private(case), header=B64_FALSE, detached=True)
    key = verifier(our_keys, case)
    assert adapter.verify_compact(token, key, DOTTED_PAYLOAD) == DOTTED_PAYLOAD
    with pytest.raises(adapter.peer.signature_error):
        adapter.verify_compact(token, key, b"$.03")


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_our_b64_false_json_verifies_in_peer(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    obj = jws.sign_json(
        DOTTED_PAYLOAD, [Signer(our_keys.private(case), protected=B64_FALSE)], flattened=True
    )
    assert obj["payload"] == DOTTED_PAYLOAD.decode()
    assert adapter.verify_json(obj, [verifier(our_keys, case)]) == DOTTED_PAYLOAD


@pytest.mark.parametrize(("adapter", "case"), detached_pairs())
def test_peer_b64_false_json_verifies_in_ours(
    adapter: PeerJWS, case: Case, our_keys: OurKeys
) -> None:
    skip_if_refused(adapter.peer, case, our_keys)
    obj = adapter.sign_json(DOTTED_PAYLOAD, [(our_keys.private(case), case)], B64_FALSE)
    assert obj["payload"] == DOTTED_PAYLOAD.decode()
    result = jws.verify_json(obj, verifier(our_keys, case))
    assert result.payload == DOTTED_PAYLOAD
    assert result.protected["b64"] is False


# ---- PyJWT: its detached mode is RFC 7797 (b64: false + detached), compact only ----------


def pyjwt_pairs() -> list[Any]:
    return [pytest.param(c, id=f"pyjwt-{c.id}") for c in DETACHED_CASES]


@pytest.mark.parametrize("case", pyjwt_pairs())
def test_pyjwt_b64_false_detached_verifies_in_ours(case: Case, our_keys: OurKeys) -> None:
    skip_if_refused(PYJWT, case, our_keys)
    key = PYJWT.import_jwk(our_keys.private(case).to_dict())
    token = pyjwt.api_jws.PyJWS().encode(
        DOTTED_PAYLOAD, key, algorithm=case.alg, is_payload_detached=True
    )
    header = _compact_header(token)
    assert header["b64"] is False
    assert header["crit"] == ["b64"]
    result = jws.verify(token, verifier(our_keys, case), detached_payload=DOTTED_PAYLOAD)
    assert result.payload == DOTTED_PAYLOAD


@pytest.mark.parametrize("case", pyjwt_pairs())
def test_our_b64_false_detached_verifies_in_pyjwt(case: Case, our_keys: OurKeys) -> None:
    skip_if_refused(PYJWT, case, our_keys)
    token = jws.sign(DOTTED_PAYLOAD, our_keys.private(case), header=B64_FALSE, detached=True)
    key = PYJWT.import_jwk(our_keys.verifier(case).to_dict())
    decoded = pyjwt.api_jws.PyJWS().decode_complete(
        token, key, algorithms=[case.alg], detached_payload=DOTTED_PAYLOAD
    )
    assert decoded["payload"] == DOTTED_PAYLOAD
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.api_jws.PyJWS().decode_complete(
            token, key, algorithms=[case.alg], detached_payload=b"$.03"
        )
