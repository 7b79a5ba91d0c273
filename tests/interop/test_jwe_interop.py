"""JWE interop with jwcrypto and joserfc, both directions, for every ``alg``/``enc`` pair
the three implement (RSA-OAEP-384/512 are ours alone; RSA1_5 is only ever decrypted by
us, so it runs peer -> us with RSA1_5 enabled). ECDH-ES also runs on every curve, and
the general JSON serialization with several recipients runs both ways.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x448, x25519
from joserfc import jwe as rfc_jwe
from joserfc.jwk import JWKRegistry, KeySet
from jwcrypto import jwe as c_jwe
from jwcrypto import jwk as c_jwk
from jwcrypto.common import json_encode

from tokensmith.jose import JWK, jwe
from tokensmith.jose.content import CONTENT_ENCRYPTIONS
from tokensmith.jose.errors import AlgorithmNotAllowedError

ENCS = tuple(CONTENT_ENCRYPTIONS)
ALGS = (
    "dir", "A128KW", "A192KW", "A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW",
    "RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW",
    "ECDH-ES+A256KW", "PBES2-HS256+A128KW", "PBES2-HS384+A192KW", "PBES2-HS512+A256KW",
)  # fmt: skip
PEERS = ("jwcrypto", "joserfc")
PLAINTEXT = "interop ñ ☃ 😀".encode()
OPEN = jwe.JWEPolicy(
    algorithms={*jwe.DEFAULT_ALGORITHMS, "RSA1_5", *(a for a in ALGS if a.startswith("PBES2"))},
    max_p2c=1_000_000,
)
PAIRS = [(alg, enc) for alg in ALGS for enc in ENCS]


@cache
def _rsa() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def _curve_key(crv: str) -> Any:
    curves = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
    if crv in curves:
        return ec.generate_private_key(curves[crv]())
    return {"X25519": x25519.X25519PrivateKey, "X448": x448.X448PrivateKey}[crv].generate()


@cache
def our_key(alg: str, enc: str, crv: str = "P-256") -> JWK:
    """Our private key (or secret) for one pair."""
    if alg == "dir":
        return JWK.from_secret(os.urandom(CONTENT_ENCRYPTIONS[enc].key_bytes), alg="dir")
    if alg.startswith("PBES2"):
        return JWK.from_secret(b"interop password, long enough", alg=alg)
    if alg.startswith(("A1", "A2")):
        return JWK.from_secret(os.urandom(int(alg[1:4]) // 8), alg=alg)
    if alg.startswith("RSA"):
        return JWK.from_object(_rsa(), alg=alg)
    return JWK.from_object(_curve_key(crv), alg=alg)


def _public(key: JWK) -> JWK:
    return key if key.is_symmetric else key.public()


def _members(key: JWK) -> dict[str, Any]:
    return {k: v for k, v in key.to_dict().items() if k != "alg"}


def peer_decrypt(peer: str, token: str, key: JWK, alg: str, enc: str) -> bytes:
    if peer == "joserfc":
        registry = rfc_jwe.JWERegistry(algorithms=[alg, enc, "DEF"])
        peer_key = JWKRegistry.import_key(_members(key))
        return rfc_jwe.decrypt_compact(token, peer_key, registry=registry).plaintext  # type: ignore[return-value]
    obj = c_jwe.JWE(algs=[alg, enc])
    obj.deserialize(token, c_jwk.JWK(**_members(key)))
    return obj.payload  # type: ignore[no-any-return]


def peer_encrypt(peer: str, key: JWK, alg: str, enc: str) -> str:
    header = {"alg": alg, "enc": enc}
    if peer == "joserfc":
        registry = rfc_jwe.JWERegistry(algorithms=[alg, enc])
        peer_key = JWKRegistry.import_key(_members(_public(key)))
        return rfc_jwe.encrypt_compact(header, PLAINTEXT, peer_key, registry=registry)
    obj = c_jwe.JWE(PLAINTEXT, json_encode(header), algs=[alg, enc])
    obj.add_recipient(c_jwk.JWK(**_members(_public(key))))
    return obj.serialize(compact=True)  # type: ignore[no-any-return]


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize(("alg", "enc"), PAIRS)
def test_we_encrypt_peer_decrypts(peer: str, alg: str, enc: str) -> None:
    key = our_key(alg, enc)
    header = {"p2c": 1000} if alg.startswith("PBES2") else None
    token = jwe.encrypt(PLAINTEXT, _public(key), alg=alg, enc=enc, header=header)
    assert peer_decrypt(peer, token, key, alg, enc) == PLAINTEXT


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize(("alg", "enc"), PAIRS)
def test_peer_encrypts_we_decrypt(peer: str, alg: str, enc: str) -> None:
    key = our_key(alg, enc)
    token = peer_encrypt(peer, key, alg, enc)
    result = jwe.decrypt(token, key, policy=OPEN)
    assert result.plaintext == PLAINTEXT
    assert (result.header["alg"], result.header["enc"]) == (alg, enc)


@pytest.mark.filterwarnings("ignore:JWE algorithm .RSA1_5. is deprecated")
@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("enc", ENCS)
def test_peer_rsa1_5_decrypts_only_when_we_enable_it(peer: str, enc: str) -> None:
    key = JWK.from_object(_rsa(), alg="RSA1_5")
    token = peer_encrypt(peer, key, "RSA1_5", enc)
    with pytest.raises(AlgorithmNotAllowedError):
        jwe.decrypt(token, key)
    assert jwe.decrypt(token, key, policy=OPEN).plaintext == PLAINTEXT


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521", "X25519", "X448"])
@pytest.mark.parametrize("alg", ["ECDH-ES", "ECDH-ES+A256KW"])
def test_ecdh_es_every_curve_both_ways(peer: str, crv: str, alg: str) -> None:
    key = our_key(alg, "A128GCM", crv)
    token = jwe.encrypt(PLAINTEXT, key.public(), alg=alg, enc="A128GCM")
    assert peer_decrypt(peer, token, key, alg, "A128GCM") == PLAINTEXT
    back = peer_encrypt(peer, key, alg, "A128GCM")
    assert jwe.decrypt(back, key).plaintext == PLAINTEXT


@pytest.mark.parametrize("peer", PEERS)
def test_zip_both_ways(peer: str) -> None:
    key = our_key("A256KW", "A256GCM")
    text = b"compressible " * 200
    token = jwe.encrypt(text, key, alg="A256KW", enc="A256GCM", compress=True)
    assert peer_decrypt(peer, token, key, "A256KW", "A256GCM") == text
    if peer == "joserfc":
        registry = rfc_jwe.JWERegistry(algorithms=["A256KW", "A256GCM", "DEF"])
        back = rfc_jwe.encrypt_compact(
            {"alg": "A256KW", "enc": "A256GCM", "zip": "DEF"}, text,
            JWKRegistry.import_key(_members(key)), registry=registry,
        )  # fmt: skip
    else:
        obj = c_jwe.JWE(text, json_encode({"alg": "A256KW", "enc": "A256GCM", "zip": "DEF"}))
        obj.add_recipient(c_jwk.JWK(**_members(key)))
        back = obj.serialize(compact=True)
    assert jwe.decrypt(back, key).plaintext == text


def test_general_json_several_recipients_both_ways() -> None:
    recipients = [
        our_key("RSA-OAEP-256", "A128GCM"),
        our_key("ECDH-ES+A128KW", "A128GCM"),
        our_key("A128KW", "A128GCM"),
    ]
    keyed = [k.with_kid(f"r{i}") for i, k in enumerate(recipients)]
    ours = jwe.encrypt_json(
        PLAINTEXT,
        [jwe.Recipient(_public(k)) for k in keyed],
        enc="A128CBC-HS256",
        aad=b"extra",
        unprotected={"x-note": "shared"},
    )
    text = json.dumps(ours)
    for key in keyed:
        c_obj = c_jwe.JWE()
        c_obj.deserialize(text, c_jwk.JWK(**key.to_dict()))
        assert c_obj.payload == PLAINTEXT
    # joserfc opens a multi-recipient message with a key set holding every recipient.
    key_set = KeySet([JWKRegistry.import_key(k.to_dict()) for k in keyed])
    registry = rfc_jwe.JWERegistry(
        algorithms=["RSA-OAEP-256", "ECDH-ES+A128KW", "A128KW", "A128CBC-HS256"],
        strict_check_header=False,  # it refuses the private "x-note" header otherwise
    )
    assert rfc_jwe.decrypt_json(ours, key_set, registry=registry).plaintext == PLAINTEXT
    # jwcrypto makes a general serialization with several recipients; we open it.
    c_obj = c_jwe.JWE(PLAINTEXT, json_encode({"enc": "A256GCM"}))
    for key, alg in zip(keyed, ["RSA-OAEP-256", "ECDH-ES+A128KW", "A128KW"], strict=True):
        c_obj.add_recipient(c_jwk.JWK(**_public(key).to_dict()), json_encode({"alg": alg}))
    theirs = c_obj.serialize()
    for key in keyed:
        assert jwe.decrypt_json(theirs, key).plaintext == PLAINTEXT
