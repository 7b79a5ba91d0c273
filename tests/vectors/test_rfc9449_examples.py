"""RFC 9449 examples as vectors: the proofs of Figures 3 (§4.1, token request) and 13
(§7.1, resource request with ``ath``), the example key's RFC 7638 thumbprint (§6.1,
Figure 7's ``cnf.jkt``) and the ``ath`` of §7.1's access token.

The RFC's proofs were made in July 2019 (``iat`` 1562262616 / 1562262618): they are
verified with ``now`` set to their own time, and refused once their window has passed.
"""

from __future__ import annotations

import pytest

from tokensmith.jose import JWK, dpop
from tokensmith.jose.errors import (
    DPoPAthMismatchError,
    DPoPHtmMismatchError,
    DPoPHtuMismatchError,
    DPoPIatError,
    DPoPInvalidSignatureError,
    DPoPJktMismatchError,
)

# Figure 3/4 (the public key in both proofs' 'jwk' header).
RFC_JWK = {
    "kty": "EC",
    "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
    "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
    "crv": "P-256",
}
# §6.1 Figure 7: cnf.jkt of an access token bound to that key.
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
# §4.1 Figure 3: the proof sent with a token request.
TOKEN_REQUEST_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgt"
    "MzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VO"
    "SmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRj"
    "IiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0Ijox"
    "NTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJ"
    "K70nfbV37xRZT3Lg"
)
TOKEN_REQUEST_IAT = 1562262616
# §7.1 Figure 13: the proof sent with a protected resource request, and its token.
ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
ACCESS_TOKEN_ATH = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
RESOURCE_PROOF = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgt"
    "MzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VO"
    "SmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVC"
    "IiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNv"
    "dXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlp"
    "S0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1d"
    "qd-jfxSYoMxhAJpLjA"
)
RESOURCE_IAT = 1562262618
RESOURCE_URL = "https://resource.example.org/protectedresource"


def test_the_example_key_has_the_published_thumbprint() -> None:
    assert JWK(RFC_JWK).thumbprint() == RFC_JKT


def test_the_example_access_token_has_the_published_ath() -> None:
    assert dpop.access_token_hash(ACCESS_TOKEN) == ACCESS_TOKEN_ATH


def test_the_token_request_proof_verifies_at_its_time() -> None:
    result = dpop.verify_proof(
        TOKEN_REQUEST_PROOF,
        htm="POST",
        htu="https://server.example.com/token",
        now=TOKEN_REQUEST_IAT + 1,
        expected_jkt=RFC_JKT,
    )
    assert result.jti == "-BwC3ESc6acc2lTc"
    assert result.iat == TOKEN_REQUEST_IAT
    assert result.jkt == RFC_JKT
    assert result.key == JWK(RFC_JWK)
    assert result.header["typ"] == "dpop+jwt"
    assert result.claims == {
        "jti": "-BwC3ESc6acc2lTc",
        "htm": "POST",
        "htu": "https://server.example.com/token",
        "iat": TOKEN_REQUEST_IAT,
    }


def test_the_resource_proof_verifies_with_its_access_token() -> None:
    result = dpop.verify_proof(
        RESOURCE_PROOF,
        htm="GET",
        htu=RESOURCE_URL,
        now=RESOURCE_IAT,
        access_token=ACCESS_TOKEN,
        expected_jkt=RFC_JKT,
    )
    assert result.jti == "e1j3V_bKic8-LAEB"
    assert result.claims["ath"] == ACCESS_TOKEN_ATH


def test_the_request_url_is_compared_after_normalisation() -> None:
    # Upper-case scheme and host, the default port, and a query: still the same htu.
    url = "HTTPS://Resource.Example.ORG:443/protectedresource?x=1#f"
    result = dpop.verify_proof(
        RESOURCE_PROOF, htm="GET", htu=url, now=RESOURCE_IAT, access_token=ACCESS_TOKEN
    )
    assert result.jkt == RFC_JKT


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"htm": "POST"}, DPoPHtmMismatchError),
        ({"htu": "https://resource.example.org/other"}, DPoPHtuMismatchError),
        ({"htu": "http://resource.example.org/protectedresource"}, DPoPHtuMismatchError),
        ({"now": RESOURCE_IAT + 3600}, DPoPIatError),
        ({"now": RESOURCE_IAT - 3600}, DPoPIatError),
        ({"access_token": ACCESS_TOKEN + "x"}, DPoPAthMismatchError),
        ({"expected_jkt": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"}, DPoPJktMismatchError),
    ],
)
def test_the_resource_proof_is_refused_for_anything_else(
    change: dict[str, object], error: type[Exception]
) -> None:
    args: dict[str, object] = {
        "htm": "GET",
        "htu": RESOURCE_URL,
        "now": RESOURCE_IAT,
        "access_token": ACCESS_TOKEN,
        **change,
    }
    with pytest.raises(error):
        dpop.verify_proof(RESOURCE_PROOF, **args)  # type: ignore[arg-type]


def test_a_changed_signature_byte_is_refused() -> None:
    head, body, signature = RESOURCE_PROOF.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(DPoPInvalidSignatureError):
        dpop.verify_proof(f"{head}.{body}.{flipped}", htm="GET", htu=RESOURCE_URL, now=RESOURCE_IAT)


def test_figure_21_nonce_claim_shape_round_trips() -> None:
    # §8 Figure 21: a token-request proof carrying the server's nonce. Its claims are
    # published unsigned: sign them with a key of ours and check the nonce comparison.
    key = JWK.generate("ES256")
    proof = dpop.make_proof(
        key,
        htm="POST",
        htu="https://server.example.com/token",
        iat=1562262617,
        jti="-BwC3ESc6acc2lTc",
        nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v",
    )
    result = dpop.verify_proof(
        proof,
        htm="POST",
        htu="https://server.example.com/token",
        now=1562262617,
        nonce="eyJ7S_zG.eyJH0-Z.HX4w-7v",
    )
    assert result.claims["nonce"] == "eyJ7S_zG.eyJH0-Z.HX4w-7v"
