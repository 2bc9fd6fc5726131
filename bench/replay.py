"""Archive replay (what backfill --from-archive and reparse run before staging), on one process and on N.

    python -m bench.replay RUN_DIR [--workers N]

RUN_DIR is a crawl's run folder (items.jsonl + warc/; `make bench` leaves one as measured/). The crawl is
replayed twice with `spiders.replay.write_replay`: on one process (the baseline) and on N (default: every
core); both items files must be byte-identical. Prints
`replay: citehub X fetches/s on N processes, baseline Y fetches/s on 1, ratio R (F fetches)`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Timer


@dataclass
class ReplayFigures:
    fetches: int
    workers: int
    seconds: float
    baseline_seconds: float

    def line(self) -> str:
        return (
            f"replay: citehub {self.fetches / self.seconds:,.1f} fetches/s on {self.workers} processes, "
            f"baseline {self.fetches / self.baseline_seconds:,.1f} fetches/s on 1, "
            f"ratio {self.baseline_seconds / self.seconds:.2f} ({self.fetches:,} fetches)"
        )


def measure(run_dir: Path, work: Path, workers: int | None = None) -> ReplayFigures:
    from spiders.replay import ArchivedRun, fetch_plan, replay_workers, write_replay

    archived = ArchivedRun(run_dir.name, run_dir, datetime.now(UTC))
    fetches = fetch_plan(archived)
    workers = replay_workers(workers)
    out = {}
    for n in (1, workers):
        out[n] = work / f"replay-{n}.jsonl"
        with Timer() as t:
            stats = write_replay(archived, fetches, "bench-replay", out[n], n)
        out[n, "s"] = t.seconds
    if out[1].read_bytes() != out[workers].read_bytes():
        raise RuntimeError(f"replay on {workers} processes wrote other items than on one: {out[1]} {out[workers]}")
    return ReplayFigures(len(fetches), stats["citehub/replay/workers"], out[workers, "s"], out[1, "s"])


def main(argv: list[str] | None = None) -> None:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.replay")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--workers", type=int, default=None, help="processes (default: every core)")
    args = parser.parse_args(argv)
    if not (args.run_dir / "items.jsonl").is_file():
        parser.error(f"{args.run_dir} has no items.jsonl (give a crawl's run folder)")
    with tempfile.TemporaryDirectory(prefix="citehub-replay-") as work:
        print(measure(args.run_dir, Path(work), args.workers).line())


if __name__ == "__main__":
    main()
