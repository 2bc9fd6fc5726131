"""The revisit plan: which hubs a budgeted run fetches, learned from what earlier runs fetched.

Learning (`observe`, inside each load's transaction, from the run's own fetch rows only): per hub, how often its
JSON twin showed a change when asked (a 304, or a body with the same SHA-256, is "no change"), over how many
days, when it was last fetched completely, and how many requests a full fetch of it cost (`hub_change`).

Choosing (`choose`): a run with a request budget spends it in this order:
1. seeds and hubs named on the command line;
2. overdue hubs: not fetched completely for so long that skipping them tonight would pass the maximum staleness
   (and known hubs never fetched completely: `incomplete`);
3. new hubs: frontier hubs never fetched (a first fetch before any re-check), oldest sighting first;
4. re-checks, by expected gain per expected request (policy "citehub") or oldest complete fetch first (policy
   "round_robin", the baseline).
The gain of re-checking a hub is the chance it changed since its last complete fetch times the days it can then
be expected to stay fresh (a hub that changes every day is stale again tomorrow; a quiet one stays fresh for
weeks). Each hub's change rate is its own record shrunk towards the pooled rate of hubs of its size (citing
count on a log scale), so a hub fetched twice is not judged from two answers. Nothing here reads the sample
site's model: it knows only what the warehouse fetched.

A plan is an expectation; the crawl's hard cap (CITEHUB_REQUEST_BUDGET, spiders/middlewares.py) is what keeps
a night within its budget when more hubs changed than expected.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, insert, select

from schema import bulk
from schema.bulk import chunks
from schema.tables import fetch, hub, hub_change, run, run_plan
from warehouse import frontier
from warehouse.queries import aware_utc

POLICIES = ("citehub", "round_robin")
PRIOR_DAYS = 3.0  # weight of the size group's pooled rate, in days of the hub's own observation
DEFAULT_FULL_REQUESTS = 8  # a full fetch's cost before any hub was fetched with its pages
GROWTH_MARGIN = 1.2  # a hub's pages tonight, over those of its last full fetch, that the crawl reserves
# Of the budget left after robots.txt and paper pages, what the plan books. Not all of it: more hubs may change
# than expected; the crawl then defers whole hubs (spiders/hub.py) rather than cut one.
PLAN_SHARE = 0.95
PAPER_SHARE = 0.1  # at most this share of the budget set aside for paper pages (they also get what is left)
KEY_CHUNK = 500


# --- learning ---------------------------------------------------------------------------------------------


def observe(conn: Connection, run_id: str, hubs: Table) -> int:
    """Update `hub_change` for the hubs of this run's load; `hubs` is the load's per-hub table (hub_uuid,
    complete, unchanged). Returns the hubs updated."""
    started = aware_utc(conn.execute(select(run.c.started_at).where(run.c.run_id == run_id)).scalar_one())
    assert started is not None  # run.started_at is NOT NULL
    seen = {
        u: bool(c) or bool(n) for u, c, n in conn.execute(select(hubs.c.hub_uuid, hubs.c.complete, hubs.c.unchanged))
    }
    twins: dict[str, tuple[int, str | None]] = {}
    requests: dict[str, int] = defaultdict(int)
    for uuid, url, status, sha in conn.execute(
        select(fetch.c.hub_uuid, fetch.c.url, fetch.c.status, fetch.c.sha256).where(
            fetch.c.run_id == run_id, fetch.c.hub_uuid.is_not(None)
        )
    ):
        requests[uuid] += 1
        if url.endswith(".json") and status in (200, 304):
            twins[uuid] = (status, sha)
    for uuid in twins.keys() - seen.keys():
        seen[uuid] = False  # its twin answered, its pages were deferred: a change seen, nothing fetched whole
    if not seen:
        return 0
    rows: list[dict[str, Any]] = []
    for part in chunks(sorted(seen), KEY_CHUNK):
        before = {
            r["hub_uuid"]: dict(r)
            for r in conn.execute(select(hub_change).where(hub_change.c.hub_uuid.in_(part))).mappings()
        }
        rows.extend(_learn(before.get(u), u, (run_id, started), seen[u], twins.get(u), requests[u]) for u in part)
    bulk.upsert_rows(conn, hub_change, ["hub_uuid"], rows, [c.name for c in hub_change.columns if c.name != "hub_uuid"])
    return len(rows)


def _learn(
    before: dict[str, Any] | None,
    uuid: str,
    when: tuple[str, datetime],
    complete: bool,
    twin: tuple[int, str | None] | None,
    requests: int,
) -> dict[str, Any]:
    row: dict[str, Any] = (
        dict(before) if before else {"hub_uuid": uuid, "checks": 0, "changes": 0, "observed_days": 0.0}
    )
    row.setdefault("twin_sha256", None)
    row.setdefault("last_checked_at", None)
    row.setdefault("last_complete_at", None)
    row.setdefault("last_complete_run", None)
    row.setdefault("full_requests", None)
    run_id, started = when
    if twin is not None:
        status, sha = twin
        last = aware_utc(row["last_checked_at"])
        comparable = status == 304 or row["twin_sha256"] is not None
        if comparable and last is not None and started > last:
            row["checks"] += 1
            row["observed_days"] += (started - last).total_seconds() / 86400
            row["changes"] += int(status == 200 and sha != row["twin_sha256"])
        if status == 200:
            row["twin_sha256"] = sha
        row["last_checked_at"] = started
    if complete:
        row["last_complete_at"] = started
        row["last_complete_run"] = run_id
        if twin is not None and twin[0] == 200 and requests > 1:
            row["full_requests"] = requests
    return row


# --- choosing ---------------------------------------------------------------------------------------------


@dataclass
class Choice:
    hub_uuid: str
    reason: str
    expected_requests: float
    change_rate: float | None = None
    days_stale: float | None = None
    pages: float = DEFAULT_FULL_REQUESTS - 1  # requests its pages take when it is fetched whole


@dataclass
class Plan:
    budget: int | None
    policy: str
    choices: list[Choice] = field(default_factory=list)
    reserved: dict[str, float] = field(default_factory=dict)  # requests set aside: robots.txt, paper pages
    deferred: int = 0  # known hubs left for another night
    frontier_left: int = 0  # new hubs the budget did not reach

    @property
    def expected_requests(self) -> float:
        return sum(c.expected_requests for c in self.choices) + sum(self.reserved.values())

    def reasons(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for c in self.choices:
            out[c.reason] += 1
        return dict(sorted(out.items()))

    def page_requests(self) -> dict[str, int]:
        """Per hub, the requests the crawl may expect its pages to take (a margin over the last full fetch:
        hubs grow): what the crawl's budget promises a hub before fetching its pages."""
        return {c.hub_uuid: math.ceil(c.pages * GROWTH_MARGIN) + 1 for c in self.choices}

    def summary(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "policy": self.policy,
            "hubs": len(self.choices),
            "reasons": self.reasons(),
            "expected_requests": round(self.expected_requests, 1),
            "deferred": self.deferred,
            "frontier_left": self.frontier_left,
        }


