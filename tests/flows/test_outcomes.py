"""A run says what really happened (issue 18): `completed`, `degraded`, `failed`, `blocked` or `skipped`, each
with its exit code, its Prefect state and, when not `completed`, one webhook message; freshness counts a hub
as refreshed only when it was fetched completely."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from warehouse.outcome import EXIT_CODES, judge

ROOT = Path(__file__).resolve().parents[2]
HUBS, SEED = 6, 7


def test_the_help_documents_every_exit_code():
    from flows.cli import EXIT_CODES_HELP

    documented = {name: int(code) for code, name in re.findall(r"(\d+) (\w+)", EXIT_CODES_HELP)}
    assert {k: documented[k] for k in EXIT_CODES} == EXIT_CODES
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)  # distinct
    assert documented["bad"] == 2 and documented["interrupted"] == 130
    readme = (ROOT / "README.md").read_text()
    for name, code in EXIT_CODES.items():
        assert re.search(rf"\|\s*{code}\s*\|\s*`?{name}`?\s*\|", readme), f"README's exit code table lacks {name}"


def test_judge_names_the_outcome_and_why():
    assert judge({"parsed": 3}, {}, []).status == "completed"
    assert judge({"not_modified": 3}, {}, []).status == "completed"
    assert judge({"parsed": 3, "failed": 1}, {"h1": "1 failed URLs"}, []).reasons == [
        "1 hubs incomplete",
        "hub h1: 1 failed URLs",
    ]
    assert judge({"skipped": 4}, {"h1": "4 skipped URLs"}, []).reasons == ["nothing useful fetched: 4 URLs (skipped 4)"]
    assert judge({}, {}, []).status == "failed"
    assert judge({"parsed": 3}, {}, ["orphan_edges"]).reasons == ["1 quality checks failed: orphan_edges"]


def _refresh(base_url: str, url: str, data: Path, uuids: list[str], **kw):
    from flows.nightly import nightly_refresh

    return nightly_refresh(
        base_url=base_url,
        hubs=uuids,
        database_url=url,
        data_dir=str(data),
        include_known=False,
        return_state=True,
        **kw,
    )


@pytest.fixture
def receiver(httpserver):
    """A local webhook that records what it is sent."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver


def _messages(receiver) -> list[dict]:
    return [json.loads(request.data) for request, _ in receiver.log]


def test_a_hub_whose_page_fails_makes_the_run_degraded(tmp_path, prefect_server, receiver, monkeypatch):
    monkeypatch.setenv("CITEHUB_NOTIFY_URL", receiver.url_for("/hook"))
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    failing = site.hubs[2].uuid
    with serving(site) as base_url:
        post(base_url, "fail", {"path": f"/citations/{failing}", "status": 503})
        state = _refresh(base_url, url, tmp_path / "data", [h.uuid for h in site.hubs])
    report = state.result()
    assert (state.name, state.type.value) == ("Degraded", "COMPLETED")
    assert report["status"] == "degraded"
    assert report["reasons"][0] == "1 hubs incomplete"
    assert re.fullmatch(rf"hub {failing}: \d+ failed URLs", report["reasons"][1])
    with make_engine(url).connect() as conn:
        assert conn.execute(select(t.run.c.status)).scalars().all() == ["degraded"]
    [message] = _messages(receiver)
    assert (message["run_id"], message["outcome"], message["reasons"]) == (
        report["run_id"],
        "degraded",
        report["reasons"],
    )
    assert message["text"].startswith(f"citehub nightly run {report['run_id']}: degraded - 1 hubs incomplete")
    assert message["counts"]["requests"] == report["requests"]


def test_a_run_whose_every_fetch_was_refused_fails(tmp_path, prefect_server, receiver, monkeypatch):
    """The issue's reproduction: robots.txt answers 503, so every page is refused."""
    from flows.publish import RunFailed

    monkeypatch.setenv("CITEHUB_NOTIFY_URL", receiver.url_for("/hook"))
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    with serving(site) as base_url:
        post(base_url, "fail", {"path": "/robots.txt", "status": 503})
        state = _refresh(base_url, url, tmp_path / "data", [h.uuid for h in site.hubs])
    assert state.type.value == "FAILED"
    with pytest.raises(RunFailed, match=r"failed: nothing useful fetched: \d+ URLs \(skipped \d+\)"):
        state.result()
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(t.run.c.status)).scalars().all() == ["failed"]
        assert conn.execute(select(t.hub_summary)).all() == []
    [message] = _messages(receiver)
    assert message["outcome"] == "failed" and message["reasons"][0].startswith("nothing useful fetched")
    from warehouse import queries

    assert len(queries.stale_hubs(engine, 0.0, datetime.now(UTC))) == queries.hub_count(engine)  # none refreshed


