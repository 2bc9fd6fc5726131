"""Where a load's time and memory go: staging, each pass of `warehouse.load.load_staged`, each mart.

    python -m bench.load_passes RUN_DIR [--postgresql]

RUN_DIR is a crawl's run folder with its items.jsonl (`make bench` leaves one in its scratch folder as
measured/; any nightly's data/runs/<run id> will do). The run is staged and loaded into a fresh warehouse
(SQLite in a temporary folder, or a scratch PostgreSQL database), as the nightly does it, in this process.
Printed per step: seconds, and this process's peak RSS so far (VmHWM), so the step that raises the peak
shows. Run it in a fresh process per measurement: the peak is the process's, not the step's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import new_warehouse, self_peak_rss_mb


def _step(name: str, seconds: float) -> None:
    print(f"{name:<24} {seconds:7.2f} s   peak RSS {self_peak_rss_mb():6.0f} MB", flush=True)


def _timed_passes(load_mod) -> None:
    """Print each load_staged pass as it ends (the passes are methods of the private _StagedRun)."""
    for name in ("hubs", "papers", "citations"):
        original = getattr(load_mod._StagedRun, name)

        def timed(self, *args, _original=original, _name=name):
            started = time.perf_counter()
            out = _original(self, *args)
            _step(f"pass {_name}", time.perf_counter() - started)
            return out

        setattr(load_mod._StagedRun, name, timed)


def _marts(conn, run_id: str) -> None:
    from warehouse.load import materialize_marts

    timings: dict[str, float] = {}
    materialize_marts(conn, run_id, timings)
    for name, seconds in timings.items():  # the peak after all of them: the marts run as one step
        _step(f"mart {name}" if name != "ANALYZE" else "marts: ANALYZE", seconds)


def measure(run_dir: Path, url: str) -> float:
    from warehouse import load as load_mod
    from warehouse import stage

    engine, run_id = new_warehouse(url, "load_passes")
    _step("start", 0.0)
    started = time.perf_counter()
    staged = stage.stage_items(engine, run_id, run_dir / "items.jsonl")
    _step(f"stage ({staged} items)", time.perf_counter() - started)
    _timed_passes(load_mod)
    started = time.perf_counter()
    load_mod.load_staged(engine, run_id, then=lambda conn: _marts(conn, run_id))
    total = time.perf_counter() - started
    _step("load_staged in all", total)
    engine.dispose()
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_passes")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--postgresql", action="store_true", help="a scratch database on 127.0.0.1:5432")
    args = parser.parse_args(argv)
    if not (args.run_dir / "items.jsonl").is_file():
        parser.error(f"{args.run_dir} has no items.jsonl (give a crawl's run folder)")
    if args.postgresql:
        from bench.stages import PgDatabase

        with PgDatabase() as db:
            measure(args.run_dir, db.url)
    else:
        with tempfile.TemporaryDirectory(prefix="citehub-load-passes-") as work:
            measure(args.run_dir, f"sqlite:///{Path(work) / 'load.sqlite'}")


if __name__ == "__main__":
    main()
