"""Freshness per request of the revisit plan (issue 16): budgeted nightlies on an evolving site, side by side.

    python -m bench.freshness [--hubs 1000] [--days 14] [--seed 7] [--share 0.05] [--work DIR] [--out FILE]

An evolving site (samplesite.growth.GrowthModel, fixed seed: hubs appear over days, busy hubs change more
often) is crawled for `--days` simulated nights, starting from `--share` of its day-1 hubs as seeds (named to
the first run of every policy). Every night each policy runs one real nightly (`flows.nightly.nightly_refresh`
over HTTP, the day's site served by `samplesite.server.serving` on one port for every day, so the warehouse's
validators keep answering 304s) into its own SQLite warehouse and data dir:

- "all": unbudgeted (every known hub and every frontier hub every night), for reference; it runs first;
- "citehub-25", "citehub-50": policy citehub with a budget of 25% / 50% of the requests "all" sent that night;
- "rr-25", "rr-50": policy round_robin (oldest complete fetch first, the baseline) at the same budgets.

Requests are counted from each run's archive: the WARC response records under
<data_dir>/runs/<run_id>/warc/*.warc.gz (robots.txt, 304s and paper pages included). The crawl's own count
(stats.json `citehub/budget/sent`, which also sees redirect hops and requests that got no answer) is checked
against the budget too.

Per night and policy, against that day's ground truth (`samplesite.truth.truth`):
- coverage = site hubs with a row in the warehouse's `hub` table that has figures (`citing_count`; a stub row of a
  hub whose every request the budget refused does not count) / hubs on the site;
- freshness = site hubs whose published state equals the site's / hubs on the site. A hub is fresh when its
  `hub.citing_count` equals the truth's and its current edges (`citation` rows with valid_to_run NULL) are the
  truth's citing papers with the same role and polarity; a hub not in the warehouse is not fresh.

Prints a per-day table, one `run ...` line per run, and the summary lines: `stage freshness:` (25% budget) and
`stage freshness-50:` as fresh-hubs/request = sum over nights of fresh hubs / sum of requests, citehub against
round-robin; coverage from day 4 on at 50%; citehub-50's average freshness over days 4.. against "all"'s; each
target with PASS/FAIL. Writes the section "Freshness per request ..." of bench/RESULTS.md (`--out`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Freshness per request (python -m bench.freshness)"
POLICIES = ("all", "citehub-25", "rr-25", "citehub-50", "rr-50")
BUDGETED = {"citehub-25": ("citehub", 0.25), "rr-25": ("round_robin", 0.25), "citehub-50": ("citehub", 0.50)}
BUDGETED["rr-50"] = ("round_robin", 0.50)
FROM_DAY = 4  # coverage and the freshness against "all" are judged from this night on
COVERAGE_TARGET = 0.99
RATIO_TARGET = 1.5
VS_ALL_TARGET = 0.9


@dataclass
class Night:
    """One run of one policy on one night, measured."""

    day: int
    policy: str
    run_id: str
    budget: int | None
    requests: int  # WARC response records of the run
    crawl_requests: int  # the crawl's own count (stats.json citehub/budget/sent)
    site_hubs: int
    covered: int
    fresh: int
    seconds: float
    status: str = "completed"  # the run's outcome: completed, degraded, blocked (the publish guard), ...
    archive: dict[str, int] = field(default_factory=dict)  # requests by kind of URL
    plan: dict[str, int] = field(default_factory=dict)  # run_plan reasons

    @property
    def coverage(self) -> float:
        return self.covered / self.site_hubs

    @property
    def freshness(self) -> float:
        return self.fresh / self.site_hubs

    @property
    def within_budget(self) -> bool:
        return self.budget is None or max(self.requests, self.crawl_requests) <= self.budget

    def line(self) -> str:
        budget = "none" if self.budget is None else str(self.budget)
        return (
            f"run day {self.day} {self.policy}: budget {budget}, requests {self.requests} "
            f"(crawl count {self.crawl_requests}), within budget {'yes' if self.within_budget else 'NO'}, "
            f"coverage {self.coverage:.3f}, freshness {self.freshness:.3f} "
            f"({self.fresh}/{self.site_hubs} hubs), {self.status}, {self.seconds:.1f} s"
        )


# --- measuring --------------------------------------------------------------------------------------------


def day_truth(site: Any) -> dict[str, tuple[int, frozenset[tuple[str, str | None, str | None]]]]:
    """Per hub of the site: (citing count, its citing papers with role and polarity)."""
    from samplesite.truth import truth

    t = truth(site)
    edges: dict[str, set[tuple[str, str | None, str | None]]] = {h["uuid"]: set() for h in t["hubs"]}
    for c in t["citations"]:
        edges[c["hub_uuid"]].add((c["paper_key"], c["role"], c["polarity"]))
    return {h["uuid"]: (h["citing_count"], frozenset(edges[h["uuid"]])) for h in t["hubs"]}


def published_state(database_url: str) -> dict[str, tuple[int | None, frozenset[tuple[str, str | None, str | None]]]]:
    """Per hub of the warehouse: (hub.citing_count, its current edges with role and polarity)."""
    from sqlalchemy import select

    from schema.engine import make_engine
    from schema.tables import citation, hub

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            counts = dict(conn.execute(select(hub.c.hub_uuid, hub.c.citing_count)).all())
            edges: dict[str, set[tuple[str, str | None, str | None]]] = {u: set() for u in counts}
            current = select(citation.c.hub_uuid, citation.c.paper_key, citation.c.role, citation.c.polarity).where(
                citation.c.valid_to_run.is_(None)
            )
            for uuid, key, role, polarity in conn.execute(current):
                edges.setdefault(uuid, set()).add((key, role, polarity))
    finally:
        engine.dispose()
    return {u: (counts.get(u), frozenset(e)) for u, e in edges.items()}


def score(truth: dict, state: dict) -> tuple[int, int]:
    """(hubs of the site in the warehouse, hubs of the site whose published state is the site's). A hub row
    without figures (a stub: every request for the hub was refused by the budget) does not cover its hub."""
    covered = sum(1 for u in truth if u in state and state[u][0] is not None)
    fresh = sum(1 for u, want in truth.items() if state.get(u) == want)
    return covered, fresh


def url_kind(url: str) -> str:
    path = url.split("://", 1)[-1].split("/", 1)[-1] if "://" in url else url
    path = "/" + path.split("?", 1)[0]
    if path == "/robots.txt":
        return "robots.txt"
    if path.startswith("/citations/"):
        return "hub twin (.json)" if path.endswith(".json") else "hub pages"
    if path.startswith(("/paper/", "/p/", "/ref/")):
        return "paper pages"
    return "other"


def archive_requests(run_dir: Path) -> Counter[str]:
    """The run's WARC response records, by kind of URL."""
    from warcio.archiveiterator import ArchiveIterator

    kinds: Counter[str] = Counter()
    for path in sorted((run_dir / "warc").glob("*.warc.gz")):
        with gzip.open(path, "rb") as raw:
            for record in ArchiveIterator(raw):
                if record.rec_type == "response":
                    kinds[url_kind(record.rec_headers.get_header("WARC-Target-URI"))] += 1
    return kinds


def crawl_sent(stats: dict[str, Any]) -> int:
    """Requests the crawl sent by its own count: the budget middleware's, or without a budget every request
    the downloader saw (`downloader/request_count` also counts requests the budget refused)."""
    if "citehub/budget/sent" in stats:
        return int(stats["citehub/budget/sent"])
    return int(stats.get("downloader/request_count", 0)) - int(stats.get("citehub/budget/refused", 0))


def plan_reasons(database_url: str, run_id: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from schema.engine import make_engine
    from schema.tables import run_plan

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(run_plan.c.reason, func.count()).where(run_plan.c.run_id == run_id).group_by(run_plan.c.reason)
            ).all()
    finally:
        engine.dispose()
    return dict(sorted((r, n) for r, n in rows))


# --- running ----------------------------------------------------------------------------------------------


def run_night(
    policy: str,
    day: int,
    base_url: str,
    work: Path,
    seeds: list[str],
    budget: int | None,
    as_of: datetime,
    truth: dict,
) -> Night:
    from flows.nightly import nightly_refresh

    folder = work / policy
    folder.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{folder / 'warehouse.sqlite'}"
    data_dir = folder / "data"
    kwargs: dict[str, Any] = {}
    if policy != "all":
        kwargs = {"budget": budget, "policy": BUDGETED[policy][0]}
    runs_dir = data_dir / "runs"
    before = set(runs_dir.iterdir()) if runs_dir.exists() else set()
    started = time.perf_counter()
    try:
        report = nightly_refresh(
            base_url=base_url,
            hubs=seeds if day == 1 else None,
            database_url=database_url,
            data_dir=str(data_dir),
            include_known=True,
            as_of=as_of,
            **kwargs,
        )
        run_id, status = report["run_id"], str(report.get("status", "completed"))
    except Exception:  # a failed run is a figure of the bench, not its end: the next night runs as usual
        print(f"day {day} {policy}: the nightly raised", file=sys.stderr, flush=True)
        traceback.print_exc()
        new = sorted(set(runs_dir.iterdir()) - before) if runs_dir.exists() else []
        run_id, status = (new[-1].name if new else ""), "failed"
    seconds = time.perf_counter() - started
    run_dir = runs_dir / run_id
    kinds = archive_requests(run_dir) if run_id else Counter()
    stats_path = run_dir / "stats.json"
    stats = json.loads(stats_path.read_text()) if run_id and stats_path.exists() else {}
    covered, fresh = score(truth, published_state(database_url))
    return Night(
        day=day,
        policy=policy,
        run_id=run_id,
        budget=budget,
        requests=sum(kinds.values()),
        crawl_requests=crawl_sent(stats),
        site_hubs=len(truth),
        covered=covered,
        fresh=fresh,
        seconds=seconds,
        status=status,
        archive=dict(sorted(kinds.items())),
        plan=plan_reasons(database_url, run_id) if run_id else {},
    )


def simulate(hubs: int, days: int, seed: int, share: float, work: Path, policies: tuple[str, ...]) -> list[Night]:
    from prefect.testing.utilities import prefect_test_harness

    from samplesite.generator import build_site
    from samplesite.growth import GrowthModel, site_seeds
    from samplesite.server import serving

    model = GrowthModel()
    nights: list[Night] = []
    port = 0  # the first day's server picks a free port; every later day serves on the same one
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days + 1)
    seeds: list[str] = []
    with prefect_test_harness(server_startup_timeout=90):
        for day in range(1, days + 1):
            site = build_site(hubs=hubs, seed=seed, day=day, growth=model)
            if day == 1:
                seeds = site_seeds(site, share)
                print(f"seeds: {len(seeds)} of {len(site.hubs)} day-1 hubs", flush=True)
            truth = day_truth(site)
            as_of = base + timedelta(days=day)
            with serving(site, port=port) as base_url:
                port = int(base_url.rsplit(":", 1)[1])
                spent: int | None = None
                for policy in policies:
                    budget = None
                    if policy != "all":
                        if spent is None:
                            raise ValueError("policy 'all' must run first: the budgets are shares of its requests")
                        budget = max(1, int(spent * BUDGETED[policy][1]))
                    night = run_night(policy, day, base_url, work, seeds, budget, as_of, truth)
                    if policy == "all":
                        spent = night.requests
                    nights.append(night)
                    print(night.line(), flush=True)
    return nights


