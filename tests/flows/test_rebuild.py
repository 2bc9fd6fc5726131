"""Rebuild from the archive: three nightlies of a sample site (day 1, day 2 with one hub's page failing,
day 3), then `reparse` and `backfill --from-archive` derive EMPTY warehouses from the runs' WARC files alone
(the site is down by then): every published table and view equals the nightly-built one, row for row,
with run ids mapped by run order. Bad input (range, missing WARC file, unreadable record, non-empty target)
fails with a clear error and leaves the warehouse as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from schema.placement import published_tables, published_views
from spiders.replay import ArchiveError, archived_runs, fetch_plan

pytestmark = pytest.mark.slow

HUBS, SEED, DAYS, FAIL_DAY = 12, 11, 3, 2


@pytest.fixture(scope="module")
def nightlies(tmp_path_factory, prefect_server):
    from flows.nightly import nightly_refresh

    root = tmp_path_factory.mktemp("rebuild")
    url = f"sqlite:///{root / 'nightly.sqlite'}"
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    changed = build_site(hubs=HUBS, seed=SEED, day=FAIL_DAY)
    # a hub that changes on FAIL_DAY: an unchanged one answers 304 on its twin and its page is never asked
    failing = next(h.uuid for h, c in zip(site.hubs, changed.hubs, strict=True) if h.updated_at != c.updated_at)
    runs = []
    with serving(site) as base_url:
        for day in range(1, DAYS + 1):
            if day > 1:
                post(base_url, "day", {"day": day})
            if day == FAIL_DAY:
                post(base_url, "fail", {"path": f"/citations/{failing}", "status": 503})
            report = nightly_refresh(
                base_url=base_url,
                hubs=[h.uuid for h in site.hubs] if day == 1 else None,
                database_url=url,
                data_dir=str(root / "data"),
                include_known=day > 1,
            )
            assert report["incomplete_hubs"] == ([failing] if day == FAIL_DAY else [])
            runs.append(report["run_id"])
            post(base_url, "clear", {})
    return {"root": root, "url": url, "runs": runs, "failing": failing}


def _copy_warehouse(source, target) -> None:
    """SQLite's backup API: the copy includes what still sits in the source's write-ahead log."""
    import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _run_order(engine) -> dict[str, str]:
    """Run ids, and run start times as the as-of views show them, -> position in run order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT run_id, started_at FROM run WHERE status <> 'skipped' ORDER BY started_at, run_id")
        ).all()
    order = {}
    for i, (run_id, started_at) in enumerate(rows, start=1):
        order[run_id] = order[str(started_at)] = f"run#{i}"
    return order


# What differs between a warehouse built by nightlies and one rebuilt from their archive, by construction:
# the runs themselves (kind, counts: a replay makes no request and plans nothing) and the kind each history row
# names.
RUN_DESCRIPTIONS = ("runs", "run_checks", "coverage")
RUN_KINDS = {"nightly", "backfill", "reparse"}


def published_checksums(url: str) -> dict[str, tuple[int, str]]:
    """(rows, sha256) of every published table and view but the descriptions of the runs; run ids (and the
    views' run start times) replaced by their position in run order (a replay's run has its own id and
    starts when its crawl started), run kinds by "kind"."""
    engine = make_engine(url)
    order = {**_run_order(engine), **dict.fromkeys(RUN_KINDS, "kind")}
    names = [tb.name for tb in published_tables(t.metadata) if tb.name not in RUN_DESCRIPTIONS] + [
        v for v in published_views(t.metadata) if v not in RUN_DESCRIPTIONS
    ]
    out = {}
    with engine.connect() as conn:
        for name in names:
            rows = conn.execute(select(text("*")).select_from(text(name))).all()  # names from our metadata
            normalized = sorted(
                json.dumps([order.get(v, v) if isinstance(v, str) else v for v in row], default=str) for row in rows
            )
            out[name] = (len(rows), hashlib.sha256("\n".join(normalized).encode()).hexdigest())
    engine.dispose()
    return out


