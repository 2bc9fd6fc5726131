"""`make bench`: every stage of citehub next to a baseline measured in the same run on the same pages.

    python -m bench [--hubs 2000] [--seed 7] [--density 5] [--skip STAGE ...]

Prints one line per stage (`stage NAME: citehub X UNIT/s, baseline Y UNIT/s, ratio R`), the archive replay
on every core against one process (bench/replay.py; `--skip replay`), each load stage's floor (the same rows
alone written into the warehouse's tables, against the same baseline: the most that stage's ratio can be; and
with the run's staged items read back and decoded first, the most a load from the staging table can reach),
peak RSS of every process, and writes bench/RESULTS.md: one section per site size, and once runs at two sizes are
recorded at one density (bench/results/hubs-N-density-D.json), how time and memory grew between them.
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
from bench.growth import growth_heading, growth_section

RESULTS = Path(__file__).with_name("RESULTS.md")
RECORDS = Path(__file__).with_name("results")
STAGES_SECTION = "## Stages, side by side (make bench)"
DEFAULT_DENSITY = 5.0


def main(argv: list[str] | None = None) -> Results:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--hubs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    # The bench site: 2,000 hubs with about 100,000 citations. The sample site's default density
    # (~13 citations a hub, what the tests crawl) would give a quarter of that.
    parser.add_argument(
        "--density",
        type=float,
        default=DEFAULT_DENSITY,
        help="citing papers a hub, x the sample site's default (5: ~100,000 citations at 2,000 hubs)",
    )
    parser.add_argument("--skip", nargs="*", default=[], help="stages to skip")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--records", type=Path, default=RECORDS, help="folder of per-size JSON records")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="scratch folder for the crawls and databases (default: a new /tmp/citehub-bench-*, "
        "kept: bench.parsers and bench.load_passes read its measured/ run)",
    )
    args = parser.parse_args(argv)

    from samplesite.generator import build_site

    results = Results(hubs=args.hubs, density=args.density)
    work = args.work or stages.scratch()
    work.mkdir(parents=True, exist_ok=True)
    print(f"scratch folder: {work}", flush=True)
    started = time.perf_counter()

    def site_facts() -> tuple[list[str], int]:  # the harness keeps only what it measures
        site = build_site(hubs=args.hubs, seed=args.seed, day=1, density=args.density)
        return [h.uuid for h in site.hubs], sum(len(h.citations) for h in site.hubs)

    with sample_site(args.hubs, args.seed, density=args.density, meanwhile=site_facts) as (base_url, facts):
        uuids, citations = facts
        results.figures["citations in the site"] = f"{citations:,}"
        hub_urls = [f"{base_url}/citations/{u}" for u in uuids]
        stage, run_dir = stages.fetch_stage(base_url, hub_urls, work, results.rss_mb)
        results.add(stage)
        if "parse" not in args.skip:
            results.add(stages.parse_stage(run_dir))
        if "replay" not in args.skip:  # not one of the stages: the archive replay on every core
            from bench.replay import measure as measure_replay

            replay = measure_replay(run_dir, work)
            print(replay.line(), flush=True)
            results.figures["archive replay (backfill --from-archive, reparse)"] = replay.line().split(": ", 1)[1]
        for name, measure in (
            ("load-sqlite", lambda: stages.load_sqlite_stage(run_dir, work)),
            ("load-postgresql", lambda: stages.load_pg_stage(run_dir)),
        ):
            if name not in args.skip:
                stage, floor = measure()
                results.add(stage)
                # not one of the stages: how far the same rows alone go into the warehouse's tables
                print(floor.line(), flush=True)
                results.figures[f"{name} floor: the rows alone into the warehouse's tables"] = floor.line().split(
                    ": ", 1
                )[1]
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


def section_heading(hubs: int, density: float) -> str:
    if (hubs, density) == (2000, DEFAULT_DENSITY):
        return STAGES_SECTION
    return f"## Stages at {hubs:,} hubs, density {density:g} (python -m bench --hubs {hubs} --density {density:g})"


def write_results(results: Results, args, argv) -> None:
    args_given = argv if argv is not None else sys.argv[1:]
    command = "python -m bench " + " ".join(args_given) if args_given else "make bench"
    lines = [
        section_heading(args.hubs, args.density),
        "",
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        f"- command: `{command}` ({args.hubs} hubs, seed {args.seed}, density {args.density:g})",
        "",
        "| stage | citehub | baseline (same run, same pages) | ratio | target | notes |",
        "|---|---|---|---|---|---|",
        *[
            f"| {s.name} | {s.citehub:,.1f} {s.unit}/s | {s.baseline:,.1f} {s.unit}/s | {s.ratio:.2f} | "
            f"{s.target} | {s.notes} |"
            for s in results.stages
        ],
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in results.figures.items()],
        *[f"| peak RSS, {k} | {v:.0f} MB |" for k, v in results.rss_mb.items()],
        "",
    ]
    write_section(args.out, section_heading(args.hubs, args.density), "\n".join(lines))
    args.records.mkdir(parents=True, exist_ok=True)
    (args.records / results.record_name()).write_text(json.dumps(results.record(), indent=1) + "\n")
    growth = growth_section(args.records, args.density)
    if growth:
        write_section(args.out, growth_heading(args.density), growth)
        print(growth)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
