"""What operators and analysts ask of the warehouse: small query functions behind `citehub status`,
`citehub hub` and `citehub report`.

Each function answers one question from the tables that exist now (run, hub, hub_version, citation,
paper, marts) and uses the history columns (`citation.valid_to_run`) and the `change_report` mart when
the schema has them, so the commands grow with the warehouse instead of breaking on it.

A connection that reads the published relations only (a PostgreSQL reader role, `citehub db grant-reader`:
no core table, only the `marts` schema) gets the same answers from those relations (warehouse.reader),
wherever they hold the facts: `published_only` tells which, and each function below asks it first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, overload

from rapidfuzz import fuzz, process
from sqlalchemy import ColumnElement, Connection, Engine, func, inspect, select, text, true
from sqlalchemy.engine import make_url

from schema import tables as t
from schema.engine import redacted
from schema.errors import CitehubError, NotFound
from spiders.parse.hubref import UUID

# --- runs -----------------------------------------------------------------------------------------------


@dataclass
class RunRow:
    run_id: str
    kind: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    pages: int | None
    requests: int | None
    errors: int | None  # failed fetches + quarantined pages
    new: int | None  # citations first seen in this run
    retired: int | None  # None: the warehouse does not record it (yet)
    relabelled: int | None
    error: str | None = None
    replay_of: str | None = None  # the archived crawl a replay (backfill --from-archive, reparse) replays

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@overload
def aware_utc(value: datetime) -> datetime: ...
@overload
def aware_utc(value: None) -> None: ...
@overload
def aware_utc(value: datetime | None) -> datetime | None: ...
def aware_utc(value: datetime | None) -> datetime | None:
    # SQLite hands timezone-aware columns back naive; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def published_only(engine: Engine) -> bool:
    """Whether `engine` reads the published relations only: a reader role sees the `runs` view but no `run`
    table (on PostgreSQL the core schema is out of its search_path's reach). Asked on every call, not cached:
    the same URL may be migrated or granted more between two questions."""
    insp = inspect(engine)
    return not insp.has_table("run") and insp.has_table("runs")


def _db_columns(engine: Engine, table_name: str) -> set[str]:
    """Columns the database really has (a warehouse not yet upgraded may lack newer ones)."""
    insp = inspect(engine)
    if not insp.has_table(table_name):
        return set()
    return {col["name"] for col in insp.get_columns(table_name)}


def _change_counts(engine: Engine, run_ids: list[str], by_hub: bool = False) -> dict[tuple[str, ...], int] | None:
    """{(run_id[, hub_uuid], change): count} from the change_report mart, or None without the mart.

    A relabelled edge counts once however many of its fields changed."""
    report = t.metadata.tables.get("change_report")
    if report is None or not {"run_id", "change", "hub_uuid", "subject"} <= _db_columns(engine, "change_report"):
        return None
    keys = [report.c.run_id, *([report.c.hub_uuid] if by_hub else []), report.c.change]
    edges = (
        select(*keys, report.c.hub_uuid.label("h"), report.c.subject)
        .distinct()
        .where(report.c.run_id.in_(run_ids))
        .subquery()
    )
    cols = [edges.c.run_id, *([edges.c.hub_uuid] if by_hub else []), edges.c.change]
    with engine.connect() as conn:
        return {tuple(row[:-1]): row[-1] for row in conn.execute(select(*cols, func.count()).group_by(*cols))}


def run_changes(engine: Engine, run_ids: list[str]) -> dict[str, dict[str, int | None]]:
    """New, retired and relabelled citations per run.

    From the change_report mart when the warehouse has it; otherwise new = citations first seen in the
    run, retired = citations whose valid_to_run is the run (when that column exists), relabelled unknown.
    """
    out: dict[str, dict[str, int | None]] = {r: {"new": 0, "retired": None, "relabelled": None} for r in run_ids}
    if not run_ids:
        return out
    counted = _change_counts(engine, run_ids)
    if counted is not None:
        for r in run_ids:
            out[r] = {k: counted.get((r, k), 0) for k in ("new", "retired", "relabelled")}
        return out
    c = t.citation
    with engine.connect() as conn:
        for run_id, n in conn.execute(
            select(c.c.first_seen_run, func.count()).where(c.c.first_seen_run.in_(run_ids)).group_by(c.c.first_seen_run)
        ):
            out[run_id]["new"] = n
        if "valid_to_run" in _db_columns(engine, "citation"):
            for run_counts in out.values():
                run_counts["retired"] = 0
            for run_id, n in conn.execute(
                select(c.c.valid_to_run, func.count()).where(c.c.valid_to_run.in_(run_ids)).group_by(c.c.valid_to_run)
            ):
                out[run_id]["retired"] = n
    return out


def recent_runs(engine: Engine, limit: int = 10) -> list[RunRow]:
    """The last `limit` runs, newest first, with what their summaries say."""
    if published_only(engine):
        from warehouse import reader

        return reader.recent_runs(engine, limit)
    r = t.run
    with engine.connect() as conn:
        rows = conn.execute(select(r).order_by(r.c.started_at.desc(), r.c.run_id.desc()).limit(limit)).mappings().all()
    changes = run_changes(engine, [row["run_id"] for row in rows])
    out = []
    for row in rows:
        summary = json.loads(row["summary"]) if row["summary"] else {}
        params = json.loads(row["params"]) if row["params"] else {}
        started, finished = aware_utc(row["started_at"]), aware_utc(row["finished_at"])
        # Citations counted by the warehouse (change_report) win: a summary's "changes" counts the mart's rows,
        # one per changed field of a relabelled citation; it only fills in what the warehouse cannot count.
        counted = summary.get("changed") or summary.get("changes") or {}
        ch = {k: counted.get(k) if v is None else v for k, v in changes[row["run_id"]].items()}
        has_counts = "pages_fetched" in summary
        replay_of = summary.get("replay_of") or params.get("replay_of")
        out.append(
            RunRow(
                run_id=row["run_id"],
                kind=row["kind"],
                status=row["status"],
                started_at=started,
                finished_at=finished,
                duration_s=_duration(started, finished, summary, replay_of),
                pages=summary.get("pages_fetched"),
                requests=summary.get("requests"),
                errors=(summary.get("failed_fetches", 0) + summary.get("quarantined", 0)) if has_counts else None,
                new=ch["new"],
                retired=ch["retired"],
                relabelled=ch["relabelled"],
                error=summary.get("error"),
                replay_of=replay_of,
            )
        )
    return out


def _duration(
    started: datetime, finished: datetime | None, summary: dict[str, Any], replay_of: str | None
) -> float | None:
    """Seconds the run took: its wall time, except for a replay, whose started_at is the archived crawl's
    start (so it sorts where its data belongs in time), days before the replay itself ran: a replay's time is
    the sum of its stages' timings (None when it recorded none, e.g. it failed before publishing)."""
    if replay_of:
        timings = summary.get("timings") or {}
        return round(sum(float(v) for v in timings.values()), 1) if timings else None
    return round((finished - started).total_seconds(), 1) if finished else None


# --- freshness ------------------------------------------------------------------------------------------


@dataclass
class StaleHub:
    hub_uuid: str
    title: str | None
    last_seen_run: str  # the run that last fetched it completely (else the run that first saw it)
    last_seen_at: datetime
    age_days: float
    never_complete: bool = False  # no run ever fetched it completely


def stale_hubs(engine: Engine, days: float, now: datetime | None = None) -> list[StaleHub]:
    """Hubs not fetched completely in the `days` days before `now`, oldest first: a hub counts as refreshed
    only by a run that fetched it completely (its snapshot is complete, or it answered "not modified"), never
    by a run whose fetches of it failed or were refused. A hub never fetched completely is dated from the
    run that first saw it."""
    now = now or datetime.now(UTC)
    if published_only(engine):
        from warehouse import reader

        return reader.stale_hubs(engine, days, now)
    h, r, c = t.hub, t.run, t.hub_change
    first = r.alias("first_run")
    last = r.alias("last_run")
    with engine.connect() as conn:
        rows = conn.execute(
            select(h.c.hub_uuid, h.c.title, h.c.first_seen_run, first.c.started_at, last.c.started_at, last.c.run_id)
            .join(first, first.c.run_id == h.c.first_seen_run)
            .outerjoin(c, c.c.hub_uuid == h.c.hub_uuid)
            .outerjoin(last, last.c.run_id == c.c.last_complete_run)
        ).all()
    complete_runs = {at: run_id for *_, at, run_id in rows if at is not None}
    cutoff = now - timedelta(days=days)
    out = []
    for uuid, title, first_run, first_at, at, _ in rows:
        seen_at = aware_utc(at if at is not None else first_at)
        if seen_at >= cutoff:
            continue
        run_id = complete_runs.get(at, first_run) if at is not None else first_run
        age = round((now - seen_at).total_seconds() / 86400, 1)
        out.append(StaleHub(uuid, title, run_id, seen_at, age, never_complete=at is None))
    return sorted(out, key=lambda x: (x.last_seen_at, x.hub_uuid))


def hub_count(engine: Engine) -> int:
    if published_only(engine):
        from warehouse import reader

        return reader.hub_count(engine)
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.hub)).scalar_one()


