"""`citehub status` and its queries, on a warehouse the real nightly built from sample-site days 1..3."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from flows.cli import app
from flows.schedule import next_scheduled_run
from schema import tables as t
from schema.engine import make_engine
from tests.flows.cli.conftest import DAYS, HUBS, edges
from warehouse import queries as ops


def _expected_changes(truths):
    """new / retired / relabelled edges of each day against the day before, from the site's ground truth."""
    out, before = [], {}
    for day in truths:
        now = edges(day)
        out.append(
            {
                "new": len(now.keys() - before.keys()),
                "retired": len(before.keys() - now.keys()),
                "relabelled": sum(1 for k in now.keys() & before.keys() if now[k] != before[k]),
            }
        )
        before = now
    return out


def test_recent_runs_equal_ground_truth(history):
    engine = make_engine(history["url"])
    runs = ops.recent_runs(engine, 10)
    ids = [r["run_id"] for r in history["reports"]]
    assert [r.run_id for r in runs] == ids[::-1]  # newest first
    assert {(r.kind, r.status) for r in runs} == {("nightly", "completed")}
    expected = _expected_changes(history["truths"])[::-1]
    # the site's days 3, 2, 1 (seed 7, 16 hubs): 231 edges, then none new, then 8 new and 1 relabelled
    assert [(e["new"], e["retired"], e["relabelled"]) for e in expected] == [(8, 0, 1), (0, 0, 0), (231, 0, 0)]
    keeps_history = "valid_to_run" in ops._db_columns(engine, "citation")
    has_report = "change" in ops._db_columns(engine, "change_report")
    for row, exp in zip(runs, expected, strict=True):
        assert row.new == exp["new"]
        assert row.retired == (exp["retired"] if keeps_history or has_report else None)
        assert row.relabelled == (exp["relabelled"] if has_report else None)
        assert row.duration_s is not None and 0 < row.duration_s < 120
        assert row.errors == 0
        with engine.connect() as conn:
            pages = conn.execute(
                select(t.fetch.c.url).where(
                    t.fetch.c.run_id == row.run_id,
                    t.fetch.c.outcome == "parsed",
                    t.fetch.c.url.not_like("%.json"),
                    t.fetch.c.hub_uuid.is_not(None),  # paper pages (discovery) are counted in `coverage`
                )
            ).all()
        assert row.pages == len(pages)  # the summary's page count is the parsed hub pages of the run


def test_stale_hubs_by_age_of_their_last_run(history):
    engine = make_engine(history["url"])
    last = ops.recent_runs(engine, 1)[0]
    later = last.started_at + timedelta(days=2)
    stale = ops.stale_hubs(engine, 1, now=later)
    assert len(stale) == HUBS == ops.hub_count(engine)
    assert {s.last_seen_run for s in stale} == {last.run_id}
    assert {s.age_days for s in stale} == {2.0}
    assert ops.stale_hubs(engine, 3, now=later) == []


def test_storage_reports_database_and_archive_sizes(history):
    engine = make_engine(history["url"])
    db = Path(history["url"].removeprefix("sqlite:///"))
    where = ops.storage(engine, history["url"], history["data_dir"])
    files = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]
    assert where.database_path == str(db.resolve())
    assert where.database_bytes == sum(p.stat().st_size for p in files) > 0
    runs_dir = history["data_dir"] / "runs"
    assert where.archive_runs == DAYS
    assert where.archive_bytes == sum(p.stat().st_size for p in runs_dir.rglob("*") if p.is_file())


@pytest.mark.postgres
def test_storage_on_postgres_never_shows_the_password(pg_url):
    url = pg_url.replace("postgres@", "postgres:s3cret-pw@")  # trust auth ignores it; it must not leak
    where = ops.storage(make_engine(url), url, Path("/nonexistent"))
    assert "s3cret-pw" not in repr(where)
    assert where.database.startswith("postgresql+psycopg://postgres:***@")
    assert where.database_bytes > 1_000_000  # an empty PostgreSQL database is several MB
    assert (where.archive_runs, where.archive_bytes) == (0, 0)


def test_next_scheduled_run(history):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    from flows.nightly import nightly_refresh

    assert next_scheduled_run().message.endswith("no scheduled run")
    when = ops.recent_runs(make_engine(history["url"]), 1)[0].started_at + timedelta(days=1)
    with get_client(sync_client=True) as client:
        fr = client.create_flow_run(nightly_refresh, name="ops-test-next", state=Scheduled(scheduled_time=when))
    try:
        nxt = next_scheduled_run()
        assert (nxt.reachable, nxt.flow_run, nxt.expected_start) == (True, "ops-test-next", when)
    finally:
        with get_client(sync_client=True) as client:
            client.delete_flow_run(fr.id)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{port}/api"}):
        down = next_scheduled_run()
    assert not down.reachable and down.message.startswith("no Prefect server answering")
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        assert next_scheduled_run().message == "no Prefect server (PREFECT_API_URL is not set)"


def test_status_command(history, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(
        app, ["status", "--database-url", history["url"], "--data-dir", str(history["data_dir"]), "--stale-days", "0"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    for report in history["reports"]:
        assert report["run_id"] in out
    assert f"freshness: 0 of {HUBS} hubs refreshed in the last 0 days, {HUBS} stale" in out
    # the session's Prefect server answers (other tests of the worker may have scheduled runs on it)
    assert "schedule: Prefect server at" in out or "schedule: next run " in out
    assert f"archive: {(history['data_dir'] / 'runs').resolve()} ({DAYS} runs," in out
    assert "database: sqlite:///" in out
    fresh = CliRunner().invoke(
        app, ["status", "--database-url", history["url"], "--data-dir", str(history["data_dir"]), "--stale-days", "30"]
    )
    assert f"freshness: {HUBS} of {HUBS} hubs refreshed in the last 30 days, 0 stale" in fresh.output


def test_status_command_in_80_columns(history, monkeypatch):
    """A narrow terminal or a pipe: every run's id, kind and outcome whole, stale titles cut at a word."""
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(
        app, ["status", "--database-url", history["url"], "--data-dir", str(history["data_dir"]), "--stale-days", "0"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    stale = [re.match(r"  stale (\S+) (['\"])(.*)\2: (last fetched completely|never fetched) ", line) for line in lines]
    assert sum(m is not None for m in stale) == min(HUBS, 10)
    assert not any("…" in line for line, m in zip(lines, stale, strict=True) if m is None)  # no value cut
    words = set(re.split(r"[\s│┃,:]+", result.output))
    for report in history["reports"]:
        assert {report["run_id"], "nightly", "completed"} <= words, result.output
    titles = {h["uuid"]: h["title"] or "" for h in history["truths"][-1]["hubs"]}
    cut = 0
    for m in filter(None, stale):
        title, shown = titles[m.group(1)], m.group(3)
        if shown != title:
            cut += 1
            assert shown.endswith("…") and title.startswith(shown[:-1])
            assert not title[len(shown) - 1].isalnum(), f"{shown!r} ends mid-word"
    assert cut  # the sample site's long titles (Pythia: ...) are among the first ten


def test_status_on_a_missing_warehouse_says_so(tmp_path):
    result = CliRunner().invoke(app, ["status", "--database-url", f"sqlite:///{tmp_path / 'none.sqlite'}"])
    assert result.exit_code == 1
    assert "no warehouse at" in result.output
    assert not (tmp_path / "none.sqlite").exists()  # asking never creates an empty warehouse
