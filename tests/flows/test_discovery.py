"""Discovery (issue 16, first slice): a nightly records the hub links of the pages it fetches (co-cited works,
any other hub link) in the frontier, and the next nightly fetches the frontier's never-fetched hubs. From 5%
of a growing sample site as seeds, nightlies reach exactly the hubs linked from hub pages, one hop a night,
and nothing else; refused links are recorded, never crawled."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from samplesite.generator import build_site
from samplesite.growth import GrowthModel
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine

pytestmark = pytest.mark.slow
HUBS, SEED, DAY = 60, 7, 20


def _co_cited_closure(day_truth: dict, seeds: list[str]) -> list[set[str]]:
    """Hubs known after each hop of following co-cited links from `seeds` (hub pages only: paper pages are
    not fetched yet)."""
    co_cited = {h["uuid"]: set(h.get("co_cited", ())) for h in day_truth["hubs"]}
    known = set(seeds)
    hops = [set(known)]
    while True:
        grown = known | {u for h in known for u in co_cited.get(h, ())}
        if grown == known:
            return hops
        known = grown
        hops.append(set(known))


def test_nightlies_discover_the_hubs_linked_from_hub_pages(tmp_path, prefect_server):
    from flows.nightly import nightly_refresh
    from samplesite.growth import site_seeds

    site = build_site(hubs=HUBS, seed=SEED, day=DAY, growth=GrowthModel())
    day_truth = truth(site)
    seeds = site_seeds(site, 0.05)
    hops = _co_cited_closure(day_truth, seeds)
    assert len(hops) >= 3 and len(hops[-1]) > 2 * len(seeds)  # the test site has something to discover
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    with serving(site) as base_url:
        for night, expected in enumerate(hops):
            nightly_refresh(
                base_url=base_url,
                hubs=seeds if night == 0 else None,
                database_url=url,
                data_dir=str(tmp_path / "data"),
                include_known=night > 0,
            )
            with engine.connect() as conn:
                fetched = set(conn.execute(select(t.hub.c.hub_uuid)).scalars())
            assert fetched == expected, f"night {night}"
        with engine.connect() as conn:
            in_frontier = set(conn.execute(select(t.frontier.c.hub_uuid)).scalars())
    co_cited = {h["uuid"]: set(h.get("co_cited", ())) for h in day_truth["hubs"]}
    assert in_frontier == {u for h in hops[-1] for u in co_cited[h]}  # every hub linked, and no other

    from typer.testing import CliRunner

    from flows.cli import app

    shown = CliRunner().invoke(app, ["status", "--database-url", url, "--data-dir", str(tmp_path / "data")])
    assert shown.exit_code == 0, shown.output
    assert f"frontier: {len(in_frontier)} hubs linked from fetched pages, 0 never fetched" in shown.output