# --- storage --------------------------------------------------------------------------------------------


@dataclass
class Storage:
    database: str  # redacted URL
    database_path: str | None
    database_bytes: int | None
    archive_dir: str
    archive_runs: int
    archive_bytes: int


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def storage(engine: Engine, database_url: str, data_dir: Path) -> Storage:
    """Where the warehouse and the run archive live and how many bytes they take."""
    url = make_url(database_url)
    path = size = None
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        db = Path(url.database)
        path = str(db.resolve())
        # WAL mode keeps recent writes in -wal until a checkpoint: they are part of the database.
        size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())
    elif url.get_backend_name() == "postgresql":
        with engine.connect() as conn:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    runs_dir = data_dir / "runs"
    runs = [p for p in runs_dir.iterdir() if p.is_dir()] if runs_dir.exists() else []
    return Storage(redacted(database_url), path, size, str(runs_dir.resolve()), len(runs), _tree_bytes(runs_dir))


def human_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


# --- one hub --------------------------------------------------------------------------------------------


class HubNotFound(NotFound, LookupError):
    pass


class AmbiguousHub(CitehubError, LookupError):
    def __init__(self, ref: str, candidates: list[tuple[str, str | None]]) -> None:
        self.candidates = candidates
        super().__init__(f"{ref!r} matches {len(candidates)} hubs; name one by uuid")


