"""Publish guard: a run that would retire or relabel an abnormal share of the warehouse's edges is not
published until an operator accepts it.

A site that suddenly shows a hub with most of its citations gone (a broken list, a half-deployed template,
a parser that reads a new layout wrongly but still "completely") looks to the loader like a complete fetch
whose edges were retired. The guard runs inside the load's transaction, before anything is written, and
compares what the run would do with what the warehouse holds:

- per hub: retired + relabelled edges over the hub's current edges, for hubs with at least
  `hub_min_edges` current edges (one retirement of a 10-edge hub is 10%: small hubs are not judged alone);
- overall: retired edges over all current edges of the warehouse, once at least `overall_min_retired`
  edges retire;
- overall relabels, with a limit of their own: the site re-reviews about 1% of its citations a day, which
  on its own reaches 0.4-0.6% of all edges (measured on the sample site, 60-500 hubs, days 2-7), so
  relabels get a wider share (`overall_relabel_share`, from `overall_min_relabelled` relabels) than
  retirements (which stay under 0.3%). Without it, relabels spread over hubs too small to be judged alone
  went through whatever their number;
- hub figures: the share of the known hubs fetched completely whose title, tier or label the run changes,
  from `hub_figure_min_hubs` such hubs (every title turned into "Title resolution pending" is a site fault).

Change accumulates while a hub is not fetched: a run with a request budget revisits hubs last fetched whole
days ago (warehouse.plan), and what they gained meanwhile is news, not a fault. So a hub's edge changes are
judged per day since its last complete fetch (`hub_change`; at least one), and so are tier and label
changes (hub-days); a title is not expected to change with time, and every changed title counts whole.

A relabel counts when a value the warehouse held changes or disappears; a first classification
(None -> a role, as when a hub moves from the legacy template) adds information and does not count.
Only hubs fetched completely can retire or relabel (warehouse.history), so only they are judged.

Blocked: `PublishBlocked` rolls the load's transaction back (nothing of the run reaches hub, paper,
citation history or the marts; its staged items stay), and the run ends `blocked` with the reasons.
Overrides are recorded: `--allow-abnormal-change "reason"` (in the run's params and summary) or
`citehub refresh --accept-changes RUN_ID`, which publishes the blocked run's staged items later.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Connection, Engine, RowMapping, func, select

from schema.bulk import chunks
from schema.errors import CitehubError
from schema.tables import citation, fetch, hub, hub_change, run
from warehouse.history import VALUE_FIELDS
from warehouse.queries import aware_utc

KEY_CHUNK = 500
# A hub's own figures the hub-figure rule compares with what the warehouse holds.
FIGURES = ("title", "tier", "label")


class Limits(BaseSettings):
    """When the publish guard blocks a run (CITEHUB_GUARD_*): a run that would retire or relabel an abnormal
    share of the warehouse's current edges waits for an operator to accept it."""

    model_config = SettingsConfigDict(env_prefix="CITEHUB_GUARD_", env_file=".env", extra="ignore", frozen=True)

    hub_share: float = Field(
        0.05, ge=0, le=1, description="largest share of a hub's current edges one run may retire or relabel"
    )
    hub_min_edges: int = Field(
        50, ge=1, description="hubs with fewer current edges are not judged alone (one retirement of 10 is 10%)"
    )
    overall_share: float = Field(0.005, ge=0, le=1, description="largest share of all current edges one run may retire")
    overall_min_retired: int = Field(
        10, ge=1, description="fewer retirements than this never trip the overall share (a small warehouse)"
    )
    # Relabels spread over small hubs escape the per-hub rule: the run's relabels are judged as a whole too,
    # with room for the site's daily re-reviews (about 1% of its citations a day).
    overall_relabel_share: float = Field(
        0.05, ge=0, le=1, description="largest share of all current edges one run may relabel"
    )
    overall_min_relabelled: int = Field(
        50, ge=1, description="fewer relabels than this never trip the overall relabel share"
    )
    # A hub's own figures: a run that rewrites the title, tier or label of an abnormal share of the hubs it
    # fetched completely (every title turned into "Title resolution pending") is a site fault, not news.
    hub_figure_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="largest share of known hubs fetched completely whose title, tier or label one run may change",
    )
    hub_figure_min_hubs: int = Field(
        20, ge=1, description="fewer changed hubs than this never trip the hub-figure share"
    )


