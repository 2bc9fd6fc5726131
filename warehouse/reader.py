"""The questions of `citehub status`, `citehub hub` and `citehub report` (warehouse.queries) answered from the
published relations alone: what a PostgreSQL reader role (`citehub db grant-reader`) may read.

A reader sees the `marts` schema and nothing of the core (`run`, `hub`, `hub_snapshot`, `fetch`, ...);
warehouse.queries asks `published_only(engine)` and then calls the function of the same name here, so one
command serves the warehouse's owner and its readers. Where each fact comes from:

- runs: the `runs` view (kind, outcome, times, replay_of, counts); citations new, retired and relabelled per
  run from change_report, as for the owner;
- a hub's latest figures: hub_summary (the hub table's last good values and its current citations); the
  template and headline of its latest complete snapshot;
- snapshots: hub_growth holds every snapshot's figures (rebuilt with every load, in its transaction); a
  snapshot is complete when change_report has no `incomplete` row for its run and hub (every incomplete
  snapshot gets one, and so does every hub with a failed, quarantined or refused fetch, which a complete
  snapshot cannot have); one hub's history, with parsed counts, from the `hub_as_of` view where
  as_of_run = snapshot_run (every snapshot once: the view is quadratic in a hub's snapshots, so it is read
  for one hub at a time);
- the hubs: hub_summary, hub_growth and change_report together (a hub never fetched completely is in the
  last two only);
- citing categories: category_flow (current citations per category and hub, as the owner counts them).

Not published, so unknown to a reader (None, or left out, where the owner shows a value): the fetch
outcomes of each URL (the refused fetches of the report's run history), raw titles (hub.title_raw, which the
owner shows for a hub whose title is pending), the title of a hub never fetched completely (its figures are
taken from its first snapshot, as the hub table kept them), and the stage timings that make a replay's
duration.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, Subquery, and_, func, select, union

from schema import tables as t
from warehouse.docs import VIEWS
from warehouse.queries import HubInfo, HubNotFound, RunRow, StaleHub, aware_utc, hub_mixes, run_changes

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

RUNS = VIEWS["runs"]
HUB_AS_OF = VIEWS["hub_as_of"]


def _snapshots(*where: ColumnElement[bool]) -> Subquery:
    """Hub figure spells (hub_version as a reader sees it): the rows of hub_as_of as of the run that opened
    them. Filter it to one hub: the view joins every run with every spell."""
    a = HUB_AS_OF.c
    return (
        select(
            a.snapshot_run.label("run_id"),
            a.as_of_started_at.label("started_at"),
            a.hub_uuid,
            a.tier,
            a.label,
            a.template,
            a.headline,
            a.citing_count,
            a.classified_count,
            a.parsed_count,
            a.complete,
        )
        .where(a.as_of_run == a.snapshot_run, *where)
        .subquery("snapshot")
    )


def _hubs() -> Subquery:
    """Every hub the warehouse knows: published with figures, snapshotted, or named by a change (a hub whose
    every fetch failed is only an `incomplete` row of change_report)."""
    return union(
        select(t.hub_summary.c.hub_uuid), select(t.hub_growth.c.hub_uuid), select(t.change_report.c.hub_uuid)
    ).subquery("hubs")


# --- runs -----------------------------------------------------------------------------------------------


def recent_runs(engine: Engine, limit: int = 10) -> list[RunRow]:
    r = RUNS.c
    with engine.connect() as conn:
        rows = conn.execute(select(RUNS).order_by(r.started_at.desc(), r.run_id.desc()).limit(limit)).mappings().all()
    changes = run_changes(engine, [row["run_id"] for row in rows])
    out = []
    for row in rows:
        started, finished = aware_utc(row["started_at"]), aware_utc(row["finished_at"])
        has_counts = row["pages_fetched"] is not None
        out.append(
            RunRow(
                run_id=row["run_id"],
                kind=row["kind"],
                status=row["outcome"],
                started_at=started,
                finished_at=finished,
                # a replay's duration is the sum of its stage timings, which are not published
                duration_s=None
                if row["replay_of"] or finished is None
                else round((finished - started).total_seconds(), 1),
                pages=row["pages_fetched"],
                requests=row["requests"],
                errors=(row["failed_fetches"] or 0) + (row["quarantined"] or 0) if has_counts else None,
                new=changes[row["run_id"]]["new"],
                retired=changes[row["run_id"]]["retired"],
                relabelled=changes[row["run_id"]]["relabelled"],
                error=row["error"],
                replay_of=row["replay_of"],
            )
        )
    return out


def completed_run_ids(engine: Engine, limit: int | None = None) -> list[str]:
    r = RUNS.c
    with engine.connect() as conn:
        ids = list(
            conn.execute(
                select(r.run_id)
                .where(r.outcome == "completed")
                .order_by(r.started_at.desc(), r.run_id.desc())
                .limit(limit)
            ).scalars()
        )
    return ids[::-1]


# --- freshness ------------------------------------------------------------------------------------------


def hub_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(_hubs())).scalar_one()


def stale_hubs(engine: Engine, days: float, now: datetime) -> list[StaleHub]:
    s, r = t.hub_summary, RUNS.c
    with engine.connect() as conn:
        # each hub's latest complete fetch (a 304 included), as the owner's query reads it from hub_change
        latest = {
            u: (run_id, aware_utc(at))
            for u, run_id, at in conn.execute(
                select(s.c.hub_uuid, s.c.last_complete_run, r.started_at).join(RUNS, r.run_id == s.c.last_complete_run)
            )
        }
        hubs = _hubs()
        titles: dict[str, str | None] = dict(
            conn.execute(
                select(hubs.c.hub_uuid, t.hub_summary.c.title).outerjoin(
                    t.hub_summary, t.hub_summary.c.hub_uuid == hubs.c.hub_uuid
                )
            ).all()
        )
        first = _first_seen(conn, sorted(u for u in titles if u not in latest))
    cutoff = now - timedelta(days=days)
    out = []
    for uuid, title in titles.items():
        never = uuid not in latest
        if never and uuid not in first:
            continue  # no run of the warehouse names it: nothing to date it by
        run_id, seen_at = first[uuid] if never else latest[uuid]
        if seen_at >= cutoff:
            continue
        age = round((now - seen_at).total_seconds() / 86400, 1)
        out.append(StaleHub(uuid, title, run_id, seen_at, age, never_complete=never))
    return sorted(out, key=lambda x: (x.last_seen_at, x.hub_uuid))


def _first_seen(conn: Any, uuids: list[str]) -> dict[str, tuple[str, datetime]]:
    """(run, start) of the first run that snapshotted or reported each hub of `uuids` (hubs never fetched
    completely: the owner dates them by hub.first_seen_run)."""
    if not uuids:
        return {}
    g, c, r = t.hub_growth, t.change_report, RUNS.c
    named = union(
        select(g.c.hub_uuid, g.c.snapshot_run.label("run_id")).where(g.c.hub_uuid.in_(uuids)),
        select(c.c.hub_uuid, c.c.run_id).where(c.c.hub_uuid.in_(uuids)),
    ).subquery()
    out: dict[str, tuple[str, datetime]] = {}
    for uuid, run_id, at in conn.execute(
        select(named.c.hub_uuid, named.c.run_id, r.started_at)
        .join(RUNS, r.run_id == named.c.run_id)
        .order_by(named.c.hub_uuid, r.started_at, named.c.run_id)
    ):
        out.setdefault(uuid, (run_id, aware_utc(at)))
    return out


# --- one hub --------------------------------------------------------------------------------------------


def hub_titles(engine: Engine) -> list[tuple[str, str | None, str | None]]:
    """(uuid, title, raw title) of every hub, by uuid: the raw title is not published (None)."""
    hubs = _hubs()
    s = t.hub_summary
    with engine.connect() as conn:
        rows = conn.execute(
            select(hubs.c.hub_uuid, s.c.title).outerjoin(s, s.c.hub_uuid == hubs.c.hub_uuid).order_by(hubs.c.hub_uuid)
        ).all()
    return [(u, title, None) for u, title in rows]


def _hub_snapshots(engine: Engine, hub_uuid: str) -> list[dict[str, Any]]:
    snap = _snapshots(HUB_AS_OF.c.hub_uuid == hub_uuid)
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(snap, RUNS.c.kind)
                .join(RUNS, RUNS.c.run_id == snap.c.run_id)
                .order_by(snap.c.started_at, snap.c.run_id)
            )
            .mappings()
            .all()
        )
    return [{**row, "started_at": aware_utc(row["started_at"])} for row in rows]


HISTORY_KEYS = (
    "run_id",
    "kind",
    "started_at",
    "tier",
    "label",
    "citing_count",
    "classified_count",
    "parsed_count",
    "complete",
)


def hub_history(engine: Engine, hub_uuid: str) -> list[dict[str, Any]]:
    return [{k: snap[k] for k in HISTORY_KEYS} for snap in _hub_snapshots(engine, hub_uuid)]


def hub_info(engine: Engine, hub_uuid: str) -> HubInfo:
    s, cc = t.hub_summary, t.citation_current
    snapshots = _hub_snapshots(engine, hub_uuid)
    with engine.connect() as conn:
        row = conn.execute(select(s).where(s.c.hub_uuid == hub_uuid)).mappings().first()
        hubs = _hubs()
        known = row is not None or conn.execute(select(hubs.c.hub_uuid).where(hubs.c.hub_uuid == hub_uuid)).first()
        if not known:
            raise HubNotFound(f"no hub {hub_uuid} in the warehouse")
        held = (
            row["citation_rows"]
            if row is not None
            else conn.execute(select(func.count()).select_from(cc).where(cc.c.hub_uuid == hub_uuid)).scalar_one()
        )
        roles, polarities = hub_mixes(conn, hub_uuid)
    complete = [snap for snap in snapshots if snap["complete"]]
    # The hub's template and headline are those of its latest complete fetch; a hub never fetched completely
    # keeps the figures of the first fetch that saw it.
    page = complete[-1] if complete else (snapshots[0] if snapshots else {})
    figures = row if row is not None else page
    return HubInfo(
        hub_uuid=hub_uuid,
        title=row["title"] if row is not None else None,
        tier=figures.get("tier"),
        label=figures.get("label"),
        template=page.get("template"),
        citing_count=figures.get("citing_count"),
        classified_count=figures.get("classified_count"),
        citation_rows=held,
        headline=page.get("headline"),
        roles=roles,
        polarities=polarities,
        history=[{k: snap[k] for k in HISTORY_KEYS} for snap in snapshots],
    )


# --- report data ----------------------------------------------------------------------------------------


def category_counts(engine: Engine, hub_uuids: list[str]) -> list[tuple[str, str, int]]:
    """(category, hub, current citations) from category_flow: '(none)' for papers without a category."""
    f = t.category_flow
    with engine.connect() as conn:
        return [
            (cat, u, n)
            for cat, u, n in conn.execute(
                select(f.c.category, f.c.hub_uuid, f.c.citations).where(f.c.hub_uuid.in_(hub_uuids))
            )
        ]


def hub_snapshots_of_run(engine: Engine, run_id: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The figure spells the run opened (hub, tier, label, citing count, title) and the spell each closed, as
    warehouse.queries.hub_changes compares them; LookupError for an unknown run."""
    g, s, r = t.hub_growth, t.hub_summary, RUNS.c
    with engine.connect() as conn:
        started = conn.execute(select(r.started_at).where(r.run_id == run_id)).scalar()
        if started is None:
            raise LookupError(f"no run {run_id!r}")
        current = [
            dict(row)
            for row in conn.execute(
                select(g.c.hub_uuid, g.c.tier, g.c.label, g.c.citing_count, s.c.title)
                .outerjoin(s, s.c.hub_uuid == g.c.hub_uuid)
                .where(g.c.snapshot_run == run_id)
            ).mappings()
        ]
        # the spell this run closed: the previous row of each hub's growth
        prev = g.alias("prev")
        previous = {
            row["hub_uuid"]: dict(row)
            for row in conn.execute(
                select(prev.c.hub_uuid, prev.c.tier, prev.c.label, prev.c.citing_count)
                .join(g, and_(g.c.hub_uuid == prev.c.hub_uuid, g.c.prev_run == prev.c.snapshot_run))
                .where(g.c.snapshot_run == run_id)
            ).mappings()
        }
    return current, previous


def incomplete_hubs(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    c, s = t.change_report, t.hub_summary
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.c.hub_uuid, s.c.title, c.c.new_value.label("reason"))
            .outerjoin(s, s.c.hub_uuid == c.c.hub_uuid)
            .where(c.c.run_id == run_id, c.c.change == "incomplete")
            .order_by(c.c.hub_uuid)
        ).mappings()
        return [dict(r) for r in rows]
