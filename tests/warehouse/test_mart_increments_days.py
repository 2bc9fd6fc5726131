"""Marts follow the change, over five nights of an evolving sample site (issue 17): after EVERY run, the marts
the run maintained incrementally equal a full rebuild from the reference SQL exactly, table by table (the
`run_id` bookkeeping column aside), on SQLite and on PostgreSQL.

One growing site (GrowthModel: new citing papers, new hubs found through links, retirements, relabels) is
served at one address for five days; each night is planned and crawled once, as the nightly does it (plan
over the known and frontier hubs, conditional requests from the warehouse's validators, paper pages), and the
crawl's items are loaded into both warehouses through the real load (guard, hub batches, marts in its
transaction). Night 3 has one changed hub's explorer answer 503 (incomplete: nothing retired), night 4 serves
another changed hub's page with its list headings renamed (quarantined as layout drift). The crawl and the
plain functions stand in for the Prefect flow, whose steps they are.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from flows.nightly import crawl_limits, plan_hubs
from flows.settings import Settings
from samplesite.control import post
from samplesite.faults import Faults
from samplesite.generator import build_site
from samplesite.growth import GrowthModel
from samplesite.server import make_server
from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.crawl import allowed_hosts_for, run_crawl
from tests.conftest import pg_url_of, require_postgres, scratch_database
from tests.warehouse.marts_equality import differences, recomputed
from warehouse import guard, history, plan, runs, stage
from warehouse.load import load_staged, materialize_marts

pytestmark = pytest.mark.slow
HUBS, SEED, DAYS, FAIL_DAY, DRIFT_DAY = 40, 11, 5, 3, 4
START = datetime(2026, 11, 30, 3, tzinfo=UTC)
FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"}
ENGINES = ("sqlite", "postgresql")


def _changed_hubs(day: int) -> list[str]:
    """Hubs of the site whose page changed on `day` (an unchanged hub answers 304 on its twin: no page asked)."""
    before = {h.uuid: h.updated_at for h in build_site(hubs=HUBS, seed=SEED, day=day - 1, growth=GrowthModel()).hubs}
    after = build_site(hubs=HUBS, seed=SEED, day=day, growth=GrowthModel()).hubs
    return sorted(h.uuid for h in after if h.uuid in before and before[h.uuid] != h.updated_at)


def _load(engine, started: datetime, chosen: plan.Plan, items_path) -> tuple[str, dict]:
    run_id = runs.start_run(engine, "nightly", {"hubs": len(chosen.choices)}, started_at=started)
    plan.record(engine, run_id, chosen)
    stage.stage_items(engine, run_id, items_path)
    loaded = load_staged(
        engine, run_id, gate=guard.Gate(run_id, guard.Limits()), then=lambda conn: materialize_marts(conn, run_id)
    )
    runs.finish_run(engine, run_id, "completed", {"load": loaded.as_dict()})
    return run_id, loaded.history


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    require_postgres()
    root = tmp_path_factory.mktemp("marts")
    failing = _changed_hubs(FAIL_DAY)[0]
    drifting = next(u for u in _changed_hubs(DRIFT_DAY) if u != failing)
    server = make_server(build_site(hubs=HUBS, seed=SEED, day=1, growth=GrowthModel()))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base = server.base_url
    settings = Settings(base_url=base, data_dir=root / "data")
    out: dict = {"failing": failing, "drifting": drifting, "nights": []}
    try:
        with scratch_database() as pg_name:
            urls = {"sqlite": f"sqlite:///{root / 'w.sqlite'}", "postgresql": pg_url_of(pg_name)}
            engines = {name: make_engine(url) for name, url in urls.items()}
            for engine in engines.values():
                upgrade(engine)
            for day in range(1, DAYS + 1):
                if day > 1:
                    post(base, "day", {"day": day})
                post(base, "clear", {})
                server.faults = None
                if day == FAIL_DAY:
                    post(base, "fail", {"path": f"/citations/{failing}", "status": 503})
                if day == DRIFT_DAY:
                    server.faults = Faults().force(f"/citations/{drifting}", "drift-rename")
                started = START + timedelta(days=day)
                # planned and crawled once, from the SQLite warehouse (both hold the same after every night)
                first = [h.uuid for h in server.site.hubs] if day == 1 else None
                hub_urls, chosen = plan_hubs(settings, urls["sqlite"], None, first, day > 1, now=started)
                crawl_id = runs.new_run_id(started)
                run_dir = settings.runs_dir / crawl_id
                validators = run_dir / "validators.json"
                extra = dict(FAST)
                if history.write_validators(engines["sqlite"], validators):
                    extra["CITEHUB_VALIDATORS_FILE"] = str(validators)
                extra |= crawl_limits(engines["sqlite"], settings, run_dir, None, 1, chosen)
                crawl = run_crawl(crawl_id, run_dir, base, hub_urls, allowed_hosts_for(base), 8, extra_settings=extra)
                night: dict = {"day": day, "hubs_planned": len(hub_urls)}
                for name, engine in engines.items():
                    run_id, changes = _load(engine, started, chosen, crawl.items_path)
                    night[name] = {
                        "run_id": run_id,
                        "history": changes,
                        "differences": differences(engine, run_id),
                        "recomputed": {m: recomputed(engine, m, run_id) for m in ("citation_current", "category_flow")},
                        "reports": _reports(engine, run_id),
                        "mart_rows": {m: _count(engine, m) for m in ("citation_current", "category_flow")},
                    }
                out["nights"].append(night)
            for engine in engines.values():
                engine.dispose()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    return out


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.metadata.tables[table])).scalar_one()


def _reports(engine, run_id: str) -> dict[str, int]:
    """The run's change report: rows per change (new, retired, relabelled, tier, label, incomplete)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT change, COUNT(*) FROM change_report WHERE run_id = :r GROUP BY change"), {"r": run_id}
        ).all()
    return {str(change): int(n) for change, n in rows}