FUZZY_MIN_SCORE = 80.0  # rapidfuzz WRatio below this is not a match
FUZZY_MARGIN = 5.0  # the best match must beat the runner-up by this much to be taken alone
# The start of a hub uuid, as the run summary prints it (8 hex digits) or longer; 6 digits at least, so a year or
# a short number in a title is not taken for one.
UUID_PREFIX = re.compile(r"[0-9a-f]{6,8}|[0-9a-f]{8}-[0-9a-f-]{0,27}")
_WORD = re.compile(r"\w+")


def _words(value: str | None) -> list[str]:
    return _WORD.findall((value or "").casefold())


def _has_words(query: list[str], value: str | None) -> bool:
    """Every query word starts a word of `value`, in any order ("chain thought" finds "Chain-of-Thought ...")."""
    words = _words(value)
    return all(any(w.startswith(q) for w in words) for q in query)


def resolve_hub(engine: Engine, ref: str) -> str:
    """A hub uuid (or hub URL), the start of a uuid (the 8 digits the run summary prints) or a title -> the
    hub's uuid.

    Titles: exact match, then case-insensitive substring, then every word of `ref` starting a word of the title
    (any order, punctuation ignored), then the rapidfuzz best match. Several matches at the first step that
    finds any (a uuid prefix included) raise AmbiguousHub with the candidates.
    """
    ref = ref.strip()
    if not ref:
        raise HubNotFound("empty hub reference")
    if published_only(engine):
        from warehouse import reader

        return match_hub(ref, reader.hub_titles(engine))
    h = t.hub
    with engine.connect() as conn:
        match = UUID.search(ref.lower())
        if match:
            found = conn.execute(select(h.c.hub_uuid).where(h.c.hub_uuid == match.group(0))).scalar()
            if found is None:
                raise HubNotFound(f"no hub {match.group(0)} in the warehouse")
            return found
        prefix = ref.lower() if UUID_PREFIX.fullmatch(ref.lower()) else None
        if prefix:
            started = [
                (u, title)
                for u, title in conn.execute(
                    select(h.c.hub_uuid, h.c.title)
                    .where(h.c.hub_uuid.startswith(prefix, autoescape=True))
                    .order_by(h.c.hub_uuid)
                )
            ]
            if len(started) == 1:
                return started[0][0]
            if len(started) > 1:
                raise AmbiguousHub(ref, started)
        hubs = conn.execute(select(h.c.hub_uuid, h.c.title, h.c.title_raw).order_by(h.c.hub_uuid)).all()
    return _match_title(ref, [tuple(row) for row in hubs], prefix)


def match_hub(ref: str, hubs: list[tuple[str, str | None, str | None]]) -> str:
    """`resolve_hub` over a list of (uuid, title, raw title) sorted by uuid instead of the hub table."""
    match = UUID.search(ref.lower())
    if match:
        if match.group(0) not in {u for u, _, _ in hubs}:
            raise HubNotFound(f"no hub {match.group(0)} in the warehouse")
        return match.group(0)
    prefix = ref.lower() if UUID_PREFIX.fullmatch(ref.lower()) else None
    if prefix:
        started = [(u, title) for u, title, _ in hubs if u.startswith(prefix)]
        if len(started) == 1:
            return started[0][0]
        if len(started) > 1:
            raise AmbiguousHub(ref, started)
    return _match_title(ref, hubs, prefix)


