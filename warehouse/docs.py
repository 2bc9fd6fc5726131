"""The data dictionary of the published tables and views: docs/warehouse.md and PostgreSQL `COMMENT ON`, from
one source.

Meaning comes from each column's `comment` in schema.tables; where the value comes from on the page (or how
it is derived) and its allowed values come from NOTES below, by column name with per-table overrides.
`description(column)` joins the three; `citehub docs` writes it to docs/warehouse.md and, on PostgreSQL,
into COMMENT ON COLUMN / TABLE / VIEW of the `marts` schema. The published views (the as-of views of
migration 0002) are no Table of schema.tables: their columns are declared here (VIEWS, same shape: a
meaning per column, notes by name) and checked against the views a warehouse migrated to head really has.
A published column, of a table or a view, without a meaning or a source is an error
(tests/warehouse/pg/test_pg_docs.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql
from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, Text, create_engine, inspect

from schema.migrate import upgrade
from schema.placement import MARTS_SCHEMA, execute_pg, published_tables, published_views, schemas_exist
from schema.tables import check_result, citation_version, hub_version, metadata, run

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "warehouse.md"
RUN_ID = "run identifier YYYYMMDDTHHMMSSZ-xxxxxx (UTC start, sortable)"
ROLES = "background, method, baseline, dataset, other (open vocabulary: new roles are stored as shown)"
POLARITIES = "background, support (open vocabulary)"
TIERS = "hub, super_hub, NULL (stub)"
LABELS = (
    "Mixed citations, Canonical reference, Tool reference, Dataset reference, Baseline reference, NULL "
    "(legacy template); unknown labels as shown"
)


@dataclass(frozen=True)
class Note:
    source: str
    values: str = ""


# By column name, for every published table that has the column ...
COMMON: dict[str, Note] = {
    "hub_uuid": Note("uuid in the hub page URL /citations/<uuid>", "lower-case uuid"),
    "paper_key": Note(
        "citing entry's link: /paper/<arXiv id>, /paper/<pith id>, else its normalized title",
        "arxiv:<id without version>, pith:<8 chars>, title:<16 hex>",
    ),
    "run_id": Note(
        "the run that last (re)computed the row: a run recomputes only the rows its changes reach in the marts "
        "it maintains incrementally (hub_summary, citation_current, paper_current, paper_reach, category_flow, "
        "hub_role_mix, hub_polarity_mix, hub_growth, hub_role_history) and every row of staleness; a full "
        "rebuild (weekly, `citehub marts --rebuild`) recomputes every row",
        RUN_ID,
    ),
    "first_seen_run": Note("run bookkeeping: first run that observed it", RUN_ID),
    "last_seen_run": Note("run bookkeeping: latest run that observed it", RUN_ID),
    "valid_from_run": Note("edge history: run that opened the edge's current spell", RUN_ID),
    "snapshot_run": Note("run bookkeeping: the run that fetched the hub page", RUN_ID),
    "prev_run": Note("the hub's previous snapshot run (derived)", RUN_ID + " or NULL"),
    "run_seq": Note("derived: order of snapshot runs by start time", "1, 2, 3, ..."),
    "run_date": Note("derived: UTC date in the run id", "YYYY-MM-DD"),
    "run_day": Note("derived: UTC date in the run id", "integer, days since 1970-01-01"),
    "run_kind": Note("run bookkeeping: what started the run (run.kind)", "nightly, backfill, reparse"),
    "title": Note(
        "hub page title (h1) or entry title link, normalized (NFKC, LaTeX, hyphen breaks, dates)",
        "text; NULL for 'Title resolution pending'",
    ),
    "tier": Note("tier word on the hub page ('hub', 'super hub'); JSON twin hub.state.tier as fallback", TIERS),
    "label": Note("behaviour label after the tier word on the hub page", LABELS),
    "citing_count": Note("'N Pith papers citing it' on the hub page", "integer >= 0"),
    "classified_count": Note("sum of the 'citation-role summary' counts on the hub page", "integer >= 0"),
    "headline_role": Note("role named by the headline sentence / stat line ('Background 62% ...')", ROLES),
    "headline_share": Note("percentage in the headline sentence / stat line", "0-100"),
    "role": Note("the role filter (?role=...) under whose list the citation appears", ROLES + "; NULL"),
    "polarity": Note(
        "the polarity filter (?polarity=...) under whose list the citation appears", POLARITIES + "; NULL"
    ),
    "verdict": Note("third field of the entry meta line, lower-cased", "unverdicted, accept, conditional, reject, ..."),
    "novelty": Note("'novelty N.N' in the entry meta line", "0-10, NULL for 'novelty none'"),
    "refs": Note("'k refs' in the entry meta line", "integer >= 0, NULL when absent"),
    "representative": Note("entry listed under 'representative citing papers'", "true, false"),
    "category": Note("first field of the entry meta line (primary arXiv category)", "cs.LG, stat.ML, hep-th, ..."),
    "date": Note("second field of the entry meta line", "YYYY-MM-DD"),
    "arxiv_id": Note(
        "entry link /paper/<arXiv id>[vN], /p/..., /ref/arxiv/...; version stripped", "2406.01234, hep-th/9901001, NULL"
    ),
    "pith_id": Note("entry link /paper/<8-char pith id>", "8 chars a-z0-9, NULL"),
    "summary": Note("one-line summary under the entry, normalized", "text, NULL for title-only entries"),
    "count": Note("derived: number of rows counted", "integer > 0"),
    "share": Note("derived: percent of the group's total", "0-100"),
}

# Shared by the as-of views (below): the run a row holds "as of".
AS_OF_NOTES = {
    "as_of_run": Note("derived: every run in the warehouse, whatever its status", RUN_ID),
    "as_of_started_at": Note(
        "run bookkeeping: start time of as_of_run (runs are ordered by it)",
        "UTC timestamp (SQLite: text YYYY-MM-DD HH:MM:SS.ffffff)",
    ),
}

# ... and per table where a column means something more specific.
PER_TABLE: dict[str, dict[str, Note]] = {
    "hub_summary": {
        "citation_rows": Note("derived: citations of the hub in the warehouse", "integer >= 0"),
        "first_seen_run": Note("run bookkeeping of the hub", RUN_ID),
        "last_seen_run": Note("run bookkeeping of the hub", RUN_ID),
        "last_complete_run": Note("run bookkeeping: the latest complete fetch of the hub, a 304 included", RUN_ID),
    },
    "hub_role_mix": {
        "count": Note("derived: current citations of the hub listed under this role filter", "integer > 0"),
        "share": Note("derived: count over the hub's classified current citations", "0-100"),
    },
    "hub_polarity_mix": {
        "count": Note("derived: current citations listed under this polarity filter", "integer > 0"),
        "share": Note("derived: count over the hub's citations with a polarity", "0-100"),
    },
    "hub_role_history": {
        "role": Note("role name in the hub page's 'citation-role summary' block", ROLES),
        "count": Note("count next to the role in the 'citation-role summary' block", "integer >= 0"),
        "share": Note("derived: count over the block's total as of that run", "0-100"),
    },
    "hub_growth": {
        "citing_delta": Note(
            "derived: difference of 'N Pith papers citing it' from the previous row of the hub",
            "integer, NULL first time",
        ),
        "tier_changed": Note("derived: tier word differs from the previous row of the hub", "true, false"),
        "label_changed": Note("derived: behaviour label differs from the previous row of the hub", "true, false"),
    },
    "category_flow": {
        "category": Note("first field of the citing entry's meta line", "arXiv category or '(none)'"),
        "citations": Note("derived: current citations of the hub from papers of this category", "integer > 0"),
        "share": Note("derived: citations over the hub's current citations", "0-100"),
        "first_cited_date": Note("derived: earliest meta-line date among those citing papers", "YYYY-MM-DD, NULL"),
        "last_cited_date": Note("derived: latest meta-line date among those citing papers", "YYYY-MM-DD, NULL"),
        "first_seen_run": Note("derived: earliest first_seen_run of those citations", RUN_ID),
    },
    "paper_reach": {
        "hubs_cited": Note("derived: hubs whose explorer lists the paper (current edges)", "integer > 0"),
        "super_hubs_cited": Note("derived: of those, hubs whose latest tier word is 'super hub'", "integer >= 0"),
        "classified_citations": Note("derived: of its citations, those listed under a role filter", "integer >= 0"),
    },
    "change_report": {
        "run_id": Note("the run whose changes are reported", RUN_ID),
        "change": Note(
            "derived by comparing the run with the warehouse before it",
            "new, retired, relabelled, tier, label, incomplete",
        ),
        "subject": Note("paper_key (edge changes) or hub_uuid (hub changes)", "paper_key or uuid"),
        "field": Note(
            "the column that changed",
            "role, polarity, verdict, novelty, refs, representative, tier, label, edge, fetch",
        ),
        "old_value": Note("value before the run, as text", "text, NULL"),
        "new_value": Note("value after the run, as text", "text, NULL"),
    },
    "coverage": {
        "run_id": Note("run bookkeeping: the run whose coverage the row holds", RUN_ID),
        "started_at": Note("run.started_at", "timestamp with time zone"),
        "hubs_known": Note(
            "derived: rows of the hub table plus frontier hubs absent from it, after the run", "integer >= 0"
        ),
        "hubs_fetched": Note(
            "derived: hubs with a complete snapshot in some run up to this one (the rows of hub_summary)",
            "integer >= 0, at most hubs_known",
        ),
        "frontier_unfetched": Note(
            "derived: hubs linked from a fetched page ('co-cited works', a paper's references, ...) never fetched",
            "integer >= 0",
        ),
        "frontier_oldest_days": Note(
            "derived: start of this run minus start of the run that first linked to the oldest of them (run ids)",
            "days >= 0, fractional; NULL when frontier_unfetched is 0",
        ),
        "paper_pages": Note(
            "derived: the run's fetch rows whose URL path starts with /paper/, /p/ or /ref/arxiv/", "integer >= 0"
        ),
        "new_hubs": Note("derived: frontier hubs whose first_seen_run is this run", "integer >= 0"),
        "discovery_rate": Note("derived: new_hubs / paper_pages", "float >= 0; NULL when paper_pages is 0"),
        "requests": Note("derived: the run's rows in the fetch log (last attempt per URL)", "integer >= 0"),
        "planned_hubs": Note("derived: the run's rows in the run plan (0 for a run that planned none)", "integer >= 0"),
    },
    "staleness": {
        "bucket": Note(
            "derived: days between the start of the hub's latest complete fetch and the start of run_id",
            "0-1, 1-2, 2-4, 4-7, 7-14, 14+, never",
        ),
        "bucket_seq": Note("derived: order of the buckets", "1-7"),
        "min_days": Note("the bucket's definition", "0, 1, 2, 4, 7, 14; NULL for never"),
        "max_days": Note("the bucket's definition", "1, 2, 4, 7, 14; NULL for 14+ and never"),
        "hubs": Note(
            "derived: known hubs (hub table and frontier) whose age falls in the bucket; they add up to "
            "coverage.hubs_known of run_id",
            "integer >= 0",
        ),
        "oldest_days": Note(
            "derived: the largest age in the bucket (never: days since the first run that saw the hub)",
            "days >= 0, fractional; NULL for an empty bucket",
        ),
        "run_id": Note("the run that rebuilt the mart: ages are counted as of its start", RUN_ID),
    },
    "citation_as_of": {
        **AS_OF_NOTES,
        "valid_from_run": Note("edge history: run that opened this version of the edge", RUN_ID),
        "valid_to_run": Note(
            "edge history: run that relabelled or retired the edge (a complete fetch of its hub without it)",
            RUN_ID + " later than as_of_run, or NULL (still current)",
        ),
    },
    "hub_as_of": {
        **AS_OF_NOTES,
        "snapshot_run": Note(
            "hub history: the latest run up to as_of_run that changed the hub's figures (opened their spell)", RUN_ID
        ),
        "template": Note("layout of the hub page: the current template or the legacy one", "current, legacy"),
        "headline": Note(
            "headline sentence of the hub page ('Mixed citation behavior. Most common role is ...')",
            "text, NULL when the page shows none",
        ),
        "parsed_count": Note("derived: distinct citing entries on the hub's unfiltered explorer pages", "integer >= 0"),
        "complete": Note(
            "derived: parsed_count = citing_count and no failed, quarantined or refused fetch of the hub",
            "true, false",
        ),
    },
}

SUMMARY = "the run's summary, written when it ends"
PER_TABLE["runs"] = {
    "run_id": Note("run bookkeeping", RUN_ID),
    "kind": Note("run.kind", "nightly, backfill, reparse"),
    "outcome": Note(
        "run.status (warehouse/outcome.py)", "running, completed, degraded, failed, blocked, skipped, abandoned"
    ),
    "started_at": Note("run.started_at", "timestamp with time zone"),
    "finished_at": Note("run.finished_at", "timestamp with time zone, NULL"),
    "replay_of": Note("run.params replay_of", RUN_ID + " or NULL"),
    "parser_version": Note("run.parser_version", "text"),
    "code_version": Note("run.code_version", "text"),
    "requests": Note(SUMMARY, "integer >= 0, NULL"),
    "pages_fetched": Note(SUMMARY, "integer >= 0, NULL"),
    "quarantined": Note(SUMMARY, "integer >= 0, NULL"),
    "failed_fetches": Note(SUMMARY, "integer >= 0, NULL"),
    "incomplete_hubs": Note(SUMMARY + ": its incomplete hubs, counted", "integer >= 0, NULL"),
    "error": Note(SUMMARY, "text, NULL"),
}
PER_TABLE["run_checks"] = {
    "run_id": Note("check_result.run_id", RUN_ID),
    "kind": Note("run.kind", "nightly, backfill, reparse"),
    "started_at": Note("run.started_at", "timestamp with time zone"),
    "check_name": Note("check_result.check_name (warehouse/checks.py)", "text"),
    "table_name": Note("check_result.table_name", "a table name"),
    "passed": Note("check_result.passed", "true, false"),
    "failed_rows": Note("check_result.failed_rows", "integer >= 0"),
    "detail": Note("check_result.detail", "text"),
}

# How the published tables join (documented once, shown under each table).
RELATIONS: dict[str, list[str]] = {
    "hub_summary": [
        "one row per hub fetched completely at least once (a hub never fetched completely is listed only as "
        "`incomplete` in change_report); `hub_uuid` is the key every other hub table joins on"
    ],
    "hub_role_mix": ["`hub_uuid` -> hub_summary; counts sum to the hub's classified current citations"],
    "hub_polarity_mix": ["`hub_uuid` -> hub_summary"],
    "hub_growth": ["`hub_uuid` -> hub_summary; (`hub_uuid`, `prev_run`) -> the previous row of the same hub"],
    "hub_role_history": ["(`hub_uuid`, `snapshot_run`) -> hub_growth"],
    "category_flow": ["`hub_uuid` -> hub_summary; `category` matches paper_current.category ('(none)' = NULL)"],
    "paper_reach": ["`paper_key` -> paper_current; `hubs_cited` = its rows in citation_current"],
    "paper_current": ["`paper_key` is the key citation_current, paper_reach join on"],
    "citation_current": ["`hub_uuid` -> hub_summary, `paper_key` -> paper_current"],
    "change_report": ["`hub_uuid` -> hub_summary; `subject` -> paper_current.paper_key for edge changes"],
    "coverage": [
        "`run_id` -> runs.run_id, change_report.run_id; one row per run that published (a failed or blocked "
        "run that wrote nothing has none)",
        "`hubs_fetched` = the rows of hub_summary as the run left it; staleness of the latest run adds up to its "
        "`hubs_known`",
    ],
    "staleness": [
        "`run_id` -> coverage.run_id of the latest run: `SUM(hubs)` = its hubs_known, `SUM(hubs) WHERE bucket <> "
        "'never'` = its hubs_fetched; `MAX(oldest_days) WHERE bucket <> 'never'` is the maximum staleness",
    ],
    "citation_as_of": [
        "`as_of_run` -> change_report.run_id, hub_growth.snapshot_run; `hub_uuid` -> hub_summary; `paper_key` "
        "-> paper_current (while the paper has a current citation)",
        "`WHERE as_of_run = '<run id>'` gives the edges as they stood after that run; as of the latest run it "
        "holds the edges and labels of citation_current",
    ],
    "runs": [
        "`run_id` -> change_report.run_id, hub_growth.snapshot_run, citation_as_of.as_of_run, run_checks.run_id; "
        "`replay_of` -> the run id of the archived crawl (in the warehouse it was crawled for)",
    ],
    "run_checks": ["`run_id` -> runs"],
    "hub_as_of": [
        "(`hub_uuid`, `snapshot_run`) -> hub_growth; `hub_uuid` -> hub_summary",
        "a snapshot whose fetch was incomplete (`complete` false) counts as the latest too: filter on "
        "`complete` for the figures hub_summary keeps",
    ],
}


# --- published views ------------------------------------------------------------------------------------
# Declared like tables (outside schema.tables' metadata) so that one code path documents both; each column
# takes its type and nullability from the table column the view selects. The views' SQL is in migration 0002.
VIEW_METADATA = MetaData()


def _from(origin: Column, name: str, meaning: str, key: bool = False) -> Column:
    return Column(name, origin.type, nullable=origin.nullable, primary_key=key, comment=meaning)


AS_OF_RUN = "The run as of which the row holds: the state after that run (any run of the warehouse)."
AS_OF_STARTED = "Start time (UTC) of as_of_run; runs are ordered by it, not by run id."

citation_as_of = Table(
    "citation_as_of",
    VIEW_METADATA,
    _from(run.c.run_id, "as_of_run", AS_OF_RUN, key=True),
    _from(run.c.started_at, "as_of_started_at", AS_OF_STARTED),
    _from(citation_version.c.hub_uuid, "hub_uuid", "The cited hub.", key=True),
    _from(citation_version.c.paper_key, "paper_key", "The citing paper.", key=True),
    _from(citation_version.c.role, "role", "Citation role as of the run; NULL when unclassified."),
    _from(citation_version.c.polarity, "polarity", "Citation polarity as of the run; NULL when unclassified."),
    _from(citation_version.c.verdict, "verdict", "Review verdict of the citing paper as of the run, lower case."),
    _from(citation_version.c.novelty, "novelty", "Novelty score 0-10 as of the run; NULL for 'novelty none'."),
    _from(
        citation_version.c.refs, "refs", "References to the hub in the citing paper as of the run; NULL when not shown."
    ),
    _from(
        citation_version.c.representative,
        "representative",
        "True when listed under 'representative citing papers' as of the run.",
    ),
    _from(
        citation_version.c.valid_from_run,
        "valid_from_run",
        "First run that showed the edge with these values (at or before as_of_run).",
    ),
    _from(
        citation_version.c.valid_to_run,
        "valid_to_run",
        "Run that later relabelled or retired the edge (after as_of_run); NULL while these values are current.",
    ),
    comment="Citations as of each run: one row per run and edge current after that run, with the values it "
    "had then (history of citation_current).",
)

hub_as_of = Table(
    "hub_as_of",
    VIEW_METADATA,
    _from(run.c.run_id, "as_of_run", AS_OF_RUN, key=True),
    _from(run.c.started_at, "as_of_started_at", AS_OF_STARTED),
    _from(
        hub_version.c.valid_from_run,
        "snapshot_run",
        "Run that opened the spell of figures holding at as_of_run: the latest run up to as_of_run that showed "
        "the hub with figures other than before (or found it incomplete).",
    ),
    _from(hub_version.c.hub_uuid, "hub_uuid", "The hub.", key=True),
    _from(hub_version.c.tier, "tier", "Tier shown in that snapshot: hub, super_hub, or NULL (stub)."),
    _from(hub_version.c.label, "label", "Behaviour label shown in that snapshot."),
    _from(hub_version.c.template, "template", "Page template of that snapshot: current or legacy."),
    _from(hub_version.c.headline, "headline", "Headline sentence shown in that snapshot."),
    _from(hub_version.c.headline_role, "headline_role", "Role named by the headline in that snapshot."),
    _from(hub_version.c.headline_share, "headline_share", "Headline share in percent (0-100) in that snapshot."),
    _from(hub_version.c.citing_count, "citing_count", "Declared citing papers in that snapshot."),
    _from(hub_version.c.classified_count, "classified_count", "Sum of the citation-role summary in that snapshot."),
    _from(
        hub_version.c.parsed_count,
        "parsed_count",
        "Distinct citing papers parsed from the hub's unfiltered explorer pages in that snapshot's run.",
    ),
    _from(
        hub_version.c.complete,
        "complete",
        "True when that fetch of the hub was complete (parsed_count = citing_count, no failed, quarantined or "
        "refused fetch); an incomplete one retired nothing.",
    ),
    comment="Hubs as of each run: one row per run and hub fetched at or before it, with the figures the hub "
    "had at that run (history of hub_summary).",
)

runs = Table(
    "runs",
    VIEW_METADATA,
    _from(run.c.run_id, "run_id", "The run.", key=True),
    _from(run.c.kind, "kind", "What started the run: nightly, backfill or reparse."),
    _from(
        run.c.status,
        "outcome",
        "running, completed, degraded (published, some hubs incomplete), failed, blocked (the publish guard "
        "refused it), skipped (another run held the lock) or abandoned (its process died).",
    ),
    _from(run.c.started_at, "started_at", "When the run started (UTC); a replay starts at its archived crawl's start."),
    _from(run.c.finished_at, "finished_at", "When the run ended (UTC); NULL while running."),
    Column("replay_of", Text, comment="The archived crawl (run id) a replay re-derives; NULL for a crawl."),
    _from(run.c.parser_version, "parser_version", "Version of the parsers that made the run's records."),
    _from(run.c.code_version, "code_version", "citehub version that ran."),
    Column("requests", Integer, comment="HTTP requests the run made (0 for a replay); NULL until it ends."),
    Column("pages_fetched", Integer, comment="Hub pages parsed; NULL until it ends."),
    Column("quarantined", Integer, comment="Pages quarantined (unreadable, off-template); NULL until it ends."),
    Column("failed_fetches", Integer, comment="URLs that failed after retries; NULL until it ends."),
    Column("incomplete_hubs", Integer, comment="Hubs fetched incompletely (nothing of them retired)."),
    Column("error", Text, comment="First cause of a failed, blocked or abandoned run; NULL otherwise."),
    comment="Every run of the warehouse: kind, outcome, times, the crawl a replay re-derives, and its counts. "
    "Filter on outcome and kind to tell nightlies from replays and good runs from bad.",
)

run_checks = Table(
    "run_checks",
    VIEW_METADATA,
    _from(check_result.c.run_id, "run_id", "Run that ran the check.", key=True),
    _from(run.c.kind, "kind", "What started the run: nightly, backfill or reparse."),
    _from(run.c.started_at, "started_at", "When the run started (UTC)."),
    _from(check_result.c.check_name, "check_name", "Name of the quality check.", key=True),
    _from(check_result.c.table_name, "table_name", "Table the check is declared on."),
    _from(check_result.c.passed, "passed", "True when no row failed."),
    _from(check_result.c.failed_rows, "failed_rows", "Number of rows breaking the check."),
    _from(check_result.c.detail, "detail", "What the check asserts."),
    comment="The quality checks each run ran on what it wrote, and their results.",
)

VIEWS: dict[str, Table] = {t.name: t for t in (citation_as_of, hub_as_of, runs, run_checks)}


def documented_views() -> list[Table]:
    """The declarations of the published views (`schema.placement.published_views`), sorted by name; a
    published view without one is reported by `undocumented`."""
    return [VIEWS[name] for name in sorted(published_views(metadata)) if name in VIEWS]


def view_columns(engine: Engine | None = None) -> dict[str, list[str]]:
    """{view: its columns in order} of every published view as a database really defines it (none when the
    view is absent): `engine`'s, or by default a scratch SQLite warehouse migrated to head (the views' SQL
    lives in the migrations)."""
    if engine is not None:
        inspector = inspect(engine)
        schema = MARTS_SCHEMA if engine.dialect.name == "postgresql" else None
        found = set(inspector.get_view_names(schema=schema))
        return {
            name: [c["name"] for c in inspector.get_columns(name, schema=schema)] if name in found else []
            for name in sorted(published_views(metadata))
        }
    with tempfile.TemporaryDirectory(prefix="citehub-views-") as tmp:
        scratch = create_engine(f"sqlite:///{Path(tmp) / 'views.sqlite'}")
        try:
            upgrade(scratch)
            return view_columns(scratch)
        finally:
            scratch.dispose()


def note(table: Table, column: Column) -> Note | None:
    return PER_TABLE.get(table.name, {}).get(column.name) or COMMON.get(column.name)


def description(table: Table, column: Column) -> str:
    """The text of one published column: meaning. Source: ... Values: ..."""
    found = note(table, column)
    parts = [(column.comment or "").strip()]
    if found:
        parts.append(f"Source: {found.source}.")
        if found.values:
            parts.append(f"Values: {found.values}.")
    return " ".join(p for p in parts if p)


def _described(table: Table, column: Column) -> bool:
    return bool((column.comment or "").strip()) and note(table, column) is not None


def undocumented(tables: list[Table] | None = None, views: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """`relation.column` of every published column lacking a meaning (comment) or a source note: the columns
    of the published `tables`, and every column each published view really has (`views`: view -> its
    columns, by default `view_columns()` of a warehouse at head). A declared view column that the view
    lacks is reported as `view.column (not in the view)`: the page would describe what nobody can select."""
    tables = published_tables(metadata) if tables is None else tables
    views = view_columns() if views is None else views
    missing = [f"{t.name}.{c.name}" for t in tables for c in t.columns if not _described(t, c)]
    for name, columns in views.items():
        declared = VIEWS.get(name)
        if declared is None:
            missing += [f"{name}.{column}" for column in columns]
            continue
        missing += [
            f"{name}.{column}"
            for column in columns
            if column not in declared.c or not _described(declared, declared.c[column])
        ]
        missing += [f"{name}.{c.name} (not in the view)" for c in declared.columns if c.name not in columns]
    return missing


def _type(column: Column) -> str:
    return column.type.compile().lower()


# Where the rows of a published table changed meaning, newest first: readers' queries depend on it.
CHANGES = [
    (
        "2026-12-06",
        "`hub_growth` and `hub_role_history` are maintained incrementally too: a run adds its own rows (the "
        "figure spells it opened, the role summaries it began or ended) and leaves earlier rows as they were, so "
        "their `run_id` is the run that added the row, no longer the latest run. `paper_reach` is updated by "
        "delta: a row whose figures, title, category and date the run left as they were keeps its `run_id`. "
        "Rows and values are those a full rebuild gives.",
    ),
    (
        "2026-12-06",
        "Marts follow the change: `hub_summary`, `citation_current`, `paper_current`, `paper_reach`, "
        "`category_flow`, `hub_role_mix` and `hub_polarity_mix` are maintained incrementally. A run recomputes "
        "only the rows its changes reach (the hubs it asked for; the edges it opened or closed; the papers it "
        "listed or whose edges changed; whole hubs whose edges changed or that a paper with a new category or "
        "date cites) and leaves the others as an "
        "earlier run computed them. Their rows and values are those a full rebuild gives (a weekly full rebuild, "
        "and `citehub marts --rebuild`, check it and report any drift); only `run_id` changes meaning: it is the "
        "run that last (re)computed the row, no longer the latest run (every row used to carry it). The latest "
        "run is in `runs`.",
    ),
    (
        "2026-12-06",
        "A quiet night writes nothing: hub figures are kept as spells, like citations. `hub_growth` has one row "
        "per hub and run that changed its figures (tier, label, counts, headline) or found it incomplete, no "
        "longer one per run that fetched it (a run whose hub answered 'not modified' or showed the same figures "
        "adds none); `citing_delta`, `tier_changed` and `label_changed` compare with the hub's previous row, as "
        "before. `hub_role_history` has rows as of each run that changed the hub's role summary. `run_seq` numbers "
        "the runs that changed some hub's figures or role summary. `hub_as_of` answers every run with the same "
        "figures as before; its `snapshot_run` is now the run that opened the figures' spell (the latest run up to "
        "`as_of_run` that changed them), no longer the latest run that fetched the hub. Existing warehouses are "
        "converted by migration 0013, their history intact. `hub_summary` gains `last_complete_run`, the latest run that "
        "fetched the hub completely (a 'not modified' twin included), which readers used to find in the per-run rows.",
    ),
    (
        "2026-12-07",
        "New published tables `coverage` (one row per run: hubs known, fetched and left on the frontier, paper "
        "pages, new hubs, discovery rate, requests, planned hubs; filled for earlier runs by migration 0012) and "
        "`staleness` (known hubs by days since their last complete fetch, as of the latest run).",
    ),
    (
        "2026-12-06",
        "New published views `runs` (every run: kind, outcome, times, `replay_of`, counts) and `run_checks` "
        "(each run's quality checks); a reader role reads them. `hub_growth` and `hub_role_history` gain "
        "`run_kind` (nightly, backfill or reparse). Run outcomes gain `degraded` (published, some hubs "
        "incomplete); a run whose every fetch was refused is now `failed`, no longer `completed`.",
    ),
    (
        "2026-12-06",
        "The published views `citation_as_of` and `hub_as_of` (history as of each run) are documented here "
        "like the tables, column by column, and on PostgreSQL carry `COMMENT ON VIEW` / `COMMENT ON COLUMN`; "
        "their rows are unchanged.",
    ),
    (
        "2026-12-06",
        "`hub_summary` holds only hubs fetched completely at least once. A hub whose every fetch failed, was "
        "quarantined or was refused by policy used to appear with NULL figures; it is now listed only as "
        "`incomplete` in `change_report`, which also counts refused (`skipped`) fetches now.",
    ),
]


def render() -> str:
    """docs/warehouse.md."""
    tables = published_tables(metadata)
    views = documented_views()
    out = [
        "# citehub warehouse: published tables and views",
        "",
        "Generated by `citehub docs` from `schema/tables.py` and `warehouse/docs.py`; do not edit by hand",
        "(a test fails when this page and the generator disagree).",
        "",
        "Analysts read these tables and views only. On PostgreSQL they live in the schema `marts` (a reader",
        "role's search_path is `marts`, so names need no prefix) and carry the same text as `COMMENT ON`; the",
        "internal tables live in `citehub` and are not readable by reader roles. On SQLite everything is in",
        "one file under the same names; open it read-only with `citehub sql`. Every run brings every mart up",
        "to date in one transaction (recomputing the rows its changes reach, or rebuilding the mart): a reader",
        "sees the previous state until the new one is complete. The views give the",
        "history (the state as of any run) and are computed when read.",
        "Recipes: [queries.md](queries.md).",
        "",
        "| relation | rows |",
        "|---|---|",
        *[f"| [{t.name}](#{t.name}) | {t.comment} |" for t in tables],
        *[f"| [{v.name}](#{v.name}) (view) | {v.comment} |" for v in views],
    ]
    out += ["", "## Changes", ""]
    for day, change in CHANGES:
        out += [f"- {day}: {change}"]
    for t in tables:
        out += _section(t)
    for v in views:
        out += _section(v, "View, computed when read (nothing stored). ")
    return "\n".join(out) + "\n"


def _section(t: Table, kind: str = "") -> list[str]:
    key = ", ".join(c.name for c in t.primary_key.columns)
    out = ["", f"## {t.name}", "", f"{kind}{t.comment or ''}", "", f"Key: ({key}).", ""]
    out += [f"- {r}" for r in RELATIONS.get(t.name, [])]
    out += ["", "| column | type | meaning | source | values |", "|---|---|---|---|---|"]
    for c in t.columns:
        n = note(t, c)
        null = "" if c.nullable else " not null"
        out.append(
            f"| `{c.name}` | {_type(c)}{null} | {c.comment or ''} | {n.source if n else ''} | {n.values if n else ''} |"
        )
    return out


def write(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def apply_comments(engine: Engine) -> int:
    """COMMENT ON every published table, view and column of the `marts` schema with the documented text
    (PostgreSQL; returns the number of comments set, 0 on SQLite). A view's columns are those the database's
    view has (`citehub docs` refuses to run while one of them is undocumented)."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.connect() as conn:
        if not schemas_exist(conn):
            return 0
    in_views = view_columns(engine)
    done = 0
    with engine.begin() as conn:
        for t in published_tables(metadata):
            done += _comment(conn, "TABLE", t, [c.name for c in t.columns])
        for v in documented_views():
            if in_views.get(v.name):
                done += _comment(conn, "VIEW", v, [c for c in in_views[v.name] if c in v.c])
    return done


def _comment(conn: Connection, kind: str, relation: Table, columns: list[str]) -> int:
    """COMMENT ON TABLE / VIEW `relation` and its `columns`; the number of comments set."""
    statement = {"TABLE": "COMMENT ON TABLE {} IS {}", "VIEW": "COMMENT ON VIEW {} IS {}"}[kind]
    execute_pg(
        conn,
        sql.SQL(statement).format(sql.Identifier(MARTS_SCHEMA, relation.name), sql.Literal(relation.comment or "")),
    )
    for name in columns:
        execute_pg(
            conn,
            sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                sql.Identifier(MARTS_SCHEMA, relation.name, name),
                sql.Literal(description(relation, relation.c[name])),
            ),
        )
    return 1 + len(columns)
