"""The data dictionary of the published tables: docs/warehouse.md and PostgreSQL `COMMENT ON`, from one source.

Meaning comes from each column's `comment` in schema.tables; where the value comes from on the page (or how
it is derived) and its allowed values come from NOTES below, by column name with per-table overrides.
`description(column)` joins the three; `citehub docs` writes it to docs/warehouse.md and, on PostgreSQL,
into COMMENT ON COLUMN / TABLE of the `marts` schema. A published column without a meaning or a source is an
error (tests/warehouse/pg/test_pg_docs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from psycopg import sql
from sqlalchemy import Column, Engine, Table

from schema.placement import MARTS_SCHEMA, execute_pg, published_tables, published_views, schemas_exist
from schema.tables import metadata

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
    "run_id": Note("the run that rebuilt the mart", RUN_ID),
    "first_seen_run": Note("run bookkeeping: first run that observed it", RUN_ID),
    "last_seen_run": Note("run bookkeeping: latest run that observed it", RUN_ID),
    "valid_from_run": Note("edge history: run that opened the edge's current spell", RUN_ID),
    "snapshot_run": Note("run bookkeeping: the run that fetched the hub page", RUN_ID),
    "prev_run": Note("the hub's previous snapshot run (derived)", RUN_ID + " or NULL"),
    "run_seq": Note("derived: order of snapshot runs by start time", "1, 2, 3, ..."),
    "run_date": Note("derived: UTC date in the run id", "YYYY-MM-DD"),
    "run_day": Note("derived: UTC date in the run id", "integer, days since 1970-01-01"),
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

# ... and per table where a column means something more specific.
PER_TABLE: dict[str, dict[str, Note]] = {
    "hub_summary": {
        "citation_rows": Note("derived: citations of the hub in the warehouse", "integer >= 0"),
        "first_seen_run": Note("run bookkeeping of the hub", RUN_ID),
        "last_seen_run": Note("run bookkeeping of the hub", RUN_ID),
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
        "share": Note("derived: count over the block's total in that run", "0-100"),
    },
    "hub_growth": {
        "citing_delta": Note(
            "derived: difference of 'N Pith papers citing it' between snapshots", "integer, NULL first time"
        ),
        "tier_changed": Note("derived: tier word differs from the previous snapshot", "true, false"),
        "label_changed": Note("derived: behaviour label differs from the previous snapshot", "true, false"),
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
}


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


def undocumented(tables: list[Table] | None = None) -> list[str]:
    """`table.column` of every published column lacking a meaning (comment) or a source note."""
    tables = published_tables(metadata) if tables is None else tables
    return [
        f"{t.name}.{c.name}" for t in tables for c in t.columns if not (c.comment or "").strip() or note(t, c) is None
    ]


def _type(column: Column) -> str:
    return column.type.compile().lower()


# Where the rows of a published table changed meaning, newest first: readers' queries depend on it.
CHANGES = [
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
    out = [
        "# citehub warehouse: published tables",
        "",
        "Generated by `citehub docs` from `schema/tables.py` and `warehouse/docs.py`; do not edit by hand",
        "(a test fails when this page and the generator disagree).",
        "",
        "Analysts read these tables only. On PostgreSQL they live in the schema `marts` (a reader role's",
        "search_path is `marts`, so names need no prefix) and carry the same text as `COMMENT ON`; the",
        "internal tables live in `citehub` and are not readable by reader roles. On SQLite everything is in",
        "one file under the same names; open it read-only with `citehub sql`. Every run rebuilds all marts in",
        "one transaction: a reader sees the previous build until the new one is complete.",
        "Recipes: [queries.md](queries.md).",
        "",
        "| table | rows |",
        "|---|---|",
        *[f"| [{t.name}](#{t.name}) | {t.comment} |" for t in tables],
    ]
    views = published_views(metadata)
    if views:
        out += ["", "Published views (history, as of a run): " + ", ".join(f"`{v}`" for v in views) + "."]
    out += ["", "## Changes", ""]
    for day, change in CHANGES:
        out += [f"- {day}: {change}"]
    for t in tables:
        key = ", ".join(c.name for c in t.primary_key.columns)
        out += ["", f"## {t.name}", "", t.comment or "", "", f"Key: ({key}).", ""]
        out += [f"- {r}" for r in RELATIONS.get(t.name, [])]
        out += ["", "| column | type | meaning | source | values |", "|---|---|---|---|---|"]
        for c in t.columns:
            n = note(t, c)
            null = "" if c.nullable else " not null"
            out.append(
                f"| `{c.name}` | {_type(c)}{null} | {c.comment or ''} | {n.source if n else ''} | "
                f"{n.values if n else ''} |"
            )
    return "\n".join(out) + "\n"


def write(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


def apply_comments(engine: Engine) -> int:
    """COMMENT ON every published table and column of the `marts` schema with the documented text
    (PostgreSQL; returns the number of comments set, 0 on SQLite)."""
    if engine.dialect.name != "postgresql":
        return 0
    done = 0
    with engine.begin() as conn:
        if not schemas_exist(conn):
            return 0
        for t in published_tables(metadata):
            execute_pg(
                conn,
                sql.SQL("COMMENT ON TABLE {} IS {}").format(
                    sql.Identifier(MARTS_SCHEMA, t.name), sql.Literal(t.comment or "")
                ),
            )
            done += 1
            for c in t.columns:
                execute_pg(
                    conn,
                    sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                        sql.Identifier(MARTS_SCHEMA, t.name, c.name), sql.Literal(description(t, c))
                    ),
                )
                done += 1
    return done
