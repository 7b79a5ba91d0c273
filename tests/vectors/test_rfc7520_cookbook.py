"""RFC 7520 ("JOSE Cookbook") JWK and JWS examples, read from shared/vectors as they are.

jwk/3_*: each key imports; a private key's public half equals the published public
key member for member, and both have the same RFC 7638 thumbprint (the cookbook
publishes no thumbprints, so none is compared with a published value here).

jws/4_*: every published output (compact, flattened, general JSON) verifies with our
API; for the deterministic algorithms (RS256, HS256) our signing reproduces the
outputs exactly wherever our API can express the header layout:
- 4.7 (nothing protected, "alg" only in the unprotected header) verifies, but cannot
  be produced: our signers always put "alg" in the protected header, by design.
- 4.8's ES512 entry (likewise unprotected "alg") verifies; ECDSA is randomized anyway.
The P-521 key here has no "alg" member; the Wycheproof copies of these examples say
"alg": "ES521" and are handled in test_wycheproof_jose.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.jose import jws
from tokensmith.jose.encoding import b64url_encode
from tokensmith.jose.errors import InvalidSignatureError, JoseError, KeyMismatchError
from tokensmith.jose.jwk import JWK

from ._data import COOKBOOK, cookbook

JWS_FILES = sorted(p.name for p in (COOKBOOK / "jws").glob("4_*.json"))
DETERMINISTIC = {"RS256", "HS256"}


def _payload(example: dict[str, Any]) -> bytes:
    payload: str = example["input"]["payload"]
    return payload.encode("utf-8")


def _verifier(members: dict[str, Any]) -> JWK:
    key = JWK(members)
    return key if key.is_symmetric else key.public()


def _keys(example: dict[str, Any]) -> list[JWK]:
    members = example["input"]["key"]
    return [_verifier(m) for m in (members if isinstance(members, list) else [members])]


def _without_kid(members: dict[str, Any]) -> JWK:
    """Our signers copy a key's kid into the protected header; examples that carry the
    kid unprotected are reproduced with the same key minus its kid member."""
    return JWK({k: v for k, v in members.items() if k != "kid"})


# ---- 3: JSON Web Keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("private_file", "public_file"),
    [
        ("3_2.ec_private_key.json", "3_1.ec_public_key.json"),
        ("3_4.rsa_private_key.json", "3_3.rsa_public_key.json"),
    ],
)
def test_jwk_private_key_public_half_equals_published_public_key(
    private_file: str, public_file: str
) -> None:
    private_members = cookbook(f"jwk/{private_file}")
    public_members = cookbook(f"jwk/{public_file}")
    private, public = JWK(private_members), JWK(public_members)
    assert private.is_private
    assert not public.is_private
    assert private.to_dict() == private_members
    assert public.to_dict() == public_members
    assert private.public().to_dict() == public_members
    assert private.public() == public
    assert private.thumbprint() == public.thumbprint()
    assert private.kid == public.kid == "bilbo.baggins@hobbiton.example"


def test_jwk_3_5_mac_key_signs_hs256_only() -> None:
    members = cookbook("jwk/3_5.symmetric_key_mac_computation.json")
    key = JWK(members)
    assert key.to_dict() == members
    assert key.is_symmetric
    token = jws.sign(b"x", key)
    assert jws.verify(token, key).header == {"alg": "HS256", "kid": members["kid"]}
    with pytest.raises(KeyMismatchError):  # S19: the key's alg is HS256
        jws.sign(b"x", key, alg="HS512")


def test_jwk_3_6_encryption_key_never_signs_or_verifies() -> None:
    """S19: "use": "enc", "alg": "A256GCM": imported, but refused for any JWS."""
    members = cookbook("jwk/3_6.symmetric_key_encryption.json")
    key = JWK(members)
    assert key.to_dict() == members
    hs256 = cookbook("jwk/3_5.symmetric_key_mac_computation.json")
    token = jws.sign(b"x", _without_kid(hs256), alg="HS256")
    with pytest.raises(KeyMismatchError):
        jws.sign(b"x", key, alg="HS256")
    with pytest.raises(KeyMismatchError):
        jws.verify(token, key)


# ---- 4: JSON Web Signatures -----------------------------------------------------------------


def _outputs(name: str) -> list[Any]:
    example = cookbook(f"jws/{name}")
    return [
        pytest.param(name, form, id=f"{name.split('.', maxsplit=1)[0]}-{form}")
        for form in example["output"]
    ]


@pytest.mark.parametrize(("name", "form"), [p for n in JWS_FILES for p in _outputs(n)])
def test_jws_published_output_verifies(name: str, form: str) -> None:
    """Every output form of 4.1-4.8 verifies and yields the payload; detached outputs
    (4.5) verify only with the payload handed over separately."""
    example = cookbook(f"jws/{name}")
    output = example["output"][form]
    keys = _keys(example)
    detached = "4_5" in name
    payload = _payload(example)
    kwargs: dict[str, Any] = {"detached_payload": payload} if detached else {}
    verify = jws.verify if form == "compact" else jws.verify_json
    for key in keys:
        result = verify(output, key, **kwargs)
        assert result.payload == payload
    if detached:
        with pytest.raises(JoseError):
            verify(output, keys[0])


@pytest.mark.parametrize(("name", "form"), [p for n in JWS_FILES for p in _outputs(n)])
def test_jws_published_output_rejects_another_payload(name: str, form: str) -> None:
    """The same outputs with the payload swapped for another one do not verify."""
    example = cookbook(f"jws/{name}")
    output = example["output"][form]
    other = b"There and back again."
    if "4_5" in name:
        verify = jws.verify if form == "compact" else jws.verify_json
        with pytest.raises(InvalidSignatureError):
            verify(output, _keys(example)[0], detached_payload=other)
        return
    if form == "compact":
        header, _, signature = output.split(".")
        with pytest.raises(InvalidSignatureError):
            jws.verify(f"{header}.{b64url_encode(other)}.{signature}", _keys(example)[0])
    else:
        with pytest.raises(JoseError):
            jws.verify_json({**output, "payload": b64url_encode(other)}, _keys(example))


@pytest.mark.parametrize(
    "name", ["4_1.rsa_v15_signature.json", "4_4.hmac-sha2_integrity_protection.json"]
)
def test_jws_deterministic_outputs_are_reproduced_exactly(name: str) -> None:
    """4.1 (RS256) and 4.4 (HS256): compact, general and flattened JSON, byte for byte."""
    example = cookbook(f"jws/{name}")
    alg = example["input"]["alg"]
    assert alg in DETERMINISTIC
    key = JWK(example["input"]["key"])
    payload = _payload(example)
    assert jws.sign(payload, key, alg=alg) == example["output"]["compact"]
    signer = jws.Signer(key, alg=alg)
    assert jws.sign_json(payload, [signer]) == example["output"]["json"]
    assert jws.sign_json(payload, [signer], flattened=True) == example["output"]["json_flat"]


@pytest.mark.parametrize(
    "name", ["4_2.rsa-pss_signature.json", "4_3.ecdsa_signature.json"], ids=["PS384", "ES512"]
)
def test_jws_randomized_algorithms_sign_with_the_published_header(name: str) -> None:
    """4.2 (PS384) and 4.3 (ES512) are randomized: our signature differs, but the
    protected header is the published one and the token verifies with the RFC key."""
    example = cookbook(f"jws/{name}")
    key = JWK(example["input"]["key"])
    token = jws.sign(_payload(example), key, alg=example["input"]["alg"])
    published = example["output"]["compact"]
    assert token.split(".")[:2] == published.split(".")[:2]
    assert token != published
    assert jws.verify(token, key.public()).payload == _payload(example)


def test_jws_4_5_detached_content_is_reproduced_exactly() -> None:
    example = cookbook("jws/4_5.signature_with_detached_content.json")
    key, payload = JWK(example["input"]["key"]), _payload(example)
    signer = jws.Signer(key, alg="HS256")
    assert jws.sign(payload, key, alg="HS256", detached=True) == example["output"]["compact"]
    assert jws.sign_json(payload, [signer], detached=True) == example["output"]["json"]
    flat = jws.sign_json(payload, [signer], flattened=True, detached=True)
    assert flat == example["output"]["json_flat"]


def test_jws_4_6_protected_and_unprotected_header_fields() -> None:
    """ "alg" protected, "kid" unprotected: verified (the joined header holds both, the
    protected part only "alg") and reproduced exactly."""
    example = cookbook("jws/4_6.protecting_specific_header_fields.json")
    members, payload = example["input"]["key"], _payload(example)
    for form in ("json", "json_flat"):
        result = jws.verify_json(example["output"][form], JWK(members))
        assert result.protected == {"alg": "HS256"}
        assert result.header == {"alg": "HS256", "kid": members["kid"]}
    signer = jws.Signer(_without_kid(members), alg="HS256", header={"kid": members["kid"]})
    assert jws.sign_json(payload, [signer]) == example["output"]["json"]
    assert jws.sign_json(payload, [signer], flattened=True) == example["output"]["json_flat"]


def test_jws_4_7_protecting_content_only() -> None:
    """Nothing protected: the JWS Signing Input starts with "." and "alg" sits in the
    unprotected header. It verifies; our signers always protect "alg", so the output
    we would produce for the same key differs from the published one."""
    example = cookbook("jws/4_7.protecting_content_only.json")
    key, payload = JWK(example["input"]["key"]), _payload(example)
    assert example["signing"]["sig-input"].startswith(".")
    for form in ("json", "json_flat"):
        result = jws.verify_json(example["output"][form], key)
        assert result.payload == payload
        assert result.protected == {}
        assert result.header["alg"] == "HS256"
    ours = jws.sign_json(payload, [jws.Signer(key, alg="HS256")], flattened=True)
    assert "protected" in ours
    assert ours != example["output"]["json_flat"]


def test_jws_4_8_multiple_signatures_each_verifies_and_deterministic_ones_reproduce() -> None:
    """Three signatures (RS256 with an unprotected kid, ES512 with nothing protected,
    HS256 with alg and kid protected): each key alone verifies the general JSON, and the
    RS256 and HS256 entries are reproduced exactly."""
    example = cookbook("jws/4_8.multiple_signatures.json")
    payload = _payload(example)
    published = example["output"]["json"]
    rsa_members, _ec_members, oct_members = example["input"]["key"]
    algs = []
    for key in _keys(example):
        result = jws.verify_json(published, key)
        assert result.payload == payload
        algs.append(result.header["alg"])
    assert algs == ["RS256", "ES512", "HS256"]
    rsa_signer = jws.Signer(
        _without_kid(rsa_members), alg="RS256", header={"kid": rsa_members["kid"]}
    )
    hmac_signer = jws.Signer(JWK(oct_members), alg="HS256")
    produced = jws.sign_json(payload, [rsa_signer, hmac_signer])
    assert produced["payload"] == published["payload"]
    assert produced["signatures"] == [published["signatures"][0], published["signatures"][2]]