def test_reparse_of_an_empty_warehouse_equals_the_nightly_one(nightlies, tmp_path):
    from flows.backfill import reparse

    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.sqlite'}"
    result = reparse(parser_version="2", database_url=rebuilt, data_dir=str(nightlies["root"] / "data"))
    assert list(result["replayed"].values()) == nightlies["runs"]
    expected = published_checksums(nightlies["url"])
    assert all(rows for rows, _ in expected.values()), expected  # every table has something to compare
    assert published_checksums(rebuilt) == expected
    engine = make_engine(rebuilt)
    with engine.connect() as conn:
        rebuilt_runs = conn.execute(select(t.run).order_by(t.run.c.started_at)).mappings().all()
        # replays fetch nothing: every fetch row points at the archive or records a response-less failure
        summaries = [json.loads(r["summary"]) for r in rebuilt_runs]
    assert [(r["kind"], r["status"], r["parser_version"]) for r in rebuilt_runs] == [
        ("reparse", "completed", "2"),
        ("reparse", "degraded", "2"),  # the day-2 crawl had a hub whose page failed
        ("reparse", "completed", "2"),
    ]
    assert [s["requests"] for s in summaries] == [0, 0, 0]
    assert [s["replay_of"] for s in summaries] == nightlies["runs"]
    # the day-2 failing hub is incomplete in the replay too: nothing of it retired
    assert summaries[1]["incomplete_hubs"] == [nightlies["failing"]]
    # history rows say which kind of run made them; `runs` names the crawl each replay re-derives
    for warehouse, kind in ((rebuilt, "reparse"), (nightlies["url"], "nightly")):
        with make_engine(warehouse).connect() as conn:
            assert set(conn.execute(text("SELECT run_kind FROM hub_growth")).scalars()) == {kind}
            assert set(conn.execute(text("SELECT run_kind FROM hub_role_history")).scalars()) == {kind}
    with make_engine(rebuilt).connect() as conn:
        replays = conn.execute(text("SELECT replay_of, kind, requests FROM runs ORDER BY started_at")).all()
    assert [tuple(r) for r in replays] == [(run, "reparse", 0) for run in nightlies["runs"]]
    # the run ids keep the archived crawls' UTC dates (as-of queries by date work on a rebuilt warehouse)
    assert [r["run_id"][:8] for r in rebuilt_runs] == [r[:8] for r in nightlies["runs"]]


def test_backfill_from_archive_by_date_range_equals_the_nightly_one(nightlies, tmp_path):
    from flows.backfill import backfill

    day = date(int(nightlies["runs"][0][:4]), int(nightlies["runs"][0][4:6]), int(nightlies["runs"][0][6:8]))
    rebuilt = f"sqlite:///{tmp_path / 'backfilled.sqlite'}"
    result = backfill(
        from_archive=True,
        since=str(day),
        until=str(nightlies["runs"][-1][:4] + "-" + nightlies["runs"][-1][4:6] + "-" + nightlies["runs"][-1][6:8]),
        database_url=rebuilt,
        data_dir=str(nightlies["root"] / "data"),
    )
    assert list(result["replayed"].values()) == nightlies["runs"]
    assert published_checksums(rebuilt) == published_checksums(nightlies["url"])
    with make_engine(rebuilt).connect() as conn:
        assert set(conn.execute(select(t.run.c.kind)).scalars()) == {"backfill"}


def test_bad_ranges_are_named(nightlies):
    runs_dir = nightlies["root"] / "data" / "runs"
    with pytest.raises(ArchiveError, match="--until 2020-01-01 is before --since 2020-01-02"):
        archived_runs(runs_dir, date(2020, 1, 2), date(2020, 1, 1))
    with pytest.raises(ArchiveError, match="no archived crawl in .* from 1999-01-01 to 1999-12-31"):
        archived_runs(runs_dir, date(1999, 1, 1), date(1999, 12, 31))
    assert [a.run_id for a in archived_runs(runs_dir)] == nightlies["runs"]


