"""`make bench`: every stage of citehub next to a baseline measured in the same run on the same pages.

    python -m bench [--hubs 2000] [--seed 7] [--skip STAGE ...]

Prints one line per stage (`stage NAME: citehub X UNIT/s, baseline Y UNIT/s, ratio R`), peak RSS of
every process, and writes bench/RESULTS.md: one section per site size, and once runs at two sizes are
recorded (bench/results/hubs-N.json), how time and memory grew between them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from bench import stages
from bench.common import Results, sample_site, self_peak_rss_mb, write_section
from bench.growth import GROWTH_SECTION, growth_section

RESULTS = Path(__file__).with_name("RESULTS.md")
RECORDS = Path(__file__).with_name("results")
STAGES_SECTION = "## Stages, side by side (make bench)"


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--hubs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip", nargs="*", default=[], help="stages to skip")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--records", type=Path, default=RECORDS, help="folder of per-size JSON records")
    args = parser.parse_args(argv)

    from samplesite.generator import build_site

    results = Results(hubs=args.hubs)
    work = stages.scratch()
    started = time.perf_counter()
    site = build_site(hubs=args.hubs, seed=args.seed, day=1)
    results.figures["citations in the site"] = f"{sum(len(h.citations) for h in site.hubs):,}"
    with sample_site(args.hubs, args.seed) as (base_url, _):
        hub_urls = [f"{base_url}/citations/{h.uuid}" for h in site.hubs]
        del site  # the harness keeps only what it measures
        stage, run_dir = stages.fetch_stage(base_url, hub_urls, work, results.rss_mb)
        results.add(stage)
        if "parse" not in args.skip:
            results.add(stages.parse_stage(run_dir))
        if "load-sqlite" not in args.skip:
            results.add(stages.load_sqlite_stage(run_dir, work))
        if "load-postgresql" not in args.skip:
            results.add(stages.load_pg_stage(run_dir))
        if "peer-dlt" not in args.skip:
            results.add(stages.peer_dlt_stage(run_dir, work))
        if "no-change-nightly" not in args.skip:
            from bench.nightly import nightly_stage

            stage, wall = nightly_stage(base_url, hub_urls, work, results.rss_mb)
            results.add(stage)
            results.figures["end-to-end full nightly"] = f"{wall:.1f} s"
            results.seconds["full nightly"] = wall
    results.rss_mb["bench harness (holds the baselines' rows)"] = self_peak_rss_mb()
    results.figures["bench wall time"] = f"{time.perf_counter() - started:.0f} s"
    for name, mb in results.rss_mb.items():
        print(f"peak RSS {name}: {mb:.0f} MB")
    write_results(results, args, argv)
    return results


def section_heading(hubs: int) -> str:
    return STAGES_SECTION if hubs == 2000 else f"## Stages at {hubs:,} hubs (python -m bench --hubs {hubs})"


def write_results(results: Results, args, argv) -> None:
    args_given = argv if argv is not None else sys.argv[1:]
    command = "python -m bench " + " ".join(args_given) if args_given else "make bench"
    lines = [
        section_heading(args.hubs),
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- command: `{command}` ({args.hubs} hubs, seed {args.seed})",
        "",
        "| stage | citehub | baseline (same run, same pages) | ratio | target | notes |",
        "|---|---|---|---|---|---|",
        *[f"| {s.name} | {s.citehub:,.1f} {s.unit}/s | {s.baseline:,.1f} {s.unit}/s | {s.ratio:.2f} | "
          f"{s.target} | {s.notes} |" for s in results.stages],
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in results.figures.items()],
        *[f"| peak RSS, {k} | {v:.0f} MB |" for k, v in results.rss_mb.items()],
        "",
    ]
    write_section(args.out, section_heading(args.hubs), "\n".join(lines))
    args.records.mkdir(parents=True, exist_ok=True)
    (args.records / f"hubs-{args.hubs}.json").write_text(json.dumps(results.record(), indent=1) + "\n")
    growth = growth_section(args.records)
    if growth:
        write_section(args.out, GROWTH_SECTION, growth)
        print(growth)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
