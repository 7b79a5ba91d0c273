"""RFC 7516 Appendix A (A.1-A.4) and RFC 7518 Appendix C, as printed in the RFCs.

These examples are not in ../shared/vectors; the values below are the RFCs' own text
(keys, tokens, CEKs), which carry over as facts. A.1 and A.2 use RSA-OAEP and RSA1_5,
whose encryption is randomized, so they are decrypted; A.3 (AES key wrap) is
deterministic and is also reproduced byte for byte.
"""

from __future__ import annotations

import json

import pytest

from tokensmith.jose import JWK, jwe
from tokensmith.jose.content import content_algorithm
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import AlgorithmNotAllowedError
from tokensmith.jose.keymgmt import KEY_MANAGEMENT, UnwrapOptions, aes_kw_wrap, agree, concat_kdf

A1_KEY = {
    "kty": "RSA",
    "n": (
        "oahUIoWw0K0usKNuOR6H4wkf4oBUXHTxRvgb48E-BVvxkeDNjbC4he8rUWcJoZmds2h7M70i"
        "mEVhRU5djINXtqllXI4DFqcI1DgjT9LewND8MW2Krf3Spsk_ZkoFnilakGygTwpZ3uesH-PF"
        "ABNIUYpOiN15dsQRkgr0vEhxN92i2asbOenSZeyaxziK72UwxrrKoExv6kc5twXTq4h-QChL"
        "Oln0_mtUZwfsRaMStPs6mS6XrgxnxbWhojf663tuEQueGC-FCMfra36C9knDFGzKsNa7LZK2"
        "djYgyD3JR_MB_4NUJW_TqOQtwHYbxevoJArm-L5StowjzGy-_bq6Gw"
    ),
    "e": "AQAB",
    "d": (
        "kLdtIj6GbDks_ApCSTYQtelcNttlKiOyPzMrXHeI-yk1F7-kpDxY4-WY5NWV5KntaEeXS1j8"
        "2E375xxhWMHXyvjYecPT9fpwR_M9gV8n9Hrh2anTpTD93Dt62ypW3yDsJzBnTnrYu1iwWRgB"
        "KrEYY46qAZIrA2xAwnm2X7uGR1hghkqDp0Vqj3kbSCz1XyfCs6_LehBwtxHIyh8Ripy40p24"
        "moOAbgxVw3rxT_vlt3UVe4WO3JkJOzlpUf-KTVI2Ptgm-dARxTEtE-id-4OJr0h-K-VFs3VS"
        "ndVTIznSxfyrj8ILL6MG_Uv8YAu7VILSB3lOW085-4qE3DzgrTjgyQ"
    ),
    "p": (
        "1r52Xk46c-LsfB5P442p7atdPUrxQSy4mti_tZI3Mgf2EuFVbUoDBvaRQ-SWxkbkmoEzL7JX"
        "roSBjSrK3YIQgYdMgyAEPTPjXv_hI2_1eTSPVZfzL0lffNn03IXqWF5MDFuoUYE0hzb2vhrl"
        "N_rKrbfDIwUbTrjjgieRbwC6Cl0"
    ),
    "q": (
        "wLb35x7hmQWZsWJmB_vle87ihgZ19S8lBEROLIsZG4ayZVe9Hi9gDVCOBmUDdaDYVTSNx_8F"
        "yw1YYa9XGrGnDew00J28cRUoeBB_jKI1oma0Orv1T9aXIWxKwd4gvxFImOWr3QRL9KEBRzk2"
        "RatUBnmDZJTIAfwTs0g68UZHvtc"
    ),
    "dp": (
        "ZK-YwE7diUh0qR1tR7w8WHtolDx3MZ_OTowiFvgfeQ3SiresXjm9gZ5KLhMXvo-uz-KUJWDx"
        "S5pFQ_M0evdo1dKiRTjVw_x4NyqyXPM5nULPkcpU827rnpZzAJKpdhWAgqrXGKAECQH0Xt4t"
        "aznjnd_zVpAmZZq60WPMBMfKcuE"
    ),
    "dq": (
        "Dq0gfgJ1DdFGXiLvQEZnuKEN0UUmsJBxkjydc3j4ZYdBiMRAy86x0vHCjywcMlYYg4yoC4YZ"
        "a9hNVcsjqA3FeiL19rk8g6Qn29Tt0cj8qqyFpz9vNDBUfCAiJVeESOjJDZPYHdHY8v1b-o-Z"
        "2X5tvLx-TCekf7oxyeKDUqKWjis"
    ),
    "qi": (
        "VIMpMYbPf47dT1w_zDUXfPimsSegnMOA1zTaX7aGk_8urY6R8-ZW1FxU7AlWAyLWybqq6t16"
        "VFd7hQd0y6flUK4SlOydB61gwanOsXGOAOv82cHq0E3eL4HrtZkUuKvnPrMnsUUFlfUdybVz"
        "xyjz9JF_XyaY14ardLSjf4L_FNY"
    ),
}
A1_TOKEN = (
    "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcg"
    "V7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq"
    "7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam"
    "_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBI"
    "O56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTI"
    "y3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOe"
    "DQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodet"
    "ZdvTiFvSkQ"
)
A2_KEY = {
    "kty": "RSA",
    "n": (
        "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM"
        "9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qT"
        "RsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA8"
        "4-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWF"
        "LU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw"
    ),
    "e": "AQAB",
    "d": (
        "VFCWOqXr8nvZNyaaJLXdnNPXZKRaWCjkU5Q2egQQpTBMwhprMzWzpR8Sxq1OPThh_J6MUD8Z"
        "35wky9b8eEO0pwNS8xlh1lOFRRBoNqDIKVOku0aZb-rynq8cxjDTLZQ6Fz7jSjR1Klop-YKa"
        "UHc9GsEofQqYruPhzSA-QgajZGPbE_0ZaVDJHfyd7UUBUKunFMScbflYAAOYJqVIVwaYR5zW"
        "EEceUjNnTNo_CVSj-VvXLO5VZfCUAVLgW4dpf1SrtZjSt34YLsRarSb127reG_DUwg9Ch-Ky"
        "vjT1SkHgUWRVGcyly7uvVGRSDwsXypdrNinPA4jlhoNdizK2zF2CWQ"
    ),
    "p": (
        "9gY2w6I6S6L0juEKsbeDAwpd9WMfgqFoeA9vEyEUuk4kLwBKcoe1x4HG68ik918hdDSE9vDQ"
        "SccA3xXHOAFOPJ8R9EeIAbTi1VwBYnbTp87X-xcPWlEPkrdoUKW60tgs1aNd_Nnc9LEVVPMS"
        "390zbFxt8TN_biaBgelNgbC95sM"
    ),
    "q": (
        "uKlCKvKv_ZJMVcdIs5vVSU_6cPtYI1ljWytExV_skstvRSNi9r66jdd9-yBhVfuG4shsp2j7"
        "rGnIio901RBeHo6TPKWVVykPu1iYhQXw1jIABfw-MVsN-3bQ76WLdt2SDxsHs7q7zPyUyHXm"
        "ps7ycZ5c72wGkUwNOjYelmkiNS0"
    ),
    "dp": (
        "w0kZbV63cVRvVX6yk3C8cMxo2qCM4Y8nsq1lmMSYhG4EcL6FWbX5h9yuvngs4iLEFk6eALoU"
        "S4vIWEwcL4txw9LsWH_zKI-hwoReoP77cOdSL4AVcraHawlkpyd2TWjE5evgbhWtOxnZee3c"
        "XJBkAi64Ik6jZxbvk-RR3pEhnCs"
    ),
    "dq": (
        "o_8V14SezckO6CNLKs_btPdFiO9_kC1DsuUTd2LAfIIVeMZ7jn1Gus_Ff7B7IVx3p5KuBGOV"
        "F8L-qifLb6nQnLysgHDh132NDioZkhH7mI7hPG-PYE_odApKdnqECHWw0J-F0JWnUd6D2B_1"
        "TvF9mXA2Qx-iGYn8OVV1Bsmp6qU"
    ),
    "qi": (
        "eNho5yRBEBxhGBtQRww9QirZsB66TrfFReG_CcteI1aCneT0ELGhYlRlCtUkTRclIfuEPmNs"
        "NDPbLoLqqCVznFbvdB7x-Tl-m0l_eFTj2KiqwGqE9PZB9nNTwMVvH3VRRSLWACvPnSiwP8N5"
        "Usy-WRXS-V7TbpxIhvepTfE0NNo"
    ),
}
A2_TOKEN = (
    "eyJhbGciOiJSU0ExXzUiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0.UGhIOguC7IuEvf_NPVaX"
    "sGMoLOmwvc1GyqlIKOK1nN94nHPoltGRhWhw7Zx0-kFm1NJn8LE9XShH59_i8J0PH5ZZyNfG"
    "y2xGdULU7sHNF6Gp2vPLgNZ__deLKxGHZ7PcHALUzoOegEI-8E66jX2E4zyJKx-YxzZIItRz"
    "C5hlRirb6Y5Cl_p-ko3YvkkysZIFNPccxRU7qve1WYPxqbb2Yw8kZqa2rMWI5ng8OtvzlV7e"
    "lprCbuPhcCdZ6XDP0_F8rkXds2vE4X-ncOIM8hAYHHi29NX0mcKiRaD0-D-ljQTP-cFPgwCp"
    "6X-nZZd9OHBv-B3oWh2TbqmScqXMR4gp_A.AxY8DCtDaGlsbGljb3RoZQ.KDlTtXchhZTGuf"
    "MYmOYGS4HffxPSUrfmqCHXaI9wOGY.9hH0vgRfYgPnAHOd8stkvw"
)

