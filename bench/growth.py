"""How time and memory grow with the site: the smallest and largest recorded bench runs compared.

Each `python -m bench --hubs N --density D` leaves bench/results/hubs-N-density-D.json; with two sizes of
the same density recorded this writes that density's "Growth" section of RESULTS.md. Targets (issue 6): time linear or better in the site's size (a stage's
throughput at the large size at least its throughput at the small one, i.e. time grows by at most the size
factor), and peak RSS of every citehub process under 400 MB at the large size and less than 10% above the
small size's.
"""

from __future__ import annotations

import json
from pathlib import Path


def growth_heading(density: float) -> str:
    return f"## Growth with the site (python -m bench at two sizes, density {density:g})"


RSS_LIMIT_MB = 400.0
RSS_GROWTH_LIMIT = 1.10


def load_records(folder: Path, density: float) -> list[dict]:
    records = (json.loads(p.read_text()) for p in folder.glob(f"hubs-*-density-{density:g}.json"))
    return sorted(records, key=lambda r: r["hubs"])


def growth_section(folder: Path, density: float = 1.0) -> str | None:
    records = load_records(folder, density)
    if len(records) < 2:
        return None
    small, large = records[0], records[-1]
    size = large["hubs"] / small["hubs"]
    lines = [
        growth_heading(density),
        "",
        f"{small['hubs']:,} hubs -> {large['hubs']:,} hubs (x{size:g}). Time growth is the time at the large size "
        f"over the time at the small one, per unit of work: <= 1.00 is linear or better. Code: "
        f"{small.get('commit', 'unknown')} and {large.get('commit', 'unknown')}.",
        "",
        "The two sizes run at different times, and this machine's speed drifts between runs (the baselines, "
        "linear by nature, show it): growth against the same-run baseline divides each size's time by its "
        "baseline's time on the same work, which takes the drift out.",
        "",
        "| stage | citehub at small | citehub at large | time growth per unit | against the same-run baseline "
        "| linear or better |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in small["stages"].items():
        big = large["stages"].get(name)
        if not big:
            continue
        per_unit = s["citehub"] / big["citehub"]
        against = (s["citehub"] / s["baseline"]) / (big["citehub"] / big["baseline"])
        lines.append(
            f"| {name} | {s['citehub']:,.1f} {s['unit']}/s | {big['citehub']:,.1f} {s['unit']}/s | "
            f"{per_unit:.2f} | {against:.2f} | {'yes' if per_unit <= 1.05 else 'no'} |"
        )
    for name, secs in small.get("seconds", {}).items():
        if name in large.get("seconds", {}):
            per_unit = large["seconds"][name] / secs / size
            lines.append(
                f"| {name} (wall) | {secs:.1f} s | {large['seconds'][name]:.1f} s | {per_unit:.2f} | — | "
                f"{'yes' if per_unit <= 1.05 else 'no'} |"
            )
    lines += [
        "",
        "| process | peak RSS at small | peak RSS at large | growth | under 400 MB and < +10% |",
        "|---|---|---|---|---|",
    ]
    for name, mb in small["rss_mb"].items():
        if name not in large["rss_mb"]:
            continue
        big = large["rss_mb"][name]
        ok = big < RSS_LIMIT_MB and big / mb < RSS_GROWTH_LIMIT
        verdict = (
            "n/a (harness)" if name.startswith("bench harness") or name.startswith("bare") else ("yes" if ok else "no")
        )
        lines.append(f"| {name} | {mb:.0f} MB | {big:.0f} MB | x{big / mb:.2f} | {verdict} |")
    return "\n".join(lines) + "\n"