@pytest.mark.parametrize("engine_name", ENGINES)
def test_after_every_night_the_maintained_marts_equal_a_full_rebuild(nights, engine_name):
    for night in nights["nights"]:
        assert night[engine_name]["differences"] == {}, f"night {night['day']} on {engine_name}"


@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_nights_maintained_the_marts_incrementally_from_what_changed(nights, engine_name):
    for night in nights["nights"][1:]:
        mine = night[engine_name]
        opened = mine["history"]["new"] + mine["history"]["reopened"] + mine["history"]["relabelled"]
        # a night recomputes in citation_current exactly the current edges whose version it opened
        assert mine["recomputed"]["citation_current"] == opened, night["day"]
        # ... and leaves the rest as an earlier run computed them
        assert mine["recomputed"]["citation_current"] < mine["mart_rows"]["citation_current"], night["day"]
        assert mine["recomputed"]["category_flow"] < mine["mart_rows"]["category_flow"], night["day"]


def test_the_nights_changed_what_the_marts_must_follow(nights):
    """The comparison is about something: new, retired and relabelled edges, new hubs, a failed and a
    quarantined hub (incomplete), and both engines saw the same changes."""
    totals: dict[str, int] = {}
    for night in nights["nights"][1:]:
        assert night["sqlite"]["reports"] == night["postgresql"]["reports"], night["day"]
        for change, n in night["sqlite"]["reports"].items():
            totals[change] = totals.get(change, 0) + n
    assert all(totals.get(change, 0) > 0 for change in ("new", "retired", "relabelled", "incomplete")), totals
    by_day = {n["day"]: n for n in nights["nights"]}
    assert by_day[FAIL_DAY]["sqlite"]["reports"].get("incomplete", 0) >= 1
    assert by_day[DRIFT_DAY]["sqlite"]["reports"].get("incomplete", 0) >= 1
    assert by_day[DAYS]["hubs_planned"] > by_day[1]["hubs_planned"]  # hubs found by links joined