def _match_title(ref: str, hubs: list[tuple[Any, ...]], prefix: str | None) -> str:
    """The title steps of `resolve_hub` over (uuid, title, raw title) rows."""
    exact = [(u, title) for u, title, raw in hubs if ref in (title, raw)]
    if not exact:
        folded = ref.casefold()
        exact = [
            (u, title)
            for u, title, raw in hubs
            if folded in (title or "").casefold() or folded in (raw or "").casefold()
        ]
    query = _words(ref)
    if not exact and query:
        exact = [(u, title) for u, title, raw in hubs if _has_words(query, title) or _has_words(query, raw)]
    if len(exact) == 1:
        return exact[0][0]
    if len(exact) > 1:
        raise AmbiguousHub(ref, exact)
    titled = {u: title for u, title, _ in hubs if title}
    scored = process.extract(ref, titled, scorer=fuzz.WRatio, processor=str.casefold, limit=5)
    good = [(u, title, score) for title, score, u in scored if score >= FUZZY_MIN_SCORE]
    if not good:
        if prefix:
            raise HubNotFound(f"no hub whose uuid starts with {prefix} or titled like {ref!r}")
        raise HubNotFound(f"no hub titled like {ref!r}")
    if len(good) == 1 or good[0][2] - good[1][2] >= FUZZY_MARGIN:
        return good[0][0]
    raise AmbiguousHub(ref, [(u, title) for u, title, _ in good])


@dataclass
class HubInfo:
    hub_uuid: str
    title: str | None
    tier: str | None
    label: str | None
    template: str | None
    citing_count: int | None
    classified_count: int | None
    citation_rows: int
    headline: str | None
    roles: list[tuple[str, int, float]] = field(default_factory=list)  # (role, count, share %)
    polarities: list[tuple[str, int, float]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # one snapshot per run, oldest first


def _current_citations(engine: Engine) -> ColumnElement[bool]:
    """Where-clause for current edges: retired ones (valid_to_run set) are history, not the hub's now."""
    c = t.citation
    return c.c.valid_to_run.is_(None) if "valid_to_run" in _db_columns(engine, "citation") else true()


def hub_history(engine: Engine, hub_uuid: str) -> list[dict[str, Any]]:
    """The hub's figures in every run that changed them (one row per spell), oldest first."""
    if published_only(engine):
        from warehouse import reader

        return reader.hub_history(engine, hub_uuid)
    s, r = t.hub_version, t.run
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(
                    s.c.valid_from_run.label("run_id"),
                    r.c.kind,
                    r.c.started_at,
                    s.c.tier,
                    s.c.label,
                    s.c.citing_count,
                    s.c.classified_count,
                    s.c.parsed_count,
                    s.c.complete,
                )
                .join(r, r.c.run_id == s.c.valid_from_run)
                .where(s.c.hub_uuid == hub_uuid)
                .order_by(r.c.started_at, s.c.valid_from_run)
            )
            .mappings()
            .all()
        )
    return [{**row, "started_at": aware_utc(row["started_at"])} for row in rows]


def hub_mixes(conn: Connection, hub_uuid: str) -> tuple[list[tuple[str, int, float]], ...]:
    """The hub's (role, count, share %) and (polarity, count, share %), most frequent first."""
    mixes = []
    for mart, col in ((t.hub_role_mix, "role"), (t.hub_polarity_mix, "polarity")):
        mixes.append(
            [
                (x[0], x[1], x[2])
                for x in conn.execute(
                    select(mart.c[col], mart.c["count"], mart.c.share)
                    .where(mart.c.hub_uuid == hub_uuid)
                    .order_by(mart.c["count"].desc(), mart.c[col])
                )
            ]
        )
    return tuple(mixes)


def hub_info(engine: Engine, hub_uuid: str) -> HubInfo:
    if published_only(engine):
        from warehouse import reader

        return reader.hub_info(engine, hub_uuid)
    h, c = t.hub, t.citation
    with engine.connect() as conn:
        row = conn.execute(select(h).where(h.c.hub_uuid == hub_uuid)).mappings().first()
        if row is None:
            raise HubNotFound(f"no hub {hub_uuid} in the warehouse")
        held = conn.execute(
            select(func.count()).select_from(c).where(c.c.hub_uuid == hub_uuid, _current_citations(engine))
        ).scalar_one()
        mixes = hub_mixes(conn, hub_uuid)
    return HubInfo(
        hub_uuid=hub_uuid,
        title=row["title"] or row["title_raw"],
        tier=row["tier"],
        label=row["label"],
        template=row["template"],
        citing_count=row["citing_count"],
        classified_count=row["classified_count"],
        citation_rows=held,
        headline=row["headline"],
        roles=mixes[0],
        polarities=mixes[1],
        history=hub_history(engine, hub_uuid),
    )


# --- report data ----------------------------------------------------------------------------------------


def top_hub_uuids(engine: Engine, limit: int) -> list[tuple[str, str]]:
    """(uuid, display title) of the hubs with the most declared citing papers."""
    s = t.hub_summary
    with engine.connect() as conn:
        rows = conn.execute(
            select(s.c.hub_uuid, s.c.title).order_by(s.c.citing_count.desc().nulls_last(), s.c.hub_uuid).limit(limit)
        ).all()
    return [(u, title or u[:8]) for u, title in rows]


