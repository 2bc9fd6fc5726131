"""The publish guard's blind spots (issue 19): relabels spread over hubs too small to be judged alone, and a
run that rewrites the figures of most hubs. Both block the run; the normal daily churn does not."""

from __future__ import annotations

import pytest
from conftest import entry, fetch_item, hub_page, page_item, page_url, write_items
from sqlalchemy import func, select

from schema.tables import citation, hub
from warehouse import guard, stage
from warehouse.load import load_staged
from warehouse.runs import start_run

HUBS, EDGES = 30, 10  # 300 edges over hubs of 10: the per-hub rule (50+ edges) judges none of them


def _uuid(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def _items(*, verdict: str = "unverdicted", title: str | None = "A Cited Work", relabel_hubs: int = HUBS) -> list:
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
            for k in range(EDGES)
        ]
        page = hub_page(uuid, citing_count=EDGES, explorer=entries, title_raw=title)
        items += [page_item(page), fetch_item(page_url(page), uuid)]
    return items


def _load(engine, tmp_path, name: str, items: list, limits: guard.Limits | None = None) -> str:
    run_id = start_run(engine, "backfill", {})
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