def test_missing_warc_file_fails_before_any_run_and_loses_nothing(nightlies, tmp_path):
    from flows.backfill import backfill

    data = tmp_path / "data"
    shutil.copytree(nightlies["root"] / "data" / "runs", data / "runs")
    victim = nightlies["runs"][1]
    warc = sorted((data / "runs" / victim / "warc").glob("*.warc.gz"))[0]
    warc.unlink()
    target = tmp_path / "wh.sqlite"
    _copy_warehouse(nightlies["root"] / "nightly.sqlite", target)
    url = f"sqlite:///{target}"
    before = published_checksums(url)
    with pytest.raises(ArchiveError, match=f"run {victim}: fetch of .* names WARC file '{warc.name}', missing"):
        backfill(from_archive=True, database_url=url, data_dir=str(data))
    assert published_checksums(url) == before
    with make_engine(url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.run)).scalar_one() == DAYS  # no run started


def test_unreadable_record_fails_its_run_before_the_load(nightlies, tmp_path):
    from flows.backfill import reparse

    data = tmp_path / "data"
    first = nightlies["runs"][0]
    shutil.copytree(nightlies["root"] / "data" / "runs" / first, data / "runs" / first)
    items = data / "runs" / first / "items.jsonl"
    lines = items.read_text().splitlines()
    for i, line in enumerate(lines):  # point one fetch row at a byte that starts no record
        item = json.loads(line)
        if item["kind"] == "fetch" and item.get("warc_file"):
            item["warc_offset"] += 7
            lines[i] = json.dumps(item)
            break
    items.write_text("\n".join(lines) + "\n")
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    with pytest.raises(ArchiveError, match="unreadable WARC record|not a response record"):
        reparse(database_url=url, data_dir=str(data))
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(t.run.c.status)).scalars().all() == ["failed"]
        assert conn.execute(select(func.count()).select_from(t.citation)).scalar_one() == 0
    assert fetch_plan(archived_runs(data / "runs")[0])  # the plan itself was fine: the record was not


def test_reparse_refuses_a_warehouse_that_holds_runs_and_a_foreign_parser_version(nightlies):
    from flows.backfill import reparse

    before = published_checksums(nightlies["url"])
    with pytest.raises(ArchiveError, match="already holds 3 runs: reparse into an empty warehouse"):
        reparse(database_url=nightlies["url"], data_dir=str(nightlies["root"] / "data"))
    with pytest.raises(ArchiveError, match="the installed parsers are version '2', not '3'"):
        reparse(parser_version="3", database_url=nightlies["url"], data_dir=str(nightlies["root"] / "data"))
    assert published_checksums(nightlies["url"]) == before


def test_a_replay_on_several_processes_writes_the_one_process_items(nightlies, tmp_path, monkeypatch):
    from spiders import replay

    # Small chunks: many more than the workers keep in flight, so results come back out of order and must
    # be put back in the archive's order.
    monkeypatch.setattr(replay, "CHUNK", 7)
    archived_crawls = archived_runs(nightlies["root"] / "data" / "runs")
    assert len(fetch_plan(archived_crawls[0])) > 7 * 3 * replay.IN_FLIGHT  # day 1 fetched every page
    for archived in archived_crawls:  # days 2 and 3: mostly 304s, two or three chunks
        fetches = fetch_plan(archived)
        one_file, three_file = tmp_path / archived.run_id / "one.jsonl", tmp_path / archived.run_id / "three.jsonl"
        one = replay.write_replay(archived, fetches, "run-x", one_file, workers=1)
        three = replay.write_replay(archived, fetches, "run-x", three_file, workers=3)
        assert (one.pop("citehub/replay/workers"), three.pop("citehub/replay/workers")) == (1, 3)
        assert three == one
        assert three_file.read_bytes() == one_file.read_bytes()
        lines = one_file.read_text().splitlines()
        assert len(lines) == sum(v for k, v in one.items() if k.startswith("citehub/items/"))
        assert sum(json.loads(line)["kind"] == "hub_page" for line in lines) > 0


