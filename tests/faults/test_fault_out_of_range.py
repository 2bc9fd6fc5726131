"""A twin claiming 3,000,000,000 external citations: a parse-time quarantine of that twin, and the same
warehouse on SQLite and PostgreSQL (PostgreSQL failed the whole night with NumericValueOutOfRange, SQLite
stored the value)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from samplesite.generator import build_site
from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from tests.faults.conftest import SEED, crawl
from warehouse import runs, stage
from warehouse.load import load_staged, materialize_marts

pytestmark = pytest.mark.postgres


def _publish(url: str, items: list[dict], path) -> tuple:
    """Stage and load `items` (written to `path`) into the warehouse at `url`, marts included."""
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    upgrade(url)
    engine = make_engine(url)
    run_id = runs.start_run(engine, "backfill", {})
    stage.stage_items(engine, run_id, path)
    load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))
    return engine, run_id


def _load(url: str, items: list[dict], path) -> dict:
    engine, _ = _publish(url, items, path)
    with engine.connect() as conn:
        seen = {
            "quarantine": sorted(
                conn.execute(select(t.quarantine.c.hub_uuid, t.quarantine.c.reason, t.quarantine.c.detail)).all()
            ),
            "external": dict(conn.execute(select(t.hub.c.hub_uuid, t.hub.c.external_cited_by_count)).all()),
            "summary": sorted(conn.execute(select(t.hub_summary.c.hub_uuid)).scalars()),
        }
    engine.dispose()
    return seen


def test_count_no_column_holds_is_quarantined_alike_on_both_engines(tmp_path, pg_url):
    site = build_site(hubs=8, seed=SEED, day=1)
    huge = site.hubs[1]
    huge.external_cited_by_count = 3_000_000_000
    crawled = crawl(site, tmp_path)
    twin = next(u for u in crawled.quarantine if u.endswith(f"{huge.uuid}.json"))
    assert crawled.quarantine[twin]["reason"] == "value_out_of_range"
    assert crawled.fetch[twin]["outcome"] == "quarantined"
    on_sqlite = _load(f"sqlite:///{tmp_path / 'w.sqlite'}", crawled.items, tmp_path / "items.jsonl")
    on_postgresql = _load(pg_url, crawled.items, tmp_path / "items.jsonl")
    assert on_sqlite == on_postgresql
    assert on_sqlite["quarantine"] == [
        (huge.uuid, "value_out_of_range", "external_cited_by_count 3000000000 outside 0..2147483647")
    ]
    assert on_sqlite["external"][huge.uuid] is None  # never a number no column holds, nor a float
    # every other hub published; this one, never fetched completely, is not published as if it were
    assert on_sqlite["summary"] == sorted(h.uuid for h in site.hubs if h is not huge)


def test_hubs_whose_every_fetch_was_refused_are_incomplete_and_not_published(tmp_path):
    """Every URL refused by policy (the site's host is off the allowlist): each hub is listed incomplete
    with its skipped fetch, and none is published as a hub_summary row of NULLs."""
    site = build_site(hubs=3, seed=SEED, day=1)
    crawled = crawl(site, tmp_path, allowed=["pith.science"])
    assert {f["outcome"] for f in crawled.fetch.values()} == {"skipped"}
    engine, run_id = _publish(f"sqlite:///{tmp_path / 'w.sqlite'}", crawled.items, tmp_path / "items.jsonl")
    with engine.connect() as conn:
        incomplete = conn.execute(
            select(t.change_report.c.hub_uuid, t.change_report.c.new_value).where(
                t.change_report.c.run_id == run_id, t.change_report.c.change == "incomplete"
            )
        ).all()
        published = conn.execute(select(t.hub_summary.c.hub_uuid)).scalars().all()
    assert sorted(u for u, _ in incomplete) == sorted(h.uuid for h in site.hubs)
    assert all(reason.startswith("skipped: ") for _, reason in incomplete), incomplete
    assert published == []