def completed_run_ids(engine: Engine, limit: int | None = None) -> list[str]:
    """Completed runs, oldest first (the last `limit` of them)."""
    if published_only(engine):
        from warehouse import reader

        return reader.completed_run_ids(engine, limit)
    r = t.run
    with engine.connect() as conn:
        ids = list(
            conn.execute(
                select(r.c.run_id)
                .where(r.c.status == "completed")
                .order_by(r.c.started_at.desc(), r.c.run_id.desc())
                .limit(limit)
            ).scalars()
        )
    return ids[::-1]


def hub_growth(engine: Engine, hub_uuids: list[str], run_ids: list[str]) -> dict[str, list[int | None]]:
    """Declared citing papers of each hub as of each run (None before the hub's first figures): from the core
    spells (`hub_version`), or for a reader role from the published `hub_growth` mart (one row per spell)."""
    from warehouse.reader import RUNS

    s = t.hub_growth if published_only(engine) else t.hub_version
    start = s.c.snapshot_run if s is t.hub_growth else s.c.valid_from_run
    runs = RUNS if published_only(engine) else t.run
    out: dict[str, list[int | None]] = {u: [None] * len(run_ids) for u in hub_uuids}
    if not hub_uuids or not run_ids:
        return out
    with engine.connect() as conn:
        started = dict(conn.execute(select(runs.c.run_id, runs.c.started_at).where(runs.c.run_id.in_(run_ids))).all())
        spells: dict[str, list[tuple[Any, int | None]]] = {u: [] for u in hub_uuids}
        for u, at, n in conn.execute(
            select(s.c.hub_uuid, runs.c.started_at, s.c.citing_count)
            .join(runs, runs.c.run_id == start)
            .where(s.c.hub_uuid.in_(hub_uuids))
            .order_by(s.c.hub_uuid, runs.c.started_at)
        ):
            spells[u].append((at, n))
    for u, rows in spells.items():
        for i, run_id in enumerate(run_ids):
            at = started.get(run_id)
            # spells of a hub follow each other: the latest one begun by the run holds as of it
            held = [n for begun, n in rows if at is not None and begun <= at]
            out[u][i] = held[-1] if held else None
    return out


def mix_shares(engine: Engine, hub_uuids: list[str], dimension: str) -> dict[str, dict[str, float]]:
    """Percent of each hub's classified citations per role (dimension='role') or polarity."""
    mart = {"role": t.hub_role_mix, "polarity": t.hub_polarity_mix}[dimension]
    out: dict[str, dict[str, float]] = {u: {} for u in hub_uuids}
    if not hub_uuids:
        return out
    with engine.connect() as conn:
        for u, value, share in conn.execute(
            select(mart.c.hub_uuid, mart.c[dimension], mart.c.share).where(mart.c.hub_uuid.in_(hub_uuids))
        ):
            out[u][value] = share
    return out


def category_matrix(
    engine: Engine, hub_uuids: list[str], top_categories: int = 10
) -> tuple[list[str], dict[tuple[str, str], int]]:
    """Citing papers per (primary arXiv category, hub) over current citations.

    Returns (categories, most citing first; {(category, hub_uuid): count}); a paper without a category
    counts as "(none)".
    """
    c, p = t.citation, t.paper
    if not hub_uuids:
        return [], {}
    rows: list[tuple[str, str, int]]
    if published_only(engine):
        from warehouse import reader

        rows = reader.category_counts(engine, hub_uuids)
    else:
        category = func.coalesce(p.c.category, "(none)")
        with engine.connect() as conn:
            rows = [
                (cat, u, n)
                for cat, u, n in conn.execute(
                    select(category, c.c.hub_uuid, func.count())
                    .join(p, p.c.paper_key == c.c.paper_key)
                    .where(c.c.hub_uuid.in_(hub_uuids), _current_citations(engine))
                    .group_by(category, c.c.hub_uuid)
                )
            ]
    totals: dict[str, int] = {}
    for cat, _, n in rows:
        totals[cat] = totals.get(cat, 0) + n
    cats = sorted(totals, key=lambda k: (-totals[k], k))[:top_categories]
    return cats, {(cat, u): n for cat, u, n in rows if cat in cats}


