"""Throughput of clean + load on a synthetic batch (not a test): `.venv/bin/python -m tests.warehouse.bench_load`.

Builds `--hubs` hubs with `--per-hub` explorer entries each (default 500 x 200 = 100k citations) over a
shared pool of papers (arXiv ids plus some title-only entries), then times clean() and load() into a
fresh SQLite file, and a second identical load (all unchanged).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from conftest import entry, hub_page, page_item

from schema.engine import make_engine
from schema.migrate import upgrade
from tests.oracle import load
from warehouse.clean import clean
from warehouse.runs import start_run

ROLES = ("background", "method", "baseline", "dataset", "other")


def synthetic_items(hubs: int, per_hub: int, papers: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(3000)]
    pool = []
    for i in range(papers):
        title = " ".join(rng.choice(words) for _ in range(8))
        date = f"{rng.randint(2019, 2026)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        if i % 20 == 0:  # a title identity
            pool.append({"title_raw": title, "date": date})
        else:
            pool.append(
                {
                    "title_raw": title,
                    "date": date,
                    "arxiv": f"{2400 + i // 100000}.{i % 100000:05d}",
                    "version": rng.randint(1, 3),
                }
            )
    items = []
    for h in range(hubs):
        uuid = f"{h:08x}-0000-4000-8000-000000000000"
        chosen = rng.sample(pool, per_hub)
        entries = [entry(position=i % 20, **p) for i, p in enumerate(chosen)]
        for start in range(0, per_hub, 20):
            items.append(
                page_item(
                    hub_page(
                        uuid,
                        citing_count=per_hub,
                        explorer=entries[start : start + 20],
                        page=start // 20 + 1,
                        role_summary={"background": per_hub // 2},
                    )
                )
            )
        classified = entries[: per_hub // 2]
        for start in range(0, len(classified), 20):
            items.append(
                page_item(
                    hub_page(
                        uuid,
                        citing_count=per_hub,
                        explorer=classified[start : start + 20],
                        page=start // 20 + 1,
                        filters={"role": rng.choice(ROLES)},
                    )
                )
            )
    return items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hubs", type=int, default=500)
    parser.add_argument("--per-hub", type=int, default=200)
    parser.add_argument("--papers", type=int, default=60000)
    args = parser.parse_args()
    items = synthetic_items(args.hubs, args.per_hub, args.papers)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite")
        upgrade(engine)
        t0 = time.perf_counter()
        batch = clean(items)
        t1 = time.perf_counter()
        n = len(batch.citations)
        print(
            f"clean: {len(items)} items -> {n} citations, {len(batch.papers)} papers, "
            f"{len(batch.merges)} merges in {t1 - t0:.2f}s ({n / (t1 - t0):,.0f} citations/s)"
        )
        for label in ("first load", "second load"):
            run_id = start_run(engine, "backfill", {"bench": True})
            t0 = time.perf_counter()
            result = load(engine, run_id, batch)
            dt = time.perf_counter() - t0
            print(
                f"{label}: {dt:.2f}s ({n / dt:,.0f} citations/s), changed rows {result.changed}, "
                f"citation {vars(result.tables['citation'])}"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