def test_an_unreadable_record_in_a_worker_fails_the_replay_and_writes_no_items(nightlies, tmp_path, monkeypatch):
    from spiders import replay

    monkeypatch.setattr(replay, "CHUNK", 5)
    first = nightlies["runs"][0]
    shutil.copytree(nightlies["root"] / "data" / "runs" / first, tmp_path / "runs" / first)
    items = tmp_path / "runs" / first / "items.jsonl"
    lines = items.read_text().splitlines()
    last = max(
        i for i, line in enumerate(lines) if json.loads(line)["kind"] == "fetch" and json.loads(line).get("warc_file")
    )
    item = json.loads(lines[last])
    item["warc_offset"] += 7  # the last archived response (a late chunk) points at a byte that starts no record
    lines[last] = json.dumps(item)
    items.write_text("\n".join(lines) + "\n")
    archived = archived_runs(tmp_path / "runs")[0]
    out = tmp_path / "replay" / "items.jsonl"
    with pytest.raises(ArchiveError, match="unreadable WARC record|not a response record"):
        replay.write_replay(archived, fetch_plan(archived), "run-x", out, workers=2)
    assert not out.exists() and not out.with_suffix(".jsonl.tmp").exists()


def test_replay_workers_default_to_the_cores_and_refuse_zero():
    from pydantic import ValidationError

    from flows.settings import Settings
    from spiders.replay import replay_workers

    assert replay_workers(3) == 3
    assert replay_workers(None) == len(os.sched_getaffinity(0))
    with pytest.raises(ValidationError, match="replay_workers"):
        Settings(replay_workers=0)


def _as_of_answers(url: str) -> dict[str, list]:
    """Every run's `citation_as_of` and `hub_as_of` answers, row for row."""
    engine = make_engine(url)
    with engine.connect() as conn:
        run_ids = conn.execute(text("SELECT run_id FROM run ORDER BY started_at")).scalars().all()
        out = {}
        for view in ("citation_as_of", "hub_as_of"):
            for run_id in run_ids:
                rows = conn.execute(text(f"SELECT * FROM {view} WHERE as_of_run = :r"), {"r": run_id}).all()
                out[f"{view}@{run_id}"] = sorted(json.dumps(list(r), default=str) for r in rows)
    engine.dispose()
    return out


def test_a_replay_of_crawls_older_than_the_warehouse_is_refused_and_history_kept(nightlies, tmp_path):
    """Issue 18: three nightlies, then `backfill --from-archive` with no dates into the same warehouse used to
    write citation spells running backward, changing the day-3 as-of answers."""
    from flows.backfill import backfill
    from warehouse.runs import OlderThanHistory

    target = tmp_path / "wh.sqlite"
    _copy_warehouse(nightlies["root"] / "nightly.sqlite", target)
    url = f"sqlite:///{target}"
    before, as_of = published_checksums(url), _as_of_answers(url)
    assert any(as_of.values())
    with pytest.raises(OlderThanHistory, match=f"archived crawl {nightlies['runs'][0]} .* is older than run"):
        backfill(from_archive=True, database_url=url, data_dir=str(nightlies["root"] / "data"))
    assert published_checksums(url) == before
    assert _as_of_answers(url) == as_of


def _copy_run(src, dst_runs, run_id: str, **manifest) -> None:
    from spiders.replay import record_run

    shutil.copytree(src, dst_runs / run_id)
    (dst_runs / run_id / "run.json").unlink()  # a manifest of its own
    record_run(dst_runs / run_id, run_id=run_id, **manifest)


