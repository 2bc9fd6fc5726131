"""Five days of a 60-hub sample site, one nightly flow a day: the warehouse's history equals the site's
ground truth of every day exactly (edges valid on each day, new, retired and relabelled edges, snapshots).

On day 3 one hub's explorer page (its unfiltered first page) answers 503: nothing of that hub is retired
or relabelled, the run reports it as incomplete, and on day 4 it converges to the day-4 truth.
What the warehouse saw on day d is `observed[d]`: the truth of day d, except the failing hub on day 3,
which keeps what day 2 showed.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine

pytestmark = pytest.mark.slow

HUBS, SEED, DAYS, FAIL_DAY = 60, 7, 5, 3


def _edges(day_truth: dict) -> dict[tuple[str, str], tuple]:
    papers = {p["paper_key"]: p for p in day_truth["papers"]}
    return {
        (c["hub_uuid"], c["paper_key"]): (
            c["role"],
            c["polarity"],
            c["representative"],
            papers[c["paper_key"]]["verdict"],
            papers[c["paper_key"]]["novelty"],
            papers[c["paper_key"]]["refs"],
        )
        for c in day_truth["citations"]
    }


def _failing_hub(truths: dict[int, dict]) -> str:
    """A hub that loses an edge on FAIL_DAY: so 'nothing retired' is a real claim."""
    before, after = _edges(truths[FAIL_DAY - 1]), _edges(truths[FAIL_DAY])
    return sorted({hub for hub, _ in set(before) - set(after)})[0]


@pytest.fixture(scope="module")
def history(tmp_path_factory, prefect_server):
    from flows.nightly import nightly_refresh

    root = tmp_path_factory.mktemp("history")
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    sites = {d: build_site(hubs=HUBS, seed=SEED, day=d) for d in range(1, DAYS + 1)}
    truths = {d: truth(site) for d, site in sites.items()}
    updated_at = {d: {h.uuid: h.updated_at for h in site.hubs} for d, site in sites.items()}
    failing = _failing_hub(truths)
    reports = {}
    with serving(build_site(hubs=HUBS, seed=SEED, day=1)) as base_url:
        for day in range(1, DAYS + 1):
            if day > 1:
                assert post(base_url, "day", {"day": day})["day"] == day
            if day == FAIL_DAY:
                post(base_url, "fail", {"path": f"/citations/{failing}", "status": 503})
            hubs = [h["uuid"] for h in truths[1]["hubs"]] if day == 1 else None
            reports[day] = nightly_refresh(
                base_url=base_url, hubs=hubs, database_url=url, data_dir=str(root / "data"), include_known=day > 1
            )
            if day == FAIL_DAY:
                post(base_url, "clear", {})
    observed = {}
    for day in range(1, DAYS + 1):
        edges = _edges(truths[day])
        hubs = {h["uuid"]: h for h in truths[day]["hubs"]}
        if day == FAIL_DAY:
            edges = {k: v for k, v in edges.items() if k[0] != failing}
            edges |= {k: v for k, v in observed[day - 1]["edges"].items() if k[0] == failing}
            hubs[failing] = observed[day - 1]["hubs"][failing]
        observed[day] = {"edges": edges, "hubs": hubs}
    runs = {day: reports[day]["run_id"] for day in reports}
    return {
        "url": url,
        "engine": make_engine(url),
        "truths": truths,
        "observed": observed,
        "updated_at": updated_at,
        "runs": runs,
        "reports": reports,
        "failing": failing,
    }


def _query(state, sql: str, **params) -> list[tuple]:
    with state["engine"].connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_edges_as_of_every_run_equal_that_days_truth(history):
    for day, run_id in history["runs"].items():
        rows = _query(
            history,
            "SELECT hub_uuid, paper_key, role, polarity, representative, verdict, novelty, refs "
            "FROM citation_as_of WHERE as_of_run = :run",
            run=run_id,
        )
        actual = {(r[0], r[1]): (r[2], r[3], bool(r[4]), r[5], r[6], r[7]) for r in rows}
        assert len(actual) == len(rows), f"day {day}: an edge twice in one as-of state"
        assert actual == history["observed"][day]["edges"], f"day {day}"


def test_current_edges_equal_last_day(history):
    with history["engine"].connect() as conn:
        rows = conn.execute(select(t.citation).where(t.citation.c.valid_to_run.is_(None))).mappings().all()
    actual = {
        (r["hub_uuid"], r["paper_key"]): (
            r["role"],
            r["polarity"],
            r["representative"],
            r["verdict"],
            r["novelty"],
            r["refs"],
        )
        for r in rows
    }
    assert actual == history["observed"][DAYS]["edges"]


def _diff(history, day: int) -> dict[str, set]:
    before, after = history["observed"][day - 1]["edges"], history["observed"][day]["edges"]
    relabelled = set()
    for key in set(before) & set(after):
        for name, old, new in zip(("role", "polarity", "representative"), before[key], after[key], strict=False):
            if old != new:
                relabelled.add((key[0], key[1], name))
    hubs_before, hubs_after = history["observed"][day - 1]["hubs"], history["observed"][day]["hubs"]
    return {
        "new": {(h, p, "edge") for h, p in set(after) - set(before)},
        "retired": {(h, p, "edge") for h, p in set(before) - set(after)},
        "relabelled": relabelled,
        "tier": {(u, u, "tier") for u in hubs_after if hubs_before[u]["tier"] != hubs_after[u]["tier"]},
        "label": {(u, u, "label") for u in hubs_after if hubs_before[u]["label"] != hubs_after[u]["label"]},
    }


def test_change_report_of_every_run_equals_truth_diff(history):
    for day in range(2, DAYS + 1):
        run_id = history["runs"][day]
        expected = _diff(history, day)
        expected["incomplete"] = {(history["failing"],) * 2 + ("fetch",)} if day == FAIL_DAY else set()
        rows = _query(
            history, "SELECT change, hub_uuid, subject, field FROM change_report WHERE run_id = :run", run=run_id
        )
        actual = {change: set() for change in expected}
        for change, hub, subject, field in rows:
            actual[change].add((hub, subject, field))
        assert actual == expected, f"day {day}"
        counts = history["reports"][day]["changes"]
        assert counts == {k: len(v) for k, v in expected.items() if v}, f"day {day}"


def test_failing_hub_retires_nothing_and_converges_next_day(history):
    failing, runs = history["failing"], history["runs"]
    fail_run, next_run = runs[FAIL_DAY], runs[FAIL_DAY + 1]
    # nothing of the failing hub closed by the failing run ...
    assert (
        _query(
            history,
            "SELECT paper_key FROM citation_version WHERE hub_uuid = :h AND valid_to_run = :r",
            h=failing,
            r=fail_run,
        )
        == []
    )
    # ... but the edge the site dropped on that day is retired the day after, when the hub is whole again
    site_dropped = set(history["observed"][FAIL_DAY - 1]["edges"]) - set(_edges(history["truths"][FAIL_DAY]))
    gone = {p for h, p in site_dropped if h == failing}
    assert gone
    retired = {
        p
        for (p,) in _query(
            history, "SELECT paper_key FROM citation WHERE hub_uuid = :h AND valid_to_run = :r", h=failing, r=next_run
        )
    }
    assert gone <= retired
    assert history["reports"][FAIL_DAY]["incomplete_hubs"] == [failing]
    assert _query(
        history, "SELECT COUNT(*) FROM hub_version WHERE valid_from_run = :r AND hub_uuid = :h", r=fail_run, h=failing
    ) == [(0,)]


def test_snapshots_and_hub_as_of_give_growth(history):
    for day, run_id in history["runs"].items():
        observed = history["observed"][day]["hubs"]
        expected = {u: (h["citing_count"], h["tier"], h["label"]) for u, h in observed.items()}
        rows = _query(
            history, "SELECT hub_uuid, citing_count, tier, label FROM hub_as_of WHERE as_of_run = :r", r=run_id
        )
        assert {r[0]: r[1:] for r in rows} == expected, f"day {day}"
        # figure spells: every hub on day 1; later, a spell for each hub whose figures changed, and only then
        opened = {
            r[0]: (r[1], bool(r[2]))
            for r in _query(
                history, "SELECT hub_uuid, citing_count, complete FROM hub_version WHERE valid_from_run = :r", r=run_id
            )
        }
        if day == 1:
            assert opened == {h["uuid"]: (h["citing_count"], True) for h in history["truths"][1]["hubs"]}
            continue
        before = history["observed"][day - 1]["hubs"]
        grew = {u for u, h in observed.items() if u in before and h["citing_count"] != before[u]["citing_count"]} - {
            history["failing"]
        }
        assert grew and grew <= set(opened), f"day {day}"
        assert all(complete for _, complete in opened.values()), f"day {day}"
        same = _query(
            history,
            "SELECT COUNT(*) FROM hub_version n JOIN hub_version o ON o.hub_uuid = n.hub_uuid AND o.valid_to_run = :r "
            "WHERE n.valid_from_run = :r AND n.tier IS o.tier AND n.label IS o.label AND n.citing_count = o.citing_count "
            "AND n.classified_count = o.classified_count AND n.headline IS o.headline AND n.parsed_count = o.parsed_count "
            "AND n.headline_share IS o.headline_share AND n.template IS o.template AND n.complete = o.complete",
            r=run_id,
        )
        assert same == [(0,)], f"day {day}: a spell opened with the figures of the one it closed"


def test_first_and_last_seen_runs(history):
    runs = history["runs"]
    first_day = {}
    for day in range(1, DAYS + 1):
        for key in history["observed"][day]["edges"]:
            first_day.setdefault(key, day)
    # a current edge was last seen by the last run that listed its hub's pages (a 304 of the twin lists none)
    listed = dict(
        _query(
            history,
            "SELECT hub_uuid, MAX(run_id) FROM \"fetch\" WHERE outcome = 'parsed' AND url NOT LIKE '%.json' "
            "GROUP BY hub_uuid",
        )
    )
    rows = _query(history, "SELECT hub_uuid, paper_key, first_seen_run, last_seen_run, valid_to_run FROM citation")
    for hub, paper, first, last, valid_to in rows:
        assert first == runs[first_day[(hub, paper)]], (hub, paper)
        if valid_to is None:
            assert last == listed[hub], (hub, paper)
    # the day a hub's page failed, the run published but is degraded (that hub incomplete)
    statuses = {r["run_id"]: r["status"] for r in _runs(history)}
    assert statuses == {run_id: "degraded" if day == FAIL_DAY else "completed" for day, run_id in runs.items()}


def _runs(history):
    with history["engine"].connect() as conn:
        return conn.execute(select(t.run)).mappings().all()


def test_unchanged_hubs_cost_one_304_and_no_pages(history):
    """The JSON twin is the change signal: a hub whose twin did not change since its last complete fetch
    answers 304 and none of its pages is fetched; every other hub is fetched in full."""
    updated_at, failing = history["updated_at"], history["failing"]
    for day in range(2, DAYS + 1):
        run_id = history["runs"][day]
        # validators come from the hub's last complete fetch: the failing hub's is day FAIL_DAY - 1
        since = {
            u: updated_at[FAIL_DAY - 1 if (u == failing and day == FAIL_DAY + 1) else day - 1][u]
            for u in updated_at[day]
        }
        expected = {u for u, stamp in updated_at[day].items() if stamp == since[u]}
        assert 0 < len(expected) < HUBS
        rows = _query(history, "SELECT hub_uuid, url, status, outcome FROM fetch WHERE run_id = :r", r=run_id)
        not_modified = {h for h, url, status, outcome in rows if outcome == "not_modified"}
        assert not_modified == expected, f"day {day}"
        assert all(status == 304 and url.endswith(".json") for h, url, status, _ in rows if h in expected)
        assert {h for h, *_ in rows if h in expected} == expected  # one fetch each: the twin
        assert sum(1 for h, *_ in rows if h in expected) == len(expected)
