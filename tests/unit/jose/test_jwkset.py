"""Unit tests of tokensmith.jose.jwkset."""

from __future__ import annotations

import pytest

from tokensmith.jose import JWK, JWKSet
from tokensmith.jose.errors import InvalidKeySetError, MalformedError


@pytest.fixture(scope="module")
def keys() -> dict[str, JWK]:
    return {
        "es": JWK.generate("ES256", kid="es"),
        "ed": JWK.generate("EdDSA", kid="ed"),
        "hs": JWK.generate("HS256", kid="hs"),
        "noalg": JWK(
            {k: v for k, v in JWK.generate("ES384").to_dict().items() if k != "alg"}
            | {"kid": "noalg"}
        ),
    }


def test_get_and_select(keys: dict[str, JWK]) -> None:
    s = JWKSet(keys.values())
    assert s.get("es") is keys["es"]
    assert s.get("missing") is None
    assert s.get(0) is None
    assert s.get(["es"]) is None
    assert s.select(kid="ed") == [keys["ed"]]
    assert s.select(kid="missing") == []
    assert s.select(alg="ES256") == [keys["es"], keys["noalg"]]  # no alg matches any
    assert s.select(kty="oct") == [keys["hs"]]
    assert s.select(alg="EdDSA", kty="OKP") == [keys["ed"]]
    # select filters on metadata only: a key without alg matches any alg; whether it can
    # serve the algorithm is checked when it is used (verify_signature / check_usable).
    assert s.select(alg="EdDSA", kty="EC") == [keys["noalg"]]
    assert len(s) == 4
    assert list(s) == list(keys.values())
    assert s[1] is keys["ed"]


def test_select_by_use() -> None:
    sig = JWK({**JWK.generate("ES256").to_dict(), "use": "sig", "kid": "s"})
    enc = JWK({**JWK.generate("ES256").to_dict(), "use": "enc", "kid": "e"})
    s = JWKSet([sig, enc])
    assert s.select(use="sig") == [sig]


def test_public_leaves_out_symmetric_keys(keys: dict[str, JWK]) -> None:
    public = JWKSet(keys.values()).public()
    assert [k.kid for k in public] == ["es", "ed", "noalg"]
    assert not any(k.is_private for k in public)
    round_trip = JWKSet.from_json(public.to_json(), public_only=True)
    assert [k.thumbprint() for k in round_trip] == [k.thumbprint() for k in public]


def test_s19_duplicate_kids_refused(keys: dict[str, JWK]) -> None:
    with pytest.raises(InvalidKeySetError):
        JWKSet([keys["es"], keys["ed"].with_kid("es")])


def test_s19_private_keys_in_public_set_refused(keys: dict[str, JWK]) -> None:
    with pytest.raises(InvalidKeySetError):
        JWKSet([keys["es"]], public_only=True)
    for member in (keys["es"].to_dict(), keys["hs"].to_dict()):
        with pytest.raises(InvalidKeySetError):
            JWKSet.from_dict({"keys": [member]}, public_only=True)
    assert len(JWKSet.from_dict({"keys": [keys["es"].to_dict()]})) == 1


def test_unsupported_kty_and_curves_are_skipped(keys: dict[str, JWK]) -> None:
    data = {
        "keys": [
            {"kty": "PQC", "kid": "future"},
            keys["es"].public().to_dict(),
            {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"},
        ]
    }
    s = JWKSet.from_dict(data)
    assert [k.kid for k in s] == ["es"]
    assert [index for index, _ in s.skipped] == [0, 2]
    assert all(reason for _, reason in s.skipped)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"keys": {}},
        {},
        {"keys": ["x"]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]},
        {"keys": [{"kty": "oct", "k": "AAAA"}] * 101},
    ],
    ids=["list", "keys-object", "no-keys", "string-member", "invalid-key", "too-many"],
)
def test_malformed_sets_refused(data: object) -> None:
    with pytest.raises(InvalidKeySetError):
        JWKSet.from_dict(data)  # type: ignore[arg-type]


def test_from_json_is_strict() -> None:
    with pytest.raises(MalformedError):
        JWKSet.from_json('{"keys": [], "keys": []}')


def test_constructor_takes_only_jwks() -> None:
    with pytest.raises(TypeError):
        JWKSet([{"kty": "oct"}])  # type: ignore[list-item]
