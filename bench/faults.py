"""A faulted nightly at scale: does citehub lose anything when every fault shows up at a realistic rate?

    python -m bench.faults [--hubs 500] [--seed 7] [--fault-seed 3] [--spec SPEC]

Two real nightly flows (Prefect, `scrapy crawl`, SQLite) over the sample site: a clean night, then the
same site (unconditional requests, so every page is fetched again) served with faults. The warehouse is
then compared with the site's ground truth: every hub whose fetch completed must equal it, and every hub
the faulted night could not read completely must still hold what the clean night loaded (which equals the
truth too), so "rows lost" counts ground-truth hubs, papers and citations missing or different, and must
be 0. Prints the table and appends it to bench/RESULTS.md (section "Faulted nightly").
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from sqlalchemy import select

from bench.common import write_section

RESULTS = Path(__file__).with_name("RESULTS.md")
SECTION = "## Faulted nightly (bench/faults.py)"
# Realistic rates per request (the figures; drift and redirects split across their modes).
SPEC = (
    "5xx=0.02,429=0.005,429-date=0.005,slow=0.01,truncate=0.0025,chunked-cut=0.0025,"
    "malformed=0.005,charset=0.001,bom=0.001,empty=0.001,ratelimited=0.001,"
    "drift-rename=0.0005,drift-missing=0.0005,drift-legacy=0.001,"
    "redirect-host=0.0007,redirect-port=0.0007,redirect-private=0.0006,gzip-bomb=0.0005,"
    "retry_after=1,slow_s=0.3"
)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.faults")
    parser.add_argument("--hubs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7, help="sample-site seed")
    parser.add_argument("--fault-seed", type=int, default=3)
    parser.add_argument("--spec", default=SPEC, help="fault spec (samplesite/faults.py), without seed")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from prefect.testing.utilities import prefect_test_harness

    from bench.stages import scratch
    from flows.nightly import nightly_refresh
    from samplesite.faults import parse_spec
    from samplesite.generator import build_site
    from samplesite.server import serving
    from samplesite.truth import truth

    site = build_site(hubs=args.hubs, seed=args.seed, day=1)
    faults = parse_spec(f"{args.spec},seed={args.fault_seed}")
    work = scratch()
    url = f"sqlite:///{work / 'faults.sqlite'}"
    kw = {
        "database_url": url,
        "data_dir": str(work / "data"),
        "include_known": False,
        "hubs": [h.uuid for h in site.hubs],
        "conditional": False,
    }
    os.environ["CITEHUB_ALLOWED_HOSTS"] = "[]"  # only the sample site itself
    with prefect_test_harness(server_startup_timeout=120):
        with serving(site) as base_url:
            clean_night = nightly_refresh(base_url=base_url, **kw)
        started = time.perf_counter()
        with serving(site, faults=faults) as base_url:
            faulted = nightly_refresh(base_url=base_url, **kw)
        seconds = time.perf_counter() - started
    lost = rows_lost(url, truth(site))
    figures = table(clean_night, faulted, faults.served(), lost, seconds, args)
    text = render(figures, args)
    print(text, flush=True)
    _append(args.out, text)
    return figures


def rows_lost(url: str, expected: dict) -> dict[str, int]:
    """Ground-truth rows missing from the warehouse or different there, by table."""
    from schema import tables as t
    from schema.engine import make_engine

    hub_fields = ("template", "tier", "label", "title_raw", "title", "citing_count", "classified_count")
    paper_fields = ("arxiv_id", "pith_id", "title_raw", "title", "category", "date", "summary_raw", "summary")
    with make_engine(url).connect() as conn:
        hubs = {(r.hub_uuid, *(r._mapping[f] for f in hub_fields)) for r in conn.execute(select(t.hub))}
        papers = {(r.paper_key, *(r._mapping[f] for f in paper_fields)) for r in conn.execute(select(t.paper))}
        edges = {
            tuple(r)
            for r in conn.execute(
                select(
                    t.citation.c.hub_uuid,
                    t.citation.c.paper_key,
                    t.citation.c.role,
                    t.citation.c.polarity,
                    t.citation.c.representative,
                ).where(t.citation.c.valid_to_run.is_(None))
            )
        }
    want_hubs = {(h["uuid"], *(h[f] for f in hub_fields)) for h in expected["hubs"]}
    want_papers = {(p["paper_key"], *(p[f] for f in paper_fields)) for p in expected["papers"]}
    want_edges = {
        (c["hub_uuid"], c["paper_key"], c["role"], c["polarity"], c["representative"]) for c in expected["citations"]
    }
    return {
        "hub": len(want_hubs - hubs),
        "paper": len(want_papers - papers),
        "citation": len(want_edges - edges),
        "extra": len(hubs - want_hubs) + len(papers - want_papers) + len(edges - want_edges),
    }


def table(clean_night: dict, faulted: dict, served: Counter, lost: dict, seconds: float, args) -> dict:
    outcomes = faulted["fetch_outcomes"]
    injected = dict(sorted((mode, n) for mode, n in served.items() if mode is not None))
    return {
        "hubs": args.hubs,
        "requests": faulted["requests"],
        "faults injected": sum(injected.values()),
        "retries": faulted["retries"],
        "URLs loaded (parsed)": outcomes.get("parsed", 0),
        "URLs not modified": outcomes.get("not_modified", 0),
        "URLs quarantined": outcomes.get("quarantined", 0),
        "URLs failed after retries": outcomes.get("failed", 0),
        "URLs skipped (refused by policy)": outcomes.get("skipped", 0),
        "hubs incomplete (kept last good data)": len(faulted["incomplete_hubs"]),
        "rows lost (hub / paper / citation)": f"{lost['hub']} / {lost['paper']} / {lost['citation']}",
        "rows not in the truth": lost["extra"],
        "quality checks failed": len(faulted["checks_failed"]),
        "kills survived": "n/a (tests/faults kill test)",
        "faulted night wall time": f"{seconds:.1f} s",
        "_injected": injected,
        "_reasons": faulted["quarantine_reasons"],
        "_clean": clean_night["fetch_outcomes"],
    }


def render(figures: dict, args) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench.faults --hubs {args.hubs} --seed {args.seed} --fault-seed {args.fault_seed}` "
        f"({time.strftime('%Y-%m-%d')}): a clean nightly, then the same site with faults "
        "(unconditional requests). Spec: `" + args.spec + "`.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in figures.items() if not name.startswith("_")]
    lines += [
        "",
        "Faults served: " + ", ".join(f"{m} {n}" for m, n in figures["_injected"].items()) + ".",
        "Quarantined by reason: "
        + (", ".join(f"{r} {n}" for r, n in sorted(figures["_reasons"].items())) or "none")
        + ".",
        "Clean night URLs by outcome: " + ", ".join(f"{o} {n}" for o, n in sorted(figures["_clean"].items())) + ".",
        "",
    ]
    return "\n".join(lines)


def _append(path: Path, text: str) -> None:
    write_section(path, SECTION, text)


if __name__ == "__main__":
    main()
