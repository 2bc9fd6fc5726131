"""Kill test: SIGKILL at random moments of a run (crawl, stage, clean, load, marts, checks), then a rerun.

Per engine: a warehouse holding day 1 of an 8-hub sample site is the "before" state; one clean run over day
2 gives the "after" state. Each of KILLS rounds restores "before", starts a run over day 2 in its own
process group (this file run as a script: the pipeline's plain functions, the real `scrapy crawl`
subprocess, load + marts in one transaction), kills the whole group with SIGKILL at a seeded random moment,
and checks that the warehouse is exactly "before" or exactly "after". It then reruns to completion: the
warehouse must equal "after", and the killed run's row must not be left `running` (the rerun's lock
claim marks it `abandoned`). A killed run that had committed is a run of its own, so after its rerun the
warehouse must equal two clean runs over day 2 ("twice"); otherwise one ("after").

Checksums cover every published table (marts) and the core history tables, run ids normalized: the day-1
run reads R1, every run over day 2 reads R2 (a killed run that published and its rerun crawl the same
site, so their rows must agree), and rows compare as sets per table.

The driver prints a marker as it enters each stage (inside the load transaction too: `guard` before any
write, `marts` after the core tables are written and before commit); the test kills after a chosen
marker plus a random delay, so kills land in every stage, not mostly in the (longest) crawl.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import pg_dsn

SEED, HUBS, KILLS = 7, 8, 20
CHANGE_DAY = 4
PAUSE = 0.08  # the driver holds still this long after each marker but "crawl": kills land inside the stage
MARKERS = {  # marker -> largest random delay (s) after it before the kill
    "started": PAUSE,
    "locked": PAUSE,
    "crawl": 1.5,
    "stage": PAUSE,
    "clean": PAUSE,
    "guard": PAUSE,
    "marts": PAUSE,
    "committed": PAUSE,
    "checks": PAUSE,
}
CORE = ("hub", "paper", "citation", "citation_version", "hub_version", "hub_facet_version")
FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"}
ROOT = Path(__file__).resolve().parents[2]


# --- the driver: one run of the pipeline, as flows/nightly.py wires it, printing stage markers ----------


def _mark(name: str) -> None:
    print(name, flush=True)
    if name != "crawl":
        time.sleep(float(os.environ.get("KILLTEST_PAUSE", "0")))


def drive(database_url: str, base_url: str, data_dir: str, hubs: list[str]) -> str:
    """One run. With KILLTEST_REPLAY=<items.jsonl> the crawl stage hands over that recorded crawl of the
    same site day instead of starting scrapy (2 s a crawl: the test affords a real crawl only where it
    kills the crawl, and in every fourth rerun)."""
    from schema.engine import make_engine
    from spiders.crawl import allowed_hosts_for, run_crawl
    from warehouse import guard, history, runs, stage
    from warehouse import load as load_mod
    from warehouse.checks import run_checks
    from warehouse.lock import single_flight

    engine = make_engine(database_url)
    urls = list(dict.fromkeys([f"{base_url}/citations/{u}" for u in hubs] + runs.known_hub_urls(engine, base_url)))
    run_id = runs.start_run(engine, "nightly", {"base_url": base_url, "hubs": len(urls)})
    _mark("started")
    with single_flight(engine, run_id):
        _mark("locked")
        run_dir = Path(data_dir) / "runs" / run_id
        validators = run_dir / "validators.json"
        extra = dict(
            FAST,
            **({"CITEHUB_VALIDATORS_FILE": str(validators)} if history.write_validators(engine, validators) else {}),
        )
        _mark("crawl")
        replay = os.environ.get("KILLTEST_REPLAY")
        items = (
            Path(replay)
            if replay
            else run_crawl(
                run_id, run_dir, base_url, urls, allowed_hosts_for(base_url), 8, extra_settings=extra
            ).items_path
        )
        _mark("stage")
        stage.stage_items(engine, run_id, items)
        _mark("clean")  # clean runs inside the load's transaction, hub batch by hub batch, as in the nightly

        class MarkedGate(guard.Gate):
            def start(self, conn):
                _mark("guard")
                super().start(conn)

        def marts(conn):
            _mark("marts")
            load_mod.materialize_marts(conn, run_id)

        # small batches: a kill lands between batches of the one transaction too
        load_mod.load_staged(engine, run_id, gate=MarkedGate(run_id, guard.Limits()), then=marts, hubs_per_batch=3)
        _mark("committed")
        checks = run_checks(engine, run_id)
        _mark("checks")
        runs.finish_run(engine, run_id, "completed" if all(c.passed for c in checks) else "failed", {})
    _mark("done")
    return run_id


# --- checksums ------------------------------------------------------------------------------------------


def checksums(url: str, day1_run: str) -> dict[str, str]:
    """Per table: SHA-256 of its sorted distinct rows, run ids normalized (day-1 run R1, any other R2)."""
    from sqlalchemy import DateTime, select

    from schema.engine import make_engine
    from schema.placement import published_tables
    from schema.tables import metadata, run

    engine = make_engine(url)
    tables = [metadata.tables[n] for n in CORE] + list(published_tables(metadata))
    out = {}
    with engine.connect() as conn:
        run_ids = set(conn.execute(select(run.c.run_id)).scalars())

        def norm(value):
            if isinstance(value, str) and value in run_ids:
                return "R1" if value == day1_run else "R2"
            if isinstance(value, float):
                return round(value, 9)
            return value

        for table in tables:
            cols = [c for c in table.columns if not isinstance(c.type, DateTime)]
            rows = {tuple(norm(v) for v in row) for row in conn.execute(select(*cols))}
            out[table.name] = hashlib.sha256(repr(sorted(rows, key=repr)).encode()).hexdigest()
    engine.dispose()
    return out


# --- warehouses: copy "before" for each round ------------------------------------------------------------


class SqliteStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def url(self, name: str) -> str:
        return f"sqlite:///{self.root / (name + '.sqlite')}"

    def copy(self, source: str, target: str) -> str:
        dst = self.root / (target + ".sqlite")
        for suffix in ("", "-wal", "-shm", ".runlock"):
            Path(str(dst) + suffix).unlink(missing_ok=True)
        with sqlite3.connect(self.root / (source + ".sqlite")) as src, sqlite3.connect(dst) as out:
            src.backup(out)  # consistent copy, WAL included
        return self.url(target)


class PostgresStore:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.prefix = base_url.rsplit("/", 1)[1]
        self.created: list[str] = []

    def url(self, name: str) -> str:
        return self.base_url if name == "before" else f"{self.base_url}_{name}"

    def _db(self, name: str) -> str:
        return self.url(name).rsplit("/", 1)[1]

    def copy(self, source: str, target: str) -> str:
        import psycopg
        from psycopg import sql

        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self._db(target))))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(self._db(target)), sql.Identifier(self._db(source))
                )
            )
        self.created.append(self._db(target))
        return self.url(target)

    def drop_all(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            for name in set(self.created):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- running the driver -----------------------------------------------------------------------------------


def run_driver(
    url: str,
    base_url: str,
    data_dir: Path,
    hubs: list[str],
    kill_after: str | None = None,
    delay: float = 0.0,
    timeout: float = 60,
    replay: Path | None = None,
) -> tuple[list[str], int]:
    """Run the driver in its own process group; with `kill_after`, SIGKILL the group `delay` s after that
    marker. Returns (markers seen, return code: -9 when killed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KILLTEST_PAUSE": str(PAUSE if kill_after else 0)}
    if replay is not None:
        env["KILLTEST_REPLAY"] = str(replay)
    proc = subprocess.Popen(
        [sys.executable, __file__, url, base_url, str(data_dir), *hubs],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    seen: list[str] = []
    errors: list[str] = []
    threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True).start()
    killed = False
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        seen.append(line.strip())
        if kill_after is not None and line.strip() == kill_after:
            time.sleep(delay)
            os.killpg(proc.pid, signal.SIGKILL)  # the crawl's scrapy subprocess dies with it
            killed = True
            break
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"driver timed out after {seen}")
    code = proc.wait(timeout=timeout)
    if not killed and code != 0:
        raise AssertionError(f"driver failed ({code}) after {seen}: {''.join(errors)[-3000:]}")
    return seen, code


