"""Nightlies on a budget (issue 16), over simulated nights of a growing sample site: a night never sends more
requests than its budget (counted from the archive), no known hub goes longer than the maximum staleness without
a complete fetch, a hub the site created on day D is in the warehouse after night D+1 when the budget allows,
and each night's plan, with the reason of each choice, is in `run_plan`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator

from samplesite.control import post
from samplesite.generator import build_site
from samplesite.growth import GrowthModel
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine

pytestmark = pytest.mark.slow
HUBS, SEED = 60, 11
START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)


def _sent(data_dir, run_id: str) -> int:
    count = 0
    for path in sorted((data_dir / "runs" / run_id / "warc").glob("*.warc.gz")):
        with path.open("rb") as stream:
            count += sum(1 for r in ArchiveIterator(stream) if r.rec_type == "response")
    return count


def _nights(tmp_path, days: int, budget_of, max_staleness: float, monkeypatch) -> list[dict]:
    """Night 1 unbudgeted from every hub of day 1; nights 2..days budgeted with `budget_of(night 1 requests)`."""
    from flows.nightly import nightly_refresh

    monkeypatch.setenv("CITEHUB_MAX_STALENESS_DAYS", str(max_staleness))
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    data = tmp_path / "data"
    nights = []
    with serving(build_site(hubs=HUBS, seed=SEED, day=1, growth=GrowthModel())) as base_url:
        for day in range(1, days + 1):
            site = build_site(hubs=HUBS, seed=SEED, day=day, growth=GrowthModel())
            post(
                base_url, "day", {"day": day}
            )  # one site, one address, day after day: validators carry over as in production
            budget = None if day == 1 else budget_of(nights[0]["sent"])
            report = nightly_refresh(
                base_url=base_url,
                hubs=[h.uuid for h in site.hubs] if day == 1 else None,
                database_url=url,
                data_dir=str(data),
                budget=budget,
                as_of=START + timedelta(days=day),
            )
            run_id = report["run_id"]
            sent = _sent(data, run_id)
            nights.append(
                {"day": day, "run_id": run_id, "budget": budget, "sent": sent, "truth": truth(site), **report}
            )
    return nights


def test_a_budgeted_night_stays_within_its_budget_and_no_hub_passes_the_maximum_staleness(
    tmp_path, prefect_server, monkeypatch
):
    nights = _nights(tmp_path, 6, lambda first: HUBS * 3 // 2, 3.0, monkeypatch)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    reasons: set[str] = set()
    for night in nights[1:]:
        assert 0 < night["sent"] <= night["budget"], night["day"]
        with engine.connect() as conn:
            c = t.hub_change.c
            last = dict(conn.execute(select(c.hub_uuid, c.last_complete_at)).all())
            planned = dict(
                conn.execute(
                    select(t.run_plan.c.reason, func.count())
                    .where(t.run_plan.c.run_id == night["run_id"])
                    .group_by(t.run_plan.c.reason)
                ).all()
            )
            known = set(conn.execute(select(t.hub.c.hub_uuid)).scalars())
        as_of = START + timedelta(days=night["day"])
        stale = {u: round((as_of - last[u].replace(tzinfo=UTC)).total_seconds() / 86400, 3) for u in known}
        assert max(stale.values()) <= 3, (night["day"], sorted(stale.items(), key=lambda kv: -kv[1])[:5])
        assert sum(planned.values()) < len(known)  # the budget left hubs for another night
        assert set(planned) <= {"overdue", "new", "likely_changed", "incomplete"}
        reasons |= set(planned)
    assert {"overdue", "likely_changed"} <= reasons  # the maximum staleness had to step in


def test_a_hub_created_on_day_d_is_in_the_warehouse_after_night_d_plus_1(tmp_path, prefect_server, monkeypatch):
    nights = _nights(tmp_path, 5, lambda first: first * 4, 7.0, monkeypatch)
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    held_after: dict[int, set[str]] = {}
    with engine.connect() as conn:
        for night in nights:
            fetched = select(t.fetch.c.hub_uuid).where(
                t.fetch.c.run_id == night["run_id"], t.fetch.c.outcome == "parsed"
            )
            held_after[night["day"]] = set(conn.execute(fetched.distinct()).scalars()) | held_after.get(
                night["day"] - 1, set()
            )
    created = {
        day: {h["uuid"] for h in nights[day - 1]["truth"]["hubs"] if h["first_day"] == day} for day in range(2, 5)
    }
    assert any(created.values())  # the site grew
    for day, hubs in created.items():
        assert hubs <= held_after[day + 1], (day, sorted(hubs - held_after[day + 1]))
    for night in nights[1:]:
        assert night["sent"] <= night["budget"]
