"""JWT claims validation (RFC 7519 §4.1, RFC 8725, RFC 9068).

A :class:`ClaimsPolicy` is an immutable value: what the caller expects of a token.
Building one with a nonsensical value (a negative leeway, ``none`` as an algorithm)
raises ``ValueError`` / ``TypeError`` at once; validating a token against it raises
only :class:`~tokensmith.jose.errors.ClaimsError` subclasses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Final

from .algorithms import SIGNING_ALGORITHMS
from .encoding import DEFAULT_LIMITS, Limits
from .errors import (
    ExpiredError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSubjectError,
    InvalidTypeError,
    IssuedInFutureError,
    MissingClaimError,
    NotYetValidError,
    TooOldError,
)

#: Leeway above this is refused when a policy is built: clock skew is seconds, not hours.
MAX_LEEWAY: Final = 300.0
#: 9999-12-31T23:59:59Z. Date claims beyond this are refused as nonsense (S14).
MAX_NUMERIC_DATE: Final = 253402300799
_DATE_CLAIMS: Final = ("exp", "nbf", "iat")
_STRING_CLAIMS: Final = ("iss", "sub", "jti")
_MISSING: Final[Any] = object()


def _as_tuple(value: str | Collection[str] | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ValueError(f"{what} must not be an empty string")
        return (value,)
    items = tuple(value)
    if not items or not all(type(v) is str and v for v in items):
        raise TypeError(f"{what} must be a non-empty string or a non-empty collection of them")
    return items


def _normalise_typ(value: str) -> str:
    """RFC 7515 §4.1.9: compare media types case-insensitively, ``application/`` optional."""
    lowered = value.lower()
    return lowered[len("application/") :] if lowered.startswith("application/") else lowered


@dataclass(frozen=True, slots=True)
class ClaimsPolicy:
    """What a token must satisfy.

    - ``issuer``: accepted ``iss`` value(s); when set, ``iss`` is required.
    - ``audience``: the value(s) this recipient answers to; when set, ``aud`` is
      required and must contain one of them. When unset, a token that carries
      ``aud`` is refused (RFC 7519 §4.1.3: a recipient must identify itself).
    - ``subject``: the expected ``sub``, when the caller knows it.
    - ``algorithms``: the allow-list (default: what the key's type allows).
    - ``required``: claims that must be present (default ``exp``).
    - ``leeway``: seconds of clock skew tolerated, 0 to 300.
    - ``max_age``: seconds since ``iat`` after which the token is refused.
    - ``typ``: the expected ``typ`` header (e.g. ``"at+jwt"``, RFC 8725 §3.11),
      compared as RFC 7515 §4.1.9 says; ``None`` accepts any ``typ``.
    - ``now``: the clock, a callable returning POSIX seconds.
    - ``limits``: size limits for the token.
    """

    issuer: str | Collection[str] | None = None
    audience: str | Collection[str] | None = None
    subject: str | None = None
    algorithms: Collection[str] | None = None
    required: Collection[str] = ("exp",)
    leeway: float = 0
    max_age: float | None = None
    typ: str | None = None
    now: Callable[[], float] = field(default=time.time)
    limits: Limits = DEFAULT_LIMITS
    # Headers already checked against this policy (jwt.decode's fast path): exact
    # protected-header segment -> (header, resolved algorithm). A memo, bounded, never
    # part of the policy's value.
    header_plans: dict[str, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    # The check itself, built once for this policy's values (see _validator).
    _validate: Callable[[Mapping[str, Any]], None] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "issuer", _as_tuple(self.issuer, "issuer"))
        set_(self, "audience", _as_tuple(self.audience, "audience"))
        if self.subject is not None and type(self.subject) is not str:
            raise TypeError("subject must be a string")
        if self.algorithms is not None:
            if isinstance(self.algorithms, str):
                raise TypeError("algorithms must be a collection of names, not a string")
            algs = frozenset(self.algorithms)
            if not algs:
                raise ValueError("algorithms must not be empty (None means: from the key)")
            for name in algs:
                if type(name) is not str or name.lower() == "none":
                    raise ValueError("'none' can never be an allowed algorithm")
                if name not in SIGNING_ALGORITHMS:
                    raise ValueError(f"unknown signing algorithm {name!r}")
            set_(self, "algorithms", algs)
        if isinstance(self.required, str):
            raise TypeError("required must be a collection of claim names")
        set_(self, "required", tuple(self.required))
        leeway = self.leeway
        if (
            isinstance(leeway, bool)
            or not isinstance(leeway, (int, float))
            or not math.isfinite(leeway)
        ):
            raise TypeError("leeway must be a finite number of seconds")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY:g} seconds")
        if self.max_age is not None:
            if isinstance(self.max_age, bool) or not isinstance(self.max_age, (int, float)):
                raise TypeError("max_age must be a number of seconds")
            if not 0 < self.max_age < math.inf:
                raise ValueError("max_age must be positive and finite")
        if self.typ is not None and (type(self.typ) is not str or not self.typ):
            raise TypeError("typ must be a non-empty string")
        if not callable(self.now):
            raise TypeError("now must be a callable returning POSIX seconds")
        if not isinstance(self.limits, Limits):
            raise TypeError("limits must be a Limits")
        set_(self, "_validate", _validator(self))

    # ---- validation -------------------------------------------------------------------

    def check_typ(self, header: Mapping[str, Any]) -> None:
        typ = header.get("typ")
        if typ is not None and type(typ) is not str:
            raise InvalidTypeError("the 'typ' header must be a string")
        if self.typ is not None and (
            typ is None or _normalise_typ(typ) != _normalise_typ(self.typ)
        ):
            raise InvalidTypeError(f"expected typ {self.typ!r}, got {typ!r}")

    def validate(self, claims: Mapping[str, Any]) -> None:
        """Check ``claims`` against this policy; raise a ClaimsError subclass if not."""
        self._validate(claims)

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        audiences: tuple[str, ...] | None = self.audience  # type: ignore[assignment]
        if "aud" not in claims:
            if audiences is not None:
                raise MissingClaimError("the token has no 'aud' claim")
            return
        aud = claims["aud"]
        if type(aud) is str and audiences is not None:
            if aud in audiences:
                return
            raise InvalidAudienceError("the token is not meant for this audience")
        if type(aud) is str:
            values: list[Any] = [aud]
        elif type(aud) is list and aud and all(type(v) is str for v in aud):
            values = aud
        else:
            raise InvalidClaimError("'aud' must be a string or a non-empty array of strings")
        if audiences is None:
            raise InvalidAudienceError(
                "the token names an audience but this policy names none (set audience=...)"
            )
        if not any(v in audiences for v in values):
            raise InvalidAudienceError("the token is not meant for this audience")


def _validator(
    policy: ClaimsPolicy, *, fast_path: bool = True
) -> Callable[[Mapping[str, Any]], None]:
    """The claims check for ``policy``, as one function with the policy's values bound
    (it runs on every verification). Checks, in this order: required claims present;
    ``exp``/``nbf``/``iat`` are NumericDates and ``iss``/``sub``/``jti`` strings (S14);
    not expired, not before ``nbf``, not issued in the future, not older than
    ``max_age``; issuer, subject, audience."""
    required: tuple[str, ...] = policy.required  # type: ignore[assignment]
    now = policy.now
    leeway = policy.leeway
    max_age = policy.max_age
    issuers: tuple[str, ...] | None = policy.issuer  # type: ignore[assignment]
    subject = policy.subject
    audiences: tuple[str, ...] | None = policy.audience  # type: ignore[assignment]
    check_audience = policy._check_audience
    missing = _MISSING
    max_date = MAX_NUMERIC_DATE
    # The default (only ``exp`` required) is checked with the ``exp`` lookup itself.
    only_exp = required == ("exp",)

    def validate(claims: Mapping[str, Any]) -> None:
        if not only_exp:
            for name in required:
                if name not in claims:
                    raise MissingClaimError(f"the token has no {name!r} claim")
        get = claims.get
        exp = get("exp", missing)
        if exp is missing:
            if only_exp:
                raise MissingClaimError("the token has no 'exp' claim")
        # a plain in-range int (the usual case) skips the general NumericDate check
        elif not (type(exp) is int and 0 <= exp <= max_date):
            exp = _numeric_date(exp, "exp")
        nbf = get("nbf", missing)
        iat = get("iat", missing)
        if nbf is not missing and not (type(nbf) is int and 0 <= nbf <= max_date):
            nbf = _numeric_date(nbf, "nbf")
        if iat is not missing and not (type(iat) is int and 0 <= iat <= max_date):
            iat = _numeric_date(iat, "iat")
        iss = get("iss", missing)
        if iss is not missing and type(iss) is not str:
            raise InvalidClaimError("the 'iss' claim must be a string")
        sub = get("sub", missing)
        if sub is not missing and type(sub) is not str:
            raise InvalidClaimError("the 'sub' claim must be a string")
        jti = get("jti", missing)
        if jti is not missing and type(jti) is not str:
            raise InvalidClaimError("the 'jti' claim must be a string")
        t = now()
        if exp is not missing and t >= exp + leeway:
            raise ExpiredError("the token has expired")
        if nbf is not missing and t + leeway < nbf:
            raise NotYetValidError("the token is not valid yet")
        if iat is not missing and t + leeway < iat:
            raise IssuedInFutureError("the token was issued in the future")
        if max_age is not None:
            if iat is missing:
                raise MissingClaimError("max_age needs an 'iat' claim")
            if t - iat > max_age + leeway:
                raise TooOldError("the token is older than max_age")
        if issuers is not None:
            if iss is missing or iss is None:
                raise MissingClaimError("the token has no 'iss' claim")
            if iss not in issuers:
                raise InvalidIssuerError("the token's issuer is not accepted")
        if subject is not None and sub != subject:
            raise InvalidSubjectError("the token's subject is not the expected one")
        aud = get("aud", missing)
        if type(aud) is str and audiences is not None and aud in audiences:
            return  # the usual case; everything else is decided by the general check
        check_audience(claims)

    if not (fast_path and only_exp and issuers is not None and audiences is not None):
        return validate
    if max_age is not None or subject is not None:
        return validate

    # One C-level fetch of the six claims the usual token has (a KeyError when one is
    # missing: then the general check decides).
    fetch_usual = itemgetter("exp", "iat", "iss", "aud", "sub", "jti")

    def validate_usual(claims: Mapping[str, Any]) -> None:
        # The usual access token under the usual policy (issuer and audience set, only
        # ``exp`` required): integer ``exp`` and ``iat``, no ``nbf``, string ``iss``,
        # ``sub``, ``jti`` and ``aud``. Each test below is the exact negation of a refusal
        # in ``validate``, so passing them all is passing ``validate``; anything else,
        # including every refusal, is decided (and worded) by ``validate`` itself.
        try:
            values = fetch_usual(claims)
        except KeyError:
            return validate(claims)
        exp, iat, iss, aud, sub, jti = values
        t = now()
        if (
            type(exp) is int
            and type(iat) is int
            and type(iss) is str
            and type(aud) is str
            and type(sub) is str
            and type(jti) is str
            and 0 <= exp <= max_date
            and 0 <= iat <= max_date
            and t < exp + leeway
            and not t + leeway < iat
            and "nbf" not in claims
            and iss in issuers
            and aud in audiences
        ):
            return
        validate(claims)

    return validate_usual


def _numeric_date(value: Any, name: str) -> float:
    """RFC 7519 NumericDate, strictly: a finite, non-negative number (S14)."""
    kind = type(value)
    if (kind is int or (kind is float and math.isfinite(value))) and (
        0 <= value <= MAX_NUMERIC_DATE
    ):
        return float(value)
    raise InvalidClaimError(f"the {name!r} claim must be a NumericDate (a finite number)")


__all__ = ["MAX_LEEWAY", "ClaimsPolicy"]