@dataclass
class _Known:
    uuid: str
    rate: float
    days_stale: float | None
    expected_pages: float
    last_complete: datetime | None


def choose(
    engine: Engine,
    now: datetime,
    first: Sequence[tuple[str, str]] = (),
    budget: int | None = None,
    policy: str = "citehub",
    max_staleness_days: float = 7.0,
    hosts: int = 1,
    paper_pages: bool = True,
    known_hubs: bool = True,
    new_hubs: bool = True,
    new_limit: int | None = None,
) -> Plan:
    """The hubs to fetch, in order. `first`: (uuid, reason) of seeds and named hubs, always fetched. Without a
    budget: those, every known hub (`known_hubs`) and every frontier hub never fetched (`new_hubs`, at most
    `new_limit`), with reason `known` / `new`."""
    if policy not in POLICIES:
        raise ValueError(f"revisit policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    plan = Plan(budget, policy)
    known = _known_hubs(engine, now)
    full = _typical_full_requests(known)
    chosen: set[str] = set()

    def take(uuid: str, reason: str, cost: float, k: _Known | None = None) -> None:
        chosen.add(uuid)
        plan.choices.append(
            Choice(
                uuid,
                reason,
                round(cost, 3),
                k.rate if k else None,
                round(k.days_stale, 3) if k and k.days_stale is not None else None,
                k.expected_pages if k else full - 1,
            )
        )

    for uuid, reason in first:
        if uuid not in chosen:
            k = known.get(uuid)
            take(uuid, reason, _cost(k, full), k)
    revisit = known if known_hubs else {}
    unfetched = frontier.unfetched_hubs(engine, limit=new_limit if budget is None else budget) if new_hubs else []
    unfetched = [u for u in unfetched if u not in chosen and u not in known][:new_limit]
    plan.frontier_left = frontier.frontier_size(engine)[1] - len(unfetched) if new_hubs else 0
    if budget is None:
        for uuid in sorted(revisit):
            if uuid not in chosen:
                take(uuid, "known", _cost(known[uuid], full), known[uuid])
        for uuid in unfetched:
            take(uuid, "new", full)
        return plan

    plan.reserved = {"robots.txt": float(hosts)}
    if paper_pages:
        plan.reserved["paper pages"] = _paper_reserve(engine, budget)
    room = budget * PLAN_SHARE - plan.expected_requests

    def spend(uuid: str, reason: str, k: _Known | None) -> bool:
        nonlocal room
        cost = _cost(k, full)
        if cost > room:
            return False
        room -= cost
        take(uuid, reason, cost, k)
        return True

    for k in _due(revisit, chosen, max_staleness_days, room, full):
        spend(k.uuid, "overdue" if k.last_complete is not None else "incomplete", k)
    taken_new = 0
    for uuid in unfetched:
        if not spend(uuid, "new", None):
            break
        taken_new += 1
    plan.frontier_left += len(unfetched) - taken_new
    rest = [k for u, k in revisit.items() if u not in chosen]
    if policy == "citehub":
        rest.sort(key=lambda k: (-_gain(k, max_staleness_days) / _cost(k, full), k.uuid))
        reason = "likely_changed"
    else:
        rest.sort(key=lambda k: (_epoch(k.last_complete), k.uuid))
        reason = "round_robin"
    for k in rest:
        if not spend(k.uuid, reason, k) and room < 1:
            break
    plan.deferred = sum(1 for u in revisit if u not in chosen)
    return plan


def _due(revisit: dict[str, _Known], chosen: set[str], max_staleness: float, room: float, full: float) -> list[_Known]:
    """Hubs that must be fetched tonight for none to pass the maximum staleness, stalest first (and known hubs
    never fetched completely). Earliest deadline first, looking ahead: a hub is due tonight when skipping it
    would pass the maximum by the next night, and so are the stalest of those due within k nights when more of
    them are due than the k - 1 nights after tonight can take (at the night's room over a re-check's expected
    cost), so that deadlines bunched on one night are spread over the nights before it."""
    waiting = sorted(
        (k for u, k in revisit.items() if u not in chosen),
        key=lambda k: (-(k.days_stale if k.days_stale is not None else math.inf), k.uuid),
    )
    if not waiting:
        return []

    def stale(k: _Known) -> float:
        return k.days_stale if k.days_stale is not None else math.inf

    per_night = room / (sum(_cost(k, full) for k in waiting) / len(waiting))
    due = sum(1 for k in waiting if stale(k) + 1 > max_staleness)
    for nights in range(2, math.ceil(max_staleness) + 1):
        within = sum(1 for k in waiting if stale(k) + nights > max_staleness)
        due = max(due, math.ceil(within - (nights - 1) * per_night))
    return waiting[:due]


def _gain(k: _Known, horizon: float) -> float:
    """Expected fresh hub-days bought by fetching `k` now: the chance it changed since its last complete fetch,
    times the days it then stays fresh before its next change (at most `horizon`)."""
    stale = k.days_stale if k.days_stale is not None else horizon
    changed = 1.0 - math.exp(-k.rate * max(stale, 0.0))
    fresh_days = min(1.0 / k.rate, horizon) if k.rate > 0 else horizon
    return changed * fresh_days


def _cost(k: _Known | None, full: float) -> float:
    """Expected requests: the twin, plus its pages when it changed (or every page, with no twin to ask)."""
    if k is None:
        return full
    if k.last_complete is None:
        return k.expected_pages + 1
    stale = k.days_stale or 0.0
    return 1.0 + (1.0 - math.exp(-k.rate * stale)) * k.expected_pages


def _epoch(value: datetime | None) -> float:
    return value.timestamp() if value is not None else -math.inf


def _known_hubs(engine: Engine, now: datetime) -> dict[str, _Known]:
    with engine.connect() as conn:
        query = select(
            hub.c.hub_uuid,
            hub.c.citing_count,
            hub_change.c.checks,
            hub_change.c.changes,
            hub_change.c.observed_days,
            hub_change.c.last_complete_at,
            hub_change.c.full_requests,
        ).outerjoin(hub_change, hub_change.c.hub_uuid == hub.c.hub_uuid)
        rows = conn.execute(query).all()
    pooled: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for _, citing, _checks, changes, days, *_ in rows:
        group = _size_group(citing)
        pooled[group][0] += changes or 0
        pooled[group][1] += days or 0.0
    everyone = [sum(p[0] for p in pooled.values()), sum(p[1] for p in pooled.values())]
    base = (everyone[0] + 1.0) / (everyone[1] + 5.0)  # a weak guess until anything was observed
    fulls = [r[6] for r in rows if r[6]]
    typical = median(fulls) if fulls else DEFAULT_FULL_REQUESTS
    out = {}
    for uuid, citing, _checks, changes, days, last_complete, full_requests in rows:
        group_changes, group_days = pooled[_size_group(citing)]
        prior = (group_changes + PRIOR_DAYS * base) / (group_days + PRIOR_DAYS)
        rate = ((changes or 0) + PRIOR_DAYS * prior) / ((days or 0.0) + PRIOR_DAYS)
        last = aware_utc(last_complete)
        stale = (now - last).total_seconds() / 86400 if last is not None else None
        pages = (full_requests or typical) - 1
        out[uuid] = _Known(uuid, round(rate, 6), stale, float(pages), last)
    return out


def _size_group(citing: int | None) -> int:
    return int(math.log2((citing or 0) + 1))


def _typical_full_requests(known: dict[str, _Known]) -> float:
    pages = [k.expected_pages + 1 for k in known.values() if k.last_complete is not None]
    return float(median(pages)) if pages else float(DEFAULT_FULL_REQUESTS)


def _paper_reserve(engine: Engine, budget: int) -> float:
    """Requests set aside for paper pages: what the last three runs spent on them, at most PAPER_SHARE of the
    budget (the crawl asks for them last, with whatever the hubs left)."""
    paper = fetch.c.url.like("%/paper/%") | fetch.c.url.like("%/p/%") | fetch.c.url.like("%/ref/arxiv/%")
    with engine.connect() as conn:
        recent = [
            r
            for (r,) in conn.execute(
                select(run.c.run_id)
                .where(run.c.status.in_(("completed", "degraded")))
                .order_by(run.c.started_at.desc())
                .limit(3)
            )
        ]
        spent = (
            conn.execute(
                select(func.count())
                .select_from(fetch)
                .where(fetch.c.run_id.in_(recent), fetch.c.hub_uuid.is_(None), paper)
            ).scalar_one()
            if recent
            else 0
        )
    return min(budget * PAPER_SHARE, spent / max(len(recent), 1))


def record(engine: Engine, run_id: str, plan: Plan) -> None:
    """The plan, with the reason of each choice, as `run_plan` rows of the run (inspectable by SQL)."""
    rows = [
        {
            "run_id": run_id,
            "hub_uuid": c.hub_uuid,
            "rank": rank,
            "reason": c.reason,
            "expected_requests": c.expected_requests,
            "change_rate": c.change_rate,
            "days_stale": c.days_stale,
        }
        for rank, c in enumerate(plan.choices, start=1)
    ]
    with engine.begin() as conn:
        for part in chunks(rows, 5000):
            conn.execute(insert(run_plan), part)
