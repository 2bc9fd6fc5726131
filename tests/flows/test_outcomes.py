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
