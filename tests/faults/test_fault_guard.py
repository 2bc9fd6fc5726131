"""Publish guard: on day 2 the sample site drops most citations of its biggest hub (`/_control/drop`).

The nightly is blocked: nothing of it reaches hub, paper, citation history or the marts (the warehouse equals
what day 1 left, table by table), the run ends `blocked` with the hub and the shares in its row, and its
staged items stay. `citehub refresh --accept-changes RUN_ID` publishes that run (recorded in its summary):
the hub's current edges are then exactly the ones the site kept. A later drop passed with
`--allow-abnormal-change "reason"` publishes at once, the reason in the run's params and summary.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from flows.cli import app
from samplesite.control import post
from samplesite.generator import build_site
from samplesite.model import Site
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine

HUBS, SEED, KEEP = 8, 7, 3
CHECKED = (
    "hub",
    "paper",
    "citation",
    "citation_version",
    "hub_version",
    "hub_facet_version",
    "fetch",
    "hub_summary",
    "hub_role_mix",
    "change_report",
    "citation_current",
    "hub_growth",
)


def _dropped(day: int, hub_uuid: str) -> Site:
    """The site of `day` after `/_control/drop` (what the control endpoint serves)."""
    site = build_site(hubs=HUBS, seed=SEED, day=day)
    hubs = list(site.hubs)
    site.hub(hub_uuid).citations = site.hub(hub_uuid).citations[:KEEP]
    cited = {c.paper_key for h in hubs for c in h.citations}
    return Site(
        seed=SEED,
        day=day,
        hubs_requested=HUBS,
        hubs=hubs,
        papers=[p for p in site.papers if p.key in cited],
        as_of=site.as_of,
    )


def _edges(day_truth: dict) -> set[tuple[str, str]]:
    return {(c["hub_uuid"], c["paper_key"]) for c in day_truth["citations"]}


def _dump(engine) -> dict[str, list]:
    with engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(select(t.metadata.tables[name])).all()), key=repr) for name in CHECKED
        }


def _current(engine, hub_uuid: str | None = None) -> set[tuple[str, str]]:
    c = t.citation
    stmt = select(c.c.hub_uuid, c.c.paper_key).where(c.c.valid_to_run.is_(None))
    if hub_uuid:
        stmt = stmt.where(c.c.hub_uuid == hub_uuid)
    with engine.connect() as conn:
        return set(map(tuple, conn.execute(stmt).all()))


def _text(output: str) -> str:
    """CLI output without Rich's error box and line wrapping."""
    return " ".join(output.replace("│", " ").split())


def _run_row(engine, run_id: str) -> dict:
    with engine.connect() as conn:
        row = dict(conn.execute(select(t.run).where(t.run.c.run_id == run_id)).mappings().one())
    return {**row, "params": json.loads(row["params"]), "summary": json.loads(row["summary"] or "{}")}