# --- reporting --------------------------------------------------------------------------------------------


def per_request(nights: list[Night], policy: str) -> float:
    mine = [n for n in nights if n.policy == policy]
    requests = sum(n.requests for n in mine)
    return sum(n.fresh for n in mine) / requests if requests else float("nan")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def summary(nights: list[Night], days: int) -> list[str]:
    """The stage lines and every target's verdict."""
    lines = []
    policies = {n.policy for n in nights}
    for pct, stage in (("25", "freshness"), ("50", "freshness-50")):
        citehub, rr = f"citehub-{pct}", f"rr-{pct}"
        if citehub not in policies or rr not in policies:
            continue
        c, b = per_request(nights, citehub), per_request(nights, rr)
        ratio = c / b if b else float("nan")
        lines.append(
            f"stage {stage}: citehub {c:.3f} fresh-hubs/request, baseline {b:.3f} fresh-hubs/request, ratio {ratio:.2f}"
        )
        lines.append(
            f"target {stage}: citehub's freshness per request >= {RATIO_TARGET:g}x round-robin's at {pct}%: "
            f"{verdict(ratio >= RATIO_TARGET)}"
        )
    first = min(FROM_DAY, days)
    late = [n for n in nights if n.day >= first]
    for policy in ("citehub-50", "rr-50"):
        mine = [n for n in late if n.policy == policy]
        if not mine:
            continue
        worst = min(mine, key=lambda n: n.coverage)
        ok = worst.coverage >= COVERAGE_TARGET
        line = f"coverage {policy} days {first}-{days}: min {worst.coverage:.3f} (day {worst.day})"
        lines.append(line + (f", target >= {COVERAGE_TARGET:g}: {verdict(ok)}" if policy == "citehub-50" else ""))
    budgeted = [n.freshness for n in late if n.policy == "citehub-50"]
    every = [n.freshness for n in late if n.policy == "all"]
    if budgeted and every:
        avg_c, avg_a = sum(budgeted) / len(budgeted), sum(every) / len(every)
        ratio = avg_c / avg_a if avg_a else float("nan")
        lines.append(
            f"freshness vs all days {first}-{days}: citehub-50 average {avg_c:.3f}, all average {avg_a:.3f}, "
            f"ratio {ratio:.2f}, target >= {VS_ALL_TARGET:g}: {verdict(ratio >= VS_ALL_TARGET)}"
        )
    blocked = [n for n in nights if n.status != "completed"]
    lines.append(
        f"runs not completed: {len(blocked)} of {len(nights)}"
        + (": " + ", ".join(f"day {n.day} {n.policy} {n.status}" for n in blocked) if blocked else "")
    )
    over = [n for n in nights if not n.within_budget]
    lines.append(
        f"budgets: {sum(1 for n in nights if n.budget is not None)} budgeted runs, "
        f"{len(over)} over budget{': ' + ', '.join(f'day {n.day} {n.policy}' for n in over) if over else ''}"
    )
    return lines


