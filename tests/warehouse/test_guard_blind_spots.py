"""The publish guard's blind spots (issue 19): relabels spread over hubs too small to be judged alone, and a
run that rewrites the figures of most hubs. Both block the run; the normal daily churn does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import entry, fetch_item, hub_page, page_item, page_url, write_items
from sqlalchemy import func, select

from schema.tables import citation, hub
from warehouse import guard, stage
from warehouse.load import load_staged
from warehouse.runs import start_run

HUBS, EDGES = 30, 10
T0 = datetime(
    2026, 11, 1, 3, 0, tzinfo=UTC
)  # 300 edges over hubs of 10: the per-hub rule (50+ edges) judges none of them


def _uuid(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def _items(
    *,
    verdict: str = "unverdicted",
    title: str | None = "A Cited Work",
    relabel_hubs: int = HUBS,
    label: str = "Mixed citations",
    edges: int = EDGES,
) -> list:
    items = []
    for i in range(HUBS):
        uuid = _uuid(i)
        entries = [
            entry(
                f"Citing paper {i}-{k}",
                position=k,
                arxiv=f"2601.{i:02d}{k:03d}",
                verdict=verdict if i < relabel_hubs else "unverdicted",
            )
            for k in range(edges)
        ]
        page = hub_page(uuid, citing_count=edges, explorer=entries, title_raw=title, label=label)
        items += [page_item(page), fetch_item(page_url(page), uuid)]
    return items


def _load(engine, tmp_path, name: str, items: list, limits: guard.Limits | None = None, day: float = 0) -> str:
    run_id = start_run(engine, "backfill", {}, started_at=T0 + timedelta(days=day))
    stage.stage_items(engine, run_id, write_items(tmp_path / f"{name}.jsonl", items))
    load_staged(engine, run_id, gate=guard.Gate(run_id, limits or guard.Limits()))
    return run_id


def _current(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        edges = conn.execute(
            select(func.count()).select_from(citation).where(citation.c.verdict == "unverdicted")
        ).scalar_one()
        titled = conn.execute(select(func.count()).select_from(hub).where(hub.c.title == "A Cited Work")).scalar_one()
    return edges, titled


def test_relabels_spread_over_small_hubs_are_blocked_as_a_whole(engine, tmp_path):
    _load(engine, tmp_path, "first", _items())
    with pytest.raises(guard.PublishBlocked) as blocked:
        _load(engine, tmp_path, "second", _items(verdict="accept"))
    verdict = blocked.value.verdict
    assert (verdict.relabelled, verdict.current, verdict.hubs_over) == (300, 300, [])
    assert verdict.reasons == ["overall: 300 of 300 current edges relabelled (100.00% > 5.00%)"]
    assert _current(engine) == (300, HUBS)  # nothing published


def test_every_title_turned_pending_is_blocked(engine, tmp_path):
    _load(engine, tmp_path, "first", _items())
    with pytest.raises(guard.PublishBlocked) as blocked:
        _load(engine, tmp_path, "second", _items(title=None))
    verdict = blocked.value.verdict
    assert (verdict.figure_changes, verdict.known_hubs) == (HUBS, HUBS)
    assert verdict.reasons == [
        "hub figures: title, tier or label changed for 30 of 30 known hubs fetched completely (100.0% > 20.0%)"
    ]
    assert _current(engine) == (300, HUBS)


def test_daily_churn_publishes(engine, tmp_path):
    """One hub of 30 relabelled (10 of 300 edges, under the 50-relabel floor) and no figure changed."""
    _load(engine, tmp_path, "first", _items())
    run_id = _load(engine, tmp_path, "second", _items(verdict="accept", relabel_hubs=1))
    assert run_id
    assert _current(engine) == (290, HUBS)


def test_a_revisit_after_days_is_judged_per_day(engine, tmp_path):
    """A budgeted night revisits hubs last fetched whole days ago (warehouse.plan): what they gained meanwhile
    is judged per day. Tier and label changes of every hub over 6 days pass where one night's block; a hub's
    relabels over 4 days too; a changed title is a fault whatever the gap."""
    _load(engine, tmp_path, "first", _items(edges=60), day=0)
    with pytest.raises(guard.PublishBlocked) as blocked:
        _load(
            engine,
            tmp_path,
            "next-day",
            _items(edges=60, label="Canonical reference", verdict="accept", relabel_hubs=0),
            day=1,
        )
    assert blocked.value.verdict.reasons == [
        "hub figures: title, tier or label changed for 30 of 30 known hubs fetched completely (100.0% > 20.0%)"
    ]
    _load(engine, tmp_path, "six-days", _items(edges=60, label="Canonical reference"), day=6)
    with engine.connect() as conn:
        labels = set(conn.execute(select(hub.c.label)).scalars())
    assert labels == {"Canonical reference"}

    # 4 of a hub's 60 edges relabelled (6.7%): over the 5% a day allows after one day, not after 4
    def relabel() -> list:
        items = _items(edges=60, label="Canonical reference")
        for item in items[:1]:
            for e in item["page"]["explorer"][:4]:
                e["verdict"] = "accept"
        return items

    with pytest.raises(guard.PublishBlocked) as blocked:
        _load(engine, tmp_path, "day-7", relabel(), day=7)
    assert [r.split(": ", 1)[1] for r in blocked.value.verdict.reasons] == [
        "0 retired + 4 relabelled of 60 current edges (6.7% > 5.0%)"
    ]
    _load(engine, tmp_path, "day-10", relabel(), day=10)
    with pytest.raises(guard.PublishBlocked) as blocked:
        _load(engine, tmp_path, "day-14", _items(edges=60, label="Canonical reference", title=None), day=14)
    assert blocked.value.verdict.reasons == [
        "hub figures: title, tier or label changed for 30 of 30 known hubs fetched completely, tier and label over "
        "120 hub-days (100.0% > 20.0%)"
    ]
