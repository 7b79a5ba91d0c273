"""``python -m benchmarks.server --quick`` runs end to end and writes well-formed output.

A smoke test only: it starts both servers on 127.0.0.1 and never asserts a timing (the
machine running it may be busy); it checks the shape of what the benchmark reports.
"""

from __future__ import annotations

import json
import statistics
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


def test_quick_run_latencies_are_well_formed(quick_run: tuple[dict, str]) -> None:
    """Refresh chains were followed (every rotation answered 200: no errors above); a row
    with answers has 0 < p50 <= p99, one without (a very busy machine) has neither."""
    result, _ = quick_run
    for row in result["rows"]:
        assert isinstance(row["requests"], int)
        if row["requests"]:
            assert 0 < row["p50_ms"] <= row["p99_ms"], row
        else:
            assert row["p50_ms"] is None
            assert row["p99_ms"] is None


def test_quick_run_argon2_ceiling_uses_tokensmiths_parameters(quick_run: tuple[dict, str]) -> None:
    from tokensmith.settings import Settings

    argon2 = quick_run[0]["argon2"]
    for name in ("time_cost", "memory_cost", "parallelism"):
        assert argon2[name] == Settings.model_fields[f"argon2_{name}"].default
    assert argon2["hashes_per_s"] > 0
    assert argon2["threads"] >= 1
    for name, versus in argon2["login_vs_ceiling"].items():
        # the target's figure: the median of the rounds' login / argon2 around it
        paired = versus["wall_paired_per_round"]
        assert len(paired) == quick_run[0]["plan"]["rounds"], name
        assert versus["wall"] == pytest.approx(statistics.median(paired), abs=1e-3), name


def test_quick_run_reports_flood_and_the_three_targets(quick_run: tuple[dict, str]) -> None:
    result, stdout = quick_run
    for name in ("tokensmith", "simplejwt"):
        flood = result["flood"][name]
        for key in ("idle_p99_ms", "flood_p99_ms"):
            assert flood[key] is None or flood[key] > 0, (name, key)
        assert flood["refresh_errors"] == 0
        assert flood["login_errors"] == 0
    names = [t["name"] for t in result["targets"]]
    assert len(names) == 3
    for target in result["targets"]:
        assert isinstance(target["met"], bool)
        assert target["name"] in stdout
    assert result["quick"] is True


def test_quick_run_has_the_scale_out_rows_beside_the_embedded_default(
    quick_run: tuple[dict, str],
) -> None:
    """Login, refresh and a protected route for the embedded default and PostgreSQL +
    Redis with 1 and 3 instances, in the same run (skipped only without the services)."""
    result, stdout = quick_run
    scale = result["scale"]
    if "skipped" in scale:
        from services import services_required

        assert not services_required(), scale["skipped"]
        pytest.skip(scale["skipped"])
    assert scale["configs"] == {"embedded": 1, "pg+redis x1": 1, "pg+redis x3": 3}
    cells = {(row["op"], row["config"]) for row in scale["rows"]}
    assert cells == {
        (op, config) for op in ("login", "refresh", "userinfo") for config in scale["configs"]
    }
    for row in scale["rows"]:
        assert row["errors"] == 0, row["first_error"]
        low, high = row["spread"]
        assert low <= row["requests_per_s"] <= high
        if row["requests"]:
            assert 0 < row["p50_ms"] <= row["p99_ms"], row
    assert "scale-out" in stdout
