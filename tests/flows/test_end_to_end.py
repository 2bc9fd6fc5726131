"""End to end: a 200-hub sample site over real HTTP -> `scrapy crawl` -> Prefect flow -> SQLite -> marts.

The warehouse must equal the site's ground truth exactly, and a second nightly over the unchanged
site must change nothing and, thanks to conditional requests, fetch no body but robots.txt.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text
from warcio.archiveiterator import ArchiveIterator

from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine

pytestmark = pytest.mark.slow

HUBS, SEED = 200, 7


@pytest.fixture(scope="module")
def e2e(tmp_path_factory, prefect_server):
    from flows.nightly import nightly_refresh

    root = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    site = build_site(hubs=HUBS, seed=SEED, day=1)
    with serving(site, markup="mixed") as base_url:
        hubs = [h.uuid for h in site.hubs]
        first = nightly_refresh(
            base_url=base_url, hubs=hubs, database_url=url, data_dir=str(root / "data"), include_known=False
        )
        snapshot_after_first = content(make_engine(url))
        # The second nightly plans from the warehouse alone: every known hub, no seeds.
        second = nightly_refresh(base_url=base_url, database_url=url, data_dir=str(root / "data"))
    return {
        "url": url,
        "truth": truth(site),
        "first": first,
        "second": second,
        "after_first": snapshot_after_first,
        "root": root,
    }


# Bookkeeping columns name the run; everything else is content and must not move on a no-change run.
_BOOKKEEPING = {"run_id", "first_seen_run", "last_seen_run", "last_complete_run"}


def content(engine) -> dict[str, list[tuple]]:
    out = {}
    with engine.connect() as conn:
        for table in (t.hub, t.paper, t.citation, t.hub_summary, t.hub_role_mix, t.hub_polarity_mix):
            cols = [c for c in table.c if c.name not in _BOOKKEEPING]
            rows = conn.execute(select(*cols).order_by(*table.primary_key.columns or cols)).all()
            out[table.name] = sorted(tuple(r) for r in rows)
    return out


def rows(url, table, *where):
    with make_engine(url).connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(*where)).mappings()]


def test_hubs_equal_ground_truth(e2e):
    expected = {
        h["uuid"]: {
            k: h[k]
            for k in (
                "template",
                "tier",
                "label",
                "title_raw",
                "title",
                "citing_count",
                "classified_count",
                "headline_role",
                "headline_share",
                "external_cited_by_count",
                "year",
            )
        }
        for h in e2e["truth"]["hubs"]
    }
    actual = {r["hub_uuid"]: {k: r[k] for k in expected[next(iter(expected))]} for r in rows(e2e["url"], t.hub)}
    assert len(actual) == HUBS
    assert actual == expected


def test_facets_and_summaries_equal_ground_truth(e2e):
    run_id = e2e["first"]["run_id"]
    expected = set()
    for h in e2e["truth"]["hubs"]:
        for facet, values in h["facets"].items():
            expected |= {(h["uuid"], facet, v, n) for v, n in values.items()}
        expected |= {(h["uuid"], "role_summary", v, n) for v, n in h["role_summary"].items()}
        expected |= {(h["uuid"], "polarity_summary", v, n) for v, n in h["polarity_summary"].items()}
    actual = {
        (r["hub_uuid"], r["facet"], r["value"], r["count"])
        for r in rows(e2e["url"], t.hub_facet_version, t.hub_facet_version.c.valid_from_run == run_id)
    }
    assert actual == expected


def test_papers_equal_ground_truth(e2e):
    keys = ("arxiv_id", "pith_id", "title_raw", "title", "category", "date", "summary_raw", "summary")
    expected = {p["paper_key"]: {k: p[k] for k in keys} for p in e2e["truth"]["papers"]}
    actual = {r["paper_key"]: {k: r[k] for k in keys} for r in rows(e2e["url"], t.paper)}
    assert len(actual) == len(expected)  # no duplicate citing paper, no missing one
    assert actual == expected


def test_citations_equal_ground_truth(e2e):
    papers = {p["paper_key"]: p for p in e2e["truth"]["papers"]}
    expected = {
        (c["hub_uuid"], c["paper_key"]): (
            c["role"],
            c["polarity"],
            c["representative"],
            papers[c["paper_key"]]["verdict"],
            papers[c["paper_key"]]["novelty"],
            papers[c["paper_key"]]["refs"],
        )
        for c in e2e["truth"]["citations"]
    }
    actual = {
        (r["hub_uuid"], r["paper_key"]): (
            r["role"],
            r["polarity"],
            r["representative"],
            r["verdict"],
            r["novelty"],
            r["refs"],
        )
        for r in rows(e2e["url"], t.citation, t.citation.c.valid_to_run.is_(None))
    }
    assert len(rows(e2e["url"], t.citation, t.citation.c.valid_to_run.is_not(None))) == 0  # nothing retired
    assert len(actual) == len(expected)
    assert actual == expected


def test_marts_match_ground_truth(e2e):
    truth_hubs = {h["uuid"]: h for h in e2e["truth"]["hubs"]}
    summary = {r["hub_uuid"]: r for r in rows(e2e["url"], t.hub_summary)}
    assert set(summary) == set(truth_hubs)
    for uuid, h in truth_hubs.items():
        assert (
            summary[uuid]["tier"],
            summary[uuid]["label"],
            summary[uuid]["citing_count"],
            summary[uuid]["citation_rows"],
        ) == (h["tier"], h["label"], h["citing_count"], h["citing_count"])
    mix = {(r["hub_uuid"], r["role"]): r["count"] for r in rows(e2e["url"], t.hub_role_mix)}
    expected = {}
    for c in e2e["truth"]["citations"]:
        if c["role"]:
            expected[(c["hub_uuid"], c["role"])] = expected.get((c["hub_uuid"], c["role"]), 0) + 1
    assert mix == expected


def test_category_flow_and_citation_current_match_ground_truth(e2e):
    papers = {p["paper_key"]: p for p in e2e["truth"]["papers"]}
    per_hub: dict[str, int] = {}
    groups: dict[tuple[str, str], list[str | None]] = {}
    for c in e2e["truth"]["citations"]:
        paper = papers[c["paper_key"]]
        per_hub[c["hub_uuid"]] = per_hub.get(c["hub_uuid"], 0) + 1
        groups.setdefault((paper["category"] or "(none)", c["hub_uuid"]), []).append(paper["date"])
    expected = {}
    for (category, hub), dates in groups.items():
        known = [d for d in dates if d]
        expected[(category, hub)] = (
            len(dates),
            100 * len(dates) / per_hub[hub],
            min(known) if known else None,
            max(known) if known else None,
        )
    actual = {
        (r["category"], r["hub_uuid"]): (r["citations"], r["share"], r["first_cited_date"], r["last_cited_date"])
        for r in rows(e2e["url"], t.category_flow)
    }
    assert actual.keys() == expected.keys()
    for key, (n, share, first, last) in expected.items():
        assert actual[key][0] == n and actual[key][2:] == (first, last), key
        assert actual[key][1] == pytest.approx(share, rel=1e-12), key
    current = {(r["hub_uuid"], r["paper_key"]) for r in rows(e2e["url"], t.citation_current)}
    assert current == {(c["hub_uuid"], c["paper_key"]) for c in e2e["truth"]["citations"]}


def test_every_check_passed_and_every_fetch_accounted(e2e):
    first = e2e["first"]
    assert first["checks_failed"] == []
    assert first["checks_passed"] >= 10
    run_id = first["run_id"]
    fetches = rows(e2e["url"], t.fetch, t.fetch.c.run_id == run_id)
    assert {f["outcome"] for f in fetches} == {"parsed"}
    # one JSON twin and at least one page per hub, and nothing fetched that the run does not account for
    assert sum(f["url"].endswith(".json") for f in fetches) == HUBS
    assert first["quarantined"] == 0 and first["failed_fetches"] == 0
    assert len(rows(e2e["url"], t.quarantine, t.quarantine.c.run_id == run_id)) == 0
    runs = {r["run_id"]: r["status"] for r in rows(e2e["url"], t.run)}
    assert runs == {first["run_id"]: "completed", e2e["second"]["run_id"]: "completed"}


def test_warc_archive_holds_every_fetched_body(e2e):
    run_id = e2e["first"]["run_id"]
    fetches = rows(e2e["url"], t.fetch, t.fetch.c.run_id == run_id)
    warc_dir = e2e["root"] / "data" / "runs" / run_id / "warc"
    # Read each record back at its recorded offset: the archive alone can replay the run.
    for f in fetches[:: max(1, len(fetches) // 50)]:
        with open(warc_dir / f["warc_file"], "rb") as fh:
            fh.seek(f["warc_offset"])
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_headers.get_header("WARC-Target-URI") == f["url"]
            body = record.content_stream().read()
            assert hashlib.sha256(body).hexdigest() == f["sha256"]
    total = 0
    for path in sorted(Path(warc_dir).glob("*.warc.gz")):
        with gzip.open(path, "rb") as raw:
            total += sum(1 for r in ArchiveIterator(raw) if r.rec_type == "response")
    # every fetched URL plus robots.txt
    assert total == len(fetches) + 1


def test_second_nightly_changes_nothing(e2e):
    second = e2e["second"]
    assert second["hubs"] == HUBS
    loaded = second["loaded"]
    for table in ("hub", "paper", "citation"):
        assert loaded["tables"][table]["inserted"] == 0, table
        assert loaded["tables"][table]["updated"] == 0, table
    assert content(make_engine(e2e["url"])) == e2e["after_first"]
    # history: nothing new, retired or relabelled, no figure spell opened; nothing of the edges is written
    assert loaded["history"] == {"new": 0, "reopened": 0, "relabelled": 0, "retired": 0, "hub_spells": 0}
    assert loaded["run_rows"]["hub_version"] == 0 and loaded["run_rows"]["hub_facet_version"] == 0
    assert second["changes"] == {} and second["incomplete_hubs"] == []
    first_run = e2e["first"]["run_id"]
    edges = rows(e2e["url"], t.citation)
    assert {(r["last_seen_run"], r["valid_from_run"], r["valid_to_run"]) for r in edges} == {
        (first_run, first_run, None)
    }
    spells = rows(e2e["url"], t.hub_version) + rows(e2e["url"], t.hub_facet_version)
    assert {(r["valid_from_run"], r["valid_to_run"]) for r in spells} == {(first_run, None)}
    versions = rows(e2e["url"], t.citation_version)
    assert len(versions) == len(edges) and {v["valid_to_run"] for v in versions} == {None}


AS_OF = "SELECT hub_uuid, snapshot_run, citing_count, tier, label, complete FROM hub_as_of WHERE as_of_run = :r"


def test_no_change_nightly_fetches_zero_bodies(e2e):
    """Conditional requests: every hub's JSON twin answers 304 to the validators of the first run, and no
    page is fetched; the only body of the run is robots.txt."""
    run_id = e2e["second"]["run_id"]
    fetches = rows(e2e["url"], t.fetch, t.fetch.c.run_id == run_id)
    assert len(fetches) == HUBS
    assert {(f["url"].endswith(".json"), f["status"], f["outcome"], f["bytes"]) for f in fetches} == {
        (True, 304, "not_modified", 0)
    }
    stats = json.loads((e2e["root"] / "data" / "runs" / run_id / "stats.json").read_text())
    assert stats["downloader/response_status_count/304"] == HUBS
    assert stats["downloader/response_status_count/200"] == 1  # robots.txt
    assert stats["downloader/response_count"] == HUBS + 1
    # as of the second run every hub has the figures the first run showed (their spells still open)
    with make_engine(e2e["url"]).connect() as conn:
        as_of = {
            r: {tuple(row) for row in conn.execute(text(AS_OF), {"r": r})} for r in (e2e["first"]["run_id"], run_id)
        }
    assert as_of[run_id] == as_of[e2e["first"]["run_id"]] and len(as_of[run_id]) == HUBS
