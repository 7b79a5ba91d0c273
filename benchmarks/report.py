"""The table, the targets of issue 4, and the chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .peers import PEERS

COLUMNS = ("raw", "floor", "tokensmith", *PEERS)
# (op, alg or None for all, max tokensmith/floor, min fastest-peer/tokensmith)
VERIFY_SIGN_TARGETS: tuple[tuple[str, str, float | None, float | None], ...] = (
    ("verify", "HS256", 2.0, 3.0),
    ("verify", "RS256", 1.25, 1.0),
    ("verify", "PS256", 1.25, 1.0),
    ("verify", "ES256", 1.25, 1.0),
    ("verify", "EdDSA", 1.25, 1.0),
    ("sign", "HS256", 2.0, None),
    ("sign", "RS256", 1.1, None),
    ("sign", "PS256", 1.1, None),
    ("sign", "ES256", 1.3, None),
    ("sign", "EdDSA", 1.3, None),
)
CACHE_HIT_MIN_SPEEDUP = 30.0
CACHE_MAX_BYTES = 1024


def fastest_peer(row: dict[str, Any]) -> tuple[str, float] | None:
    peers = [(name, row["us"][name]) for name in PEERS if name in row["us"]]
    if row["op"] in ("encrypt", "decrypt"):
        peers = [(n, v) for n, v in row["us"].items() if n != "tokensmith"]
    return min(peers, key=lambda p: p[1]) if peers else None


def evaluate_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rows = {(r["op"], r["alg"]): r for r in result["rows"]}
    for op, alg, max_floor, min_speedup in VERIFY_SIGN_TARGETS:
        row = rows.get((op, alg))
        if row is None or "tokensmith" not in row["us"]:
            continue
        ours = row["us"]["tokensmith"]
        ratio = ours / row["us"]["floor"]
        out.append(
            {
                "target": f"{op} {alg}: tokensmith ≤ {max_floor}× the floor",
                "value": round(ratio, 2),
                "met": ratio <= max_floor,
            }
        )
        peer = fastest_peer(row)
        if min_speedup is not None and peer is not None:
            speedup = peer[1] / ours
            wording = f"≥ {min_speedup:g}× faster than" if min_speedup > 1 else "faster than"
            out.append(
                {
                    "target": f"{op} {alg}: {wording} the fastest peer ({peer[0]})",
                    "value": round(speedup, 2),
                    "met": speedup >= min_speedup if min_speedup > 1 else speedup > 1,
                }
            )
    for (op, alg), row in rows.items():
        if op not in ("encrypt", "decrypt") or "tokensmith" not in row["us"]:
            continue
        peer = fastest_peer(row)
        if peer is None:
            continue
        speedup = peer[1] / row["us"]["tokensmith"]
        out.append(
            {
                "target": f"JWE {op} {alg}: no slower than the fastest peer ({peer[0]})",
                "value": round(speedup, 2),
                "met": speedup >= 1.0,
            }
        )
    cache = result.get("cache")
    if cache:
        speedup = cache["us"]["ES256 raw"] / cache["us"]["cache hit"]
        out.append(
            {
                "target": f"cache hit ≥ {CACHE_HIT_MIN_SPEEDUP:g}× faster than an ES256 raw check",
                "value": round(speedup, 1),
                "met": speedup >= CACHE_HIT_MIN_SPEEDUP,
            }
        )
        out.append(
            {
                "target": f"cache ≤ {CACHE_MAX_BYTES} bytes per entry (typical access token)",
                "value": round(cache["bytes_per_entry"]),
                "met": cache["bytes_per_entry"] <= CACHE_MAX_BYTES,
            }
        )
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def table(result: dict[str, Any]) -> str:
    """The markdown table printed by the command and pasted into docs/benchmarks.md."""
    lines = [
        "µs per operation (best of the interleaved rounds); ratios from the same run.",
        "",
        "| op | alg | "
        + " | ".join(COLUMNS)
        + " | tokensmith ÷ floor | fastest peer ÷ tokensmith |",
        "|---|---|" + "---:|" * (len(COLUMNS) + 2),
    ]
    for row in result["rows"]:
        us = row["us"]
        cells = [_fmt(us.get(c)) for c in COLUMNS]
        ours = us.get("tokensmith")
        vs_floor = f"{ours / us['floor']:.2f}×" if ours and "floor" in us else "—"
        peer = fastest_peer(row)
        vs_peer = f"{peer[1] / ours:.2f}× ({peer[0]})" if ours and peer else "—"
        lines.append(
            f"| {row['op']} | {row['alg']} | " + " | ".join(cells) + f" | {vs_floor} | {vs_peer} |"
        )
    cache = result.get("cache")
    if cache:
        us = cache["us"]
        lines += [
            "",
            "| verified-token cache (ES256) | µs |",
            "|---|---:|",
            *(f"| {name} | {_fmt(v) if v >= 1 else f'{v:.2f}'} |" for name, v in us.items()),
            f"| bytes per entry (tracemalloc, {cache['entries_measured']} entries, "
            f"{cache['token_chars']}-char token included) | {cache['bytes_per_entry']:.0f} |",
            f"| bytes per entry (the cache's own estimate, for max_bytes) "
            f"| {cache['estimated_bytes_per_entry']:.0f} |",
        ]
    meta = result["meta"]
    lines += ["", f"Peak RSS of the run: {meta['peak_rss_mib']} MiB."]
    for note in meta.get("notes", []):
        lines.append(f"Note: {note}")
    skipped = [
        f"{row['op']} {row['alg']} {name}: {why}"
        for row in result["rows"]
        for name, why in row.get("notes", {}).items()
    ]
    if skipped:
        lines += ["", "Not timed:", *(f"- {s}" for s in skipped)]
    lines += ["", "| target | value | met |", "|---|---:|---|"]
    lines += [
        f"| {t['target']} | {t['value']} | {'yes' if t['met'] else 'NO'} |"
        for t in result.get("targets", [])
    ]
    return "\n".join(lines)


def chart(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [("verify", "verify (full claims validation)"), ("sign", "sign")]
    jwe_rows = [r for r in result["rows"] if r["op"] in ("encrypt", "decrypt")]
    panels = [g for g in groups if any(r["op"] == g[0] for r in result["rows"])]
    if jwe_rows:
        panels.append(("jwe", "JWE encrypt / decrypt"))
    if not panels:
        panels.append(("none", "no rows"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, 4.2 * len(panels)), squeeze=False)
    colors = {
        "raw": "#bbbbbb",
        "floor": "#888888",
        "tokensmith": "#d62728",
        "PyJWT": "#1f77b4",
        "joserfc": "#2ca02c",
        "jwcrypto": "#9467bd",
        "python-jose": "#8c564b",
        "Authlib": "#ff7f0e",
    }
    for ax, (op, title) in zip(axes[:, 0], panels, strict=True):
        rows = jwe_rows if op == "jwe" else [r for r in result["rows"] if r["op"] == op]
        labels = [r["alg"] if op != "jwe" else f"{r['op']}\n{r['alg']}" for r in rows]
        width = 0.8 / len(COLUMNS)
        for i, col in enumerate(COLUMNS):
            xs = [j + i * width for j, r in enumerate(rows) if col in r["us"]]
            ys = [r["us"][col] for r in rows if col in r["us"]]
            if xs:
                ax.bar(xs, ys, width, label=col, color=colors[col])
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(rows))])
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("µs per operation (log)")
        ax.set_title(title)
        ax.grid(axis="y", which="both", alpha=0.3)
    axes[0, 0].legend(ncol=4, fontsize=8)
    meta = result["meta"]
    fig.suptitle(
        f"tokensmith benchmarks — {meta['command']} — Python {meta['python']}, "
        f"{meta['cpus']} CPUs, {meta['date']}",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
