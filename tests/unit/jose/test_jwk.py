"""Unit tests of tokensmith.jose.jwk: import/export in every form, generation, public
halves, thumbprints, metadata and equality."""

from __future__ import annotations

import pytest

from tokensmith.jose import JWK


def test_regression_to_pem_empty_password_is_not_silently_unencrypted() -> None:
    """``to_pem(password=b"")`` used to write an unencrypted private key: an empty
    password was treated as no password. Asking for encryption with an unusable
    password is a caller mistake: ValueError, never plaintext key material."""
    key = JWK.generate("ES256")
    with pytest.raises(ValueError, match="Password"):
        key.to_pem(password=b"")
    with pytest.raises(ValueError, match="Password"):
        key.to_der(password=b"")
    assert b"ENCRYPTED PRIVATE KEY" in key.to_pem(password=b"x")
