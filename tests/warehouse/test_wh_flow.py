"""stage -> clean -> load -> materialize -> checks on a real warehouse (SQLite file; PostgreSQL when marked)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import (
    BASE,
    HUB_A,
    HUB_B,
    entry,
    hub_page,
    page_item,
    quarantine_item,
    two_hub_items,
    write_items,
)
from sqlalchemy import func, select

from schema.tables import (
    check_result,
    citation,
    hub,
    hub_polarity_mix,
    hub_role_mix,
    hub_summary,
    hub_version,
    paper,
    stg_item,
)
from spiders.parse.normalize import title_fingerprint
from tests.oracle import load
from warehouse.checks import run_checks
from warehouse.clean import clean
from warehouse.materialize import materialize
from warehouse.runs import completed_runs, finish_run, get_run, known_hub_urls, start_run
from warehouse.stage import StageError, stage_items, staged_items

TITLE_KEY = f"title:{title_fingerprint('Title Only Paper')}"


def run_pipeline(engine, tmp_path, items):
    run_id = start_run(engine, "nightly", {"hubs": 2})
    path = write_items(tmp_path / f"{run_id}.jsonl", items)
    assert stage_items(engine, run_id, path, batch_size=3) == len(items)
    batch = clean(staged_items(engine, run_id))
    result = load(engine, run_id, batch)
    marts = materialize(engine, run_id)
    checks = run_checks(engine, run_id)
    finish_run(engine, run_id, "completed", {"load": result.as_dict(), "marts": marts})
    return run_id, result, checks


def rows(engine, table, *cols):
    with engine.connect() as conn:
        columns = [table.c[c] for c in cols] if cols else [table]
        key = list(table.primary_key.columns)
        return [tuple(r) for r in conn.execute(select(*columns).order_by(*key))]


def content(engine, table):
    """Rows without the run bookkeeping."""
    cols = [
        c.name
        for c in table.columns
        if c.name not in ("first_seen_run", "last_seen_run", "last_complete_run", "run_id")
    ]
    return rows(engine, table, *cols)


def test_pipeline_exact_rows_and_checks(engine, tmp_path):
    run_id, result, checks = run_pipeline(engine, tmp_path, two_hub_items())

    assert {t: vars(c) for t, c in result.tables.items()} == {
        "hub": {"inserted": 2, "updated": 0, "unchanged": 0},
        "paper": {"inserted": 3, "updated": 0, "unchanged": 0},
        "citation": {"inserted": 4, "updated": 0, "unchanged": 0},
    }
    assert result.run_rows == {"hub_version": 2, "hub_facet_version": 4, "fetch": 0, "quarantine": 0, "paper_merge": 0}
    assert rows(
        engine,
        citation,
        "hub_uuid",
        "paper_key",
        "role",
        "polarity",
        "verdict",
        "novelty",
        "refs",
        "representative",
        "first_seen_run",
        "last_seen_run",
        "run_id",
    ) == [
        (HUB_A, "arxiv:2406.01234", "background", "support", "unverdicted", 7.0, 1, True, run_id, run_id, run_id),
        (HUB_A, "pith:ab12cd34", "method", None, "accept", 5.5, 2, False, run_id, run_id, run_id),
        (HUB_A, TITLE_KEY, "background", None, "unverdicted", None, None, False, run_id, run_id, run_id),
        (HUB_B, "arxiv:2406.01234", None, None, "unverdicted", 7.0, 1, False, run_id, run_id, run_id),
    ]
    assert rows(engine, hub_summary) == [
        (HUB_A, "A Cited Work", "hub", "Mixed citations", 3, 3, "background", 66.7, 3, run_id, run_id, run_id, run_id),
        (HUB_B, None, "super_hub", None, 1, 0, None, None, 1, run_id, run_id, run_id, run_id),
    ]
    assert rows(engine, hub_role_mix) == [
        (HUB_A, "background", 2, pytest.approx(200 / 3), run_id),
        (HUB_A, "method", 1, pytest.approx(100 / 3), run_id),
    ]
    assert rows(engine, hub_polarity_mix) == [(HUB_A, "support", 1, 100.0, run_id)]
    assert rows(engine, hub_version, "hub_uuid", "parsed_count", "citing_count", "complete") == [
        (HUB_A, 3, 3, True),
        (HUB_B, 1, 1, True),
    ]
    assert [c.name for c in checks if not c.passed] == []
    assert rows(engine, check_result, "passed") == [(True,)] * len(checks)
    assert completed_runs(engine) == [run_id]
    assert get_run(engine, run_id)["summary"]["load"]["tables"]["hub"]["inserted"] == 2
    assert known_hub_urls(engine, BASE + "/") == [f"{BASE}/citations/{HUB_A}", f"{BASE}/citations/{HUB_B}"]


def test_second_identical_run_changes_nothing_but_bookkeeping(engine, tmp_path):
    first, _, _ = run_pipeline(engine, tmp_path, two_hub_items())
    before = {t.name: content(engine, t) for t in (hub, paper, citation, hub_summary)}
    second, result, checks = run_pipeline(engine, tmp_path, two_hub_items())

    assert result.changed == 0
    assert {t: vars(c) for t, c in result.tables.items()} == {
        "hub": {"inserted": 0, "updated": 0, "unchanged": 2},
        "paper": {"inserted": 0, "updated": 0, "unchanged": 3},
        "citation": {"inserted": 0, "updated": 0, "unchanged": 4},
    }
    assert {t.name: content(engine, t) for t in (hub, paper, citation, hub_summary)} == before
    assert set(rows(engine, citation, "first_seen_run", "last_seen_run", "run_id")) == {(first, second, second)}
    assert all(c.passed for c in checks)

    # The second run showed the same figures: the first run's spells stay open, nothing new is written;
    # loading the same run again adds nothing either.
    assert result.run_rows["hub_version"] == 0 and result.run_rows["hub_facet_version"] == 0
    again = load(engine, second, clean(staged_items(engine, second)))
    assert again.changed == 0
    assert rows(engine, hub_version, "valid_from_run", "valid_to_run", "hub_uuid") == [
        (first, None, HUB_A),
        (first, None, HUB_B),
    ]
    assert completed_runs(engine) == [first, second]


def test_quarantined_hub_keeps_last_good_data(engine, tmp_path):
    first, _, _ = run_pipeline(engine, tmp_path, two_hub_items())
    # Next night hub A reads differently, but its page 2 does not parse: the fetch is not complete.
    changed_page = hub_page(
        HUB_A,
        citing_count=4,
        tier="super_hub",
        label="Canonical reference",
        explorer=[
            entry("Attention Is Everywhere", 0, arxiv="2406.01234"),
            entry("A New Citing Paper", 1, arxiv="2411.00001"),
        ],
        role_summary={"background": 4},
        headline_role="background",
        headline_share=100.0,
    )
    items = [
        page_item(changed_page),
        quarantine_item(f"{BASE}/citations/{HUB_A}?page=2", HUB_A),
        page_item(
            hub_page(
                HUB_A,
                citing_count=4,
                explorer=[entry("Attention Is Everywhere", 0, arxiv="2406.01234")],
                filters={"role": "method"},
            )
        ),
    ]
    second, result, checks = run_pipeline(engine, tmp_path, items)

    assert rows(
        engine, hub, "hub_uuid", "tier", "label", "citing_count", "classified_count", "run_id", "last_seen_run"
    ) == [
        (HUB_A, "hub", "Mixed citations", 3, 3, first, second),
        (HUB_B, "super_hub", None, 1, 0, first, first),
    ]
    # Existing citations keep their last good role; the new one is inserted.
    assert rows(engine, citation, "paper_key", "role", "run_id", "last_seen_run")[:3] == [
        ("arxiv:2406.01234", "background", first, second),
        ("arxiv:2411.00001", None, second, second),
        ("pith:ab12cd34", "method", first, first),
    ]
    assert vars(result.tables["citation"]) == {"inserted": 1, "updated": 0, "unchanged": 1}
    assert [
        r
        for r in rows(
            engine, hub_version, "valid_from_run", "hub_uuid", "tier", "citing_count", "parsed_count", "complete"
        )
        if r[0] == second
    ] == [(second, HUB_A, "super_hub", 4, 2, False)]
    assert rows(engine, hub_summary, "hub_uuid", "tier", "citing_count", "citation_rows")[0] == (HUB_A, "hub", 3, 4)
    assert result.run_rows["quarantine"] == 1
    assert [c.name for c in checks if not c.passed] == []


def test_malformed_line_names_file_and_line_and_keeps_earlier_staging(engine, tmp_path):
    run_id = start_run(engine, "backfill", {})
    good = write_items(tmp_path / "good.jsonl", two_hub_items())
    assert stage_items(engine, run_id, good) == 7
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + '{"kind": "hub_page", "url": \n', encoding="utf-8")
    with pytest.raises(StageError, match=re.escape(f"{bad}:8: malformed JSON")):
        stage_items(engine, run_id, bad)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stg_item)).scalar_one() == 7
    assert bad.exists()


def test_run_ids_and_statuses(engine):
    run_id = start_run(engine, "reparse", {"parser_version": "1"})
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)
    assert get_run(engine, run_id)["status"] == "running"
    assert completed_runs(engine) == []
    with pytest.raises(ValueError):  # noqa: PT011
        start_run(engine, "hourly", {})
    with pytest.raises(ValueError):  # noqa: PT011
        finish_run(engine, run_id, "running", {})
    finish_run(engine, run_id, "failed", {"error": "crawl died"})
    assert get_run(engine, run_id)["summary"] == {"error": "crawl died"}
    assert completed_runs(engine) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"kind": "fetch", "url": "u", "fetched_at": "t", "outcome": "lost"}', "bad fetch item: outcome: Input"),
        ('{"kind": "fetch", "url": "u", "fetched_at": "t", "outcome": "parsed", "bytes": -1}', "bytes: Input"),
        ('{"kind": "quarantine", "url": "u", "fetched_at": "t"}', "bad quarantine item: reason: Field"),
        (
            '{"kind": "hub_page", "url": "u", "hub_uuid": "h", "fetched_at": "t", "page": {}}',
            "bad hub_page item: page.",
        ),
        (
            '{"kind": "hub_json", "url": "u", "hub_uuid": "h", "fetched_at": "t", "json": []}',
            "bad hub_json item: json: Input",
        ),
        ('{"kind": "hub_twin", "url": "u", "fetched_at": "t"}', "bad hub_twin item: item: Input tag 'hub_twin'"),
    ],
)
def test_item_that_its_kind_does_not_allow_is_refused_naming_the_line(engine, tmp_path, line, problem):
    """Typed at the boundary (spiders/parse/items.py): staging refuses the whole file, naming line and field."""
    run_id = start_run(engine, "backfill", {})
    good = write_items(tmp_path / "good.jsonl", two_hub_items())
    bad = tmp_path / "bad.jsonl"
    bad.write_text(good.read_text() + line + "\n", encoding="utf-8")
    with pytest.raises(StageError, match=re.escape(f"{bad}:8: ") + ".*" + re.escape(problem)):
        stage_items(engine, run_id, bad)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stg_item)).scalar_one() == 0


def test_every_item_a_crawl_writes_validates_as_its_kind():
    """The fixtures' items (built like the spider's) are typed records of their kind, field for field."""
    from spiders.parse.items import FetchItem, PageItem, QuarantineItem, TwinItem, validate_item

    items = [*two_hub_items(), quarantine_item(f"{BASE}/citations/{HUB_A}", HUB_A)]
    typed = [validate_item(json.loads(json.dumps(item))) for item in items]  # as staging decodes a line
    kinds = {FetchItem: "fetch", QuarantineItem: "quarantine", PageItem: "hub_page", TwinItem: "hub_json"}
    assert [kinds[type(t)] for t in typed] == [item["kind"] for item in items]
    pages = [t for t in typed if isinstance(t, PageItem)]
    assert [p.page.to_dict() for p in pages] == [i["page"] for i in items if i["kind"] == "hub_page"]
