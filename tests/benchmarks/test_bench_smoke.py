"""``python -m benchmarks --quick`` runs end to end and writes well-formed output.

A smoke test only: it never asserts a timing (the machine running it may be busy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALGS = ("HS256", "RS256", "PS256", "ES256", "EdDSA")

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    out = tmp_path_factory.mktemp("bench")
    json_path, png_path = out / "bench.json", out / "bench.png"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--out-json",
            str(json_path),
            "--out-png",
            str(png_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(json_path.read_text()), png_path, proc.stdout


def test_quick_run_measures_every_verify_and_sign_row(quick_run: tuple[dict, Path, str]) -> None:
    result, _, _ = quick_run
    rows = {(r["op"], r["alg"]): r for r in result["rows"]}
    for op in ("verify", "sign"):
        for alg in ALGS:
            us = rows[(op, alg)]["us"]
            for name in ("raw", "floor", "tokensmith", "PyJWT", "joserfc", "jwcrypto"):
                assert isinstance(us[name], float), (op, alg, name)
                assert us[name] > 0


def test_quick_run_jwe_rows_or_a_skip_note(quick_run: tuple[dict, Path, str]) -> None:
    result, _, _ = quick_run
    jwe_rows = [r for r in result["rows"] if r["op"] in ("encrypt", "decrypt")]
    if jwe_rows:
        assert {r["alg"] for r in jwe_rows} == {
            "dir+A256GCM",
            "ECDH-ES+A256KW+A256GCM",
            "RSA-OAEP-256+A256GCM",
        }
        assert all("tokensmith" in r["us"] for r in jwe_rows)
    else:
        assert any("JWE" in note for note in result["meta"]["notes"])


def test_quick_run_cache_and_memory_figures(quick_run: tuple[dict, Path, str]) -> None:
    result, _, _ = quick_run
    cache = result["cache"]
    assert set(cache["us"]) == {"ES256 raw", "cache hit", "cache miss", "no cache"}
    assert cache["bytes_per_entry"] > cache["token_chars"]  # the token itself is counted
    assert result["meta"]["peak_rss_mib"] > 0
    assert result["meta"]["quick"] is True


def test_quick_run_targets_table_and_chart(quick_run: tuple[dict, Path, str]) -> None:
    result, png, stdout = quick_run
    targets = result["targets"]
    assert len(targets) >= 17
    assert all(isinstance(t["met"], bool) and isinstance(t["target"], str) for t in targets)
    assert "| verify | HS256 |" in stdout
    assert "tokensmith ÷ floor" in stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