A1_PLAINTEXT = b"The true sign of intelligence is not knowledge but imagination."
A2_PLAINTEXT = b"Live long and prosper."
A3_KEY = {"kty": "oct", "k": "GawgguFyGrWKav7AX4VKUg"}
A3_TOKEN = (
    "eyJhbGciOiJBMTI4S1ciLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0."
    "6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ."
    "AxY8DCtDaGlsbGljb3RoZQ."
    "KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY."
    "U0m_YmjN04DJvceFICbCVQ"
)
# RFC 7516 A.2.2 / A.3.2: the Content Encryption Key of A.2 and A.3.
A3_CEK = bytes(
    [4, 211, 31, 197, 84, 157, 252, 254, 11, 100, 157, 250, 63, 170, 106, 206,
     107, 124, 212, 45, 111, 107, 9, 219, 200, 177, 0, 240, 143, 156, 44, 207]
)  # fmt: skip
A4_JSON = {
    "protected": "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2In0",
    "unprotected": {"jku": "https://server.example.com/keys.jwks"},
    "recipients": [
        {
            "header": {"alg": "RSA1_5", "kid": "2011-04-29"},
            "encrypted_key": A2_TOKEN.split(".")[1],
        },
        {
            "header": {"alg": "A128KW", "kid": "7"},
            "encrypted_key": "6KB707dM9YTIgHtLvtgWQ8mKwboJW3of9locizkDTHzBC2IlrT1oOQ",
        },
    ],
    "iv": "AxY8DCtDaGlsbGljb3RoZQ",
    "ciphertext": "KDlTtXchhZTGufMYmOYGS4HffxPSUrfmqCHXaI9wOGY",
    "tag": "Mz-VPPyU4RlcuYv1IwIvzw",
}

