"""Through the real nightly flow (Prefect, scrapy, SQLite): a run hit by faults completes, accounts for
every URL in the fetch table and the run summary, and leaves the hubs it could not read fully exactly as
the last good run left them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from samplesite.faults import Faults
from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from tests.flows.test_end_to_end import content

pytestmark = pytest.mark.slow


def test_faulted_nightly_keeps_last_good_data_and_accounts_for_every_url(tmp_path, prefect_server, monkeypatch):
    from flows.nightly import nightly_refresh

    monkeypatch.setenv("CITEHUB_ALLOWED_HOSTS", "[]")  # only the sample site itself
    site = build_site(hubs=10, seed=7, day=1)
    uuids = [h.uuid for h in site.hubs]
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    kw = {"database_url": url, "data_dir": str(tmp_path / "data"), "include_known": False, "hubs": uuids}
    with serving(site) as base_url:
        first = nightly_refresh(base_url=base_url, **kw)
    good = content(make_engine(url))

    drift, failing, redirected, limited = uuids[:4]
    faults = (
        Faults(retry_after=1)
        .force(f"/citations/{drift}", "drift-rename")
        .force(f"/citations/{failing}.json", "5xx", "5xx", "5xx", "5xx")
        .force(f"/citations/{redirected}", "redirect-private")
        .force(f"/citations/{limited}", "429")
    )
    with serving(site, faults=faults) as base_url:
        second = nightly_refresh(base_url=base_url, **kw)

    assert first["checks_failed"] == [] and second["checks_failed"] == []
    # the three hubs read in part kept their data; the 429 recovered; nothing else moved
    assert content(make_engine(url)) == good
    assert second["quarantine_reasons"] == {"missing_explorer": 1}
    outcomes = second["fetch_outcomes"]
    assert (outcomes["quarantined"], outcomes["failed"], outcomes["skipped"]) == (1, 1, 1)
    assert second["retries"] == 3 + 1  # the 5xx twin (RETRY_TIMES 3), the 429 once

    # every URL the site answered in run 2 is in the fetch table (a redirect under the URL asked for)
    with make_engine(url).connect() as conn:
        rows = conn.execute(
            select(t.fetch.c.url, t.fetch.c.outcome, t.fetch.c.error).where(t.fetch.c.run_id == second["run_id"])
        ).all()
    fetched = {r.url[len(base_url) :] for r in rows}
    served = {target for target, _, _, _ in faults.log} - {"/robots.txt"}
    assert served == fetched
    assert sum(outcomes.values()) == len(rows)
    errors = {r.url[len(base_url) :]: (r.outcome, r.error) for r in rows if r.outcome != "parsed"}
    assert errors[f"/citations/{redirected}"][0] == "skipped"
    assert "host_not_allowed" in errors[f"/citations/{redirected}"][1]
    assert errors[f"/citations/{failing}.json"][0] == "failed"
    assert set(errors) == {f"/citations/{drift}", f"/citations/{failing}.json", f"/citations/{redirected}"}
