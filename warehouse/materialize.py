"""Materialize the published summary tables (marts) from the core tables, atomically.

Each mart has a full build, its SQL file in warehouse/marts (`<mart>.sql`: delete, then insert ... select),
and may have an incremental one (`<mart>.changed.sql`) that recomputes only the rows the run can have
changed: delete + insert for the keys named in session-local scratch tables (`_mart_*`) that
`warehouse/marts/_run_hubs.sql` and `_changed_keys.sql` fill once per run, before any mart is touched. A
mart without an incremental file runs its full file on every run. All marts are built in the caller's transaction: readers
see the previous build until the commit (SQLite WAL snapshot, PostgreSQL MVCC), whether the run rebuilt a
mart or changed a few of its rows.

The first build of a warehouse (its `citation_current` empty) is a full one: every key would be "changed".
The full files stay the reference: after any run the incrementally maintained marts equal a full rebuild
row for row except the `run_id` bookkeeping column, which names the run that last (re)computed the row
(tests/warehouse/test_mart_increments.py; `warehouse.rebuild` compares and reports drift).

What a run can change, and so what the scratch tables hold (a load writes only from the run's staged
items, `stg_item`, so every hub whose edges, figures or listed papers moved has a staged hub page):
- `_mart_run_hub`: hubs with a hub page staged in the run (`_run_hubs.sql`; a page a redirect led to another
  hub's page is that hub's);
- `_mart_edge`: their edges with a version opened or closed by the run (new, reopened, relabelled,
  retired): `citation_current` rows;
- `_mart_paper`: papers of those hubs' current edges and of the edges the run retired: the papers whose
  row the run wrote (title, category, date, `last_seen_run`), whose current edges changed, or that cite a
  hub whose row (tier) the run rewrote: `paper_current` rows (and, for `paper_reach`, the papers whose
  title, category or date the run can have changed);
- `_mart_moved`: of those, papers published in `paper_current` whose category or date changed;
- `_mart_hub`: hubs with a changed edge, and hubs citing a moved paper: `hub_role_mix`, `hub_polarity_mix`
  and `category_flow` rows, whole hubs (a hub's shares depend on all its rows);
- `_mart_flow_key`: the (category, hub) pairs of those hubs in `category_flow` before and after the run
  (before: from the published `citation_current` and `paper_current`, not yet refreshed), so the delete
  goes by primary key;
- `_mart_asked_hub`: every hub a staged item of the run names (a 304 twin too) and the redirected pages'
  hubs: the hubs whose row the load wrote, at least its `last_seen_run`: `hub_summary` rows (those with no
  page, twin or spell of the run get their bookkeeping columns updated in place, the others recomputed).

`hub_growth` and `hub_role_history` add the run's own rows (the figure spells it opened, the role summaries
it began or ended), numbered in the run calendar both share, counted from the small `run` table by index
probes of the spells by run (migration 0015). Earlier rows never change: a run is the newest started (the
run lock, and a replay of crawls older than the history is refused). `change_report` and `coverage` are the
run's own rows by construction; `staleness` (seven buckets over every known hub) is rebuilt.

`paper_reach` goes by delta (a popular paper cites tens of thousands of hubs: recounting the edges of every
paper the run's hubs list cost as much as the warehouse): its new figures are the published ones plus the
run's change, before as published (`citation_current`, `hub_summary`: read while not yet refreshed), after
as the load left `citation` and `hub`:
- `_mart_tier_move`: of `_mart_asked_hub`, the hubs whose super_hub standing the run moved, before
  (`was_super`) and after (`is_super`); `was_super` NULL when no published row holds the tier before (a hub
  with published edges, never complete before, that the run fetched completely: the load rewrote its row);
- `_mart_reach_edge`: `_mart_edge` and every edge, published or current, of the hubs that moved;
- `_mart_reach_full`: papers with a published edge to a hub of unknown tier before: recounted in full;
- `_mart_reach`: the other papers whose row moves, with what to add to their published figures (after minus
  before over `_mart_reach_edge`; zeros when only the paper's title, category or date changed).

The SQL names tables without a schema so it runs on SQLite and on PostgreSQL (where a search_path can
place core and marts in their own schemas; temporary tables come first on it).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TypedDict

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    literal,
    select,
    text,
)

from schema.placement import published_tables
from schema.tables import metadata
from spiders.parse.records import ParseError
from spiders.parse.urls import hub_page_url
from warehouse.sqlfiles import statements

MARTS_DIR = Path(__file__).with_name("marts")
RUN_HUBS = MARTS_DIR / "_run_hubs.sql"
CHANGED_KEYS = MARTS_DIR / "_changed_keys.sql"
# The run's hub pages whose URL does not name the hub their item names: a redirect to another hub's page.
REDIRECTED_PAGES = (
    "SELECT DISTINCT s.url FROM stg_item s WHERE s.run_id = :run_id AND s.kind = 'hub_page' "
    "AND s.hub_uuid IS NOT NULL AND s.url NOT LIKE '%/citations/' || s.hub_uuid || '%'"
)
# Statistics for each scratch table as soon as it is filled, before a later statement joins it (PostgreSQL
# never analyzes temporary tables by itself, and guessed sizes plan hash joins over whole core tables).
ANALYZE_SCRATCH = {
    "_mart_run_hub": "ANALYZE _mart_run_hub",
    "_mart_edge": "ANALYZE _mart_edge",
    "_mart_paper": "ANALYZE _mart_paper",
    "_mart_moved": "ANALYZE _mart_moved",
    "_mart_hub": "ANALYZE _mart_hub",
    "_mart_flow_key": "ANALYZE _mart_flow_key",
    "_mart_asked_hub": "ANALYZE _mart_asked_hub",
    "_mart_tier_move": "ANALYZE _mart_tier_move",
    "_mart_reach_edge": "ANALYZE _mart_reach_edge",
    "_mart_reach_full": "ANALYZE _mart_reach_full",
    "_mart_reach": "ANALYZE _mart_reach",
}
INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


def full_sql(name: str) -> Path:
    return MARTS_DIR / f"{name}.sql"


def changed_sql(name: str) -> Path:
    return MARTS_DIR / f"{name}.changed.sql"


def _build_order() -> tuple[Table, ...]:
    """Every published table with a SQL file in warehouse/marts (discovered from the metadata, layer
    `marts`); a mart whose SQL (full or incremental) reads another mart is built after the marts it reads."""
    tables = [t for t in published_tables(metadata) if full_sql(t.name).exists()]
    names = {t.name for t in tables}

    def sql_of(name: str) -> str:
        files = [full_sql(name)] + ([changed_sql(name)] if changed_sql(name).exists() else [])
        return " ".join(s for f in files for s in statements(f))

    reads = {t.name: {n for n in names - {t.name} if re.search(rf"\b{n}\b", sql_of(t.name))} for t in tables}
    ordered: list[Table] = []
    while tables:
        ready = [t for t in tables if reads[t.name] <= {o.name for o in ordered}]
        if not ready:
            raise RuntimeError(f"marts read each other in a cycle: {sorted(t.name for t in tables)}")
        ordered += ready
        tables = [t for t in tables if t not in ready]
    return tuple(ordered)


MARTS = _build_order()  # change_report keeps earlier runs' rows
# The marts a run maintains incrementally (they have a `<mart>.changed.sql`); the others are rebuilt.
INCREMENTAL = frozenset(t.name for t in MARTS if changed_sql(t.name).exists())


class _TableOptions(TypedDict):
    prefixes: list[str]


def _scratch_tables() -> list[Table]:
    md = MetaData()
    temp: _TableOptions = {"prefixes": ["TEMPORARY"]}
    return [
        Table("_mart_run_hub", md, Column("hub_uuid", Text), PrimaryKeyConstraint("hub_uuid"), **temp),
        Table(
            "_mart_edge",
            md,
            Column("hub_uuid", Text),
            Column("paper_key", Text),
            PrimaryKeyConstraint("hub_uuid", "paper_key"),
            **temp,
        ),
        Table("_mart_paper", md, Column("paper_key", Text), PrimaryKeyConstraint("paper_key"), **temp),
        Table("_mart_moved", md, Column("paper_key", Text), PrimaryKeyConstraint("paper_key"), **temp),
        Table("_mart_hub", md, Column("hub_uuid", Text), PrimaryKeyConstraint("hub_uuid"), **temp),
        Table("_mart_asked_hub", md, Column("hub_uuid", Text), PrimaryKeyConstraint("hub_uuid"), **temp),
        Table(
            "_mart_flow_key",
            md,
            Column("category", Text),
            Column("hub_uuid", Text),
            PrimaryKeyConstraint("category", "hub_uuid"),
            **temp,
        ),
        Table(
            "_mart_tier_move",
            md,
            Column("hub_uuid", Text),
            Column("was_super", Integer),
            Column("is_super", Integer),
            PrimaryKeyConstraint("hub_uuid"),
            **temp,
        ),
        Table(
            "_mart_reach_edge",
            md,
            Column("hub_uuid", Text),
            Column("paper_key", Text),
            PrimaryKeyConstraint("hub_uuid", "paper_key"),
            **temp,
        ),
        Table("_mart_reach_full", md, Column("paper_key", Text), PrimaryKeyConstraint("paper_key"), **temp),
        Table(
            "_mart_reach",
            md,
            Column("paper_key", Text),
            Column("hubs_cited", Integer),
            Column("super_hubs_cited", Integer),
            Column("classified_citations", Integer),
            PrimaryKeyConstraint("paper_key"),
            **temp,
        ),
    ]


def first_build(conn: Connection) -> bool:
    """No mart was built yet (`citation_current` is empty): a full build costs no more than the increments."""
    current = metadata.tables["citation_current"]
    return conn.execute(select(literal(1)).select_from(current).limit(1)).first() is None


def _execute_file(conn: Connection, path: Path, run_id: str) -> None:
    for sql in statements(path):
        conn.execute(text(sql), {"run_id": run_id} if ":run_id" in sql else {})
        filled = INSERT_INTO.match(sql)
        if conn.dialect.name == "postgresql" and filled and filled.group(1) in ANALYZE_SCRATCH:
            conn.execute(text(ANALYZE_SCRATCH[filled.group(1)]))


def build_marts(
    conn: Connection, run_id: str, timings: dict[str, float] | None = None, full: bool | None = None
) -> None:
    """Build every mart for `run_id` on `conn`, in the caller's transaction: incrementally where the mart has
    a `.changed.sql` file, else in full. `full` True rebuilds every mart in full, False keeps increments
    even on a first build; None (the default) builds in full only the first time (`first_build`).
    `timings`, when given, receives each mart's seconds (bench/load_passes.py), and those of filling the
    changed keys (`changed keys`) when the run builds incrementally."""
    if full is None:
        full = first_build(conn)
    scratch: list[Table] = []
    if not full and INCREMENTAL:
        started = time.perf_counter()
        scratch = _scratch_tables()
        for table in scratch:
            table.create(conn)
        _execute_file(conn, RUN_HUBS, run_id)
        if _add_redirected_hubs(conn, scratch[0], run_id) and conn.dialect.name == "postgresql":
            conn.execute(text(ANALYZE_SCRATCH["_mart_run_hub"]))
        _execute_file(conn, CHANGED_KEYS, run_id)
        if timings is not None:
            timings["changed keys"] = time.perf_counter() - started
    for table in MARTS:
        started = time.perf_counter()
        incremental = not full and table.name in INCREMENTAL
        _execute_file(conn, changed_sql(table.name) if incremental else full_sql(table.name), run_id)
        if timings is not None:
            timings[table.name] = time.perf_counter() - started
    for table in scratch:
        table.drop(conn)


def _add_redirected_hubs(conn: Connection, run_hubs: Table, run_id: str) -> int:
    """Add to `_mart_run_hub` the hubs of the run's pages reached by a redirect to another hub's page: the
    load files such a page under the uuid of its own URL, not under the hub its item names. Returns how
    many it added."""
    found: set[str] = set()
    for (url,) in conn.execute(text(REDIRECTED_PAGES), {"run_id": run_id}):
        try:
            found.add(hub_page_url(url)[0])
        except ParseError:
            continue
    if not found:
        return 0
    held = set(conn.execute(select(run_hubs.c.hub_uuid).where(run_hubs.c.hub_uuid.in_(sorted(found)))).scalars())
    if missing := sorted(found - held):
        conn.execute(run_hubs.insert(), [{"hub_uuid": uuid} for uuid in missing])
    return len(missing)


def materialize(engine: Engine, run_id: str) -> dict[str, int]:
    """Rebuild every mart in full for `run_id` in a transaction of its own; returns rows per mart."""
    with engine.begin() as conn:
        build_marts(conn, run_id, full=True)
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one() for table in MARTS}