# RFC 7518 Appendix C: ECDH-ES key agreement between Alice (ephemeral) and Bob.
C_ALICE = {
    "kty": "EC",
    "crv": "P-256",
    "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
    "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
    "d": "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo",
}
C_BOB = {
    "kty": "EC",
    "crv": "P-256",
    "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
    "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
    "d": "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw",
}
C_Z = bytes(
    [158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156,
     251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196]
)  # fmt: skip
C_DERIVED_KEY = "VqqN6vgjbSBcIijNcacQGg"

RSA1_5_ON = jwe.JWEPolicy(algorithms={"RSA1_5", "A128KW"})


def test_rfc7516_a1_rsa_oaep_a256gcm_decrypts() -> None:
    result = jwe.decrypt(A1_TOKEN, JWK(A1_KEY))
    assert result.plaintext == A1_PLAINTEXT
    assert result.header == {"alg": "RSA-OAEP", "enc": "A256GCM"}


def test_rfc7516_a2_rsa1_5_decrypts_only_when_enabled() -> None:
    with pytest.raises(AlgorithmNotAllowedError):
        jwe.decrypt(A2_TOKEN, JWK(A2_KEY))
    assert jwe.decrypt(A2_TOKEN, JWK(A2_KEY), policy=RSA1_5_ON).plaintext == A2_PLAINTEXT


