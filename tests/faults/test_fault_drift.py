"""Layout drift between templates: a current hub's page served in the legacy template (fault mode
`drift-legacy`) would read as "no role, no polarity" for every citation it lists. The hub is quarantined
as `layout_drift` and keeps its last good data, whether the drift shows against the hub's other pages of
the same run or against the template of its last complete load."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from samplesite.faults import Faults
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from tests.faults.conftest import crawl
from tests.flows.test_end_to_end import content
from warehouse.clean import clean

SEED = 7


@pytest.fixture(scope="module")
def site():
    return build_site(hubs=10, seed=SEED, day=1)


def _current(site, many: bool) -> str:
    """A current-template hub with more than one explorer page (many) or exactly one."""
    return next(
        h.uuid for h in site.hubs[1:] if h.template == "current" and (len(h.citations) > 20) == many and h.citations
    )


def test_legacy_first_page_among_current_pages_quarantines_the_hub(site, tmp_path):
    """Real crawl, no warehouse: page 1 legacy, pages 2.. current -> the hub is drift, nothing of it loads."""
    uuid = _current(site, many=True)
    faults = Faults().force(f"/citations/{uuid}", "drift-legacy")
    result = crawl(site, tmp_path, faults=faults, hubs=[uuid])
    templates = {p["url"][len(result.base_url) :]: p["page"]["template"] for p in result.pages.values()}
    assert templates[f"/citations/{uuid}"] == "legacy"
    assert set(templates.values()) == {"legacy", "current"}  # page 2.. came current
    batch = clean(result.items)
    assert batch.complete == {uuid: False}
    assert [(q["url"][len(result.base_url) :], q["reason"]) for q in batch.quarantines] == [
        (f"/citations/{uuid}", "layout_drift")
    ]
    assert batch.citations == [] and batch.papers == [] and batch.snapshots == []
    fetch = {f["url"][len(result.base_url) :]: (f["outcome"], f["error"]) for f in batch.fetches}
    assert fetch[f"/citations/{uuid}"] == ("quarantined", "layout_drift")
    # the same items from a run where every page came current load the hub whole
    clean_run = crawl(site, tmp_path / "clean", hubs=[uuid])
    assert clean(clean_run.items).complete == {uuid: True}


@pytest.mark.slow
def test_drifted_hubs_keep_their_data_through_the_nightly(site, tmp_path, prefect_server, monkeypatch):
    from flows.nightly import nightly_refresh

    monkeypatch.setenv("CITEHUB_ALLOWED_HOSTS", "[]")
    many, single = _current(site, many=True), _current(site, many=False)
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    # unconditional: the site did not change, and a 304 would skip the pages the drift is served on
    kw = {
        "database_url": url,
        "data_dir": str(tmp_path / "data"),
        "include_known": False,
        "hubs": [h.uuid for h in site.hubs],
        "conditional": False,
    }
    with serving(site) as base_url:
        first = nightly_refresh(base_url=base_url, **kw)
    good = content(make_engine(url))
    with make_engine(url).connect() as conn:
        roles = dict(
            conn.execute(select(t.citation.c.paper_key, t.citation.c.role).where(t.citation.c.hub_uuid == single)).all()
        )
    assert any(roles.values())  # the single-page hub has classified citations a legacy read would erase

    faults = (
        Faults()
        .force(f"/citations/{many}", "drift-legacy")  # page 1 legacy, its other pages current
        .force(f"/citations/{single}", "drift-legacy")
    )  # its only page legacy; the warehouse says current
    with serving(site, faults=faults) as base_url:
        second = nightly_refresh(base_url=base_url, **kw)

    assert first["checks_failed"] == [] and second["checks_failed"] == []
    assert faults.served()["drift-legacy"] == 2
    assert content(make_engine(url)) == good  # nothing of either hub moved
    assert second["quarantine_reasons"] == {"layout_drift": 2}
    assert sorted(second["incomplete_hubs"]) == sorted([many, single])
    with make_engine(url).connect() as conn:
        rows = conn.execute(
            select(t.quarantine.c.url, t.quarantine.c.reason, t.quarantine.c.detail).where(
                t.quarantine.c.run_id == second["run_id"]
            )
        ).all()
        fetched = dict(
            conn.execute(select(t.fetch.c.url, t.fetch.c.outcome).where(t.fetch.c.run_id == second["run_id"])).all()
        )
    by_url = {r.url[len(base_url) :]: r for r in rows}
    assert set(by_url) == {f"/citations/{many}", f"/citations/{single}"}
    assert "same run" in by_url[f"/citations/{many}"].detail
    assert "last loaded current" in by_url[f"/citations/{single}"].detail
    assert {u[len(base_url) :] for u, o in fetched.items() if o != "parsed"} == set(by_url)
    assert {fetched[base_url + u] for u in by_url} == {"quarantined"}