def test_seeds_all_off_the_allowlist_fail_the_run(tmp_path, prefect_server):
    from flows.publish import RunFailed

    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    with serving(site) as base_url:
        other = [f"https://pith.science/citations/{h.uuid}" for h in site.hubs[:2]]
        from flows.nightly import nightly_refresh

        state = nightly_refresh(
            base_url=base_url,
            hubs=other,
            database_url=url,
            data_dir=str(tmp_path / "data"),
            include_known=False,
            return_state=True,
        )
    with pytest.raises(RunFailed, match="nothing useful fetched"):
        state.result()


def test_a_webhook_that_is_down_never_changes_the_outcome(tmp_path, prefect_server, monkeypatch):
    monkeypatch.setenv("CITEHUB_NOTIFY_URL", "http://127.0.0.1:9/hook")  # discard port: nothing listens
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    failing = site.hubs[0].uuid
    with serving(site) as base_url:
        post(base_url, "fail", {"path": f"/citations/{failing}", "status": 503})
        state = _refresh(
            base_url, f"sqlite:///{tmp_path / 'w.sqlite'}", tmp_path / "data", [failing, site.hubs[1].uuid]
        )
    assert state.name == "Degraded"
    with make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}").connect() as conn:
        assert conn.execute(select(t.run.c.status)).scalars().all() == ["degraded"]


def test_a_completed_run_sends_nothing_and_exits_0_and_a_degraded_one_exits_4(tmp_path, prefect_server, receiver):
    from prefect.settings import PREFECT_API_URL

    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "CITEHUB_NOTIFY_URL": receiver.url_for("/hook"),
        "CITEHUB_DATA_DIR": str(tmp_path / "data"),
        "COLUMNS": "200",
    }
    hubs = [arg for h in site.hubs for arg in ("--hub", h.uuid)]

    def refresh(base_url: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "flows.cli", "refresh", "--base-url", base_url, "--database-url", url, *hubs]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    with serving(site) as base_url:
        first = refresh(base_url)
        assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
        assert _messages(receiver) == []
        post(base_url, "fail", {"path": f"/citations/{site.hubs[1].uuid}.json", "status": 503})
        second = refresh(base_url)
    assert second.returncode == EXIT_CODES["degraded"] == 4, second.stdout[-3000:] + second.stderr[-3000:]
    assert "outcome: degraded - 1 hubs incomplete; hub " + site.hubs[1].uuid in second.stdout
    assert [m["outcome"] for m in _messages(receiver)] == ["degraded"]


def test_freshness_counts_a_hub_refreshed_only_when_fetched_completely(tmp_path, prefect_server):
    from datetime import timedelta

    from warehouse import queries

    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    uuids = [h.uuid for h in site.hubs[:2]]
    with serving(site) as base_url:
        _refresh(base_url, url, tmp_path / "data", uuids, conditional=False)
        post(base_url, "fail", {"path": f"/citations/{uuids[0]}", "status": 503})
        post(base_url, "fail", {"path": f"/citations/{uuids[0]}.json", "status": 503})
        second = _refresh(base_url, url, tmp_path / "data", uuids, conditional=False).result()
    engine = make_engine(url)
    with engine.connect() as conn:
        starts = dict(conn.execute(select(t.run.c.run_id, t.run.c.started_at)).all())
    first_at, second_at = sorted(queries.aware_utc(v) for v in starts.values())
    now = second_at + timedelta(seconds=1)
    days = (now - (first_at + (second_at - first_at) / 2)).total_seconds() / 86400  # between the two runs
    stale = queries.stale_hubs(engine, days, now)
    assert [(h.hub_uuid, h.last_seen_at) for h in stale] == [(uuids[0], first_at)]
    assert second["incomplete_hubs"] == [uuids[0]]


