"""tokensmith.jose.jwe: the API around the algorithm tables (round trips, JSON
serializations, key selection, policy values, header rules)."""

from __future__ import annotations

import json

import pytest

from tokensmith.jose import JWK, JWKSet, jwe
from tokensmith.jose.content import ALL_CONTENT_ENCRYPTIONS, content_algorithm
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import (
    AlgorithmNotAllowedError,
    CritError,
    JoseError,
    KeyMismatchError,
    KeyNotFoundError,
    MalformedError,
    UnsupportedError,
)
from tokensmith.jose.keymgmt import ALL_KEY_MANAGEMENT

ROUND_TRIP_ALGS = [a for a in ALL_KEY_MANAGEMENT if a not in ("RSA1_5", "dir")]
PBES2_OK = jwe.JWEPolicy(
    algorithms={*jwe.DEFAULT_ALGORITHMS, *(a for a in ALL_KEY_MANAGEMENT if "PBES2" in a)},
    max_p2c=5000,
)
_KEYS: dict[str, JWK] = {}


def key_for(alg: str) -> JWK:
    if alg not in _KEYS:
        _KEYS[alg] = (
            JWK.from_secret(b"a password for PBES2", alg=alg)
            if alg.startswith("PBES2")
            else JWK.generate(alg, kid=alg)
        )
    return _KEYS[alg]


def public(key: JWK) -> JWK:
    return key if key.is_symmetric else key.public()


@pytest.mark.parametrize("enc", ALL_CONTENT_ENCRYPTIONS)
@pytest.mark.parametrize("alg", ROUND_TRIP_ALGS)
def test_compact_round_trip_every_alg_and_enc(alg: str, enc: str) -> None:
    key = key_for(alg)
    header = {"p2c": 1000} if alg.startswith("PBES2") else None
    token = jwe.encrypt("héllo", public(key), alg=alg, enc=enc, header=header)
    result = jwe.decrypt(token, key, policy=PBES2_OK)
    assert result.plaintext == "héllo".encode()
    assert (result.header["alg"], result.header["enc"]) == (alg, enc)
    assert result.protected == result.header
    assert result.key is key


@pytest.mark.parametrize("enc", ALL_CONTENT_ENCRYPTIONS)
def test_dir_round_trip_needs_a_key_of_the_cek_size(enc: str) -> None:
    size = content_algorithm(enc).key_bytes
    key = JWK.from_secret(bytes(range(size)), alg="dir")
    assert jwe.decrypt(jwe.encrypt(b"x", key, enc=enc), key).plaintext == b"x"
    wrong = JWK.from_secret(bytes(range(size + 8)), alg="dir")
    with pytest.raises(KeyMismatchError, match="dir"):
        jwe.encrypt(b"x", wrong, enc=enc)


def test_the_key_decides_the_default_alg() -> None:
    rsa, ec = key_for("RSA-OAEP-256"), key_for("ECDH-ES")
    for key, expected in ((rsa, "RSA-OAEP-256"), (ec, "ECDH-ES")):
        members = {k: v for k, v in key.public().to_dict().items() if k != "alg"}
        token = jwe.encrypt(b"x", JWK(members))
        assert json.loads(b64url_decode(token.split(".")[0]))["alg"] == expected
    with pytest.raises(ValueError, match="symmetric"):
        jwe.encrypt(b"x", JWK.from_secret(bytes(32)))


