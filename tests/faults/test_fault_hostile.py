"""Hostile text stays text: a sample site serving SQL fragments, quotes, backslashes, placeholders, braces,
markup-looking text, bidi and zero-width characters, C0 controls, NUL bytes and 1 MB values in titles and
summaries goes through the real nightly flow (HTTP, scrapy, parse, clean, load) into SQLite and PostgreSQL
and comes back from SELECT exactly as the ground truth says (NUL reads as U+FFFD: samplesite/PAGES.md)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from samplesite.generator import build_site
from samplesite.hostile import CLEAN, HOSTILE, LONG_SUMMARY, LONG_TITLE, NUL_DOI, ONE_MB, hostile_papers
from samplesite.render import render_hub_html
from samplesite.server import serving
from samplesite.truth import truth, visible
from schema import tables as t
from schema.engine import make_engine
from spiders.parse.hub_html import parse_hub_page
from tests.flows.test_end_to_end import content

HUBS, SEED = 8, 7
PAPER_FIELDS = ("arxiv_id", "pith_id", "title_raw", "title", "category", "date", "summary_raw", "summary")
HUB_FIELDS = ("template", "tier", "label", "title_raw", "title", "citing_count", "classified_count")


@pytest.fixture(scope="module")
def site():
    return build_site(hubs=HUBS, seed=SEED, day=1, hostile=True)


def test_hostile_site_serves_every_kind_and_truth_names_what_a_reader_gets(site):
    papers = {p["paper_key"]: p for p in truth(site)["papers"]}
    keys = hostile_papers(site)
    served = {papers[k]["title_raw"] for k in keys} | {papers[k]["summary_raw"] for k in keys}
    assert {visible(text) for text in HOSTILE.values()} | {LONG_TITLE, LONG_SUMMARY} <= served
    assert len(LONG_TITLE) == len(LONG_SUMMARY) == ONE_MB
    # the NUL is served (the page bytes hold it) and the truth names U+FFFD in its place
    nul_key = keys[list(HOSTILE).index("nul")]
    assert "\x00" in site.paper(nul_key).title_raw
    assert papers[nul_key]["title_raw"] == "nul\ufffdbyte in\ufffd the middle"
    assert CLEAN["emoji"] != HOSTILE["emoji"]  # NFKC composes e + U+0301: raw and clean differ


@pytest.mark.parametrize("markup", ["a", "b"])
def test_parser_reads_hostile_entries_exactly(site, markup):
    """Both markups, page bytes as served: every hostile title and summary reads back as the truth says."""
    papers = {p["paper_key"]: p for p in truth(site)["papers"]}
    hub = site.hubs[0]  # the seed hub lists the hostile papers
    base = "http://127.0.0.1:1"
    seen: dict[str, tuple] = {}
    for number in range(1, 4):
        body = render_hub_html(site, hub.uuid, {}, number, markup, base).encode("utf-8")
        page = parse_hub_page(body, f"{base}/citations/{hub.uuid}?page={number}", encoding="utf-8")
        for entry in page.explorer + page.representative:
            seen[f"arxiv:{entry.arxiv_id}"] = (entry.title_raw, entry.summary_raw)
    for key in hostile_papers(site):
        assert seen[key] == (papers[key]["title_raw"], papers[key]["summary_raw"]), key


def _nightly(site, database_url, tmp_path):
    from flows.nightly import nightly_refresh

    kw = {
        "database_url": database_url,
        "data_dir": str(tmp_path / "data"),
        "include_known": False,
        "hubs": [h.uuid for h in site.hubs],
    }
    with serving(site) as base_url:
        first = nightly_refresh(base_url=base_url, **kw)
        after_first = content(make_engine(database_url))
        second = nightly_refresh(base_url=base_url, conditional=False, **kw)
    return first, second, after_first


def _assert_round_trip(site, database_url, first, second, after_first):
    expected = truth(site)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        papers = {r.paper_key: r._mapping for r in conn.execute(select(t.paper))}
        hubs = {r.hub_uuid: r._mapping for r in conn.execute(select(t.hub))}
        # the database itself measures the long values: no client-side truncation or re-encoding
        long_key = hostile_papers(site)[-1]
        lengths = conn.execute(
            select(func.length(t.paper.c.title_raw), func.length(t.paper.c.summary_raw)).where(
                t.paper.c.paper_key == long_key
            )
        ).one()
        # a bound parameter equal to the hostile text finds its row (the text is data, never SQL)
        sql_key = hostile_papers(site)[0]
        found = conn.execute(select(t.paper.c.paper_key).where(t.paper.c.title_raw == HOSTILE["sql"])).scalars().all()
    assert first["checks_failed"] == [] and second["checks_failed"] == []
    assert first["quarantined"] == 0 and first["failed_fetches"] == 0
    assert {k: {f: papers[k][f] for f in PAPER_FIELDS} for k in papers} == {
        p["paper_key"]: {f: p[f] for f in PAPER_FIELDS} for p in expected["papers"]
    }
    assert {u: {f: hubs[u][f] for f in HUB_FIELDS} for u in hubs} == {
        h["uuid"]: {f: h[f] for f in HUB_FIELDS} for h in expected["hubs"]
    }
    assert tuple(lengths) == (len(LONG_TITLE), len(LONG_SUMMARY))
    # the JSON twin carried a NUL (as \u0000) in the doi: it reads as U+FFFD too
    assert [h["doi"] for h in hubs.values() if h["doi"] and "nul" in h["doi"]] == [visible(NUL_DOI)]
    assert found == [sql_key]
    # every table is still there and the second (unconditional) run changed nothing
    for table in ("hub", "paper", "citation"):
        assert second["loaded"]["tables"][table]["inserted"] == 0, table
        assert second["loaded"]["tables"][table]["updated"] == 0, table
    assert content(engine) == after_first


@pytest.mark.slow
def test_hostile_text_round_trips_through_the_nightly_on_sqlite(site, tmp_path, prefect_server):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    _assert_round_trip(site, url, *_nightly(site, url, tmp_path))


@pytest.mark.slow
def test_hostile_text_round_trips_through_the_nightly_on_postgresql(site, tmp_path, prefect_server, pg_url):
    _assert_round_trip(site, pg_url, *_nightly(site, pg_url, tmp_path))
