"""JSON Web Key Sets (RFC 7517 §5).

A set is immutable. ``kid`` lookup is a plain dictionary lookup: a ``kid`` is never
a path, a query or a command (S5). Duplicate ``kid``s are refused, and a set parsed
as public refuses any private member (S19).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .encoding import dump_json, parse_json_object
from .errors import InvalidKeySetError, JoseError, UnsupportedError
from .jwk import JWK

MAX_KEYS = 100


class JWKSet:
    """An immutable set of :class:`JWK`.

    ``skipped`` lists the index and reason of members that were ignored because
    their key type or curve is not supported (RFC 7517 §5: "implementations SHOULD
    ignore JWKs within a JWK Set that use kty values that are not understood").
    """

    __slots__ = ("_by_kid", "_keys", "skipped")

    def __init__(self, keys: Iterable[JWK], *, public_only: bool = False) -> None:
        keys = tuple(keys)
        for key in keys:
            if not isinstance(key, JWK):
                raise TypeError("JWKSet holds JWK objects")
        if len(keys) > MAX_KEYS:
            raise InvalidKeySetError(f"a key set may hold at most {MAX_KEYS} keys")
        by_kid: dict[str, JWK] = {}
        for key in keys:
            if public_only and key.is_private:
                raise InvalidKeySetError(
                    f"key {key.kid!r} holds private material in a set that must be public"
                )
            if key.kid is not None:
                if key.kid in by_kid:
                    raise InvalidKeySetError(f"duplicate kid {key.kid!r} in key set")
                by_kid[key.kid] = key
        self._keys = keys
        self._by_kid = by_kid
        self.skipped: tuple[tuple[int, str], ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, public_only: bool = False) -> JWKSet:
        """Parse ``{"keys": [...]}``. With ``public_only`` (what a verifier fetching a
        remote JWKS wants), a private member anywhere rejects the whole set."""
        if not isinstance(data, Mapping):
            raise InvalidKeySetError("a JWK set must be a JSON object")
        members = data.get("keys")
        if type(members) is not list:
            raise InvalidKeySetError("a JWK set needs a 'keys' array")
        if len(members) > MAX_KEYS:
            raise InvalidKeySetError(f"a key set may hold at most {MAX_KEYS} keys")
        keys: list[JWK] = []
        skipped: list[tuple[int, str]] = []
        for index, member in enumerate(members):
            if not isinstance(member, Mapping):
                raise InvalidKeySetError(f"key {index} is not a JSON object")
            if public_only and _has_private_member(member):
                raise InvalidKeySetError(f"key {index} has private members in a public set")
            try:
                keys.append(JWK(member))
            except UnsupportedError as exc:
                skipped.append((index, exc.message))
            except JoseError as exc:
                raise InvalidKeySetError(f"key {index} is invalid: {exc.message}") from None
        if len({key.is_symmetric for key in keys}) > 1:
            # A JWKS document holding a shared secret next to asymmetric keys is ambiguous
            # and one publish away from leaking the secret (S2, S19; Wycheproof MixedKeySet).
            raise InvalidKeySetError("a JWK set must not mix symmetric (oct) and asymmetric keys")
        result = cls(keys, public_only=public_only)
        result.skipped = tuple(skipped)
        return result

    @classmethod
    def from_json(cls, text: str | bytes, *, public_only: bool = False) -> JWKSet:
        data = parse_json_object(text, max_size=512 * 1024, max_depth=8, what="JWK set")
        return cls.from_dict(data, public_only=public_only)

    def to_dict(self) -> dict[str, Any]:
        return {"keys": [key.to_dict() for key in self._keys]}

    def to_json(self) -> str:
        return dump_json(self.to_dict()).decode("utf-8")

    def public(self) -> JWKSet:
        """The public halves of the asymmetric keys (symmetric keys are left out)."""
        return JWKSet((k.public() for k in self._keys if not k.is_symmetric), public_only=True)

    def get(self, kid: object) -> JWK | None:
        """The key with this ``kid``, or None. Non-string kids never match."""
        if type(kid) is not str:
            return None
        return self._by_kid.get(kid)

    def select(
        self,
        *,
        kid: str | None = None,
        alg: str | None = None,
        use: str | None = None,
        kty: str | None = None,
    ) -> list[JWK]:
        """Keys matching every given criterion; a key without ``alg``/``use`` matches any."""
        candidates: Iterable[JWK]
        if kid is not None:
            found = self.get(kid)
            candidates = (found,) if found is not None else ()
        else:
            candidates = self._keys
        return [
            k
            for k in candidates
            if (alg is None or k.alg in (None, alg))
            and (use is None or k.use in (None, use))
            and (kty is None or k.kty == kty)
        ]

    def __iter__(self) -> Iterator[JWK]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __getitem__(self, index: int) -> JWK:
        return self._keys[index]

    def __repr__(self) -> str:
        return f"<JWKSet {len(self._keys)} keys>"


def _has_private_member(member: Mapping[str, Any]) -> bool:
    return any(name in member for name in ("d", "p", "q", "dp", "dq", "qi", "oth", "k"))


__all__ = ["JWKSet"]
