"""The test-only clock file and the master key file (0600, refused when shared)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tokensmith.server.clock import file_clock, make_clock, system_clock
from tokensmith.server.master_key import MasterKeyError, read_or_create_key_file, resolve_master_key
from tokensmith.settings import load_settings


def test_no_clock_file_means_the_system_clock() -> None:
    assert make_clock(None) is system_clock


def test_clock_file_offset_and_absolute(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = file_clock(path)
    assert abs(clock() - time.time()) < 5  # missing file: no shift
    path.write_text("+3600")
    assert 3595 < clock() - time.time() < 3605
    path.write_text("-60")
    assert -65 < clock() - time.time() < -55
    path.write_text("1700000000.5")
    assert clock() == 1700000000.5
    path.write_text("garbage")
    assert abs(clock() - time.time()) < 5


def test_master_key_file_is_created_0600_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    first = read_or_create_key_file(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_create_key_file(path) == first


def test_master_key_file_readable_by_others_is_refused_s27(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    read_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        read_or_create_key_file(path)


def test_missing_master_key_without_create_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="TOKENSMITH_MASTER_KEY"):
        read_or_create_key_file(tmp_path / "master.key", create=False)


def test_corrupt_master_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    path.write_text("short")
    path.chmod(0o600)
    with pytest.raises(MasterKeyError, match="32"):
        read_or_create_key_file(path)


def test_env_master_key_wins_over_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKENSMITH_MASTER_KEY", "B" * 43)
    settings = load_settings(data_dir=tmp_path)
    key = resolve_master_key(settings)
    assert len(key) == 32
    assert not (tmp_path / "master.key").exists()