def test_rfc7516_a3_aes_kw_a128cbc_hs256_decrypts() -> None:
    result = jwe.decrypt(A3_TOKEN, JWK(A3_KEY))
    assert result.plaintext == A2_PLAINTEXT


def test_rfc7516_a3_reproduced_byte_for_byte() -> None:
    """AES key wrap and CBC-HMAC are deterministic: with the RFC's CEK and IV, our
    primitives produce exactly the RFC's encrypted key, ciphertext and tag."""
    protected_b64, ek, iv, ciphertext, tag = A3_TOKEN.split(".")
    assert aes_kw_wrap(b64url_decode(A3_KEY["k"]), A3_CEK) == b64url_decode(ek)
    enc = content_algorithm("A128CBC-HS256")
    ct, t = enc.encrypt(A3_CEK, b64url_decode(iv), A2_PLAINTEXT, protected_b64.encode("ascii"))
    assert (b64url_encode(ct), b64url_encode(t)) == (ciphertext, tag)


def test_rfc7516_a2_and_a3_share_the_cek() -> None:
    """A.2's RSA1_5 encrypted key holds the same CEK as A.3's wrapped key."""
    unwrap = KEY_MANAGEMENT["RSA1_5"].unwrap
    enc = content_algorithm("A128CBC-HS256")
    encrypted_key = b64url_decode(A2_TOKEN.split(".")[1])
    assert unwrap(JWK(A2_KEY), enc, encrypted_key, {}, UnwrapOptions()) == A3_CEK


@pytest.mark.parametrize(("kid", "key"), [("7", A3_KEY), ("2011-04-29", A2_KEY)])
def test_rfc7516_a4_general_json_each_recipient_decrypts(kid: str, key: dict[str, str]) -> None:
    result = jwe.decrypt_json(json.dumps(A4_JSON), JWK({**key, "kid": kid}), policy=RSA1_5_ON)
    assert result.plaintext == A2_PLAINTEXT
    assert result.header["kid"] == kid
    assert result.header["jku"] == "https://server.example.com/keys.jwks"


def test_rfc7518_c_ecdh_es_shared_secret_and_concat_kdf() -> None:
    alice, bob = JWK(C_ALICE), JWK(C_BOB)
    z = agree(bob.private_key_object, alice.public_key_object)
    assert z == C_Z
    assert agree(alice.private_key_object, bob.public_key_object) == C_Z
    assert b64url_encode(concat_kdf(z, "A128GCM", b"Alice", b"Bob", 16)) == C_DERIVED_KEY


def test_rfc7518_c_ecdh_es_unwrap_from_the_header_gives_the_derived_key() -> None:
    """The full decrypting path: Bob reads the RFC's header (epk, apu, apv) and derives
    the RFC's key."""
    header = {
        "alg": "ECDH-ES",
        "enc": "A128GCM",
        "apu": "QWxpY2U",
        "apv": "Qm9i",
        "epk": {k: C_ALICE[k] for k in ("kty", "crv", "x", "y")},
    }
    unwrap = KEY_MANAGEMENT["ECDH-ES"].unwrap
    cek = unwrap(JWK(C_BOB), content_algorithm("A128GCM"), b"", header, UnwrapOptions())
    assert b64url_encode(cek) == C_DERIVED_KEY
