"""docs/security.md maps each SECURITY.md row to tests: every test it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

NODE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_test_named_in_docs_security_exists() -> None:
    text = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    nodes = NODE.findall(text)
    assert len(nodes) > 50
    missing = []
    for path, name in nodes:
        source = PROJECT_ROOT / path
        if not source.is_file() or not re.search(
            rf"^(async )?def {name}\(", source.read_text(), re.M
        ):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_catalogue_row_is_in_the_table() -> None:
    text = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (S\d+) \|", text, re.M))
    assert rows == {f"S{i}" for i in range(1, 28)}
