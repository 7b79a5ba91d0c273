"""Keys shared by the hostile-input tests (generated once per session)."""

from __future__ import annotations

import pytest

from tokensmith.jose import JWK


@pytest.fixture(scope="session")
def hs256() -> JWK:
    return JWK.generate("HS256", kid="hs")


@pytest.fixture(scope="session")
def rs256() -> JWK:
    return JWK.generate("RS256", kid="rsa")


@pytest.fixture(scope="session")
def es256() -> JWK:
    return JWK.generate("ES256", kid="ec")


@pytest.fixture(scope="session")
def ed25519() -> JWK:
    return JWK.generate("EdDSA", kid="ed")