def _flow_run_state_name(state) -> str:
    """The state name the Prefect server holds for the flow run that ended in `state`."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(state.state_details.flow_run_id).state.name


def test_a_blocked_run_sends_one_message_with_its_kind(tmp_path, prefect_server, receiver, monkeypatch):
    """A backfill the publish guard blocks: its alert names its kind (not "run") and what it fetched, and its
    flow run ends `Blocked` on the server."""
    from flows.backfill import backfill

    monkeypatch.setenv("CITEHUB_NOTIFY_URL", receiver.url_for("/hook"))
    monkeypatch.setenv("CITEHUB_GUARD_HUB_MIN_EDGES", "1")  # judge every hub alone: a 6-hub site has small ones
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    uuids = [h.uuid for h in site.hubs]
    big = max(site.hubs, key=lambda h: len(h.citations)).uuid
    with serving(site) as base_url:
        assert _refresh(base_url, url, tmp_path / "data", uuids).name == "Completed"
        assert post(base_url, "drop", {"hub": big, "keep": 1}) == {"hub": big, "citations": 1}
        state = backfill(
            hubs=uuids, base_url=base_url, database_url=url, data_dir=str(tmp_path / "data"), return_state=True
        )
    result = state.result()
    [report] = result["runs"]
    assert (result["status"], report["status"]) == ("blocked", "blocked")
    assert (state.name, state.type.value) == ("Blocked", "COMPLETED")
    assert _flow_run_state_name(state) == "Blocked"
    with make_engine(url).connect() as conn:
        kind, status, summary = conn.execute(
            select(t.run.c.kind, t.run.c.status, t.run.c.summary).where(t.run.c.run_id == report["run_id"])
        ).one()
    summary = json.loads(summary)
    assert (kind, status) == ("backfill", "blocked")
    [message] = _messages(receiver)  # the day-1 nightly completed: it sent nothing
    assert (message["run_id"], message["kind"], message["outcome"], message["reasons"]) == (
        report["run_id"],
        "backfill",
        "blocked",
        [report["message"]],
    )
    assert message["text"].startswith(f"citehub backfill run {report['run_id']}: blocked - ")
    assert message["counts"] == {k: summary[k] for k in ("requests", "pages_fetched", "quarantined", "failed_fetches")}
    assert message["counts"]["pages_fetched"] >= HUBS


def test_a_skipped_run_sends_one_message_with_its_kind(tmp_path, prefect_server, receiver, monkeypatch):
    """A nightly that finds the warehouse's lock held: skipped, one alert naming its kind and the run that holds
    the lock, and its flow run ends `Skipped` on the server."""
    from schema.migrate import upgrade
    from warehouse.lock import single_flight
    from warehouse.runs import start_run

    monkeypatch.setenv("CITEHUB_NOTIFY_URL", receiver.url_for("/hook"))
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    holder = start_run(engine, "backfill", {})
    with serving(site) as base_url, single_flight(engine, holder):
        state = _refresh(base_url, url, tmp_path / "data", [h.uuid for h in site.hubs])
    report = state.result()
    assert report["status"] == "skipped"
    assert (state.name, state.type.value) == ("Skipped", "COMPLETED")
    assert _flow_run_state_name(state) == "Skipped"
    with engine.connect() as conn:
        rows = dict(conn.execute(select(t.run.c.run_id, t.run.c.kind)).all())
    assert rows == {holder: "backfill", report["run_id"]: "nightly"}
    [message] = _messages(receiver)
    assert (message["run_id"], message["kind"], message["outcome"], message["reasons"]) == (
        report["run_id"],
        "nightly",
        "skipped",
        [report["message"]],
    )
    assert report["message"].startswith(f"run {report['run_id']} skipped: run {holder} (backfill, started ")
    assert message["counts"] == {"planned_hubs": HUBS}


def test_a_run_an_error_ends_sends_its_kind_and_what_it_knew(tmp_path, prefect_server, receiver, monkeypatch):
    """A replay whose archive holds a fetch row no crawl writes: the replay parses, then staging raises. The
    alert of that exception-failed run names its kind and carries the counts known by then: what it planned
    and what the replay read."""
    from flows.backfill import backfill

    site = build_site(hubs=2, seed=SEED, day=1)
    data = tmp_path / "data"
    with serving(site) as base_url:
        nightly = _refresh(base_url, f"sqlite:///{tmp_path / 'crawled.sqlite'}", data, [h.uuid for h in site.hubs])
    run_dir = data / "runs" / nightly.result()["run_id"]
    lines = (run_dir / "items.jsonl").read_text().splitlines()
    fetch_rows = [item for item in map(json.loads, lines) if item["kind"] == "fetch"]
    stats = json.loads((run_dir / "stats.json").read_text())
    # a fetch row as the crawl writes one, without its archived response, with an outcome no crawl gives
    bad = {k: v for k, v in fetch_rows[0].items() if not k.startswith("warc_")} | {"outcome": "no-such-outcome"}
    with (run_dir / "items.jsonl").open("a") as items:
        items.write(json.dumps(bad) + "\n")

    monkeypatch.setenv("CITEHUB_NOTIFY_URL", receiver.url_for("/hook"))
    replayed = f"sqlite:///{tmp_path / 'replayed.sqlite'}"
    state = backfill(from_archive=True, database_url=replayed, data_dir=str(data), return_state=True)
    assert state.type.value == "FAILED"
    with make_engine(replayed).connect() as conn:
        [(run_id, kind, status)] = conn.execute(select(t.run.c.run_id, t.run.c.kind, t.run.c.status)).all()
    assert (kind, status) == ("backfill", "failed")
    [message] = _messages(receiver)
    assert (message["run_id"], message["kind"], message["outcome"]) == (run_id, "backfill", "failed")
    replay_items = data / "replays" / run_id / "items.jsonl"
    last = len(replay_items.read_text().splitlines())  # the bad row is replayed last
    assert message["reasons"] == [
        f"{replay_items}:{last}: bad fetch item: outcome: Input should be 'parsed', 'not_modified', 'quarantined', "
        "'failed', 'skipped' or 'deferred'"
    ]
    assert message["counts"] == {
        "planned_fetches": len(fetch_rows) + 1,
        "requests": 0,  # a replay sends none
        "pages_fetched": stats["citehub/items/hub_page"],
        "quarantined": stats.get("citehub/items/quarantine", 0),
        "failed_fetches": stats.get("citehub/fetch/failed", 0),
    }
