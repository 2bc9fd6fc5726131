"""What a run's outcome is, decided once for every kind of run (nightly, backfill, replay, accept-changes).

- `completed`: every planned hub was fetched completely (or answered "not modified").
- `degraded`: the run published, but some hubs are incomplete (nothing of them was retired); it names them
  and why.
- `failed`: nothing useful was fetched (every fetch refused, failed or quarantined), a quality check failed,
  or an error stopped it.
- `blocked`: the publish guard refused an abnormal change; nothing published.
- `skipped`: another run held the warehouse's lock; nothing done.

Each has its own exit code (`EXIT_CODES`; 2 is a usage or configuration error, 130 an interrupt), and the
Prefect flow run ends in a state named after it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from schema import tables as t

OUTCOMES = ("completed", "degraded", "failed", "blocked", "skipped")
EXIT_CODES = {"completed": 0, "failed": 1, "blocked": 3, "degraded": 4, "skipped": 5}
USAGE_EXIT_CODE = 2
INTERRUPTED_EXIT_CODE = 130
# a page read, the site saying nothing changed, or a twin saying what changed (its pages deferred by the budget)
USEFUL_FETCHES = ("parsed", "not_modified", "deferred")


@dataclass(frozen=True)
class Outcome:
    status: str
    reasons: list[str] = field(default_factory=list)


def judge(
    fetch_outcomes: Mapping[str, int],
    incomplete: Mapping[str, str],
    checks_failed: list[str],
) -> Outcome:
    """The outcome of a run that loaded: from its URLs by outcome, its incomplete hubs (uuid -> why) and its
    failed checks."""
    if checks_failed:
        return Outcome("failed", [f"{len(checks_failed)} quality checks failed: {', '.join(checks_failed)}"])
    if not any(fetch_outcomes.get(k, 0) for k in USEFUL_FETCHES):
        urls = sum(fetch_outcomes.values())
        by_outcome = ", ".join(f"{k} {v}" for k, v in sorted(fetch_outcomes.items())) or "no URL at all"
        return Outcome("failed", [f"nothing useful fetched: {urls} URLs ({by_outcome})"])
    if incomplete:
        return Outcome(
            "degraded",
            [f"{len(incomplete)} hubs incomplete"] + [f"hub {uuid}: {why}" for uuid, why in sorted(incomplete.items())],
        )
    return Outcome("completed")


def incomplete_reasons(engine: Engine, run_id: str, hubs: Sequence[str]) -> dict[str, str]:
    """Why each of `hubs` is incomplete in run `run_id`: its URLs that were not read, by outcome."""
    f = t.fetch
    why: dict[str, list[str]] = defaultdict(list)
    with engine.connect() as conn:
        for start in range(0, len(hubs), 500):  # bounded IN lists
            rows = conn.execute(
                select(f.c.hub_uuid, f.c.outcome, func.count())
                .where(f.c.run_id == run_id, f.c.hub_uuid.in_(hubs[start : start + 500]))
                .where(f.c.outcome.not_in(USEFUL_FETCHES))
                .group_by(f.c.hub_uuid, f.c.outcome)
                .order_by(f.c.hub_uuid, f.c.outcome)
            ).all()
            for hub_uuid, outcome, n in rows:
                why[hub_uuid].append(f"{n} {outcome}")
    return {h: ", ".join(why[h]) + " URLs" if why[h] else "fewer citing papers parsed than declared" for h in hubs}