def _run_rows(url: str) -> dict[str, str]:
    from sqlalchemy import select

    from schema.engine import make_engine
    from schema.tables import run

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(run.c.run_id, run.c.status)).all())
    engine.dispose()
    return rows


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_anywhere_leaves_before_or_after_and_rerun_converges(backend, tmp_path, request):
    from samplesite.control import post
    from samplesite.generator import build_site
    from samplesite.server import serving
    from schema.migrate import upgrade

    started = time.monotonic()
    store = SqliteStore(tmp_path) if backend == "sqlite" else PostgresStore(request.getfixturevalue("pg_url"))
    if backend == "postgresql":
        request.addfinalizer(store.drop_all)
    rng = random.Random(f"kill:{SEED}:{backend}")
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    hubs = [h.uuid for h in site.hubs]
    before_url = store.url("before")
    upgrade(before_url)
    with serving(site, markup="mixed") as base_url:
        run_driver(before_url, base_url, tmp_path / "data", hubs)
        (day1_run,) = _run_rows(before_url)
        # day 4: the first day this site changes a hub (a quiet night writes no edge or figure, so a kill
        # could not tell before from after by them)
        post(base_url, "day", {"day": CHANGE_DAY})
        before = checksums(before_url, day1_run)
        after_url = store.copy("before", "after")
        run_driver(after_url, base_url, tmp_path / "data", [])
        after = checksums(after_url, day1_run)
        (day2_run,) = set(_run_rows(after_url)) - {day1_run}
        recorded = tmp_path / "data" / "runs" / day2_run / "items.jsonl"  # the day-2 crawl, for replays
        assert {k for k in after if before[k] != after[k]} >= {"citation", "hub_version", "hub_summary"}
        # a killed run that published is a run: its rerun is a second run over day 2 (hub_growth numbers it)
        twice_url = store.copy("after", "twice")
        run_driver(twice_url, base_url, tmp_path / "data", [])
        twice = checksums(twice_url, day1_run)
        # a rerun that replays the recorded crawl (made from "before") asks for the paper pages that crawl asked
        # for, which a live crawl after a published run no longer does: its own "twice"
        replayed_url = store.copy("after", "twice_replayed")
        run_driver(replayed_url, base_url, tmp_path / "data", [], replay=recorded)
        twice_replayed = checksums(replayed_url, day1_run)

        outcomes = []
        markers = list(MARKERS)
        for i in range(KILLS):
            # every marker once, then random ones (the crawl, the longest stage, twice as likely)
            marker = markers[i % len(markers)] if i < len(markers) else rng.choice([*markers, "crawl"])
            delay = rng.uniform(0, MARKERS[marker])
            url = store.copy("before", f"k{i % 2}")
            pre_crawl = marker in ("started", "locked", "crawl")
            seen, code = run_driver(
                url,
                base_url,
                tmp_path / "data",
                [],
                kill_after=marker,
                delay=delay,
                replay=None if pre_crawl else recorded,
            )
            state = checksums(url, day1_run)
            assert state in (before, after), f"round {i}: kill after {marker}+{delay:.3f}s left a mixed warehouse"
            ((killed_run, killed_status),) = ((k, v) for k, v in _run_rows(url).items() if k != day1_run)
            # a real kill caught the run before it finished (the process may outlive finish_run briefly)
            outcomes.append(
                (marker, round(delay, 3), killed_status == "running", "after" if state == after else "before")
            )
            replay = None if i % 4 == 0 else recorded
            run_driver(url, base_url, tmp_path / "data", [], replay=replay)
            expected = (twice if replay is None else twice_replayed) if state == after else after
            assert checksums(url, day1_run) == expected, f"round {i}: rerun after kill at {marker} did not converge"
            status = _run_rows(url)[killed_run]
            if killed_status == "running" and "locked" in seen:  # it held the lock: the rerun's claim ends it
                assert status == "abandoned", (i, marker, status)
            elif killed_status == "running":  # killed around asking for the lock: a holder is abandoned now,
                assert status in ("running", "abandoned"), (i, marker, status)  # a waiter once its wait is past
            else:
                assert status == "completed", (i, marker, status)
    kills = [o for o in outcomes if o[2]]
    print(f"{backend}: {len(kills)} kills in {time.monotonic() - started:.1f} s; outcomes {outcomes}")
    assert len(kills) >= KILLS - 3  # a kill scheduled after the run ended is no kill
    assert {o[0] for o in kills} >= {"crawl", "guard", "marts", "committed"}
    assert {o[3] for o in kills} == {"before", "after"}  # both sides of the commit were hit


if __name__ == "__main__":  # the driver: database_url base_url data_dir [hub uuid ...]
    drive(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:])
