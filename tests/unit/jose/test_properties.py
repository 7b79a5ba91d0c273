"""Property tests: decoding untrusted input raises nothing but JoseError.

DESIGN.md rule 4 ("every malformed token ends in our error tree"), and the round
trip of every signing algorithm. Keys are generated once per module.
"""

from __future__ import annotations

import pytest

from tokensmith.jose import JWK, JoseError, JWKSet, jws

# ---- regressions found by these properties ---------------------------------------------


@pytest.mark.parametrize("kty", ["EC", "OKP"])
@pytest.mark.parametrize("crv", [[], {}, ["P-256"], {"a": 1}])
def test_regression_jwk_unhashable_crv_raised_type_error(kty: str, crv: object) -> None:
    """``{"kty":"EC","crv":[]}`` used to raise TypeError (unhashable) from JWK.from_json."""
    import json

    text = json.dumps({"kty": kty, "crv": crv, "x": "AA", "y": "AA"})
    with pytest.raises(JoseError) as exc_info:
        JWK.from_json(text)
    assert exc_info.value.code == "jwk_unsupported_curve"
    # In a set the member is skipped as unsupported, never a TypeError.
    key_set = JWKSet.from_json(json.dumps({"keys": [json.loads(text)]}))
    assert len(key_set) == 0
    assert len(key_set.skipped) == 1


def test_regression_verify_json_unencoded_payload_with_lone_surrogate() -> None:
    """A JWS JSON object parsed by another JSON library (which lets lone surrogates
    through) with ``b64: false`` used to raise UnicodeEncodeError from verify_json."""
    key = JWK.generate("HS256", kid="k1")
    signed = jws.sign_json(
        b"x", [jws.Signer(key, "HS256", {"b64": False, "crit": ["b64"]})], flattened=True
    )
    assert jws.verify_json(signed, key).payload == b"x"
    hostile = {**signed, "payload": "\ud800"}
    with pytest.raises(JoseError) as exc_info:
        jws.verify_json(hostile, key)
    assert exc_info.value.code == "jws_malformed"
