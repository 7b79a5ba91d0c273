"""The runners read the shared vectors in place, from the directory conftest names."""

from __future__ import annotations

from pathlib import Path

from ._data import VECTORS, WYCHEPROOF


def test_runners_read_the_vectors_dir_fixture_path(vectors_dir: Path) -> None:
    assert vectors_dir == VECTORS
    assert (WYCHEPROOF / "json_web_signature_test.json").is_file()
    assert not (Path(__file__).parent / "wycheproof").exists()
