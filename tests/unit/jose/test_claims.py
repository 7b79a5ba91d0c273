"""Unit tests of tokensmith.jose.claims: ClaimsPolicy construction errors and every
validation branch, with a fixed clock (never sleeps)."""

from __future__ import annotations

import pytest

from tokensmith.jose import ClaimsPolicy
from tokensmith.jose.errors import InvalidIssuerError

NOW = 1_700_000_000


def clock() -> float:
    return NOW


@pytest.mark.parametrize("field", ["issuer", "audience"])
def test_regression_empty_string_issuer_or_audience_refused_at_construction(field: str) -> None:
    """``ClaimsPolicy(issuer="")`` was accepted and then matched only tokens whose ``iss``
    was the empty string, while ``issuer=[""]`` was refused: an empty expected value is a
    caller mistake and now fails when the policy is built."""
    with pytest.raises(ValueError, match="empty"):
        ClaimsPolicy(**{field: ""}, now=clock)  # type: ignore[arg-type]


def test_regression_empty_issuer_no_longer_matches_empty_iss() -> None:
    policy = ClaimsPolicy(issuer="https://id.example", required=(), now=clock)
    with pytest.raises(InvalidIssuerError):
        policy.validate({"iss": ""})
