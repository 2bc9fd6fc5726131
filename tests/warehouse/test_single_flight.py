"""Single-flight runs: the warehouse's run lock on SQLite (file lock) and PostgreSQL (advisory lock), and
two nightly flows started at once against one warehouse: one runs, the other ends "skipped"."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from samplesite.faults import Faults
from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from warehouse.lock import RunLockBusy, single_flight
from warehouse.runs import start_run


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


def test_second_holder_is_refused_with_the_holders_run_named(engine):
    holder = start_run(engine, "nightly", {})
    other = start_run(engine, "backfill", {})
    with single_flight(engine, holder):
        started = time.monotonic()
        with pytest.raises(RunLockBusy, match=f"run {other} skipped: run {holder} \\(nightly, started"):  # noqa: SIM117 -- the inner block must raise
            with single_flight(engine, other, wait_seconds=0.5):
                pytest.fail("two holders at once")
        assert time.monotonic() - started >= 0.5  # it waited, bounded
    with single_flight(engine, other):  # released: free again
        pass


def test_waiter_gets_the_lock_when_the_holder_finishes(engine):
    holder = start_run(engine, "nightly", {})
    taken, release = threading.Event(), threading.Event()

    def hold():
        with single_flight(engine, holder):
            taken.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(10)
    threading.Timer(0.4, release.set).start()
    with single_flight(engine, "waiter", wait_seconds=10):
        assert release.is_set()
    thread.join(10)


@pytest.mark.slow
def test_two_nightly_runs_at_once_one_skipped(tmp_path, prefect_server):
    from flows.nightly import nightly_refresh

    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    upgrade(url)
    site = build_site(hubs=20, seed=7, day=1)
    hubs = [h.uuid for h in site.hubs]
    results: dict[int, dict] = {}
    barrier = threading.Barrier(2)

    def nightly(i: int) -> None:
        barrier.wait()
        results[i] = nightly_refresh(
            base_url=base_url, hubs=hubs, database_url=url, data_dir=str(tmp_path / f"data{i}"), include_known=False
        )

    # Every answer 0.4 s late: the run holding the lock is still crawling when the other asks for it,
    # however slowly a loaded machine starts the second flow.
    slow = Faults(rates={"slow": 1.0}, slow_s=0.4)
    with serving(site, faults=slow) as base_url:
        threads = [threading.Thread(target=nightly, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert len(results) == 2
    skipped = [r for r in results.values() if r.get("status") == "skipped"]
    ran = [r for r in results.values() if r.get("status") != "skipped"]
    assert len(skipped) == 1 and len(ran) == 1
    assert f"run {ran[0]['run_id']} (nightly" in skipped[0]["message"]
    engine = make_engine(url)
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(t.run.c.run_id, t.run.c.status)).all())
        edges = conn.execute(select(t.citation.c.hub_uuid, t.citation.c.paper_key)).all()
        skipped_rows = conn.execute(select(t.fetch).where(t.fetch.c.run_id == skipped[0]["run_id"])).all()
    assert statuses == {ran[0]["run_id"]: "completed", skipped[0]["run_id"]: "skipped"}
    assert skipped_rows == []  # the skipped run wrote nothing
    assert {tuple(e) for e in edges} == {(c["hub_uuid"], c["paper_key"]) for c in truth(site)["citations"]}


@pytest.mark.postgres
@pytest.mark.parametrize("second_run", [True, False], ids=["another-run-took-the-lock", "lock-free"])
def test_a_run_whose_lock_session_ended_writes_nothing_and_a_second_run_may_start(pg_url, tmp_path, second_run):
    """pg_terminate_backend on the session holding the advisory lock (issue 19): the lock is gone, so a second
    run may take it; the first run is fenced off at its load (LockLost, nothing written)."""
    import json

    from sqlalchemy import func, text

    from tests.warehouse.conftest import two_hub_items, write_items
    from warehouse import stage
    from warehouse.load import load_staged
    from warehouse.lock import LockLost

    upgrade(pg_url)
    eng = make_engine(pg_url)
    first = start_run(eng, "nightly", {})
    with single_flight(eng, first):
        with eng.connect() as conn:
            summary = json.loads(conn.execute(select(t.run.c.summary).where(t.run.c.run_id == first)).scalar_one())
        with eng.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": summary["lock_session"]}).scalar()
        if second_run:
            second = start_run(eng, "nightly", {})
            with single_flight(eng, second, wait_seconds=5):  # the lock is free again: the second run gets it
                pass
        stage.stage_items(eng, first, write_items(tmp_path / "items.jsonl", two_hub_items()))
        with pytest.raises(LockLost, match=f"run {first} lost its lock"):
            load_staged(eng, first)
    with eng.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.hub)).scalar_one() == 0
    eng.dispose()


@pytest.mark.postgres
def test_a_run_holding_its_lock_loads(pg_url, tmp_path):
    from tests.warehouse.conftest import two_hub_items, write_items
    from warehouse import stage
    from warehouse.load import load_staged

    upgrade(pg_url)
    eng = make_engine(pg_url)
    run_id = start_run(eng, "nightly", {})
    with single_flight(eng, run_id):
        stage.stage_items(eng, run_id, write_items(tmp_path / "items.jsonl", two_hub_items()))
        assert load_staged(eng, run_id).tables["hub"].inserted == 2
    eng.dispose()


@pytest.mark.postgres
def test_a_run_taking_the_lock_waits_for_a_fenced_load_to_commit(pg_url, tmp_path):
    """The session holding the lock dies after the load's fence, before its commit (issue 19): a second run
    that takes the lock meanwhile waits for that commit before it judges the first dead, so it never writes
    alongside; the first run's published load and its row then agree (`completed`)."""
    import json

    from sqlalchemy import text

    from tests.warehouse.conftest import two_hub_items, write_items
    from warehouse import stage
    from warehouse.load import load_staged
    from warehouse.runs import finish_run

    upgrade(pg_url)
    eng = make_engine(pg_url)
    first, second = start_run(eng, "nightly", {}), start_run(eng, "nightly", {})
    claimed: list[float] = []

    def second_run() -> None:
        with single_flight(eng, second, wait_seconds=20):
            claimed.append(time.monotonic())

    def session_dies_mid_load(conn) -> None:
        with eng.connect() as other:
            summary = json.loads(other.execute(select(t.run.c.summary).where(t.run.c.run_id == first)).scalar_one())
        with eng.begin() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": summary["lock_session"]}).scalar()
        waiter.start()
        time.sleep(1.5)  # long enough for the second run to take the freed lock and reach its claim
        assert claimed == []  # it waits for this transaction

    waiter = threading.Thread(target=second_run)
    with single_flight(eng, first):
        stage.stage_items(eng, first, write_items(tmp_path / "items.jsonl", two_hub_items()))
        committed = time.monotonic()
        assert load_staged(eng, first, then=session_dies_mid_load).tables["hub"].inserted == 2
        finish_run(eng, first, "completed", {})
    waiter.join(timeout=30)
    assert len(claimed) == 1
    assert claimed[0] > committed
    with eng.connect() as conn:
        statuses = dict(conn.execute(select(t.run.c.run_id, t.run.c.status)).all())
    assert statuses == {first: "completed", second: "running"}
    eng.dispose()