def test_default_policy_is_the_recommended_set() -> None:
    assert "RSA1_5" not in jwe.DEFAULT_ALGORITHMS
    assert not any("PBES2" in a for a in jwe.DEFAULT_ALGORITHMS)
    assert {"dir", "A256KW", "A256GCMKW", "RSA-OAEP-256", "ECDH-ES+A256KW"} <= set(
        jwe.DEFAULT_ALGORITHMS
    )
    assert set(jwe.DEFAULT_ENCRYPTIONS) == set(ALL_CONTENT_ENCRYPTIONS)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"algorithms": "A256KW"}, TypeError),
        ({"algorithms": {"HS256"}}, ValueError),
        ({"algorithms": {"none"}}, ValueError),
        ({"algorithms": set()}, ValueError),
        ({"encryptions": {"A512GCM"}}, ValueError),
        ({"algorithms": {"PBES2-HS256+A128KW"}}, ValueError),
        ({"max_p2c": -1}, ValueError),
        ({"max_p2c": 1.5}, ValueError),
        ({"max_inflated": 0}, ValueError),
        ({"understood_crit": "x"}, TypeError),
    ],
)
def test_policy_mistakes_fail_when_built(kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        jwe.JWEPolicy(**kwargs)  # type: ignore[arg-type]


def test_allow_lists_are_enforced() -> None:
    key = key_for("A128KW")
    token = jwe.encrypt(b"x", key, enc="A128CBC-HS256")
    with pytest.raises(AlgorithmNotAllowedError):
        jwe.decrypt(token, key, policy=jwe.JWEPolicy(algorithms={"A256KW"}))
    with pytest.raises(AlgorithmNotAllowedError):
        jwe.decrypt(token, key, policy=jwe.JWEPolicy(encryptions={"A256GCM"}))


def test_key_set_selects_by_kid_and_reports_missing_kids() -> None:
    a, b = JWK.generate("A256KW", kid="a"), JWK.generate("A256KW", kid="b")
    token = jwe.encrypt(b"for b", b)
    assert jwe.decrypt(token, JWKSet([a, b])).key is b
    with pytest.raises(KeyNotFoundError):
        jwe.decrypt(token, JWKSet([a]))
    assert jwe.decrypt(token, [a, b.with_kid("other")]).plaintext == b"for b"


@pytest.mark.parametrize(
    "members",
    [{"use": "sig"}, {"key_ops": ["wrapKey"]}, {"alg": "A128KW"}],
)
def test_key_metadata_limits_use(members: dict[str, object]) -> None:
    key = JWK.generate("A256KW")
    token = jwe.encrypt(b"x", key)
    restricted = JWK({**key.to_dict(), **members, "alg": members.get("alg", "A256KW")})
    with pytest.raises(KeyMismatchError):
        jwe.decrypt(token, restricted)


def test_public_key_cannot_decrypt() -> None:
    key = key_for("RSA-OAEP")
    token = jwe.encrypt(b"x", key.public())
    with pytest.raises(KeyMismatchError):
        jwe.decrypt(token, key.public())


def test_a_signing_key_type_mismatch_is_refused() -> None:
    token = jwe.encrypt(b"x", key_for("RSA-OAEP-256").public())
    with pytest.raises(KeyMismatchError):
        jwe.decrypt(token, key_for("A256KW"))


def _reheader(token: str, header: dict[str, object]) -> str:
    return ".".join([b64url_encode(json.dumps(header).encode()), *token.split(".")[1:]])


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ({"enc": "A256GCM"}, MalformedError),
        ({"alg": "A256KW"}, MalformedError),
        ({"alg": "A256KW", "enc": "A512GCM"}, UnsupportedError),
        ({"alg": "none", "enc": "A256GCM"}, AlgorithmNotAllowedError),
        ({"alg": ["A256KW"], "enc": "A256GCM"}, AlgorithmNotAllowedError),
        ({"alg": "A256KW", "enc": "A256GCM", "crit": ["exp"]}, CritError),
        ({"alg": "A256KW", "enc": "A256GCM", "crit": []}, CritError),
        ({"alg": "A256KW", "enc": "A256GCM", "b64": False, "crit": ["b64"]}, CritError),
    ],
)
def test_bad_headers_rejected(header: dict[str, object], error: type) -> None:
    key = key_for("A256KW")
    with pytest.raises(error):
        jwe.decrypt(_reheader(jwe.encrypt(b"x", key), header), key)


