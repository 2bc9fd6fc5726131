"""The warehouse tables: the one source of truth (SQLAlchemy Core). Alembic migrations are checked against it.

Layers, recorded in each table's `info["layer"]`:
- `core`: run bookkeeping, dimensions (`hub`, `paper`), edges (`citation`), per-run figures;
- `staging`: `stg_item`, the crawl's items as staged for one run;
- `marts`: published summary tables, rebuilt by `warehouse.materialize` at the end of a run.
No table carries a schema name: on PostgreSQL the layers can be put in their own schemas later with a
`schema_translate_map` (Table objects) and a `search_path` (the plain SQL of `warehouse/marts`), while
SQLite keeps everything in one file.

Row bookkeeping on `hub`, `paper`, `citation`: `first_seen_run` / `last_seen_run` are the first and last runs
that observed the row; `run_id` is the last run that wrote its content (for a hub whose fetch was incomplete
it stays at the last good run). `citation.valid_from_run` / `valid_to_run` (NULL = current) bound an edge's current
spell; `citation_version` keeps every spell of values, so relabels and retirements are rows, not overwrites.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)

# Stable constraint names so migrations can address them on every backend (SQLite batch mode needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

RUN_KINDS = ("nightly", "backfill", "reparse")
RUN_STATUSES = ("running", "completed", "failed", "skipped", "blocked", "abandoned", "degraded")
FETCH_OUTCOMES = ("parsed", "not_modified", "quarantined", "failed", "skipped", "deferred")
ITEM_KINDS = ("hub_page", "hub_json", "quarantine", "fetch", "links")


def _run_ref(name: str, comment: str, nullable: bool = False) -> Column:
    return Column(name, Text, ForeignKey("run.run_id"), nullable=nullable, comment=comment)


def _bookkeeping() -> list[Column]:
    return [
        Column("first_seen_run", Text, nullable=False, comment="Run that first observed this row."),
        Column("last_seen_run", Text, nullable=False, comment="Latest run that observed this row."),
        Column(
            "run_id",
            Text,
            nullable=False,
            comment="Latest run that wrote this row's values (an incomplete or quarantined fetch does not).",
        ),
    ]


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# --- core: runs and what they fetched -------------------------------------------------------------------

run = Table(
    "run",
    metadata,
    Column(
        "run_id",
        Text,
        primary_key=True,
        comment="Run identifier: UTC start time and 6 hex digits, e.g. 20261124T030000Z-a1b2c3.",
    ),
    Column("kind", Text, nullable=False, comment="What started the run: nightly, backfill or reparse."),
    Column(
        "status",
        Text,
        nullable=False,
        comment="running, completed, degraded (published, some hubs incomplete), failed, skipped (another run "
        "held the lock), blocked (the publish guard refused an abnormal change) or abandoned (its process died).",
    ),
    Column("started_at", DateTime(timezone=True), nullable=False, comment="When the run started (UTC)."),
    Column("finished_at", DateTime(timezone=True), comment="When the run ended (UTC); NULL while running."),
    Column("params", Text, nullable=False, comment="The run's parameters as JSON text (start URLs, limits, ...)."),
    Column("code_version", Text, nullable=False, comment="citehub version that ran."),
    Column("parser_version", Text, nullable=False, comment="spiders.parse PARSER_VERSION of the run's records."),
    Column("summary", Text, comment="The run's end summary as JSON text: counts, changes, timings."),
    CheckConstraint(f"kind IN ({_in(RUN_KINDS)})", name="kind"),
    CheckConstraint(f"status IN ({_in(RUN_STATUSES)})", name="status"),
    comment="One row per run of the pipeline (nightly refresh, backfill or reparse).",
    info={"layer": "core"},
)

fetch = Table(
    "fetch",
    metadata,
    _run_ref("run_id", "Run that fetched the URL."),
    Column("url", Text, nullable=False, comment="Fetched URL (hub page with its filters and page, or JSON twin)."),
    Column("hub_uuid", Text, comment="Hub the URL belongs to (uuid from the URL path)."),
    Column("status", Integer, comment="HTTP status of the final response; NULL when no response came."),
    Column("fetched_at", DateTime(timezone=True), comment="When the response arrived (UTC)."),
    Column("sha256", Text, comment="Hex SHA-256 of the response body; NULL without a body."),
    Column("bytes", BigInteger, comment="Size of the response body in bytes."),
    Column("warc_file", Text, comment="WARC file of the run holding the response; NULL when not archived."),
    Column("warc_offset", BigInteger, comment="Byte offset of the response record in warc_file."),
    Column(
        "outcome",
        Text,
        nullable=False,
        comment="parsed, not_modified (a 304), quarantined, failed, skipped, or deferred (the twin showed a change "
        "the request budget could not fetch tonight; the hub is left as it was).",
    ),
    Column("error", Text, comment="Error message of a failed fetch; NULL otherwise."),
    Column("etag", Text, comment="ETag response header (a validator for the next run's If-None-Match)."),
    Column(
        "last_modified",
        Text,
        comment="Last-Modified response header (a validator for the next run's If-Modified-Since).",
    ),
    PrimaryKeyConstraint("run_id", "url"),
    CheckConstraint(f"outcome IN ({_in(FETCH_OUTCOMES)})", name="outcome"),
    comment="Every URL a run fetched, with where its response sits in the WARC archive (last attempt per URL).",
    info={"layer": "core"},
)

quarantine = Table(
    "quarantine",
    metadata,
    _run_ref("run_id", "Run whose page did not parse."),
    Column("url", Text, nullable=False, comment="URL of the page that did not parse."),
    Column("hub_uuid", Text, comment="Hub the page belongs to."),
    Column("status", Integer, comment="HTTP status of the response."),
    Column("fetched_at", DateTime(timezone=True), comment="When the response arrived (UTC)."),
    Column("parser_version", Text, comment="Parser version that refused the page."),
    Column(
        "reason", Text, nullable=False, comment="Short machine-readable code from ParseError.reason, e.g. layout_drift."
    ),
    Column("detail", Text, comment="Human-readable detail of the parse failure."),
    PrimaryKeyConstraint("run_id", "url"),
    comment="Pages a run could not parse; their hub keeps its last good data.",
    info={"layer": "core"},
)

# --- core: dimensions and edges -------------------------------------------------------------------------

hub = Table(
    "hub",
    metadata,
    Column("hub_uuid", Text, primary_key=True, comment="Hub identity: the uuid of /citations/<uuid>."),
    Column("title_raw", Text, comment="Title of the cited work as the hub page shows it (may carry PDF artefacts)."),
    Column(
        "title",
        Text,
        comment="Normalized title (NFKC, LaTeX accents, hyphen breaks, trailing date); "
        "NULL for stubs reading 'Title resolution pending'.",
    ),
    Column("abstract_raw", Text, comment="Abstract paragraph under the 'abstract' heading, as shown."),
    Column("abstract", Text, comment="Normalized abstract."),
    Column("tier", Text, comment="Tier word of the page: hub, super_hub, or NULL (stub); JSON twin as fallback."),
    Column(
        "label",
        Text,
        comment="Behaviour label, e.g. Mixed citations, Canonical reference, Tool reference; "
        "NULL on the legacy template. Unknown labels are stored as shown.",
    ),
    Column("template", Text, comment="Page generation: current or legacy."),
    Column("citing_count", Integer, comment="'N Pith papers citing it': declared number of citing papers."),
    Column("classified_count", Integer, comment="Citations with a role: sum of the citation-role summary of the page."),
    Column("headline", Text, comment="Headline sentence under the title (current template)."),
    Column("headline_role", Text, comment="Role named by the headline/stat line, lower case, e.g. background."),
    Column("headline_share", Float, comment="Its share of classified citations in percent (0-100)."),
    Column("external_cited_by_count", Integer, comment="JSON twin hub.state.external_cited_by_count."),
    Column("year", Integer, comment="JSON twin work.year: publication year of the cited work."),
    Column("arxiv_id", Text, comment="JSON twin work.arxiv_id of the cited work."),
    Column("doi", Text, comment="JSON twin work.doi of the cited work."),
    *_bookkeeping(),
    comment="Cited works (hubs): latest good facts of each hub page and its JSON twin.",
    info={"layer": "core"},
)

paper = Table(
    "paper",
    metadata,
    Column(
        "paper_key",
        Text,
        primary_key=True,
        comment="Citing-paper identity: arxiv:<id without version>, else pith:<8-char id>, "
        "else title:<16 hex of the normalized-title fingerprint>.",
    ),
    Column("arxiv_id", Text, comment="arXiv id from the entry's link, version stripped."),
    Column("pith_id", Text, comment="8-char pith short id from a /paper/<id> link."),
    Column("title_raw", Text, nullable=False, comment="Entry title as listed on the hub page."),
    Column("title", Text, comment="Normalized title."),
    Column("category", Text, comment="Primary arXiv category from the entry meta line, e.g. cs.LG."),
    Column("date", Text, comment="Date YYYY-MM-DD from the entry meta line."),
    Column("summary_raw", Text, comment="One-line summary under the entry, as shown; NULL for title-only entries."),
    Column("summary", Text, comment="Normalized summary."),
    *_bookkeeping(),
    comment="Citing papers (Pith papers listed on hub pages), one row per identity across hubs and lists.",
    info={"layer": "core"},
)

citation = Table(
    "citation",
    metadata,
    # No foreign keys: each load checks that every edge's hub and paper exist, once, before it commits
    # (warehouse.load.check_edge_references; on PostgreSQL per-row triggers took most of a load's COPY of edges).
    Column("hub_uuid", Text, primary_key=True, comment="The cited hub."),
    Column("paper_key", Text, primary_key=True, comment="The citing paper."),
    Column(
        "role",
        Text,
        comment="Citation role: the role filter under which the entry is listed (background, method, "
        "baseline, dataset, other, ...); NULL when unclassified.",
    ),
    Column(
        "polarity",
        Text,
        comment="Citation polarity: the polarity filter under which it is listed (background, support, "
        "...); NULL when unclassified.",
    ),
    Column("verdict", Text, comment="Review verdict from the entry meta line, lower case: unverdicted, accept, ..."),
    Column("novelty", Float, comment="Novelty score 0-10 from the meta line; NULL for 'novelty none'."),
    Column("refs", Integer, comment="'k refs' from the meta line: references to the hub in the citing paper."),
    Column(
        "representative",
        Boolean,
        nullable=False,
        comment="True when listed under 'representative citing papers' of the hub.",
    ),
    *_bookkeeping(),
    Column(
        "valid_from_run",
        Text,
        nullable=False,
        comment="Run from which the edge has been current (its latest appearance; earlier spells are in "
        "citation_version).",
    ),
    Column(
        "valid_to_run",
        Text,
        comment="Run that retired the edge (first complete fetch of its hub without it); NULL = current.",
    ),
    # a paper's current edges by key: the marts a run refreshes for the papers it changed (paper_current,
    # paper_reach) read them without a scan of every edge
    Index(
        "ix_citation_current_paper",
        "paper_key",
        sqlite_where=text("valid_to_run IS NULL"),
        postgresql_where=text("valid_to_run IS NULL"),
    ),
    comment="Who cites whom: one edge per (hub, citing paper), whatever list, page or filter showed it; "
    "current labels. Published readers use current edges (valid_to_run IS NULL).",
    info={"layer": "core"},
)


def _run_indexes(table: str, *more: str) -> tuple[Index, Index]:
    """A night reads the versions it opened and those it closed by its run id (change report, marts kept
    incrementally, run calendars), not every version; the closing-run index holds closed versions only."""
    closed = text("valid_to_run IS NOT NULL")
    return (
        Index(f"ix_{table}_from_run", "valid_from_run", *more),
        Index(f"ix_{table}_to_run", "valid_to_run", *more, sqlite_where=closed, postgresql_where=closed),
    )


citation_version = Table(
    "citation_version",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The cited hub."),
    Column("paper_key", Text, nullable=False, comment="The citing paper."),
    Column("valid_from_run", Text, nullable=False, comment="First run that showed the edge with these values."),
    Column(
        "valid_to_run",
        Text,
        comment="Run from which these values no longer hold (relabelled or retired); NULL = current.",
    ),
    Column("role", Text, comment="Citation role in this version; NULL when unclassified."),
    Column("polarity", Text, comment="Citation polarity in this version; NULL when unclassified."),
    Column("verdict", Text, comment="Review verdict in this version, lower case."),
    Column("novelty", Float, comment="Novelty score 0-10 in this version; NULL for 'novelty none'."),
    Column("refs", Integer, comment="'k refs' in this version."),
    Column(
        "representative",
        Boolean,
        nullable=False,
        comment="True when listed under 'representative citing papers' in this version.",
    ),
    PrimaryKeyConstraint("hub_uuid", "paper_key", "valid_from_run"),
    *_run_indexes("citation_version"),
    comment="History of every edge: one row per spell of unchanged values; a relabel or retirement closes "
    "the row (valid_to_run) instead of overwriting it.",
    info={"layer": "core"},
)

# --- core: hub figures as spells ---------------------------------------------------------------------
# A hub's figures are kept the way edges are: one row per spell of unchanged values. A run that shows the
# figures the open spell holds writes nothing; a change closes the open spell (valid_to_run) and opens
# another. An incomplete fetch always opens a spell of its own, so the runs that found a hub incomplete stay
# on record (the change report names them).


def _spell_columns(first: str) -> list[Column]:
    return [
        Column("valid_from_run", Text, nullable=False, comment=f"First run that showed {first}."),
        Column(
            "valid_to_run",
            Text,
            comment="Run from which these values no longer hold (the hub showed others); NULL = current.",
        ),
    ]


hub_version = Table(
    "hub_version",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The hub."),
    *_spell_columns("the hub with these figures"),
    Column("tier", Text, comment="Tier: hub, super_hub, or NULL."),
    Column("label", Text, comment="Behaviour label."),
    Column("template", Text, comment="current or legacy."),
    Column("headline", Text, comment="Headline sentence."),
    Column("headline_role", Text, comment="Role named by the headline."),
    Column("headline_share", Float, comment="Its share in percent (0-100)."),
    Column("citing_count", Integer, comment="Declared citing papers."),
    Column("classified_count", Integer, comment="Sum of the citation-role summary."),
    Column(
        "parsed_count",
        Integer,
        nullable=False,
        comment="Distinct citing papers parsed from the hub's unfiltered explorer pages by valid_from_run.",
    ),
    Column(
        "complete",
        Boolean,
        nullable=False,
        comment="parsed_count = citing_count and no quarantined or failed fetch for the hub in valid_from_run.",
    ),
    PrimaryKeyConstraint("hub_uuid", "valid_from_run"),
    *_run_indexes("hub_version"),
    comment="History of each hub's figures (tier, label, counts, headline, completeness): one row per spell of "
    "unchanged values, written only by runs whose first unfiltered page of the hub showed a change.",
    info={"layer": "core"},
)

hub_facet_version = Table(
    "hub_facet_version",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The hub."),
    Column(
        "facet",
        Text,
        nullable=False,
        comment="Block of the page: fields, years, verdicts, roles, polarities (facet blocks), "
        "role_summary or polarity_summary (hub tools).",
    ),
    Column("value", Text, nullable=False, comment="Facet value as shown, e.g. cs.LG, 2026, CONDITIONAL, background."),
    *_spell_columns("this count"),
    Column("count", Integer, nullable=False, comment="Count shown next to the value."),
    PrimaryKeyConstraint("hub_uuid", "facet", "value", "valid_from_run"),
    *_run_indexes("hub_facet_version", "facet"),
    comment="History of each hub's facet and summary counts (global figures, same on filtered pages): one row "
    "per spell of an unchanged count; a value the page no longer shows closes its spell.",
    info={"layer": "core"},
)

# --- discovery --------------------------------------------------------------------------------------------

frontier = Table(
    "frontier",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="A hub some fetched page links to."),
    _run_ref("first_seen_run", "Run whose crawl first found a link to the hub."),
    Column("first_seen_on", Text, nullable=False, comment="URL of the page that first linked to it."),
    Column("first_seen_at", DateTime(timezone=True), comment="When that page was fetched (UTC)."),
    Column(
        "first_seen_block",
        Text,
        nullable=False,
        comment="Where on that page: co_cited (a 'co-cited works' block), references (a paper's reference "
        "list) or other.",
    ),
    _run_ref("last_seen_run", "Latest run whose crawl found a link to it."),
    Column(
        "tries",
        Integer,
        nullable=False,
        server_default="0",
        comment="Runs that asked for it and did not get it (after MAX_TRIES it is no longer planned).",
    ),
    PrimaryKeyConstraint("hub_uuid"),
    Index("ix_frontier_first_seen_run", "first_seen_run"),  # a run's new hubs (coverage), without a scan
    comment="Every hub a fetched page has linked to, with where and when it was first seen: the crawl's "
    "frontier (a hub of the frontier absent from `hub` was never fetched).",
    info={"layer": "core"},
)

bad_link = Table(
    "bad_link",
    metadata,
    _run_ref("run_id", "Run whose crawl found the link."),
    Column("found_on", Text, nullable=False, comment="URL of the page carrying the link."),
    Column("href", Text, nullable=False, comment="The link as found (at most 500 characters)."),
    Column(
        "reason",
        Text,
        nullable=False,
        comment="Why it is not followed: malformed_uuid, off_site, unsupported_scheme, unparsable, ...",
    ),
    PrimaryKeyConstraint("run_id", "found_on", "href"),
    comment="Links to hubs that were recorded and not followed (never crawled).",
    info={"layer": "core"},
)

hub_change = Table(
    "hub_change",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The hub."),
    Column("checks", Integer, nullable=False, comment="JSON-twin answers compared with an earlier one."),
    Column("changes", Integer, nullable=False, comment="Of those, answers showing the hub changed."),
    Column("observed_days", Float, nullable=False, comment="Days those comparisons spanned, summed."),
    Column("twin_sha256", Text, comment="SHA-256 of the latest JSON twin body received (200)."),
    Column("last_checked_at", DateTime(timezone=True), comment="Start of the latest run whose twin fetch answered."),
    Column("last_complete_at", DateTime(timezone=True), comment="Start of the latest run that fetched it completely."),
    Column(
        "last_complete_run",
        Text,
        comment="Latest run that fetched it completely (every page parsed, or its twin answered 'not modified').",
    ),
    Column("full_requests", Integer, comment="Requests its latest complete fetch with pages cost (twin included)."),
    PrimaryKeyConstraint("hub_uuid"),
    comment="What the crawl has learned of each hub's changes, updated by every load from its own fetches: the "
    "revisit plan's input (warehouse.plan).",
    info={"layer": "core"},
)

paper_page = Table(
    "paper_page",
    metadata,
    Column("paper_ref", Text, nullable=False, comment="arxiv:<id> or pith:<id>: the paper whose page was read."),
    _run_ref("run_id", "Run that first read the page (or found it gone)."),
    Column("status", Integer, nullable=False, comment="HTTP status: 200 (read for its hub links), 404 or 410 (gone)."),
    PrimaryKeyConstraint("paper_ref"),
    comment="Paper pages the crawl has read for discovery: a citing paper listed here is not asked for again; "
    "one not here is, by the next crawl whose hub pages list it (warehouse.frontier).",
    info={"layer": "core"},
)

run_plan = Table(
    "run_plan",
    metadata,
    _run_ref("run_id", "Run the plan was made for."),
    Column("hub_uuid", Text, nullable=False, comment="A hub the run planned to fetch."),
    Column("rank", Integer, nullable=False, comment="Order of the choice (1 first): the crawl asks in this order."),
    Column(
        "reason",
        Text,
        nullable=False,
        comment="Why it was chosen: seed, named, new (a frontier hub never fetched), overdue (past the maximum "
        "staleness), incomplete (known, never fetched completely), likely_changed (its learned change rate), round_robin, or known (an unbudgeted run).",
    ),
    Column("expected_requests", Float, nullable=False, comment="Requests the plan expected the hub to cost."),
    Column("change_rate", Float, comment="Learned chance a day that the hub changes; NULL for a hub never fetched."),
    Column("days_stale", Float, comment="Days since its last complete fetch; NULL for a hub never fetched."),
    PrimaryKeyConstraint("run_id", "hub_uuid"),
    comment="Which hubs each run planned to fetch within its request budget, and why (flows.nightly plans, "
    "warehouse.plan chooses).",
    info={"layer": "core"},
)

paper_merge = Table(
    "paper_merge",
    metadata,
    _run_ref("run_id", "Run whose cleaning decided the merge."),
    Column("from_key", Text, nullable=False, comment="paper_key merged away (a title identity)."),
    Column("into_key", Text, nullable=False, comment="paper_key it was merged into."),
    Column("score", Float, nullable=False, comment="rapidfuzz fuzz.ratio of the casefolded titles (0-100)."),
    Column("reason", Text, nullable=False, comment="Why the guards allowed it, e.g. 'title ratio, same year 2026'."),
    PrimaryKeyConstraint("run_id", "from_key"),
    comment="Fuzzy title merges of citing papers: every merge is recorded.",
    info={"layer": "core"},
)

check_result = Table(
    "check_result",
    metadata,
    _run_ref("run_id", "Run that ran the check."),
    Column("check_name", Text, nullable=False, comment="Name of the quality check, e.g. citation_hub_exists."),
    Column("table_name", Text, nullable=False, comment="Table the check is declared on."),
    Column("passed", Boolean, nullable=False, comment="True when no row failed."),
    Column("failed_rows", Integer, nullable=False, comment="Number of rows breaking the check."),
    Column("detail", Text, comment="What the check asserts."),
    PrimaryKeyConstraint("run_id", "check_name"),
    comment="Quality checks of each run (keys, relationships, ranges, declared vs parsed counts).",
    info={"layer": "core"},
)

# --- staging --------------------------------------------------------------------------------------------

stg_item = Table(
    "stg_item",
    metadata,
    _run_ref("run_id", "Run the item was staged for."),
    Column("seq", Integer, nullable=False, comment="1-based line number in the run's items.jsonl."),
    Column("kind", Text, nullable=False, comment="Item kind: hub_page, hub_json, quarantine, fetch or links."),
    Column("url", Text, comment="URL the item came from."),
    Column("hub_uuid", Text, comment="Hub the item belongs to."),
    Column("payload", Text, nullable=False, comment="The whole item as JSON text."),
    PrimaryKeyConstraint("run_id", "seq"),
    # the load reads a run's items hub batch by hub batch, in file order within a hub (warehouse.load.load_staged)
    Index("ix_stg_item_run_hub", "run_id", "hub_uuid", "seq"),
    # a run's hub pages and twins among all its items (a twin for every hub re-checked): checks, mart keys
    Index("ix_stg_item_run_kind", "run_id", "kind", "hub_uuid"),
    comment="Crawl items staged per run, so crawl and load can be retried apart.",
    info={"layer": "staging"},
)

# --- marts (published) ----------------------------------------------------------------------------------

hub_summary = Table(
    "hub_summary",
    metadata,
    Column("hub_uuid", Text, primary_key=True, comment="The hub."),
    Column("title", Text, comment="Normalized title; NULL for unresolved stubs."),
    Column("tier", Text, comment="Latest tier: hub, super_hub, or NULL."),
    Column("label", Text, comment="Latest behaviour label."),
    Column("citing_count", Integer, comment="Latest declared number of citing papers."),
    Column("classified_count", Integer, comment="Latest number of citations with a role."),
    Column("headline_role", Text, comment="Latest headline role."),
    Column("headline_share", Float, comment="Latest headline share in percent (0-100)."),
    Column("citation_rows", Integer, nullable=False, comment="Citations of the hub held in the warehouse."),
    Column("first_seen_run", Text, nullable=False, comment="Run that first saw the hub."),
    Column("last_seen_run", Text, nullable=False, comment="Latest run that saw the hub."),
    Column(
        "last_complete_run",
        Text,
        comment="Latest run that fetched the hub completely (every page parsed, or its twin answered 'not "
        "modified'): when its figures were last confirmed.",
    ),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    comment="One row per hub with its latest figures.",
    info={"layer": "marts"},
)


def _mix_table(name: str, dimension: str, values: str) -> Table:
    return Table(
        name,
        metadata,
        Column("hub_uuid", Text, nullable=False, comment="The hub."),
        Column(dimension, Text, nullable=False, comment=f"Citation {dimension}: {values}."),
        Column("count", Integer, nullable=False, comment=f"Citations of the hub with this {dimension}."),
        Column(
            "share", Float, nullable=False, comment=f"Percent (0-100) of the hub's citations that have a {dimension}."
        ),
        Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
        PrimaryKeyConstraint("hub_uuid", dimension),
        comment=f"Citation {dimension} mix of each hub, over its classified citations in the warehouse.",
        info={"layer": "marts"},
    )


hub_role_mix = _mix_table("hub_role_mix", "role", "background, method, baseline, dataset, other, ...")
hub_polarity_mix = _mix_table("hub_polarity_mix", "polarity", "background, support, ...")

change_report = Table(
    "change_report",
    metadata,
    Column("run_id", Text, nullable=False, comment="Run whose changes the row reports."),
    Column(
        "change",
        Text,
        nullable=False,
        comment="new (edge appeared), retired (edge gone from a complete fetch), relabelled (a value of a "
        "current edge changed), tier, label (hub figures changed), incomplete (hub fetch failed, "
        "truncated or quarantined: nothing of it retired).",
    ),
    Column("hub_uuid", Text, nullable=False, comment="The hub."),
    Column(
        "subject",
        Text,
        nullable=False,
        comment="paper_key of the citing paper for edge changes; the hub_uuid for hub changes.",
    ),
    Column(
        "field",
        Text,
        nullable=False,
        comment="Changed field: role, polarity, verdict, novelty, refs, representative for relabels; tier or "
        "label for hubs; 'edge' for new and retired edges; 'fetch' for incomplete hubs.",
    ),
    Column("old_value", Text, comment="Value before the run, as text; NULL when absent."),
    Column("new_value", Text, comment="Value after the run, as text; NULL when absent."),
    PrimaryKeyConstraint("run_id", "hub_uuid", "subject", "field"),
    comment="Change report of each run: new, retired and relabelled citations, tier and label changes, "
    "hubs whose fetch was incomplete. Rebuilt for the run at materialize time; earlier runs kept.",
    info={"layer": "marts"},
)

# --- marts (published): growth, flows, reach, and current copies of the edges ---------------------------
# Run ordinals and days make time portable: analysts compare runs and dates with integer arithmetic that
# means the same on SQLite and PostgreSQL (see docs/queries.md).


def _run_time_columns(run_comment: str) -> list[Column]:
    return [
        Column("snapshot_run", Text, nullable=False, comment=run_comment),
        Column(
            "run_seq",
            Integer,
            nullable=False,
            comment="Ordinal of snapshot_run among the runs that changed some hub's figures or role summary, "
            "1 = oldest.",
        ),
        Column("run_date", Text, nullable=False, comment="UTC date of snapshot_run, YYYY-MM-DD."),
        Column(
            "run_day",
            Integer,
            nullable=False,
            comment="UTC date of snapshot_run as days since 1970-01-01 (subtract to get days between runs).",
        ),
        Column(
            "run_kind",
            Text,
            comment="Kind of snapshot_run: nightly, backfill or reparse (a replay re-derives an archived crawl; "
            "runs.replay_of names it).",
        ),
    ]


hub_growth = Table(
    "hub_growth",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The hub."),
    *_run_time_columns("Run that showed the hub with these figures (first of their spell)."),
    Column("tier", Text, comment="Tier shown in that run: hub, super_hub, or NULL (stub)."),
    Column("label", Text, comment="Behaviour label shown in that run."),
    Column("citing_count", Integer, comment="Declared citing papers in that run."),
    Column("classified_count", Integer, comment="Citations with a role in that run."),
    Column("headline_role", Text, comment="Headline role in that run."),
    Column("headline_share", Float, comment="Headline share in percent (0-100) in that run."),
    Column("prev_run", Text, comment="snapshot_run of the hub's previous row; NULL for its first."),
    Column("citing_delta", Integer, comment="citing_count minus the previous row's; NULL for the first row."),
    Column("tier_changed", Boolean, nullable=False, comment="True when the tier differs from the previous row's."),
    Column("label_changed", Boolean, nullable=False, comment="True when the label differs from the previous row's."),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    PrimaryKeyConstraint("hub_uuid", "snapshot_run"),
    comment="Growth of each hub across runs: one row per hub and run that changed its figures (or found it "
    "incomplete), with the change since the hub's previous row.",
    info={"layer": "marts"},
)

hub_role_history = Table(
    "hub_role_history",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The hub."),
    *_run_time_columns("Run that changed the hub's citation-role summary to this."),
    Column("role", Text, nullable=False, comment="Citation role as the role summary shows it."),
    Column("count", Integer, nullable=False, comment="Classified citations with this role in that run."),
    Column(
        "share",
        Float,
        nullable=False,
        comment="Percent (0-100) of the hub's classified citations with this role in that run.",
    ),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    PrimaryKeyConstraint("hub_uuid", "snapshot_run", "role"),
    comment="Role mix of each hub as of each run that changed it, from the page's citation-role summary (the "
    "site's own classified counts): how a hub's use shifts over time.",
    info={"layer": "marts"},
)

category_flow = Table(
    "category_flow",
    metadata,
    Column(
        "category",
        Text,
        nullable=False,
        comment="Primary arXiv category of the citing papers; '(none)' when the entry showed none.",
    ),
    Column("hub_uuid", Text, nullable=False, comment="The cited hub."),
    Column("citations", Integer, nullable=False, comment="Current citations of the hub from this category."),
    Column(
        "share",
        Float,
        nullable=False,
        comment="Percent (0-100) of the hub's current citations that come from this category.",
    ),
    Column(
        "first_cited_date",
        Text,
        comment="Earliest date (YYYY-MM-DD) of a citing paper of this category; NULL when none shows a date.",
    ),
    Column("last_cited_date", Text, comment="Latest date (YYYY-MM-DD) of a citing paper of this category."),
    Column(
        "first_seen_run", Text, nullable=False, comment="Run that first saw a citation of the hub from this category."
    ),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    PrimaryKeyConstraint("category", "hub_uuid"),
    comment="Citing-category flows: which arXiv categories cite which hubs, over current citations.",
    info={"layer": "marts"},
)

paper_reach = Table(
    "paper_reach",
    metadata,
    Column("paper_key", Text, primary_key=True, comment="The citing paper."),
    Column("title", Text, comment="Normalized title of the citing paper."),
    Column("category", Text, comment="Its primary arXiv category."),
    Column("date", Text, comment="Its date, YYYY-MM-DD."),
    Column("hubs_cited", Integer, nullable=False, comment="Hubs the paper currently cites."),
    Column("super_hubs_cited", Integer, nullable=False, comment="Of those, hubs whose latest tier is super_hub."),
    Column("classified_citations", Integer, nullable=False, comment="Of its citations, those with a role."),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    comment="Papers that cite many hubs: one row per citing paper with a current citation.",
    info={"layer": "marts"},
)

paper_current = Table(
    "paper_current",
    metadata,
    Column("paper_key", Text, primary_key=True, comment="Citing-paper identity (arxiv:, pith: or title: key)."),
    Column("arxiv_id", Text, comment="arXiv id without version; NULL when the entry links none."),
    Column("pith_id", Text, comment="8-character pith short id; NULL when the entry links none."),
    Column("title", Text, comment="Normalized title."),
    Column("category", Text, comment="Primary arXiv category."),
    Column("date", Text, comment="Date, YYYY-MM-DD."),
    Column("summary", Text, comment="Normalized one-line summary; NULL for title-only entries."),
    Column("first_seen_run", Text, nullable=False, comment="Run that first saw the paper."),
    Column("last_seen_run", Text, nullable=False, comment="Latest run that saw the paper."),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    comment="Citing papers with at least one current citation: the paper dimension for analysts.",
    info={"layer": "marts"},
)

citation_current = Table(
    "citation_current",
    metadata,
    Column("hub_uuid", Text, nullable=False, comment="The cited hub (hub_summary.hub_uuid)."),
    Column("paper_key", Text, nullable=False, comment="The citing paper (paper_current.paper_key)."),
    Column("role", Text, comment="Citation role; NULL when unclassified."),
    Column("polarity", Text, comment="Citation polarity; NULL when unclassified."),
    Column("verdict", Text, comment="Review verdict of the citing paper, lower case."),
    Column("novelty", Float, comment="Novelty score 0-10; NULL for 'novelty none'."),
    Column("refs", Integer, comment="References to the hub in the citing paper; NULL when not shown."),
    Column("representative", Boolean, nullable=False, comment="True when listed under 'representative citing papers'."),
    Column("valid_from_run", Text, nullable=False, comment="Run from which the edge has been current."),
    Column("first_seen_run", Text, nullable=False, comment="Run that first saw the edge."),
    Column("run_id", Text, nullable=False, comment="Run that last (re)computed this row."),
    PrimaryKeyConstraint("hub_uuid", "paper_key"),
    comment="Current citations (edges not retired): who cites whom, and how.",
    info={"layer": "marts"},
)

# --- marts (published): coverage and freshness of the crawl (issue 16) -----------------------------------

coverage = Table(
    "coverage",
    metadata,
    Column("run_id", Text, primary_key=True, comment="The run the row describes (one row per run that published)."),
    Column("started_at", DateTime(timezone=True), nullable=False, comment="When the run started (UTC)."),
    Column(
        "hubs_known",
        Integer,
        nullable=False,
        comment="Hubs the warehouse knew after the run: hubs fetched at least once plus frontier hubs never fetched.",
    ),
    Column(
        "hubs_fetched",
        Integer,
        nullable=False,
        comment="Of those, hubs fetched completely at least once (every page parsed, or 'not modified').",
    ),
    Column(
        "frontier_unfetched",
        Integer,
        nullable=False,
        comment="Frontier hubs never fetched after the run: linked from a fetched page, not yet crawled.",
    ),
    Column(
        "frontier_oldest_days",
        Float,
        comment="Age in days of the oldest sighting among them, from the start of the run that first saw it to "
        "this run's start; NULL when none is left.",
    ),
    Column(
        "paper_pages",
        Integer,
        nullable=False,
        comment="Paper pages the run fetched (URL path /paper/, /p/ or /ref/arxiv/): where new citing papers "
        "link to hubs.",
    ),
    Column("new_hubs", Integer, nullable=False, comment="Hubs the run's pages linked to for the first time."),
    Column(
        "discovery_rate",
        Float,
        comment="new_hubs per paper page fetched; NULL when the run fetched no paper page.",
    ),
    Column("requests", Integer, nullable=False, comment="URLs the run fetched (its rows in the fetch log)."),
    Column("planned_hubs", Integer, nullable=False, comment="Hubs the run planned to fetch (its run plan)."),
    comment="Coverage of the crawl after each run: hubs known, fetched and still on the frontier, and what "
    "the run fetched and discovered. One row per run that published; earlier runs kept.",
    info={"layer": "marts"},
)

staleness = Table(
    "staleness",
    metadata,
    Column(
        "bucket",
        Text,
        primary_key=True,
        comment="Days since the last complete fetch: 0-1, 1-2, 2-4, 4-7, 7-14, 14+, or never (no complete fetch yet).",
    ),
    Column("bucket_seq", Integer, nullable=False, comment="Order of the bucket, 1 = freshest, 7 = never."),
    Column("min_days", Float, comment="Lower bound of the bucket in days (included); NULL for never."),
    Column("max_days", Float, comment="Upper bound of the bucket in days (excluded); NULL for 14+ and never."),
    Column("hubs", Integer, nullable=False, comment="Known hubs in the bucket."),
    Column(
        "oldest_days",
        Float,
        comment="The most days any hub of the bucket has gone (never: since it was first seen); NULL when the "
        "bucket is empty. The maximum staleness is the largest value outside never.",
    ),
    Column("run_id", Text, nullable=False, comment="The run as of which ages are counted, which built the rows."),
    comment="Freshness of the known hubs as of the latest run: how many hubs were last fetched completely "
    "how many days before it, by bucket, and the oldest of each bucket.",
    info={"layer": "marts"},
)

# Published views (created by migration 0002, history): schema.placement keeps them in `marts` on PostgreSQL,
# where reader roles see them; warehouse.docs lists them.
metadata.info["published_views"] = ("citation_as_of", "hub_as_of", "runs", "run_checks")

MART_TABLES = tuple(t for t in metadata.sorted_tables if t.info["layer"] == "marts")
