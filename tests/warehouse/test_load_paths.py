"""The nightly's hub-batched load (`warehouse.load.load_staged`) and the whole-run reference path
(`tests.oracle.load` of `warehouse.clean.clean`) write the same warehouse.

Two warehouses take the same crawls of a 24-hub sample site: day 1, then day 3 with one hub's page failing
(incomplete: kept, nothing retired) and every other change of the days between (new, relabelled, retired
edges, tier changes). One loads with `load_staged` in 5-hub batches (several batches, papers shared across
them), the other with `load(clean(...))`. Every core and published table must hold the same rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.crawl import allowed_hosts_for, run_crawl
from tests.oracle import checker, load
from warehouse import guard, runs, stage
from warehouse.clean import clean
from warehouse.load import load_staged, materialize_marts

HUBS, SEED = 24, 11
TABLES = (
    "hub",
    "paper",
    "citation",
    "citation_version",
    "hub_version",
    "hub_facet_version",
    "fetch",
    "quarantine",
    "paper_merge",
    "hub_summary",
    "hub_role_mix",
    "hub_polarity_mix",
    "hub_growth",
    "category_flow",
    "paper_reach",
    "change_report",
)
FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"}


def _rows(engine, run_order: dict[str, str]) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, run ids replaced by the run's position (the two warehouses' ids differ)."""
    out = {}
    by_name = {table.name: table for table in t.metadata.tables.values()}
    with engine.connect() as conn:
        for name in TABLES:
            table = by_name[name]
            rows = conn.execute(select(table)).all()
            out[name] = sorted(
                (tuple(run_order.get(v, v) if isinstance(v, str) else v for v in row) for row in rows), key=repr
            )
    return out


def test_hub_batched_load_equals_whole_run_load(tmp_path: Path):
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    hub_urls_of = lambda base: [f"{base}/citations/{h.uuid}" for h in site.hubs]  # noqa: E731
    engines = {path: make_engine(f"sqlite:///{tmp_path / (path + '.sqlite')}") for path in ("staged", "whole")}
    for engine in engines.values():
        upgrade(engine)
    run_ids: dict[str, list[str]] = {path: [] for path in engines}
    with serving(site) as base:
        for day in (1, 3):
            if day == 3:
                post(base, "day", {"day": 3})
                post(base, "fail", {"path": f"/citations/{site.hubs[0].uuid}", "status": 503})
            crawl = run_crawl(
                f"day{day}",
                tmp_path / f"day{day}",
                base,
                hub_urls_of(base),
                allowed_hosts_for(base),
                8,
                extra_settings=FAST,
            )
            for path, engine in engines.items():
                run_id = runs.start_run(engine, "nightly", {"day": day})
                run_ids[path].append(run_id)
                stage.stage_items(engine, run_id, crawl.items_path)
                marts = lambda conn, r=run_id: materialize_marts(conn, r)  # noqa: E731
                if path == "staged":
                    result = load_staged(
                        engine, run_id, gate=guard.Gate(run_id, guard.Limits()), then=marts, hubs_per_batch=5
                    )
                else:
                    result = load(
                        engine,
                        run_id,
                        clean(stage.staged_items(engine, run_id)),
                        guard=checker(run_id, guard.Limits()),
                        then=marts,
                    )
                runs.finish_run(engine, run_id, "completed", {"load": result.as_dict()})
    staged = _rows(engines["staged"], {r: f"R{i}" for i, r in enumerate(run_ids["staged"], 1)})
    whole = _rows(engines["whole"], {r: f"R{i}" for i, r in enumerate(run_ids["whole"], 1)})
    # the comparison is about something: both days loaded, and day 3 changed edges and kept the failing hub
    assert any("R2" in row for row in staged["change_report"])
    # day 1 opened a figure spell per hub; day 3 opened more (hubs whose figures changed)
    assert HUBS < len(set(staged["hub_version"])) < 2 * HUBS
    for name in TABLES:
        assert staged[name] == whole[name], name


def test_hub_batches_are_bounded_by_hubs_and_by_rows():
    from warehouse.load import hub_ranges

    sizes = [("a", 3), ("b", 4), ("c", 9), ("d", 1), ("e", 1), ("f", 1), ("g", 2)]
    # at most 5 rows (one hub alone may exceed it), at most 2 hubs
    assert list(hub_ranges(sizes, 2, 5)) == [("a", "a"), ("b", "b"), ("c", "c"), ("d", "e"), ("f", "g")]
    assert list(hub_ranges(sizes, 10, 100)) == [("a", "g")]
    assert list(hub_ranges(sizes, 1, 100)) == [(u, u) for u, _ in sizes]
    assert list(hub_ranges([], 3, 3)) == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_items_naming_no_hub_load_in_groups_cut_between_urls(tmp_path: Path, monkeypatch, request, backend):
    """A first crawl's paper-page fetches (no hub) are read in groups of about ITEMS_PER_BATCH, never all at
    once; a URL fetched twice stays in one group, so its latest attempt is the one kept."""
    from tests.warehouse.conftest import BASE, fetch_item, two_hub_items, write_items
    from warehouse import load as load_mod

    monkeypatch.setattr(load_mod, "ITEMS_PER_BATCH", 2)
    papers = [f"{BASE}/paper/2401.0000{i}" for i in range(5)]
    retried = papers[2]
    loose = [fetch_item(url, None) for url in papers]
    # papers[2] failed first, then was fetched: the later line is its last attempt
    loose.insert(
        0, {**fetch_item(retried, None, outcome="failed", status=503), "fetched_at": "2026-01-01T00:00:00+00:00"}
    )
    # PostgreSQL streams them through a server-side cursor while each group's rows are written
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    run_id = runs.start_run(engine, "nightly", {})
    stage.stage_items(engine, run_id, write_items(tmp_path / "items.jsonl", [*loose, *two_hub_items()]))
    groups: list[list[str]] = []
    seen = load_mod._StagedRun._loose_groups

    def recorded(self):
        for group in seen(self):
            groups.append([item["url"] for item in group])
            yield group

    monkeypatch.setattr(load_mod._StagedRun, "_loose_groups", recorded)
    load_staged(engine, run_id)
    assert groups == [[papers[0], papers[1]], [retried, retried], [papers[3], papers[4]]]
    with engine.connect() as conn:
        kept = dict(conn.execute(select(t.fetch.c.url, t.fetch.c.outcome).where(t.fetch.c.hub_uuid.is_(None))).all())
    assert kept == dict.fromkeys(papers, "parsed")
    engine.dispose()