def table(nights: list[Night], policies: tuple[str, ...]) -> list[str]:
    """Per day: each policy's freshness / coverage / requests (budget)."""
    by = {(n.day, n.policy): n for n in nights}
    days = sorted({n.day for n in nights})
    lines = [
        "| day | site hubs | " + " | ".join(policies) + " |",
        "|---|---|" + "---|" * len(policies),
    ]
    for day in days:
        cells = []
        for p in policies:
            n = by.get((day, p))
            if n is None:
                cells.append("—")
                continue
            spent = f"{n.requests}" if n.budget is None else f"{n.requests}/{n.budget}"
            cells.append(f"{n.freshness:.3f} / {n.coverage:.3f} / {spent}")
        site = next(n.site_hubs for n in nights if n.day == day)
        lines.append(f"| {day} | {site} | " + " | ".join(cells) + " |")
    return lines


def spending(nights: list[Night], day: int, policy: str = "citehub-50") -> str | None:
    n = next((n for n in nights if n.day == day and n.policy == policy), None)
    if n is None:
        return None
    reasons = ", ".join(f"{k} {v}" for k, v in n.plan.items()) or "none"
    archive = ", ".join(f"{k} {v}" for k, v in n.archive.items())
    return (
        f"{policy} day {day} spent {n.requests} of {n.budget} requests: run_plan reasons {reasons}; "
        f"archive {archive}; paper pages fetched {n.archive.get('paper pages', 0)}"
    )


