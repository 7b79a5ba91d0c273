"""``Argon2Hasher.needs_rehash``: its shortcut for a hash made with the current parameters
answers exactly as argon2-cffi's own check, on each side of every parameter."""

from __future__ import annotations

import dataclasses

import pytest
from argon2 import PasswordHasher, Type

from tokensmith.issuer.config import Argon2Params
from tokensmith.issuer.passwords import Argon2Hasher

CURRENT = Argon2Params(time_cost=2, memory_cost=1024, parallelism=1, hash_len=32, salt_len=16)


def _argon2_cffi(params: Argon2Params, kind: Type = Type.ID) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        hash_len=params.hash_len,
        salt_len=params.salt_len,
        type=kind,
    )


def _made_with(params: Argon2Params, kind: Type = Type.ID) -> str:
    return _argon2_cffi(params, kind).hash("a password")


def _variants() -> dict[str, str]:
    """Hashes by a stable name (their salts are random: pytest-xdist's workers must
    collect the same test ids)."""
    made = {"current": _made_with(CURRENT)}
    for name, values in {
        "time_cost": (1, 3),
        "memory_cost": (1023, 1025, 10240),
        "parallelism": (2,),
        "hash_len": (31, 33, 16),
        "salt_len": (17, 32),
    }.items():
        for v in values:
            made[f"{name}={v}"] = _made_with(dataclasses.replace(CURRENT, **{name: v}))
    made["argon2i"] = _made_with(CURRENT, Type.I)
    made["argon2d"] = _made_with(CURRENT, Type.D)
    current = made["current"]
    head, salt, digest = current.rsplit("$", 2)
    made.update(
        {
            "salt-shorter-same-length": f"{head}${salt[:-1]}${digest}A",
            "salt-longer-same-length": f"{head}${salt}A${digest[:-1]}",
            "version-16": current.replace("v=19", "v=16"),
            "trailing-dollar": current + "$",
            "truncated": current[:-1],
            "not-a-hash": "not a hash at all",
            "empty": "",
        }
    )
    return made


_VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(_VARIANTS))
def test_needs_rehash_answers_as_argon2_does(name: str) -> None:
    stored = _VARIANTS[name]
    hasher = Argon2Hasher(CURRENT)
    try:
        expected = _argon2_cffi(CURRENT).check_needs_rehash(stored)
    except Exception:  # unreadable: tokensmith rehashes (a login then stores a good one)
        expected = True
    assert hasher.needs_rehash(stored) is expected


def test_a_current_hash_needs_no_rehash_and_any_parameter_change_does() -> None:
    current = _made_with(CURRENT)
    assert Argon2Hasher(CURRENT).needs_rehash(current) is False
    for change in ({"time_cost": 3}, {"memory_cost": 2048}, {"hash_len": 16}, {"salt_len": 32}):
        assert Argon2Hasher(dataclasses.replace(CURRENT, **change)).needs_rehash(current)