@dataclass
class HubChange:
    hub_uuid: str
    current: int  # current edges before the run
    retired: int
    relabelled: int
    days: float = 1.0  # since the hub's last complete fetch, at least one: the change it covers

    @property
    def share(self) -> float:
        return (self.retired + self.relabelled) / self.current if self.current else 0.0


@dataclass
class Verdict:
    current: int = 0  # current edges of the whole warehouse before the run
    retired: int = 0
    relabelled: int = 0
    hubs_over: list[HubChange] = field(default_factory=list)  # hubs above the per-hub limit
    known_hubs: int = 0  # hubs fetched completely that the warehouse already held
    known_hub_days: float = 0.0  # their days since their last complete fetch (at least one each), summed
    figure_changes: int = 0  # of those, hubs whose title, tier or label the run changes
    title_changes: int = 0  # of those, hubs whose title the run changes
    reasons: list[str] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    override: str | None = None  # the recorded reason an abnormal change was published anyway

    @property
    def abnormal(self) -> bool:
        return bool(self.reasons)

    @property
    def blocked(self) -> bool:
        return self.abnormal and not self.override

    @property
    def overall_share(self) -> float:
        return self.retired / self.current if self.current else 0.0

    @property
    def relabel_share(self) -> float:
        return self.relabelled / self.current if self.current else 0.0

    @property
    def figure_share(self) -> float:
        """Changed titles over the hubs judged, plus tier or label changes over their hub-days."""
        if not self.known_hubs:
            return 0.0
        return self.title_changes / self.known_hubs + (self.figure_changes - self.title_changes) / max(
            self.known_hub_days, self.known_hubs
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "abnormal": self.abnormal,
            "override": self.override,
            "reasons": list(self.reasons),
            "current_edges": self.current,
            "retired": self.retired,
            "relabelled": self.relabelled,
            "overall_retired_share": round(self.overall_share, 6),
            "overall_relabelled_share": round(self.relabel_share, 6),
            "known_hubs": self.known_hubs,
            "known_hub_days": round(self.known_hub_days, 3),
            "hub_figure_changes": self.figure_changes,
            "hub_title_changes": self.title_changes,
            "hubs": [{**asdict(h), "share": round(h.share, 6)} for h in self.hubs_over],
            "limits": self.limits.model_dump(),
        }

    def message(self, run_id: str) -> str:
        head = (
            f"run {run_id} published an abnormal change (override: {self.override})"
            if self.override
            else f"run {run_id} blocked from publishing"
        )
        return head + ": " + "; ".join(self.reasons)


class PublishBlocked(CitehubError, RuntimeError):
    exit_code = 3

    """The run would retire or relabel an abnormal share of edges and carries no override."""

    def __init__(self, run_id: str, verdict: Verdict) -> None:
        super().__init__(verdict.message(run_id))
        self.verdict = verdict