def write_results(path: Path, nights: list[Night], args: argparse.Namespace, command: str, wall: float) -> None:
    from bench.common import write_section

    lines = [
        SECTION,
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- command: `{command}` ({args.hubs} hubs, {args.days} days, seed {args.seed}, seeds {args.share:g} of "
        f"the day-1 hubs, GrowthModel defaults); wall time {wall:.0f} s",
        "- requests: WARC response records of each run's archive (robots.txt, 304s, paper pages included); "
        'budgets are 25% / 50% of what "all" sent the same night',
        "- freshness: hubs whose `hub.citing_count` and current edges (paper, role, polarity) equal the day's "
        "ground truth / hubs on the site; coverage: hubs of the site in `hub` with figures / hubs on the site",
        *([f"- environment: {env}"] if (env := guard_env()) else []),
        "",
        "Per night: freshness / coverage / requests (/budget).",
        "",
        *table(nights, tuple(p for p in POLICIES if any(n.policy == p for n in nights))),
        "",
        "```",
        *summary(nights, args.days),
        *([s] if (s := spending(nights, args.days)) else []),
        "```",
        "",
    ]
    write_section(path, SECTION, "\n".join(lines))


def guard_env() -> str:
    """The CITEHUB_* settings the run was given in its environment (they change what the nightlies do)."""
    return ", ".join(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("CITEHUB_"))


def main(argv: list[str] | None = None) -> list[Night]:
    parser = argparse.ArgumentParser(prog="python -m bench.freshness")
    parser.add_argument("--hubs", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.05, help="share of the day-1 hubs given as seeds")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new temp folder)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="RESULTS.md to write the section to")
    parser.add_argument("--no-write", action="store_true", help="print only, leave --out alone")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    args = parser.parse_args(argv)
    if args.hubs < 1 or args.days < 1:
        parser.error("--hubs and --days must be >= 1")

    work = args.work or Path(tempfile.mkdtemp(prefix="citehub-freshness-"))
    work.mkdir(parents=True, exist_ok=True)
    # Prefect reads its home at import: a temp one, as the tests do (tests/conftest.py)
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    print(f"scratch folder: {work}", flush=True)
    started = time.perf_counter()
    nights = simulate(args.hubs, args.days, args.seed, args.share, work, POLICIES)
    wall = time.perf_counter() - started

    print()
    for line in table(nights, POLICIES):
        print(line)
    print("(cells: freshness / coverage / requests[/budget])")
    for line in summary(nights, args.days):
        print(line)
    if s := spending(nights, args.days):
        print(s)
    print(f"wall time {wall:.0f} s")
    if args.json:
        args.json.write_text(json.dumps([asdict(n) for n in nights], indent=1) + "\n")
    if not args.no_write:
        given = argv if argv is not None else sys.argv[1:]
        command = "python -m bench.freshness" + (" " + " ".join(given) if given else "")
        write_results(args.out, nights, args, command, wall)
        print(f"wrote {args.out}")
    return nights


if __name__ == "__main__":
    main()