def test_a_replay_takes_the_published_crawls_of_one_warehouse(nightlies, tmp_path):
    """Issues 18 and 19: the data directory is shared by warehouses, and a crawl whose run died during its
    load (or was blocked) was replayed as an extra run. The manifest says whose crawl it is and whether it
    was published; a replay takes only those, and --dry-run lists both."""
    from typer.testing import CliRunner

    from flows.backfill import replay_selection
    from flows.cli import app
    from schema.engine import warehouse_identity

    runs_dir = tmp_path / "data" / "runs"
    shutil.copytree(nightlies["root"] / "data" / "runs", runs_dir)
    last = runs_dir / nightlies["runs"][-1]
    foreign, died = "20991231T000000Z-aaaaaa", "20991231T000001Z-bbbbbb"
    _copy_run(last, runs_dir, foreign, warehouse="sqlite:////elsewhere/other.sqlite", published=True)
    _copy_run(last, runs_dir, died, warehouse=warehouse_identity(nightlies["url"]), published=False)
    assert json.loads((runs_dir / nightlies["runs"][0] / "run.json").read_text()) == {
        "kind": "nightly",
        "published": True,
        "run_id": nightlies["runs"][0],
        "status": "completed",
        "warehouse": warehouse_identity(nightlies["url"]),
    }
    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.sqlite'}"
    with pytest.raises(ArchiveError, match="the archive holds crawls of 2 warehouses .* name one with --archive-of"):
        replay_selection(runs_dir, rebuilt)
    selection = replay_selection(runs_dir, rebuilt, archive_of=nightlies["url"])
    assert [a.run_id for a in selection.chosen] == nightlies["runs"]
    assert [(a.run_id, why) for a, why in selection.left_out] == [
        (foreign, "crawled for sqlite:////elsewhere/other.sqlite"),
        (died, "its run ended before its load and published nothing"),
    ]
    # into the warehouse the crawls were made for, no --archive-of is needed
    assert [a.run_id for a in replay_selection(runs_dir, nightlies["url"]).chosen] == nightlies["runs"]
    result = CliRunner().invoke(
        app,
        ["backfill", "--from-archive", "--dry-run", "--database-url", rebuilt, "--data-dir", str(tmp_path / "data")]
        + ["--archive-of", nightlies["url"]],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.splitlines() if line.startswith("  2")]
    assert listed == nightlies["runs"]
    assert f"left out {died}: its run ended before its load and published nothing" in result.output
    assert not (tmp_path / "rebuilt.sqlite").exists()  # a dry run writes nothing


def _manifests(runs_dir, *run_ids: str) -> dict[str, tuple]:
    from spiders.replay import read_manifest

    return {
        r: (read_manifest(runs_dir / r).get("published"), read_manifest(runs_dir / r).get("settled")) for r in run_ids
    }


def _killed_runs(nightlies, tmp_path):
    """A copy of the nightlies' warehouse and archive, as runs killed around their load would leave them: each
    manifest says `published: "pending"` (written before the load's transaction), and the run table says what
    became of the run. The last nightly committed, then died before its manifest said so (its row says
    `completed`); the second committed and died before finishing its row (the next run marked it `abandoned`:
    its fetch rows are there). Three more crawls (copies of the last) whose runs died before their load
    committed: `failed` (the run recorded its error), `abandoned` (killed), and one still `running`."""
    from schema.engine import warehouse_identity
    from spiders.replay import record_run
    from warehouse.runs import finish_run, start_run

    target = tmp_path / "wh.sqlite"
    _copy_warehouse(nightlies["root"] / "nightly.sqlite", target)
    url = f"sqlite:///{target}"
    engine = make_engine(url)
    runs_dir = tmp_path / "data" / "runs"
    shutil.copytree(nightlies["root"] / "data" / "runs", runs_dir)
    first, second, last = nightlies["runs"]
    mine = warehouse_identity(url)
    for run_id, published in ((first, True), (second, "pending"), (last, "pending")):
        (runs_dir / run_id / "run.json").unlink()
        record_run(runs_dir / run_id, run_id=run_id, kind="nightly", warehouse=mine, published=published)
    with engine.begin() as conn:
        conn.execute(t.run.update().where(t.run.c.run_id == second).values(status="abandoned"))
    dead = {}
    for status in ("failed", "abandoned", "running"):
        # the `running` one died an hour ago: the next run's lock claim finds it dead (warehouse.lock)
        started = datetime.now(UTC) - timedelta(hours=1 if status == "running" else 0)
        run_id = start_run(engine, "nightly", {}, started_at=started)
        if status != "running":
            finish_run(engine, run_id, status, {"error": "killed during its load"})
        _copy_run(runs_dir / last, runs_dir, run_id, kind="nightly", warehouse=mine, published="pending")
        dead[status] = run_id
    engine.dispose()
    return url, runs_dir, dead