@pytest.mark.slow
def test_guard_blocks_a_hub_losing_most_citations_and_overrides_publish(tmp_path, prefect_server, monkeypatch):
    from flows.nightly import nightly_refresh

    # Judge hubs from 15 current edges (default 50: no hub of an 8-hub site is that big), so the per-hub
    # rule speaks too; the overall rule runs on its defaults.
    monkeypatch.setenv("CITEHUB_GUARD_HUB_MIN_EDGES", "15")
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    day1 = build_site(hubs=HUBS, seed=SEED, day=1)
    big = max(day1.hubs, key=lambda h: len(h.citations)).uuid
    other = sorted(day1.hubs, key=lambda h: len(h.citations))[-2].uuid
    with serving(build_site(hubs=HUBS, seed=SEED, day=1)) as base_url:
        first = nightly_refresh(
            base_url=base_url,
            hubs=[h.uuid for h in day1.hubs],
            database_url=url,
            data_dir=str(tmp_path / "data"),
            include_known=False,
        )
        assert "status" not in first or first["status"] == "completed"
        before = _dump(engine)

        post(base_url, "day", {"day": 2})
        assert post(base_url, "drop", {"hub": big, "keep": KEEP}) == {"hub": big, "citations": KEEP}
        report = nightly_refresh(base_url=base_url, database_url=url, data_dir=str(tmp_path / "data"))

        # --- blocked: the expected figures from ground truth ---------------------------------------
        t1, t2 = truth(day1), truth(_dropped(2, big))
        old, new = _edges(t1), _edges(t2)
        retired = old - new
        hub_now = {k for k in old if k[0] == big}
        hub_retired = {k for k in retired if k[0] == big}
        assert len(hub_retired) == len(hub_now) - KEEP  # the kept citations are all old ones
        blocked_id = report["run_id"]
        assert report["status"] == "blocked"
        guard = report["guard"]
        hub_share = len(hub_retired) / len(hub_now)
        assert guard["blocked"] and guard["current_edges"] == len(old) and guard["retired"] == len(retired)
        assert [h["hub_uuid"] for h in guard["hubs"]] == [big]
        assert guard["hubs"][0]["retired"] == len(hub_retired) and guard["hubs"][0]["current"] == len(hub_now)
        assert guard["reasons"] == [
            f"hub {big}: {len(hub_retired)} retired + 0 relabelled of {len(hub_now)} current edges "
            f"({hub_share:.1%} > 5.0%)",
            f"overall: {len(retired)} of {len(old)} current edges retired ({len(retired) / len(old):.2%} > 0.50%)",
        ]
        row = _run_row(engine, blocked_id)
        assert row["status"] == "blocked" and row["finished_at"] is not None
        assert row["summary"]["guard"]["reasons"] == guard["reasons"]
        assert f"--accept-changes {blocked_id}" in row["summary"]["error"]
        # nothing of the blocked run was published; its staged items stay for --accept-changes
        assert _dump(engine) == before
        with engine.connect() as conn:
            staged = conn.execute(
                select(func.count()).select_from(t.stg_item).where(t.stg_item.c.run_id == blocked_id)
            ).scalar_one()
        assert staged > 0

        # --- override 1: accept the blocked run from its staged items (no crawl) --------------------
        result = CliRunner().invoke(
            app,
            ["refresh", "--database-url", url, "--data-dir", str(tmp_path / "data"), "--accept-changes", blocked_id],
        )
        assert result.exit_code == 0, result.output
        row = _run_row(engine, blocked_id)
        assert row["status"] == "completed"
        assert row["summary"]["guard"]["override"] == "accepted with --accept-changes"
        assert row["summary"]["guard"]["reasons"] == guard["reasons"]
        assert row["summary"]["blocked"]["guard"]["blocked"] is True
        assert _current(engine) == new
        assert _current(engine, big) == {k for k in new if k[0] == big} and len(_current(engine, big)) == KEEP
        with engine.connect() as conn:
            gone = set(
                map(
                    tuple,
                    conn.execute(
                        select(t.citation.c.hub_uuid, t.citation.c.paper_key).where(
                            t.citation.c.valid_to_run == blocked_id
                        )
                    ).all(),
                )
            )
        assert gone == retired
        # accepting it again is refused with the reason
        again = CliRunner().invoke(app, ["refresh", "--database-url", url, "--accept-changes", blocked_id])
        assert again.exit_code == 2 and "is completed, not blocked" in _text(again.output)

        # --- override 2: --allow-abnormal-change publishes a new drop at once, reason recorded -------
        assert post(base_url, "drop", {"hub": other, "keep": 1})["citations"] == 1
        allowed = nightly_refresh(
            base_url=base_url,
            database_url=url,
            data_dir=str(tmp_path / "data"),
            allow_abnormal_change="site moved the list; confirmed by hand",
        )
    assert allowed.get("status", "completed") == "completed"
    row = _run_row(engine, allowed["run_id"])
    assert row["status"] == "completed"
    assert row["params"]["allow_abnormal_change"] == "site moved the list; confirmed by hand"
    recorded = row["summary"]["loaded"]["guard"]
    assert recorded["abnormal"] and not recorded["blocked"]
    assert recorded["override"] == "site moved the list; confirmed by hand"
    assert [h["hub_uuid"] for h in recorded["hubs"]] == [other]
    assert len(_current(engine, other)) == 1


def test_accept_changes_refuses_unknown_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    result = CliRunner().invoke(app, ["refresh", "--database-url", url, "--accept-changes", "20260101T000000Z-abcdef"])
    assert result.exit_code == 2 and "no run '20260101T000000Z-abcdef'" in _text(result.output)
