"""RFC 8037 Appendix A.4: Ed25519 JWS (shared/vectors rfc7520-cookbook/curve25519/jws.json),
plus the RFC 8037 Appendix A.3 thumbprint of the same key (a published fact).

Ed25519 is deterministic: our signing reproduces every published output exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.jose import jws
from tokensmith.jose.encoding import b64url_encode
from tokensmith.jose.errors import InvalidSignatureError, KeyMismatchError
from tokensmith.jose.jwk import JWK

from ._data import cookbook

# RFC 8037 A.3: the RFC 7638 thumbprint of the A.2 public key.
A3_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _example() -> dict[str, Any]:
    return cookbook("curve25519/jws.json")


def _payload() -> bytes:
    payload: str = _example()["input"]["payload"]
    return payload.encode("utf-8")


def test_key_imports_and_has_the_published_thumbprint() -> None:
    members = _example()["input"]["key"]
    key = JWK(members)
    assert key.is_private
    assert key.public().to_dict() == {k: v for k, v in members.items() if k != "d"}
    assert key.thumbprint() == key.public().thumbprint() == A3_THUMBPRINT


@pytest.mark.parametrize("form", ["compact", "json", "json_flat"])
def test_published_output_verifies(form: str) -> None:
    example = _example()
    public = JWK(example["input"]["key"]).public()
    verify = jws.verify if form == "compact" else jws.verify_json
    result = verify(example["output"][form], public)
    assert result.payload == _payload()
    assert result.protected == {"alg": "EdDSA"}


def test_signing_reproduces_every_published_output_exactly() -> None:
    example = _example()
    key = JWK(example["input"]["key"])
    assert b64url_encode(_payload()) == example["signing"]["sig-input"].split(".")[1]
    assert jws.sign(_payload(), key, alg="EdDSA") == example["output"]["compact"]
    signer = jws.Signer(key, alg="EdDSA")
    assert jws.sign_json(_payload(), [signer]) == example["output"]["json"]
    assert jws.sign_json(_payload(), [signer], flattened=True) == example["output"]["json_flat"]


def test_tampered_payload_and_wrong_curve_key_are_rejected() -> None:
    example = _example()
    header, _, signature = example["output"]["compact"].split(".")
    public = JWK(example["input"]["key"]).public()
    other = b64url_encode(b"Example of Ed25519 signing!")
    with pytest.raises(InvalidSignatureError):
        jws.verify(f"{header}.{other}.{signature}", public)
    with pytest.raises(KeyMismatchError):  # the key decides the family: Ed448 only
        jws.verify(example["output"]["compact"], JWK.generate("Ed448").public())
