"""Where the published vectors live, and small readers for them.

The vectors are read in place from ``../shared/vectors`` (relative to the project root),
the same directory the ``vectors_dir`` fixture of tests/conftest.py gives; parametrized
tests need it at collection time, before fixtures exist.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VECTORS = PROJECT_ROOT.parent / "shared" / "vectors"
WYCHEPROOF = VECTORS / "wycheproof"
COOKBOOK = VECTORS / "rfc7520-cookbook"


@cache
def load_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def wycheproof(name: str) -> dict[str, Any]:
    data: dict[str, Any] = load_json(WYCHEPROOF / name)
    return data


def wycheproof_cases(name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (group, test) pair of a Wycheproof file, in file order."""
    return [(group, test) for group in wycheproof(name)["testGroups"] for test in group["tests"]]


def cookbook(relative: str) -> dict[str, Any]:
    data: dict[str, Any] = load_json(COOKBOOK / relative)
    return data
