"""The frontier (issue 16): hubs the run's pages link to join it with where and when they were first seen;
links refused are recorded; a hub of the frontier never fetched is what the next crawl plans; all of it in
the load's transaction, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from tests.warehouse.conftest import HUB_A, HUB_B, two_hub_items, write_items
from warehouse import frontier, stage
from warehouse.load import load_staged
from warehouse.runs import start_run

NEW = "0c6c5d40-5c8d-4d5c-9d0e-3f1f1b9a7e11"
LATER = "9f1e2d3c-4b5a-4678-9abc-def012345678"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def _links(url: str, source: str | None, *hubs: tuple[str, str], bad: list[dict] | None = None) -> dict:
    return {
        "kind": "links",
        "url": url,
        "hub_uuid": source,
        "fetched_at": "2026-12-06T03:00:00+00:00",
        "hubs": [{"hub_uuid": u, "url": f"https://pith.science/citations/{u}", "block": b} for u, b in hubs],
        "bad": bad or [],
    }


def _load(engine, tmp_path, name: str, items: list[dict]) -> tuple[str, dict]:
    run_id = start_run(engine, "nightly", {})
    stage.stage_items(engine, run_id, write_items(tmp_path / f"{name}.jsonl", items))
    return run_id, load_staged(engine, run_id).frontier


def test_linked_hubs_join_the_frontier_once_with_their_first_sighting(engine, tmp_path):
    page_a = f"https://pith.science/citations/{HUB_A}"
    first_items = [
        *two_hub_items(),
        _links(
            page_a,
            HUB_A,
            (HUB_B, "co_cited"),
            (NEW, "co_cited"),
            bad=[{"href": "/citations/not-a-uuid", "reason": "malformed_uuid"}],
        ),
    ]
    first, counts = _load(engine, tmp_path, "first", first_items)
    assert counts == {"pages": 1, "new_hubs": 2, "seen_again": 0, "bad_links": 1, "failed_tries": 0, "paper_pages": 0}
    assert frontier.unfetched_hubs(engine) == [NEW]  # HUB_B was fetched by this very run
    second, counts = _load(
        engine,
        tmp_path,
        "second",
        [_links("https://pith.science/paper/2406.01234", None, (NEW, "references"), (LATER, "references"))],
    )
    assert counts == {"pages": 1, "new_hubs": 1, "seen_again": 1, "bad_links": 0, "failed_tries": 0, "paper_pages": 0}
    with engine.connect() as conn:
        rows = {r.hub_uuid: r for r in conn.execute(select(t.frontier))}
        bad = conn.execute(
            select(t.bad_link.c.run_id, t.bad_link.c.found_on, t.bad_link.c.href, t.bad_link.c.reason)
        ).all()
    assert (rows[NEW].first_seen_run, rows[NEW].first_seen_on, rows[NEW].first_seen_block, rows[NEW].last_seen_run) == (
        first,
        page_a,
        "co_cited",
        second,
    )
    assert (rows[LATER].first_seen_run, rows[LATER].first_seen_block) == (second, "references")
    assert rows[NEW].first_seen_at is not None
    assert [tuple(b) for b in bad] == [(first, page_a, "/citations/not-a-uuid", "malformed_uuid")]
    assert frontier.unfetched_hubs(engine) == [NEW, LATER]
    assert frontier.frontier_size(engine) == (3, 2)  # HUB_B, NEW, LATER; HUB_B fetched


def test_a_links_item_with_a_bad_uuid_is_refused_at_staging(engine, tmp_path):
    run_id = start_run(engine, "nightly", {})
    path = write_items(tmp_path / "bad.jsonl", [_links("https://pith.science/paper/x", None, ("../../etc", "other"))])
    with pytest.raises(stage.StageError, match=r"bad.jsonl:1: bad links item: hubs\.0\.hub_uuid: String should match"):
        stage.stage_items(engine, run_id, path)