class Tally:
    """The guard's totals over a run loaded hub batch by hub batch (`warehouse.load.load_staged`): `add` each
    batch's completely fetched hubs and edges before the batch's edges are written, `close` before the
    commit. The warehouse's current edges are counted when the tally starts, before anything is written."""

    def __init__(
        self, conn: Connection, limits: Limits, override: str | None = None, run_id: str | None = None
    ) -> None:
        self.conn = conn
        self.verdict = Verdict(limits=limits, override=override or None)
        started = conn.execute(select(run.c.started_at).where(run.c.run_id == run_id)).scalar() if run_id else None
        self.started = aware_utc(started)
        self.verdict.current = conn.execute(
            select(func.count()).select_from(citation).where(citation.c.valid_to_run.is_(None))
        ).scalar_one()

    def add(self, complete: Sequence[str], citations: Iterable[dict[str, Any]]) -> None:
        """`complete`: hubs fetched completely (not 304), sorted; `citations`: the batch's edge rows."""
        if not self.verdict.current:
            # No current edge when the load began, and each hub is in one batch: this batch's hubs have none
            # to retire or relabel. Not reading them matters on PostgreSQL: `citation`, filled in this very
            # transaction, has no statistics yet and each keyed read planned a scan of all of it.
            return
        seen: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for row in citations:
            seen[row["hub_uuid"]][row["paper_key"]] = row
        verdict, limits = self.verdict, self.verdict.limits
        days = self._days(complete)
        for change in _hub_changes(self.conn, complete, seen):
            verdict.retired += change.retired
            verdict.relabelled += change.relabelled
            change.days = days.get(change.hub_uuid, 1.0)
            if change.current >= limits.hub_min_edges and change.share > limits.hub_share * change.days:
                verdict.hubs_over.append(change)
                over = f" over {change.days:.1f} days" if change.days > 1 else ""
                verdict.reasons.append(
                    f"hub {change.hub_uuid}: {change.retired} retired + {change.relabelled} relabelled of "
                    f"{change.current} current edges{over} ({change.share:.1%} > "
                    f"{limits.hub_share * change.days:.1%})"
                )

    def figures(self, hubs: Sequence[Mapping[str, Any]], complete: set[str]) -> None:
        """Before a batch's hub rows are written: count the completely fetched hubs the warehouse holds and
        those whose title, tier or label the batch changes."""
        judged = {row["hub_uuid"]: row for row in hubs if row["hub_uuid"] in complete}
        if not judged:
            return
        days = self._days(sorted(judged))
        for chunk in chunks(sorted(judged), KEY_CHUNK):
            stored = self.conn.execute(
                select(hub.c.hub_uuid, *(hub.c[f] for f in FIGURES)).where(hub.c.hub_uuid.in_(chunk))
            ).mappings()
            for old in stored:
                new = judged[old["hub_uuid"]]
                self.verdict.known_hubs += 1
                self.verdict.known_hub_days += days.get(old["hub_uuid"], 1.0)
                if any(old[f] != new.get(f) for f in FIGURES):
                    self.verdict.figure_changes += 1
                    self.verdict.title_changes += int(old["title"] != new.get("title"))

    def _days(self, hubs: Sequence[str]) -> dict[str, float]:
        """Days from each hub's last complete fetch to this run's start, at least one (none known: one)."""
        if self.started is None:
            return {}
        out: dict[str, float] = {}
        for chunk in chunks(list(hubs), KEY_CHUNK):
            rows = self.conn.execute(
                select(hub_change.c.hub_uuid, hub_change.c.last_complete_at).where(hub_change.c.hub_uuid.in_(chunk))
            )
            for uuid, last in rows:
                last = aware_utc(last)
                if last is not None:
                    out[uuid] = max(1.0, (self.started - last).total_seconds() / 86400)
        return out

    def close(self) -> Verdict:
        verdict, limits = self.verdict, self.verdict.limits
        if verdict.retired >= limits.overall_min_retired and verdict.overall_share > limits.overall_share:
            verdict.reasons.append(
                f"overall: {verdict.retired} of {verdict.current} current edges retired "
                f"({verdict.overall_share:.2%} > {limits.overall_share:.2%})"
            )
        if verdict.relabelled >= limits.overall_min_relabelled and verdict.relabel_share > limits.overall_relabel_share:
            verdict.reasons.append(
                f"overall: {verdict.relabelled} of {verdict.current} current edges relabelled "
                f"({verdict.relabel_share:.2%} > {limits.overall_relabel_share:.2%})"
            )
        if verdict.figure_changes >= limits.hub_figure_min_hubs and verdict.figure_share > limits.hub_figure_share:
            days = (
                f", tier and label over {verdict.known_hub_days:.0f} hub-days"
                if verdict.known_hub_days > verdict.known_hubs
                else ""
            )
            verdict.reasons.append(
                f"hub figures: title, tier or label changed for {verdict.figure_changes} of {verdict.known_hubs} "
                f"known hubs fetched completely{days} ({verdict.figure_share:.1%} > {limits.hub_figure_share:.1%})"
            )
        return verdict


