"""What an oracle that knew every change could reach at bench.freshness's budgets: the ceiling of any revisit
policy under the sample site's change model (issue 16 asks for it where a target is out of reach).

    python -m bench.freshness_oracle --work /tmp/fr --json /tmp/fr.json [--hubs 1000 --seed 7]

It reads what `python -m bench.freshness --work DIR --json FILE` left: every night's budget per policy (the
JSON) and, for each hub, the requests its last full fetch cost (`hub_change.full_requests` of the "all"
policy's warehouse, the median for a hub it never fetched whole). The site's ground truth (`changed_days`,
`first_day` of every hub on the last day) says when each hub changed.

The oracle knows every hub from day 1 (it pays nothing to discover them: no paper page) and which ones changed:
each night it fetches, whole, the stale hubs (never fetched, or changed since) cheapest first until the budget
is spent (robots.txt included), which maximizes the hubs fresh that night. A hub is fresh when fetched after its
last change. Fresh-hubs/request is counted as bench.freshness counts it.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from statistics import median


def hub_costs(warehouse: Path) -> dict[str, int]:
    with sqlite3.connect(warehouse) as conn:
        rows = conn.execute("SELECT hub_uuid, full_requests FROM hub_change WHERE full_requests IS NOT NULL").fetchall()
    return {uuid: int(n) for uuid, n in rows}


def site_hubs(hubs: int, seed: int, days: int) -> list[dict]:
    from samplesite.generator import build_site
    from samplesite.growth import GrowthModel
    from samplesite.truth import truth

    return truth(build_site(hubs=hubs, seed=seed, day=days, growth=GrowthModel()))["hubs"]


def oracle(hubs: list[dict], costs: dict[str, int], budgets: dict[int, int]) -> list[tuple[int, int, int, int, int]]:
    """(day, hubs on the site, hubs fetched at least once, fresh hubs, requests) per night."""
    typical = int(median(costs.values())) if costs else 8
    fetched: dict[str, int] = {}  # hub -> day of its last fetch
    out = []
    for day in sorted(budgets):
        on_site = [h for h in hubs if h["first_day"] <= day]

        def last_change(h: dict, day: int = day) -> int:
            return max([h["first_day"], *(d for d in h["changed_days"] if d <= day)])

        stale = [h for h in on_site if fetched.get(h["uuid"], 0) < last_change(h)]
        stale.sort(key=lambda h: (costs.get(h["uuid"], typical), h["uuid"]))
        left, spent = budgets[day] - 1, 1  # robots.txt
        for h in stale:
            cost = costs.get(h["uuid"], typical)
            if cost > left:
                continue
            left -= cost
            spent += cost
            fetched[h["uuid"]] = day
        fresh = sum(1 for h in on_site if fetched.get(h["uuid"], 0) >= last_change(h))
        out.append((day, len(on_site), sum(1 for h in on_site if h["uuid"] in fetched), fresh, spent))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness_oracle")
    parser.add_argument("--work", type=Path, required=True, help="bench.freshness's scratch folder")
    parser.add_argument("--json", type=Path, required=True, help="bench.freshness's --json output")
    parser.add_argument("--hubs", type=int, default=1000, help="as given to bench.freshness")
    parser.add_argument("--seed", type=int, default=7, help="as given to bench.freshness")
    args = parser.parse_args(argv)
    nights = json.loads(args.json.read_text(encoding="utf-8"))
    days = max(n["day"] for n in nights)
    hubs = site_hubs(args.hubs, args.seed, days)
    costs = hub_costs(args.work / "all" / "warehouse.sqlite")
    print(f"oracle over {days} days: {len(hubs)} hubs on the last day, full-fetch costs known for {len(costs)}")
    for share in ("25", "50"):
        budgets = {n["day"]: n["budget"] for n in nights if n["policy"] == f"citehub-{share}" and n["budget"]}
        rows = oracle(hubs, costs, budgets)
        per_request = sum(r[3] for r in rows) / sum(r[4] for r in rows)
        rr = [n for n in nights if n["policy"] == f"rr-{share}"]
        rr_per_request = sum(n["fresh"] for n in rr) / sum(n["requests"] for n in rr)
        late = [r for r in rows if r[0] >= 4]
        print(
            f"oracle-{share}: {per_request:.3f} fresh-hubs/request, {per_request / rr_per_request:.2f}x round-robin's "
            f"{rr_per_request:.3f}; coverage from day 4 min {min(r[2] / r[1] for r in late):.3f}; "
            f"average freshness days 4-{days} {sum(r[3] / r[1] for r in late) / len(late):.3f}"
        )
        for day, on_site, covered, fresh, spent in rows:
            print(
                f"  day {day}: coverage {covered / on_site:.3f}, fresh {fresh}/{on_site} ({fresh / on_site:.3f}), "
                f"requests {spent}/{budgets[day]}"
            )


if __name__ == "__main__":
    main()
