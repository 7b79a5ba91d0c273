"""``python -m benchmarks.dpop --quick`` still runs (a smoke test; no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_dpop_benchmark_quick_mode_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "dpop.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.dpop", "--quick", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "target <= 1.3" in done.stdout
    results = json.loads(out.read_text())
    assert results["quick"] is True
    assert set(results["dpop"]) == {"cache_off", "cache_on"}
    for row in results["dpop"].values():
        assert row["plain_es256_ns"] > 0
        assert row["proof_ns"] > 0
        assert row["dpop_request_ns"] > 0
        parts = row["plain_es256_ns"] + row["proof_ns"]
        assert abs(row["ratio_to_plain_plus_proof"] - row["dpop_request_ns"] / parts) < 0.01
