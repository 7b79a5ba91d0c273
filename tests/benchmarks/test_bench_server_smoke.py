"""``python -m benchmarks.server --quick`` runs end to end and writes well-formed output.

A smoke test only: it starts both servers on 127.0.0.1 and never asserts a timing (the
machine running it may be busy); it checks the shape of what the benchmark reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

for module in ("rest_framework_simplejwt", "django", "argon2", "uvicorn"):
    pytest.importorskip(module)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    out = tmp_path_factory.mktemp("bench-server") / "server.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.server", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


def test_quick_run_has_a_row_per_op_and_server(quick_run: tuple[dict, str]) -> None:
    result, _ = quick_run
    cells = {(row["op"], row["server"]) for row in result["rows"]}
    assert cells == {
        ("login", "tokensmith"),
        ("login", "simplejwt"),
        ("refresh", "tokensmith"),
        ("refresh", "simplejwt"),
        ("jwks", "tokensmith"),
        ("verify", "simplejwt"),
    }
    for row in result["rows"]:
        assert row["requests_per_s"] >= 0
        low, high = row["spread"]
        assert low <= row["requests_per_s"] <= high
        assert row["errors"] == 0, row["first_error"]


def test_quick_run_refresh_and_jwks_answered(quick_run: tuple[dict, str]) -> None:
    """Refresh chains were followed (every rotation answered 200: no errors above) and
    the cheap endpoints answered at least once, with latencies in order."""
    result, _ = quick_run
    for row in result["rows"]:
        if row["op"] in ("refresh", "jwks", "verify"):
            assert row["requests"] > 0, row
            assert 0 < row["p50_ms"] <= row["p99_ms"], row


def test_quick_run_argon2_ceiling_uses_tokensmiths_parameters(quick_run: tuple[dict, str]) -> None:
    from tokensmith.settings import Settings

    argon2 = quick_run[0]["argon2"]
    for name in ("time_cost", "memory_cost", "parallelism"):
        assert argon2[name] == Settings.model_fields[f"argon2_{name}"].default
    assert argon2["hashes_per_s"] > 0
    assert argon2["threads"] >= 1


def test_quick_run_reports_flood_and_the_three_targets(quick_run: tuple[dict, str]) -> None:
    result, stdout = quick_run
    for name in ("tokensmith", "simplejwt"):
        flood = result["flood"][name]
        assert flood["idle_p99_ms"] > 0
        assert flood["flood_p99_ms"] > 0
        assert flood["refresh_errors"] == 0
    names = [t["name"] for t in result["targets"]]
    assert len(names) == 3
    for target in result["targets"]:
        assert isinstance(target["met"], bool)
        assert target["name"] in stdout
    assert result["quick"] is True
