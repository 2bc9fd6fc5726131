"""A replay older than the warehouse's newest run that may have published is refused, whatever that run's
outcome says of it (a degraded run published; a failed or abandoned one may have)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from warehouse.runs import OlderThanHistory, finish_run, get_run, refuse_older_history, start_run


def _started(engine, run_id):
    started = get_run(engine, run_id)["started_at"]
    return started if started.tzinfo else started.replace(tzinfo=UTC)  # SQLite keeps no offset


@pytest.mark.parametrize("status", ["completed", "degraded", "failed", "abandoned"])
def test_an_older_crawl_is_refused_behind_a_run_that_may_have_published(engine, status):
    run_id = start_run(engine, "nightly", {})
    finish_run(engine, run_id, status, {})
    started = _started(engine, run_id)
    with pytest.raises(OlderThanHistory, match=f"is older than run {run_id}"):
        refuse_older_history(engine, "crawl-1", started - timedelta(hours=1))
    refuse_older_history(engine, "crawl-2", started + timedelta(hours=1))  # a later crawl is replayed


@pytest.mark.parametrize("status", ["blocked", "skipped"])
def test_a_run_that_wrote_nothing_does_not_hold_history(engine, status):
    run_id = start_run(engine, "nightly", {})
    finish_run(engine, run_id, status, {})
    refuse_older_history(engine, "crawl-1", _started(engine, run_id) - timedelta(hours=1))
