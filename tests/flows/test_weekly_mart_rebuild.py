"""The nightly's weekly full rebuild of the marts (issue 17): a nightly whose UTC start falls on
CITEHUB_FULL_REBUILD_WEEKDAY (default 6, Sunday) rebuilds every mart in full after its load and reports the
drift it corrected in its run summary; the other nights maintain the marts incrementally and rebuild nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from schema.engine import make_engine
from warehouse.runs import get_run

pytestmark = pytest.mark.slow
HUBS, SEED = 8, 5
SATURDAY, SUNDAY = datetime(2026, 12, 5, 3, tzinfo=UTC), datetime(2026, 12, 6, 3, tzinfo=UTC)


def _plain_night(url: str, tmp_path, base_url: str, hub_urls: list[str]) -> dict:
    """Saturday's night without the Prefect flow, its steps as plain functions (the flow costs seconds)."""
    from schema.migrate import upgrade
    from spiders.crawl import allowed_hosts_for, run_crawl
    from warehouse import runs, stage
    from warehouse.load import load_staged, materialize_marts

    engine = make_engine(url)
    upgrade(engine)
    run_id = runs.start_run(engine, "nightly", {}, started_at=SATURDAY)
    crawl = run_crawl(run_id, tmp_path / "data" / "runs" / run_id, base_url, hub_urls, allowed_hosts_for(base_url))
    stage.stage_items(engine, run_id, crawl.items_path)
    load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))
    runs.finish_run(engine, run_id, "completed", {})
    return {"run_id": run_id}


def test_the_sunday_nightly_rebuilds_the_marts_and_reports_the_drift_it_corrected(
    tmp_path, prefect_server, monkeypatch
):
    from flows.nightly import nightly_refresh

    monkeypatch.delenv("CITEHUB_FULL_REBUILD_WEEKDAY", raising=False)  # the default: Sunday
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    kw = {"database_url": url, "data_dir": str(tmp_path / "data")}
    with serving(site) as base_url:
        saturday = _plain_night(url, tmp_path, base_url, [f"{base_url}/citations/{h.uuid}" for h in site.hubs])
        engine = make_engine(url)
        with engine.begin() as conn:  # drift: a row no run would write, in a mart the increments maintain
            conn.execute(
                text(
                    "INSERT INTO hub_role_mix (hub_uuid, role, count, share, run_id) "
                    "VALUES ('00000000-0000-4000-8000-000000000000', 'method', 1, 100.0, :r)"
                ),
                {"r": saturday["run_id"]},
            )
        post(base_url, "day", {"day": 2})
        sunday = nightly_refresh(base_url=base_url, as_of=SUNDAY, **kw)
    [rebuilt] = sunday["mart_rebuilds"]
    assert rebuilt["run_id"] == sunday["run_id"] and rebuilt["applied"] is True
    assert rebuilt["drift"] == {
        "hub_role_mix": {"missing": 0, "extra": 1, "examples": [["00000000-0000-4000-8000-000000000000", "method"]]}
    }
    assert "marts rebuild" in sunday["timings"]
    assert (get_run(engine, sunday["run_id"]) or {})["summary"]["mart_rebuilds"] == [rebuilt]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM hub_role_mix WHERE hub_uuid LIKE '00000000%'")).scalar() == 0
        # every row of every mart was computed by the Sunday run
        assert set(conn.execute(text("SELECT DISTINCT run_id FROM citation_current")).scalars()) == {sunday["run_id"]}