def test_understood_crit_is_accepted_only_when_named() -> None:
    key = key_for("A256KW")
    token = jwe.encrypt(b"x", key, header={"exp-ext": 1, "crit": ["exp-ext"]})
    with pytest.raises(CritError):
        jwe.decrypt(token, key)
    policy = jwe.JWEPolicy(understood_crit={"exp-ext"})
    assert jwe.decrypt(token, key, policy=policy).plaintext == b"x"


@pytest.mark.parametrize(
    "token",
    ["a.b.c", "a.b.c.d.e.f", "", "....", "e30.AA.AA.AA.AA", " " + "x" * 10],
)
def test_malformed_compact_tokens_end_in_jose_errors(token: str) -> None:
    with pytest.raises(JoseError):
        jwe.decrypt(token, key_for("A256KW"))


def test_general_json_with_aad_and_shared_header() -> None:
    keys = [key_for("RSA-OAEP-256"), key_for("ECDH-ES+A128KW"), key_for("A128GCMKW")]
    data = jwe.encrypt_json(
        b"to all",
        [jwe.Recipient(public(k)) for k in keys],
        enc="A192GCM",
        protected={"cty": "text/plain"},
        unprotected={"jku": "https://example.com/jwks"},
        aad=b"bound",
    )
    for key in keys:
        result = jwe.decrypt_json(data, key)
        assert (result.plaintext, result.aad, result.key) == (b"to all", b"bound", key)
        assert result.protected == {"enc": "A192GCM", "cty": "text/plain"}
        assert result.header["jku"] == "https://example.com/jwks"
    tampered = {**data, "aad": b64url_encode(b"other")}
    with pytest.raises(JoseError):
        jwe.decrypt_json(tampered, keys[0])


def test_flattened_json_round_trip() -> None:
    key = key_for("A256KW")
    data = jwe.encrypt_json(b"flat", [jwe.Recipient(key)], flattened=True)
    assert "recipients" not in data
    assert "encrypted_key" in data
    assert jwe.decrypt_json(json.dumps(data), key).plaintext == b"flat"


def test_direct_algorithms_serve_one_recipient() -> None:
    with pytest.raises(ValueError, match="single recipient"):
        jwe.encrypt_json(
            b"x", [jwe.Recipient(key_for("ECDH-ES").public()), jwe.Recipient(key_for("A256KW"))]
        )


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(unprotected={"enc": "A256GCM"}),  # enc twice
        lambda d: d["recipients"][0]["header"].update(enc="A256GCM"),
        lambda d: d.update(extra=1),
        lambda d: d.update(header={}),
        lambda d: d.update(recipients=[]),
        lambda d: d.update(recipients=[{"header": {}}] * 17),
        lambda d: d.pop("iv"),
        lambda d: d.update(protected=7),
    ],
)
def test_json_structure_errors(change: object) -> None:
    key = key_for("A256KW")
    data = jwe.encrypt_json(b"x", [jwe.Recipient(key)])
    change(data)  # type: ignore[operator]
    with pytest.raises(JoseError):
        jwe.decrypt_json(data, key)


def test_caller_mistakes_on_encrypt_are_value_errors() -> None:
    key = key_for("A256KW")
    with pytest.raises(ValueError, match="A512GCM"):
        jwe.encrypt(b"x", key, enc="A512GCM")
    with pytest.raises(ValueError, match="contradicts"):
        jwe.encrypt(b"x", key, header={"alg": "A128KW"})
    with pytest.raises(ValueError, match="compress"):
        jwe.encrypt(b"x", key, header={"zip": "DEF"})
    with pytest.raises(ValueError, match="crit"):
        jwe.encrypt(b"x", key, header={"crit": ["missing"]})
    with pytest.raises(TypeError):
        jwe.encrypt(b"x", key.to_dict())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="recipient"):
        jwe.encrypt_json(b"x", [])
