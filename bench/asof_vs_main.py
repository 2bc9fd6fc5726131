"""As-of answers of this checkout against a warehouse built by an earlier revision (default: the main before
hub figures became spells), over the same evolving sample site.

    python -m bench.asof_vs_main [--baseline 7a9dd2d] [--days 5] [--hubs 40] [--work DIR]

One sample-site server evolves day by day (new citations, relabels, retirements, tier changes; a hub page
failing on day 3: a degraded run, an incomplete hub). Each day the baseline revision's nightly (run from a git
worktree of that revision) and this checkout's nightly each refresh their own SQLite warehouse. Then:

- `hub_as_of` and `citation_as_of` of both warehouses are compared for every run (runs matched by day):
  every column equal, except `hub_as_of.snapshot_run`, which is now the run that opened the figures' spell;
  it is compared with the first run of the baseline's streak of equal snapshots;
- a copy of the baseline warehouse is upgraded in place by this checkout's migrations, and its as-of answers
  are compared with the baseline's own the same way (the migration story on a warehouse with history).

Prints one line per comparison and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema.engine import make_engine
from schema.migrate import upgrade
from warehouse.history import HUB_FIGURES

ROOT = Path(__file__).resolve().parents[1]
FIGURES = HUB_FIGURES  # the figures a hub spell keeps
CITATION_COLUMNS = (
    "role",
    "polarity",
    "verdict",
    "novelty",
    "refs",
    "representative",
    "valid_from_run",
    "valid_to_run",
)
FAIL_DAY = 3

# One nightly, run by whichever checkout is on PYTHONPATH (the baseline's worktree or this one).
NIGHTLY = """
import json, sys
from flows.nightly import nightly_refresh
base_url, url, data_dir, hubs = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
report = nightly_refresh(base_url=base_url, hubs=hubs or None, database_url=url, data_dir=data_dir,
                         include_known=not hubs)
