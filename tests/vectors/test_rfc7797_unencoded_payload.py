"""RFC 7797 (JWS Unencoded Payload Option, "b64": false).

shared/vectors rfc7520-cookbook/rfc7797/ holds two files:
- hmac-sha2_b64_false.json: {"alg":"HS256","b64":false,"crit":["b64"]} over
  "This is the payload string!": every output verifies and is reproduced exactly. (Its
  "signing" section is inconsistent: protected_b64u decodes to broken JSON and "sig"
  belongs to another header, so only the outputs are compared.)
- 4.2.hmac-sha2_b64_false.json: a pre-RFC draft of RFC 7797 §4.2 whose header is
  {"alg":"HS256","b64":false}, without "crit". RFC 7797 §6 requires "b64" to be listed
  in "crit"; such a header is rejected (S11). Its MAC is right for that header, shown
  below, so the rejection is about "crit" alone.

The RFC's own §4.1/§4.2 examples (published facts, same key as RFC 7515 A.1) are
verified and reproduced exactly.
"""

from __future__ import annotations

import pytest

from tokensmith.jose import jws
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import CritError, InvalidSignatureError
from tokensmith.jose.jwk import JWK

from ._data import cookbook

B64_FALSE = {"b64": False, "crit": ["b64"]}
RFC7797_PAYLOAD = b"$.02"
# RFC 7797 §4.1: {"alg":"HS256"}, payload base64url-encoded as usual.
RFC7797_4_1 = "eyJhbGciOiJIUzI1NiJ9.JC4wMg.5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ"
# RFC 7797 §4.2: {"alg":"HS256","b64":false,"crit":["b64"]}, payload detached.
RFC7797_4_2_PROTECTED = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19"
RFC7797_4_2_SIGNATURE = "A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY"
RFC7797_4_2 = f"{RFC7797_4_2_PROTECTED}..{RFC7797_4_2_SIGNATURE}"
RFC7797_4_2_JSON = {
    "protected": RFC7797_4_2_PROTECTED,
    "payload": "$.02",
    "signature": RFC7797_4_2_SIGNATURE,
}


def _key() -> JWK:
    return JWK(cookbook("rfc7797/hmac-sha2_b64_false.json")["input"]["key"])


def test_rfc7797_key_is_the_rfc_example_key() -> None:
    assert b64url_decode(RFC7797_4_2_PROTECTED) == b'{"alg":"HS256","b64":false,"crit":["b64"]}'
    assert cookbook("rfc7797/4.2.hmac-sha2_b64_false.json")["input"]["key"] == _key().to_dict()


@pytest.mark.parametrize("form", ["compact", "json", "json_flat"])
def test_cookbook_b64_false_output_verifies(form: str) -> None:
    example = cookbook("rfc7797/hmac-sha2_b64_false.json")
    verify = jws.verify if form == "compact" else jws.verify_json
    result = verify(example["output"][form], _key())
    assert result.payload == b"This is the payload string!"
    assert result.protected == {"alg": "HS256", **B64_FALSE}


def test_cookbook_b64_false_outputs_are_reproduced_exactly() -> None:
    example = cookbook("rfc7797/hmac-sha2_b64_false.json")
    payload = example["input"]["payload"].encode("utf-8")
    assert jws.sign(payload, _key(), alg="HS256", header=B64_FALSE) == example["output"]["compact"]
    signer = jws.Signer(_key(), alg="HS256", protected=B64_FALSE)
    assert jws.sign_json(payload, [signer]) == example["output"]["json"]
    assert jws.sign_json(payload, [signer], flattened=True) == example["output"]["json_flat"]


@pytest.mark.parametrize("form", ["json", "json_flat"])
def test_s11_cookbook_4_2_draft_without_crit_is_rejected(form: str) -> None:
    """S11: "b64": false outside "crit" is refused, though the MAC itself is right."""
    example = cookbook("rfc7797/4.2.hmac-sha2_b64_false.json")
    output = example["output"][form]
    protected = output["protected"] if form == "json_flat" else output["signatures"][0]["protected"]
    assert b64url_decode(protected) == b'{"alg":"HS256","b64":false}'
    alg = SIGNING_ALGORITHMS["HS256"]
    signing_input = f"{protected}.{output['payload']}".encode()
    mac = alg.sign(_key().signing_key_for(alg), signing_input)
    assert b64url_encode(mac) == example["signing"]["sig"]
    with pytest.raises(CritError):
        jws.verify_json(output, _key())


def test_rfc7797_4_1_and_4_2_examples_verify_and_are_reproduced_exactly() -> None:
    key = _key()
    assert jws.verify(RFC7797_4_1, key).payload == RFC7797_PAYLOAD
    assert jws.sign(RFC7797_PAYLOAD, key, alg="HS256") == RFC7797_4_1
    result = jws.verify(RFC7797_4_2, key, detached_payload=RFC7797_PAYLOAD)
    assert result.payload == RFC7797_PAYLOAD
    produced = jws.sign(RFC7797_PAYLOAD, key, alg="HS256", header=B64_FALSE, detached=True)
    assert produced == RFC7797_4_2
    assert jws.verify_json(RFC7797_4_2_JSON, key).payload == RFC7797_PAYLOAD
    signer = jws.Signer(key, alg="HS256", protected=B64_FALSE)
    assert jws.sign_json(RFC7797_PAYLOAD, [signer], flattened=True) == RFC7797_4_2_JSON


def test_rfc7797_4_2_with_the_payload_encoded_does_not_verify() -> None:
    """b64:false means the raw payload is signed: handing over its base64url form (what a
    b64-ignorant verifier would sign) fails."""
    with pytest.raises(InvalidSignatureError):
        jws.verify(RFC7797_4_2, _key(), detached_payload=b"JC4wMg")