def test_a_crawl_left_pending_is_replayed_when_its_load_committed(nightlies, tmp_path):
    """Issue 19: `published: true` was written after the load committed, so a kill in between left a published
    run marked unpublished, and a reparse dropped it. The manifest says `pending` before the commit; a replay
    (and every run: see the next test) settles it from the warehouse's run table: the load committed when the
    run is completed or degraded, or failed or abandoned after its load wrote its fetch rows."""
    from flows.backfill import reparse, replay_selection

    url, runs_dir, dead = _killed_runs(nightlies, tmp_path)
    first, second, last = nightlies["runs"]
    selection = replay_selection(runs_dir, url)
    assert [a.run_id for a in selection.chosen] == nightlies["runs"]
    unsettled = f"its run stopped during its load; whether that committed is not settled yet (the next run of {selection.warehouse} settles it)"
    assert sorted((a.run_id, why) for a, why in selection.left_out) == sorted(
        [
            (dead["failed"], "its run ended before its load and published nothing"),
            (dead["abandoned"], "its run ended before its load and published nothing"),
            (dead["running"], unsettled),
        ]
    )
    assert _manifests(runs_dir, first, second, last, *dead.values()) == {
        first: (True, None),  # settled long ago: not touched
        second: (True, True),
        last: (True, True),
        dead["failed"]: (False, True),
        dead["abandoned"]: (False, True),
        dead["running"]: ("pending", None),
    }
    # the settled archive rebuilds the warehouse the nightlies built, table for table
    rebuilt = f"sqlite:///{tmp_path / 'rebuilt.sqlite'}"
    result = reparse(database_url=rebuilt, data_dir=str(tmp_path / "data"), archive_of=url)
    assert list(result["replayed"].values()) == nightlies["runs"]
    assert published_checksums(rebuilt) == published_checksums(nightlies["url"])


def test_every_run_settles_the_crawls_left_pending_first(nightlies, tmp_path):
    """A nightly against the warehouse settles the archive's pending crawls of that warehouse as it starts,
    holding the run lock (no load of another run can be committing then)."""
    from flows.nightly import nightly_refresh

    url, runs_dir, dead = _killed_runs(nightlies, tmp_path)
    first, second, last = nightlies["runs"]
    site = build_site(hubs=HUBS, seed=SEED, day=DAYS)
    with serving(site) as base_url:
        report = nightly_refresh(
            base_url=base_url,
            hubs=[site.hubs[0].uuid],
            database_url=url,
            data_dir=str(tmp_path / "data"),
            include_known=False,
        )
    assert report["status"] == "completed"
    # its own crawl is published; the `running` one was found dead by this run's lock claim, then settled
    assert _manifests(runs_dir, second, last, *dead.values(), report["run_id"]) == {
        second: (True, True),
        last: (True, True),
        dead["failed"]: (False, True),
        dead["abandoned"]: (False, True),
        dead["running"]: (False, True),
        report["run_id"]: (True, None),
    }
