"""S12: duplicate JSON member names are refused at any depth, in headers, claims,
JWS JSON objects, JWKs and key sets. Tokens are built from raw JSON text and
correctly signed, so the duplicate is the only thing wrong with them."""

from __future__ import annotations

import json

import pytest
from hostile import LATER, POLICY, forge, rejected

from tokensmith.jose import JWK, JWKSet, jws, jwt

DUP = "jose_duplicate_member"

HEADERS = {
    "alg none then HS256": '{"alg":"none","alg":"HS256"}',
    "alg HS256 then none": '{"alg":"HS256","alg":"none"}',
    "same alg twice": '{"alg":"HS256","alg":"HS256"}',
    "escaped duplicate name": '{"alg":"HS256","\\u0061lg":"HS256"}',
    "duplicate kid": '{"alg":"HS256","kid":"hs","kid":"other"}',
    "duplicate typ": '{"alg":"HS256","typ":"JWT","typ":"at+jwt"}',
    "duplicate crit": '{"alg":"HS256","crit":["x"],"x":1,"crit":[]}',
    "nested object": '{"alg":"HS256","jwk":{"kty":"oct","kty":"RSA"}}',
    "inside an array": '{"alg":"HS256","x":[1,{"a":1,"a":2}]}',
    "deep": '{"alg":"HS256","x":{"y":[{"z":{"w":1,"w":1}}]}}',
}
CLAIMS = {
    "duplicate sub": f'{{"sub":"alice","sub":"admin","exp":{LATER}}}',
    "duplicate exp": f'{{"sub":"a","exp":{LATER},"exp":1}}',
    "duplicate inside cnf": f'{{"sub":"a","exp":{LATER},"cnf":{{"jkt":"a","jkt":"b"}}}}',
    "escaped duplicate sub": f'{{"sub":"a","\\u0073ub":"admin","exp":{LATER}}}',
    "deep in an array": f'{{"sub":"a","exp":{LATER},"roles":[{{"r":[{{"x":1,"x":2}}]}}]}}',
}


@pytest.mark.parametrize("header", HEADERS.values(), ids=HEADERS.keys())
def test_s12_duplicate_in_header_rejected(header: str, hs256: JWK) -> None:
    token = forge(header, json.dumps({"sub": "a", "exp": LATER}), hs256, alg="HS256")
    with rejected(DUP):
        jwt.decode(token, hs256, policy=POLICY)
    with rejected(DUP):
        jws.verify(token, hs256)
    with rejected(DUP):
        jwt.peek(token)
    protected, payload, signature = token.split(".")
    with rejected(DUP):
        jws.verify_json({"protected": protected, "payload": payload, "signature": signature}, hs256)


@pytest.mark.parametrize("claims", CLAIMS.values(), ids=CLAIMS.keys())
def test_s12_duplicate_in_claims_rejected(claims: str, hs256: JWK) -> None:
    token = forge({"alg": "HS256", "typ": "JWT"}, claims, hs256)
    with rejected(DUP):
        jwt.decode(token, hs256, policy=POLICY)
    with rejected(DUP):
        jwt.peek(token)


def test_s12_claims_without_duplicates_accepted(hs256: JWK) -> None:
    """Control: the same raw construction without the duplicate verifies."""
    claims = f'{{"sub":"a","exp":{LATER},"cnf":{{"jkt":"a"}},"x":[{{"a":1}},{{"a":1}}]}}'
    token = forge({"alg": "HS256"}, claims, hs256)
    assert jwt.decode(token, hs256, policy=POLICY).claims["cnf"] == {"jkt": "a"}


def _signed_parts(hs256: JWK) -> tuple[str, str, str]:
    protected, payload, signature = forge({"alg": "HS256"}, b"payload", hs256).split(".")
    return protected, payload, signature


@pytest.mark.parametrize("member", ["payload", "protected", "signature", "header"])
def test_s12_duplicate_member_in_jws_json_object_rejected(member: str, hs256: JWK) -> None:
    protected, payload, signature = _signed_parts(hs256)
    values = {
        "protected": f'"{protected}"',
        "payload": f'"{payload}"',
        "signature": f'"{signature}"',
        "header": '{"kid":"hs"}',
    }
    others = ",".join(f'"{k}":{v}' for k, v in values.items() if k != member)
    text = f'{{"{member}":{values[member]},{others},"{member}":{values[member]}}}'
    with rejected(DUP):
        jws.verify_json(text, hs256)


def test_s12_duplicate_in_unprotected_header_and_general_entries_rejected(hs256: JWK) -> None:
    protected, payload, signature = _signed_parts(hs256)
    p, s = f'"protected":"{protected}"', f'"signature":"{signature}"'
    flattened = f'{{{p},"header":{{"kid":"hs","kid":"x"}},"payload":"{payload}",{s}}}'
    with rejected(DUP):
        jws.verify_json(flattened, hs256)
    general = f'{{"payload":"{payload}","signatures":[{{{p},{s},{s}}}]}}'
    with rejected(DUP):
        jws.verify_json(general, hs256)
    ok = f'{{"payload":"{payload}","signatures":[{{{p},{s}}}]}}'
    assert jws.verify_json(ok, hs256).payload == b"payload"


def test_s12_duplicate_in_jwk_and_jwkset_rejected(es256: JWK) -> None:
    public = es256.public().to_dict()
    body = json.dumps(public)[1:-1]
    for text in (
        f'{{{body},"x":"{public["y"]}"}}',
        f'{{{body},"kty":"oct"}}',
        f'{{{body},"kid":"other"}}',
    ):
        with rejected(DUP):
            JWK.from_json(text)
        with rejected(DUP):
            JWK.import_key(text)
        with rejected(DUP):
            JWKSet.from_json(f'{{"keys":[{text}]}}')
    with rejected(DUP):
        JWKSet.from_json(f'{{"keys":[{{{body}}}],"keys":[]}}')
    assert JWKSet.from_json(f'{{"keys":[{{{body}}}]}}').get(es256.kid) == es256.public()


def test_s12_duplicate_kids_in_a_set_rejected(es256: JWK) -> None:
    """Two keys under one kid is the set-level duplicate (also S19)."""
    other = JWK.generate("ES256", kid=es256.kid).public()
    text = json.dumps({"keys": [es256.public().to_dict(), other.to_dict()]})
    with rejected("jwks_invalid"):
        JWKSet.from_json(text)