print(json.dumps({"run_id": report["run_id"], "status": report["status"]}))
"""


def _nightly(tree: Path, base_url: str, url: str, data_dir: Path, hubs: list[str], prefect_home: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "PREFECT_HOME": str(prefect_home)}
    done = subprocess.run(
        [sys.executable, "-c", NIGHTLY, base_url, url, str(data_dir), json.dumps(hubs)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 4):  # 4: degraded (the day a hub page fails)
        raise SystemExit(f"nightly in {tree} exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _runs(url: str) -> list[str]:
    with make_engine(url).connect() as conn:
        return [r for (r,) in conn.execute(text("SELECT run_id FROM run ORDER BY started_at, run_id"))]


def _hub_as_of(url: str) -> dict[tuple[int, str], dict]:
    order = {r: i for i, r in enumerate(_runs(url))}
    with make_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT * FROM hub_as_of")).mappings().all()
    return {
        (order[r["as_of_run"]], r["hub_uuid"]): {
            **{k: r[k] for k in FIGURES},
            "complete": bool(r["complete"]),
            "snapshot": order[r["snapshot_run"]],
        }
        for r in rows
    }


def _citation_as_of(url: str) -> dict[tuple[int, str, str], tuple]:
    order = {r: i for i, r in enumerate(_runs(url))}
    with make_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT * FROM citation_as_of")).mappings().all()
    out = {}
    for r in rows:
        values = []
        for k in CITATION_COLUMNS:
            v = r[k]
            values.append(order.get(v, v) if k.endswith("_run") else (bool(v) if k == "representative" else v))
        out[(order[r["as_of_run"]], r["hub_uuid"], r["paper_key"])] = tuple(values)
    return out


def _streak_starts(old: dict[tuple[int, str], dict]) -> dict[tuple[int, str], int]:
    """For each (as-of run, hub) of a per-run-snapshot warehouse: the first run of the streak of equal (and
    complete) snapshots that the as-of answer belongs to: the run a spell of those figures would start at."""
    snaps: dict[str, dict[int, dict]] = {}
    for (_, hub), row in old.items():
        snaps.setdefault(hub, {})[row["snapshot"]] = {k: row[k] for k in FIGURES}
    start: dict[tuple[str, int], int] = {}
    for hub, by_run in snaps.items():
        first, before = None, None
        for run in sorted(by_run):
            figures = by_run[run]
            if before is None or not figures["complete"] or figures != before:
                first = run
            start[(hub, run)] = first  # type: ignore[assignment]
            before = figures
    return {key: start[(key[1], row["snapshot"])] for key, row in old.items()}


def compare_hubs(label: str, old: dict, new: dict) -> int:
    starts = _streak_starts(old)
    expected = {k: {**{f: v[f] for f in FIGURES}, "snapshot": starts[k]} for k, v in old.items()}
    got = {k: {**{f: v[f] for f in FIGURES}, "snapshot": v["snapshot"]} for k, v in new.items()}
    differing = sorted(k for k in expected.keys() | got.keys() if expected.get(k) != got.get(k))
    print(f"hub_as_of {label}: {len(expected):,} answers vs {len(got):,}, {len(differing)} differ", flush=True)
    for key in differing[:5]:
        print(f"  {key}: expected {expected.get(key)}, got {got.get(key)}")
    return len(differing)


def compare_citations(label: str, old: dict, new: dict) -> int:
    differing = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    print(f"citation_as_of {label}: {len(old):,} answers vs {len(new):,}, {len(differing)} differ", flush=True)
    for key in differing[:5]:
        print(f"  {key}: {old.get(key)} vs {new.get(key)}")
    return len(differing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="7a9dd2d", help="git revision that builds the baseline warehouse")
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--hubs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="citehub-asof-"))
    work.mkdir(parents=True, exist_ok=True)
    base_tree = work / "baseline"
    if not base_tree.exists():
        subprocess.run(
            ["git", "worktree", "add", "-q", "--detach", str(base_tree), args.baseline], cwd=ROOT, check=True
        )
    trees = {"baseline": base_tree, "this": ROOT}
    urls = {name: f"sqlite:///{work / name / 'warehouse.sqlite'}" for name in trees}
    for name in trees:
        (work / name).mkdir(exist_ok=True)
    first = truth(build_site(hubs=args.hubs, seed=args.seed, day=1))
    failing = sorted(h["uuid"] for h in first["hubs"])[0]
    try:
        with serving(build_site(hubs=args.hubs, seed=args.seed, day=1)) as base_url:
            for day in range(1, args.days + 1):
                if day > 1:
                    post(base_url, "day", {"day": day})
                if day == FAIL_DAY:
                    post(base_url, "fail", {"path": f"/citations/{failing}", "status": 503})
                hubs = [h["uuid"] for h in first["hubs"]] if day == 1 else []
                for name, tree in trees.items():
                    report = _nightly(tree, base_url, urls[name], work / name / "data", hubs, work / name / "prefect")
                    print(f"day {day} {name}: run {report['run_id']} {report['status']}", flush=True)
                if day == FAIL_DAY:
                    post(base_url, "clear", {})
        upgraded = f"sqlite:///{work / 'baseline' / 'upgraded.sqlite'}"
        shutil.copy(work / "baseline" / "warehouse.sqlite", work / "baseline" / "upgraded.sqlite")
        upgrade(make_engine(upgraded))
        old_hubs, old_citations = _hub_as_of(urls["baseline"]), _citation_as_of(urls["baseline"])
        differ = compare_hubs("this checkout vs baseline", old_hubs, _hub_as_of(urls["this"]))
        differ += compare_citations("this checkout vs baseline", old_citations, _citation_as_of(urls["this"]))
        differ += compare_hubs("baseline upgraded in place vs baseline", old_hubs, _hub_as_of(upgraded))
        differ += compare_citations("baseline upgraded in place vs baseline", old_citations, _citation_as_of(upgraded))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, check=False)
    print(f"as-of answers that differ: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