def hub_changes(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """Per-hub changes of one run against each hub's previous snapshot: citing count, tier, label,
    citations first seen (and retired, when the schema keeps history) in this run.

    Only hubs with a change are listed; a hub seen for the first time is a change.
    """
    if published_only(engine):
        from warehouse import reader

        return _hub_changes(engine, run_id, *reader.hub_snapshots_of_run(engine, run_id))
    s, r, h = t.hub_version, t.run, t.hub
    with engine.connect() as conn:
        started = conn.execute(select(r.c.started_at).where(r.c.run_id == run_id)).scalar()
        if started is None:
            raise LookupError(f"no run {run_id!r}")
        current = (
            conn.execute(
                select(s.c.hub_uuid, s.c.tier, s.c.label, s.c.citing_count, h.c.title)
                .join(h, h.c.hub_uuid == s.c.hub_uuid)
                .where(s.c.valid_from_run == run_id)
            )
            .mappings()
            .all()
        )
        # The figures each hub of this run had before it: the spell this run closed.
        previous = {
            row["hub_uuid"]: dict(row)
            for row in conn.execute(
                select(s.c.hub_uuid, s.c.tier, s.c.label, s.c.citing_count).where(s.c.valid_to_run == run_id)
            ).mappings()
        }
    return _hub_changes(engine, run_id, current, previous)


def _hub_changes(
    engine: Engine, run_id: str, current: Sequence[Mapping[Any, Any]], previous: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """`hub_changes` from the run's snapshots (`current`: hub, tier, label, citing count, title) and each hub's
    previous snapshot (`previous`, by hub)."""
    c = t.citation
    counted = _change_counts(engine, [run_id], by_hub=True)
    new: dict[str, int]
    retired: dict[str, int] | None
    relabelled: dict[str, int] | None
    if counted is not None:
        new = {u: n for (_, u, kind), n in counted.items() if kind == "new"}
        retired = {u: n for (_, u, kind), n in counted.items() if kind == "retired"}
        relabelled = {u: n for (_, u, kind), n in counted.items() if kind == "relabelled"}
    else:
        with engine.connect() as conn:
            new = dict(
                conn.execute(
                    select(c.c.hub_uuid, func.count()).where(c.c.first_seen_run == run_id).group_by(c.c.hub_uuid)
                ).all()
            )
            retired = relabelled = None
    out = []
    for row in current:
        before = previous.get(row["hub_uuid"])
        change = {
            "hub_uuid": row["hub_uuid"],
            "title": row["title"],
            "citing_before": before["citing_count"] if before else None,
            "citing_after": row["citing_count"],
            "tier_before": before["tier"] if before else None,
            "tier_after": row["tier"],
            "label_before": before["label"] if before else None,
            "label_after": row["label"],
            "new_citations": new.get(row["hub_uuid"], 0),
            "retired_citations": retired.get(row["hub_uuid"], 0) if retired is not None else None,
            "relabelled_citations": relabelled.get(row["hub_uuid"], 0) if relabelled is not None else None,
            "first_seen": before is None,
        }
        moved = before is None or any(
            change[f"{k}_before"] != change[f"{k}_after"] for k in ("citing", "tier", "label")
        )
        if moved or any(change[k] for k in ("new_citations", "retired_citations", "relabelled_citations")):
            out.append(change)
    out.sort(key=lambda x: (-abs((x["citing_after"] or 0) - (x["citing_before"] or 0)), x["hub_uuid"]))
    return out


# --- the change report, for the Prefect UI --------------------------------------------------------------


# Kinds of change, in the order the reports show them. new, retired and relabelled count citations (edges: a
# relabelled citation counts once, however many of its fields changed, although change_report holds one row per
# changed field); tier, label and incomplete count hubs.
CHANGE_KINDS = ("new", "retired", "relabelled", "tier", "label", "incomplete")
CITATION_CHANGES = frozenset({"new", "retired", "relabelled"})


def _kind_rank(kind: str) -> tuple[int, str]:
    return (CHANGE_KINDS.index(kind) if kind in CHANGE_KINDS else len(CHANGE_KINDS), kind)


def changes_line(changed: dict[str, int | None]) -> str:
    """'new 8 citations, relabelled 1 citation, tier 1 hub': each kind with its unit (None: not known)."""
    parts = []
    for kind in sorted(changed, key=_kind_rank):
        n = changed[kind]
        if n is None:
            continue
        unit = "citation" if kind in CITATION_CHANGES else "hub"
        parts.append(f"{kind} {n:,} {unit}{'' if n == 1 else 's'}")
    return ", ".join(parts) or "none"


CHANGE_COLUMNS = (
    "hub_uuid",
    "title",
    "citing_before",
    "citing_after",
    "new_citations",
    "retired_citations",
    "relabelled_citations",
    "tier_before",
    "tier_after",
    "label_before",
    "label_after",
)


# The run-changes table artifact lists at most this many hubs, those that changed most: a first run or a
# site-wide relabel changes every hub, and a table of 10,000+ rows is a burden to the Prefect API and UI
# while the change_report mart holds every change anyway.
TABLE_ROWS = 1000


def change_table_rows(changes: list[dict[str, Any]], limit: int = TABLE_ROWS) -> list[dict[str, Any]]:
    """The first `limit` per-hub changes as table-artifact rows (every row has every column, in one order)."""
    return [{k: c.get(k) for k in CHANGE_COLUMNS} for c in changes[:limit]]


HUB_CHANGE_KINDS = ("first seen", *CHANGE_KINDS)


def hub_change_kinds(change: dict[str, Any]) -> list[str]:
    """The kinds of change one row of `hub_changes` shows (a hub seen for the first time: 'first seen', its
    tier and label are not changes), plus 'incomplete' when the row carries an `incomplete` reason."""
    first = bool(change.get("first_seen"))
    kinds = ["first seen"] if first else []
    kinds += [k for k in ("new", "retired", "relabelled") if change.get(f"{k}_citations")]
    if not first:
        kinds += [k for k in ("tier", "label") if change.get(f"{k}_before") != change.get(f"{k}_after")]
    return [*kinds, *(["incomplete"] if change.get("incomplete") else [])]


def lead_with_each_kind(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`changes` (rows of `hub_changes`) reordered so that the first rows show every kind of change present:
    the first row of each kind in turn (CHANGE_KINDS order), then the others in their given order."""
    lead: list[int] = []
    for kind in HUB_CHANGE_KINDS:
        i = next((i for i, c in enumerate(changes) if kind in hub_change_kinds(c)), None)
        if i is not None and i not in lead:
            lead.append(i)
    return [changes[i] for i in lead] + [c for i, c in enumerate(changes) if i not in lead]


def figure_change(before: object, after: object, first_seen: bool, missing: str = "—") -> str:
    """A hub figure (tier, label) of a change row: its value, or 'before → after' when it changed; a hub seen
    for the first time has no 'before'; a missing value reads `missing`, never 'None'."""
    shown_after = missing if after is None else str(after)
    if first_seen or before == after:
        return shown_after
    return f"{missing if before is None else before} → {shown_after}"


def change_markdown(run_id: str, counts: dict[str, int | None], changes: list[dict[str, Any]], limit: int = 25) -> str:
    """The run's change report as markdown: totals, then the hubs that changed (the first of each kind of
    change, then those that changed most)."""

    def n(v: object) -> str:
        return "–" if v is None else str(v)

    lines = [
        "",
        f"## Changes in run `{run_id}`",
        "",
        f"- citations (a relabelled citation counts once): new {n(counts.get('new'))}, "
        f"retired {n(counts.get('retired'))}, relabelled {n(counts.get('relabelled'))}",
        f"- hubs changed: {len(changes)}",
        "",
    ]
    if changes:
        lines += [
            "| hub | citing before | citing after | new | retired | relabelled | tier | label |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in lead_with_each_kind(changes)[:limit]:
            first = bool(c.get("first_seen"))
            tier = figure_change(c["tier_before"] or "stub", c["tier_after"] or "stub", first)
            label = figure_change(c["label_before"], c["label_after"], first, "–")
            title = (c["title"] or c["hub_uuid"]).replace("|", "\\|")
            lines.append(
                f"| {title} | {n(c['citing_before'])} | {n(c['citing_after'])} | {n(c['new_citations'])} "
                f"| {n(c['retired_citations'])} | {n(c['relabelled_citations'])} | {tier} "
                f"| {label} |"
            )
        if len(changes) > TABLE_ROWS:
            lines.append(
                f"\n... and {len(changes) - limit:,} more hubs: the run-changes table artifact lists the "
                f"{TABLE_ROWS:,} that changed most; the change_report table holds every change "
                f"(WHERE run_id = '{run_id}')."
            )
        elif len(changes) > limit:
            lines.append(f"\n... and {len(changes) - limit} more hubs: see the run-changes table artifact.")
    return "\n".join(lines)


# --- the run summary (warehouse.report) ------------------------------------------------------------------


def warehouse_counts(engine: Engine) -> tuple[int, int, int]:
    """Hubs, papers and current citations (retired edges are history)."""
    with engine.connect() as conn:
        hubs, papers = (conn.execute(select(func.count()).select_from(x)).scalar_one() for x in (t.hub, t.paper))
        citations = conn.execute(
            select(func.count()).select_from(t.citation).where(t.citation.c.valid_to_run.is_(None))
        ).scalar_one()
    return hubs, papers, citations


@dataclass
class ChangeSummary:
    rows: dict[str, int]  # change_report rows per kind (one per changed field of a relabelled citation)
    changed: dict[str, int]  # citations (new, retired, relabelled) or hubs (tier, label, incomplete) per kind
    incomplete: list[str]  # hubs fetched incompletely (nothing of them retired)
    sample: list[dict[str, Any]]  # the first rows of each kind, grouped by kind


def change_summary(engine: Engine, run_id: str, sample: int = 20) -> ChangeSummary:
    """The run's change report: rows and citations (or hubs) per change kind, incomplete hubs, and up to
    `sample` rows that show every kind present (taken from each kind in turn, not the first `sample` of one)."""
    c = t.change_report
    cols = (c.c.change, c.c.hub_uuid, c.c.subject, c.c.field, c.c.old_value, c.c.new_value)
    with engine.connect() as conn:
        rows: dict[str, int] = dict(
            conn.execute(select(c.c.change, func.count()).where(c.c.run_id == run_id).group_by(c.c.change)).all()
        )
        edges = select(c.c.change, c.c.hub_uuid, c.c.subject).distinct().where(c.c.run_id == run_id).subquery()
        distinct: dict[str, int] = dict(
            conn.execute(select(edges.c.change, func.count()).group_by(edges.c.change)).all()
        )
        incomplete = list(
            conn.execute(
                select(c.c.hub_uuid).where(c.c.run_id == run_id, c.c.change == "incomplete").order_by(c.c.hub_uuid)
            ).scalars()
        )
        kinds = sorted(rows, key=_kind_rank)
        firsts = {
            kind: [
                dict(r)
                for r in conn.execute(
                    select(*cols)
                    .where(c.c.run_id == run_id, c.c.change == kind)
                    .order_by(c.c.hub_uuid, c.c.subject, c.c.field)
                    .limit(sample)
                ).mappings()
            ]
            for kind in kinds
        }
    taken = dict.fromkeys(kinds, 0)
    while sum(taken.values()) < sample and any(taken[k] < len(firsts[k]) for k in kinds):
        for kind in kinds:  # one row of each kind in turn
            if taken[kind] < len(firsts[kind]) and sum(taken.values()) < sample:
                taken[kind] += 1
    return ChangeSummary(
        rows={k: rows[k] for k in kinds},
        changed={k: distinct[k] for k in kinds},
        incomplete=incomplete,
        sample=[r for kind in kinds for r in firsts[kind][: taken[kind]]],
    )


def incomplete_hubs(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    """Hubs the run fetched incompletely (nothing of them retired): uuid, title (None for a hub never
    parsed) and the first reason (e.g. 'failed: <url>', 'parsed 40 of 50')."""
    if published_only(engine):
        from warehouse import reader

        return reader.incomplete_hubs(engine, run_id)
    c, h = t.change_report, t.hub
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.c.hub_uuid, func.coalesce(h.c.title, h.c.title_raw).label("title"), c.c.new_value.label("reason"))
            .outerjoin(h, h.c.hub_uuid == c.c.hub_uuid)
            .where(c.c.run_id == run_id, c.c.change == "incomplete")
            .order_by(c.c.hub_uuid)
        ).mappings()
        return [dict(r) for r in rows]


def fetch_outcomes_by_run(engine: Engine, run_ids: list[str]) -> dict[str, dict[str, int]] | None:
    """URLs of each run by fetch outcome (parsed, not_modified, quarantined, failed, skipped: refused by
    policy), from the fetch table; None when the connection cannot read it (a reader role: not published)."""
    if published_only(engine):
        return None
    f = t.fetch
    out: dict[str, dict[str, int]] = {r: {} for r in run_ids}
    if not run_ids:
        return out
    with engine.connect() as conn:
        for run_id, outcome, n in conn.execute(
            select(f.c.run_id, f.c.outcome, func.count())
            .where(f.c.run_id.in_(run_ids))
            .group_by(f.c.run_id, f.c.outcome)
        ):
            out[run_id][outcome] = n
    return out


def top_hubs(engine: Engine, limit: int = 10) -> list[dict[str, Any]]:
    s, m = t.hub_summary, t.hub_role_mix
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(s.c.hub_uuid, s.c.title, s.c.tier, s.c.label, s.c.citing_count)
                .order_by(s.c.citing_count.desc(), s.c.hub_uuid)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        mix: dict[str, list[str]] = {}
        uuids = [r["hub_uuid"] for r in rows]
        if uuids:
            for r in conn.execute(
                select(m.c.hub_uuid, m.c.role, m.c.share)
                .where(m.c.hub_uuid.in_(uuids))
                .order_by(m.c.hub_uuid, m.c.share.desc(), m.c.role)
            ):
                mix.setdefault(r.hub_uuid, []).append(f"{r.role} {r.share:.0f}%")
    return [{**r, "role_mix": ", ".join(mix.get(r["hub_uuid"], [])) or "unclassified"} for r in rows]


def fetch_accounting(engine: Engine, run_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """URLs of the run by fetch outcome, and quarantined pages by reason."""
    f, q = t.fetch, t.quarantine
    with engine.connect() as conn:
        outcomes = conn.execute(
            select(f.c.outcome, func.count()).where(f.c.run_id == run_id).group_by(f.c.outcome).order_by(f.c.outcome)
        ).all()
        reasons = conn.execute(
            select(q.c.reason, func.count()).where(q.c.run_id == run_id).group_by(q.c.reason).order_by(q.c.reason)
        ).all()
    return dict(outcomes), dict(reasons)
