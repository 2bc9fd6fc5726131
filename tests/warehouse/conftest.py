"""Fixtures of the warehouse tests: databases (SQLite file, PostgreSQL database per test) and item builders."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.parse.records import PARSER_VERSION, CitingEntry, HubJson, HubPage

BASE = "http://127.0.0.1:8000"
FETCHED_AT = "2026-11-24T03:00:00+00:00"
HUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
HUB_B = "bbbbbbbb-0000-4000-8000-000000000002"


# --- databases ------------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'wh' / 'citehub.sqlite'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    """A migrated warehouse on each backend."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    eng = make_engine(url)
    upgrade(eng)
    yield eng
    eng.dispose()


# --- items ----------------------------------------------------------------------------------------------


def entry(
    title_raw: str,
    position: int = 0,
    *,
    arxiv: str | None = None,
    version: int | None = None,
    pith: str | None = None,
    date: str | None = "2026-06-17",
    category: str | None = "cs.LG",
    verdict: str | None = "unverdicted",
    novelty: float | None = 7.0,
    refs: int | None = 1,
    summary_raw: str | None = "A summary.",
) -> CitingEntry:
    if arxiv:
        href = f"{BASE}/paper/{arxiv}" + (f"v{version}" if version else "")
    elif pith:
        href = f"{BASE}/paper/{pith}"
    else:
        href = None
    return CitingEntry(
        title_raw=title_raw,
        href=href,
        arxiv_id=arxiv,
        arxiv_version=version,
        pith_id=pith,
        category=category,
        date=date,
        verdict=verdict,
        novelty=novelty,
        refs=refs,
        summary_raw=summary_raw,
        position=position,
    )


def hub_page(
    uuid: str,
    *,
    citing_count: int,
    explorer=(),
    representative=(),
    page: int = 1,
    filters: dict | None = None,
    template: str = "current",
    tier: str | None = "hub",
    label: str | None = "Mixed citations",
    title_raw: str | None = "A Cited Work",
    role_summary: dict | None = None,
    polarity_summary: dict | None = None,
    facets: dict | None = None,
    headline_role: str | None = None,
    headline_share: float | None = None,
    abstract_raw: str | None = None,
) -> HubPage:
    return HubPage(
        hub_uuid=uuid,
        template=template,
        tier=tier,
        label=label,
        title_raw=title_raw,
        headline=f"Mixed citation behavior. Most common role is {headline_role} ({headline_share:.0f}%)."
        if headline_role
        else None,
        headline_role=headline_role,
        headline_share=headline_share,
        citing_count=citing_count,
        abstract_raw=abstract_raw,
        role_summary=dict(role_summary or {}),
        polarity_summary=dict(polarity_summary or {}),
        facets=dict(facets or {}),
        representative=list(representative),
        explorer=list(explorer),
        page=page,
        filters=dict(filters or {}),
    )


def page_url(page: HubPage) -> str:
    query = dict(page.filters)
    if page.page != 1:
        query["page"] = str(page.page)
    return f"{BASE}/citations/{page.hub_uuid}" + (f"?{urlencode(query)}" if query else "")


def page_item(page: HubPage) -> dict:
    return {
        "kind": "hub_page",
        "run_id": "crawl",
        "url": page_url(page),
        "hub_uuid": page.hub_uuid,
        "status": 200,
        "fetched_at": FETCHED_AT,
        "parser_version": PARSER_VERSION,
        "page": page.to_dict(),
    }


def json_item(
    uuid: str,
    *,
    tier: str | None = "hub",
    year: int | None = 2019,
    arxiv_id: str | None = None,
    doi: str | None = None,
    external: int | None = 1500,
) -> dict:
    twin = HubJson(
        hub_uuid=uuid,
        title="A Cited Work",
        arxiv_id=arxiv_id,
        doi=doi,
        year=year,
        venue=None,
        external_cited_by_count=external,
        tier=tier,
        tier_reason=None,
        pith_inbound_count=None,
        distinct_field_count=None,
        first_pith_cited_at=None,
        last_pith_cited_at=None,
        updated_at=None,
    )
    return {
        "kind": "hub_json",
        "run_id": "crawl",
        "url": f"{BASE}/citations/{uuid}.json",
        "hub_uuid": uuid,
        "status": 200,
        "fetched_at": FETCHED_AT,
        "parser_version": PARSER_VERSION,
        "json": twin.to_dict(),
    }


def fetch_item(url: str, uuid: str, outcome: str = "parsed", status: int | None = 200) -> dict:
    return {
        "kind": "fetch",
        "run_id": "crawl",
        "url": url,
        "hub_uuid": uuid,
        "status": status,
        "fetched_at": FETCHED_AT,
        "sha256": "ab" * 32 if status == 200 else None,
        "bytes": 1234,
        "warc_file": "run.warc.gz",
        "warc_offset": 0,
        "outcome": outcome,
        "error": "HTTP 503" if outcome == "failed" else None,
    }


def quarantine_item(url: str, uuid: str, reason: str = "layout_drift") -> dict:
    return {
        "kind": "quarantine",
        "run_id": "crawl",
        "url": url,
        "hub_uuid": uuid,
        "status": 200,
        "fetched_at": FETCHED_AT,
        "parser_version": PARSER_VERSION,
        "reason": reason,
        "detail": "no citing papers explorer heading",
    }


def write_items(path: Path, items) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(json.dumps(item) + "\n")
    return path


def two_hub_items() -> list[dict]:
    """Hub A (current template, 3 citing papers over two explorer pages, role and polarity filters) and
    hub B (legacy stub) sharing one paper under two arXiv versions."""
    p1a = entry("Attention Is  Everywhere", 0, arxiv="2406.01234", version=2, summary_raw="We look\u00a0closely.")
    p2 = entry("Pith Paper Two", 1, pith="ab12cd34", verdict="accept", novelty=5.5, refs=2)
    p3 = entry("Title Only Paper", 0, summary_raw=None, novelty=None, refs=None)
    p1b = entry("Attention Is Everywhere", 0, arxiv="2406.01234", version=1)  # other version, other hub
    return [
        page_item(
            hub_page(
                HUB_A,
                citing_count=3,
                explorer=[p1a, p2],
                representative=[p1a],
                role_summary={"background": 2, "method": 1},
                polarity_summary={"support": 1},
                facets={"fields": {"cs.LG": 3}},
                headline_role="background",
                headline_share=66.7,
            )
        ),
        page_item(hub_page(HUB_A, citing_count=3, explorer=[p3], page=2)),
        page_item(
            hub_page(HUB_A, citing_count=3, explorer=[p1a, p3], representative=[p1a], filters={"role": "background"})
        ),
        page_item(hub_page(HUB_A, citing_count=3, explorer=[p2], filters={"role": "method"})),
        page_item(hub_page(HUB_A, citing_count=3, explorer=[p1a], filters={"polarity": "support"})),
        page_item(
            hub_page(
                HUB_B,
                citing_count=1,
                explorer=[p1b],
                template="legacy",
                tier="super_hub",
                label=None,
                title_raw="Title resolution pending",
            )
        ),
        json_item(HUB_A, year=2019, arxiv_id="1902.10186", doi="10.1/x"),
    ]
