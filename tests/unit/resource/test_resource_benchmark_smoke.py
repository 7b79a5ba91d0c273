"""``python -m benchmarks.resource --quick`` still runs (a smoke test; no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def test_resource_benchmark_quick_mode_runs_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "resource.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.resource", "--quick", "--json", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "req/s" in done.stdout
    results = json.loads(out.read_text())
    variants = {
        "no_auth",
        "middleware_cache_on",
        "middleware_cache_off",
        "middleware_cache_off_rs256",
    }
    assert set(results["throughput"]) == variants
    assert set(results["http_throughput"]) == variants
    assert results["throughput"]["no_auth"]["ratio_to_no_auth"] == 1.0
    assert all(row["requests_per_s"] > 0 for row in results["throughput"].values())
    assert results["revocation"]["denylist_entries"] == 10_000
    assert results["denylist_memory"]["with_value_strings_bytes_per_entry"] > 0