class Gate:
    """The guard of a hub-batched load (`warehouse.load.load_staged`, argument `gate`): `start` when the
    transaction opens, `add` per batch, `finish` before the commit, which raises `PublishBlocked` (the
    whole load rolls back) unless the run's change is normal or overridden."""

    def __init__(self, run_id: str, limits: Limits, override: str | None = None) -> None:
        self.run_id, self.limits, self.override = run_id, limits, override
        self.tally: Tally | None = None

    def start(self, conn: Connection) -> None:
        self.tally = Tally(conn, self.limits, self.override, self.run_id)

    def add(self, complete: Sequence[str], citations: Iterable[dict[str, Any]]) -> None:
        assert self.tally is not None, "Gate.start opens the tally"
        self.tally.add(complete, citations)

    def figures(self, hubs: Sequence[Mapping[str, Any]], complete: set[str]) -> None:
        assert self.tally is not None, "Gate.start opens the tally"
        self.tally.figures(hubs, complete)

    def finish(self) -> dict[str, Any]:
        assert self.tally is not None, "Gate.start opens the tally"
        verdict = self.tally.close()
        if verdict.blocked:
            raise PublishBlocked(self.run_id, verdict)
        return verdict.as_dict()


def _hub_changes(
    conn: Connection, hubs: Sequence[str], seen: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> Iterator[HubChange]:
    current: dict[str, dict[str, RowMapping]] = defaultdict(dict)
    columns = [citation.c.hub_uuid, citation.c.paper_key, *(citation.c[f] for f in VALUE_FIELDS)]
    for start in range(0, len(hubs), KEY_CHUNK):
        chunk = hubs[start : start + KEY_CHUNK]
        stmt = select(*columns).where(citation.c.hub_uuid.in_(chunk), citation.c.valid_to_run.is_(None))
        for rec in conn.execute(stmt).mappings():
            current[rec["hub_uuid"]][rec["paper_key"]] = rec
    for uuid in hubs:
        before, now = current.get(uuid, {}), seen.get(uuid, {})
        retired = sum(1 for key in before if key not in now)
        relabelled = sum(1 for key, old in before.items() if key in now and _lost_or_changed(old, now[key]))
        yield HubChange(uuid, len(before), retired, relabelled)


def _lost_or_changed(old: RowMapping, new: Mapping[str, Any]) -> bool:
    return any(old[f] is not None and old[f] != new[f] for f in VALUE_FIELDS)


class NotAcceptable(CitehubError, ValueError):
    """`--accept-changes RUN_ID` names a run that cannot be published now."""


def blocked_run(engine: Engine, run_id: str) -> dict[str, Any]:
    """The blocked run `run_id` (its row, summary decoded), if it can still be published: it exists, is
    `blocked`, and no later run has loaded anything (its older data would overwrite newer)."""
    with engine.connect() as conn:
        row = conn.execute(select(run).where(run.c.run_id == run_id)).mappings().first()
        if row is None:
            raise NotAcceptable(f"no run {run_id!r}")
        if row["status"] != "blocked":
            raise NotAcceptable(f"run {run_id} is {row['status']}, not blocked: nothing to accept")
        later = conn.execute(
            select(run.c.run_id)
            .join(fetch, fetch.c.run_id == run.c.run_id)  # a run that published wrote its fetch log
            .where(run.c.started_at > row["started_at"])
            .limit(1)
        ).scalar()
    if later is not None:
        raise NotAcceptable(
            f"run {run_id} is blocked but run {later} has loaded since: publishing the older run "
            f"would overwrite newer data; run a new refresh with --allow-abnormal-change instead"
        )
    return {**row, "summary": json.loads(row["summary"]) if row["summary"] else {}}


def crawl_stats(run_dir: Path) -> dict[str, Any]:
    """The crawl stats a run left in its folder, or {} when the folder is gone."""
    path = run_dir / "stats.json"
    return json.loads(path.read_text()) if path.exists() else {}
