"""Load a CleanBatch into the warehouse: one transaction, upserts, idempotent, with history.

Dimensions (`hub`, `paper`) are upserted on their keys. Loading what the warehouse already holds changes
only the bookkeeping (`last_seen_run`, `run_id`); the result counts rows whose content was inserted,
updated or left unchanged. A hub whose fetch was incomplete or quarantined keeps its last good values.

Edges keep history (`warehouse.history`): `citation` holds each edge's current values and its current spell
(`valid_from_run`, `valid_to_run` NULL = current); `citation_version` holds one row per spell of values, so
a relabel closes a row and opens another. An edge is retired only when its hub was fetched completely in
this run (`CleanBatch.complete`); an incomplete hub adds the new edges it showed and retires nothing. A hub
whose JSON twin answered 304 (`CleanBatch.unchanged`) writes nothing. Hub figures and facet counts are spells
too (`hub_version`, `hub_facet_version`): a run writes them only where they changed.
Per-run tables (`fetch`, `quarantine`, `paper_merge`) are replaced for the run, so loading one run twice
leaves one copy.

Every run loads with `load_staged`: it cleans the run's staged items hub batch by hub batch inside one
transaction (memory bounded by a batch, not by the site) and gives the same warehouse as the reference
whole-run load kept as a test oracle (`tests/oracle.py`).

Publishing is one transaction: the publish guard (`warehouse.guard.Gate`, argument `gate`) opens with it,
judges every batch and may refuse the run before the commit (nothing written), and the marts are rebuilt
last on the same connection (hook `then`, e.g. `materialize_marts`), so a process killed at any moment
leaves the warehouse as before the run or as after.
"""

from __future__ import annotations

import gc
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

import orjson
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    RowMapping,
    Select,
    Table,
    Text,
    delete,
    func,
    literal,
    select,
    text,
    tuple_,
)

from schema import bulk
from schema.bulk import chunks as _chunks
from schema.errors import CitehubError
from schema.tables import (
    citation,
    citation_version,
    fetch,
    hub,
    hub_facet_version,
    hub_version,
    paper,
    paper_merge,
    quarantine,
    stg_item,
)
from spiders.parse.items import LINK_KINDS
from warehouse import clean as clean_mod
from warehouse import frontier, lock, plan
from warehouse.checks import CHECKS
from warehouse.history import apply_hub_figures, load_citations
from warehouse.materialize import build_marts

KEY_CHUNK = 500  # keys per IN (...) when reading what exists (SQLite caps bound parameters)
# load_staged works on consecutive hubs at a time, at most this many, and no more staged items (pass 1) or
# edges (pass 3) than below, except a single hub larger than that: memory is bounded by the batch, not by
# the site or its density (a batch of dense hubs holds many more edges than one of sparse hubs).
HUBS_PER_BATCH = 250
ITEMS_PER_BATCH = 1000
EDGES_PER_BATCH = 5000
PAGE = 5000  # scratch rows read at a time
# Statistics the marts' plans need: the columns they join, filter and group on. Sampling the wide text
# columns (titles, summaries, abstracts) too is a large part of ANALYZE's work, and no mart's plan uses them;
# autovacuum analyzes every column after the commit, for analysts' queries.
ANALYZE_COLUMNS = {
    "citation": ("hub_uuid", "paper_key", "role", "polarity", "valid_to_run"),
    "paper": ("paper_key", "category"),
    "hub": ("hub_uuid", "tier"),
    "citation_version": ("hub_uuid", "paper_key", "valid_from_run", "valid_to_run"),
    "hub_version": ("hub_uuid", "valid_from_run", "valid_to_run"),
    "hub_facet_version": ("hub_uuid", "facet", "valid_from_run", "valid_to_run"),
    '"fetch"': ("run_id", "hub_uuid", "outcome"),
    "run": ("run_id", "started_at"),
}
ANALYZE = "ANALYZE " + ", ".join(f"{t} ({', '.join(cols)})" for t, cols in ANALYZE_COLUMNS.items())
MART_WORK_MEM = "64MB"  # per sort or hash of the marts' statements (materialize_marts), PostgreSQL only
# The load's scratch tables analyzed once filled (`_StagedRun.analyze`): after pass 1, and the fuzzy blocks.
ANALYZE_PASS1_SCRATCH = "ANALYZE _clean_hub, _clean_citation, _clean_paper"
ANALYZE_FUZZY_SCRATCH = "ANALYZE _clean_fuzzy"
BOOKKEEPING = ("first_seen_run", "last_seen_run", "run_id")


# The warehouse checks that stand in for citation's foreign keys (migration 0006); the load runs them in its
# transaction and refuses to commit when either finds a row.
EDGE_REFERENCE_CHECKS = ("citation_hub_exists", "citation_paper_exists")


class DanglingEdges(CitehubError, RuntimeError):
    exit_code = 1

    """The load would commit edges whose hub or paper is not in the warehouse; nothing was written."""


@dataclass
class TableCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class LoadResult:
    run_id: str
    # hub, paper, citation: rows by what happened to their content
    tables: dict[str, TableCounts] = field(default_factory=dict)
    # per-run tables: rows written for the run
    run_rows: dict[str, int] = field(default_factory=dict)
    # edge history: new, reopened, relabelled, retired edges; hubs carried forward (twin answered 304)
    history: dict[str, int] = field(default_factory=dict)
    # the publish guard's verdict (warehouse.guard), when the load ran with one
    guard: dict[str, Any] = field(default_factory=dict)
    # discovery: pages whose links were read, hubs new to the frontier, seen again, refused links
    frontier: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """Rows of hub, paper and citation whose content was inserted or updated."""
        return sum(c.inserted + c.updated for c in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tables": {name: vars(counts) for name, counts in self.tables.items()},
            "run_rows": dict(self.run_rows),
            "history": dict(self.history),
            **({"guard": dict(self.guard)} if self.guard else {}),
            **({"frontier": dict(self.frontier)} if self.frontier.get("pages") else {}),
        }


# The same anti-joins over the edges of the hubs the load read (its scratch `_clean_hub`) but those whose twin
# answered "not modified" (nothing of theirs written but the hub's last_seen_run): the only edges a load writes;
# earlier loads checked the others, and reading every edge each night grew with the warehouse.
EDGE_REFERENCES_OF_RUN = {
    "citation_hub_exists": "SELECT COUNT(*) FROM citation c LEFT JOIN hub h ON h.hub_uuid = c.hub_uuid "
    "WHERE c.hub_uuid IN (SELECT hub_uuid FROM _clean_hub WHERE NOT unchanged) AND h.hub_uuid IS NULL",
    "citation_paper_exists": "SELECT COUNT(*) FROM citation c LEFT JOIN paper p ON p.paper_key = c.paper_key "
    "WHERE c.hub_uuid IN (SELECT hub_uuid FROM _clean_hub WHERE NOT unchanged) AND p.paper_key IS NULL",
}


def check_edge_references(conn: Connection, of_run: bool = False) -> None:
    """Raise `DanglingEdges` (the caller's transaction then rolls back) if an edge names a hub or paper the
    warehouse lacks: citation's foreign keys, checked by one anti-join each instead of a trigger per row; with
    `of_run`, only the edges of the hubs the load's scratch tables hold (`load_staged`, before they drop)."""
    checks = {c.name: c for c in CHECKS["citation"] if c.name in EDGE_REFERENCE_CHECKS}
    found = {
        name: int(conn.execute(text(EDGE_REFERENCES_OF_RUN[name] if of_run else checks[name].sql)).scalar_one())
        for name in EDGE_REFERENCE_CHECKS
    }
    if any(found.values()):
        raise DanglingEdges(
            "refusing to commit the load: "
            + ", ".join(f"{n} edge(s) fail {name} ({checks[name].detail})" for name, n in found.items() if n)
        )


def materialize_marts(conn: Connection, run_id: str, timings: dict[str, float] | None = None) -> None:
    """`warehouse.materialize` on the load's connection: the marts commit together with the load.

    PostgreSQL first refreshes the planner's statistics of the tables the marts read: after a large load
    (the first, or a night that touched most edges) they are stale, and the marts' plans sort and loop
    where they should hash. ANALYZE runs inside the transaction and sees its rows. `timings`, when given,
    receives the seconds of ANALYZE and each mart."""
    if conn.dialect.name == "postgresql":
        started = time.perf_counter()
        # Sort and hash memory for the marts' GROUP BYs and joins over every current edge, for the rest of
        # this transaction, unless the server already allows more: at PostgreSQL's default 4 MB,
        # category_flow's sort of every current edge spills to disk once the site is large.
        conn.execute(
            text(
                "SELECT set_config('work_mem', :mem, true) "
                "WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes(:mem)"
            ),
            {"mem": MART_WORK_MEM},
        )
        conn.execute(text(ANALYZE))
        if timings is not None:
            timings["ANALYZE"] = time.perf_counter() - started
    build_marts(conn, run_id, timings)


# Tables whose emptiness a load checks before it writes (`empty_tables`).
FRESH_CHECKED = (hub, paper, citation, citation_version)


def empty_tables(conn: Connection, tables: Iterable[Table]) -> frozenset[str]:
    """The names of `tables` that hold no row, checked when a load begins, before it writes.

    A load writes each hub, paper and edge key in exactly one batch, so a table empty when the load began
    holds no row for any batch's keys, and the reads of "what is stored under these keys" can be skipped.
    That is more than the reads' own cost on PostgreSQL: a table filled inside the load's transaction has no
    statistics until after the commit, and the planner took an IN list of a batch's 250 hubs for most of
    the table and scanned all of it, batch after batch: a first load (or a backfill into a new warehouse)
    grew with the square of the site (EXPLAIN: Seq Scan, Rows Removed by Filter: every earlier batch)."""
    return frozenset(t.name for t in tables if conn.execute(select(literal(1)).select_from(t).limit(1)).first() is None)


class Upserter:
    def __init__(self, conn: Connection, run_id: str, fresh: frozenset[str] = frozenset()) -> None:
        self.conn = conn
        self.run_id = run_id
        self.fresh = fresh  # tables empty when the load began (`empty_tables`): nothing to read back

    def rows(self, table: Table, rows: Sequence[dict[str, Any]], full: Callable[[dict[str, Any]], bool]) -> TableCounts:
        """Upsert `rows`; those for which `full(row)` is false only touch `last_seen_run` when they exist."""
        key_cols = [c.name for c in table.primary_key.columns]
        content_cols = [c.name for c in table.columns if c.name not in key_cols and c.name not in BOOKKEEPING]
        existing = self._existing(table, key_cols, content_cols, rows)
        counts = TableCounts()
        new_rows: list[dict[str, Any]] = []
        full_rows: list[dict[str, Any]] = []
        touch_rows: list[dict[str, Any]] = []
        bookkeeping = {"first_seen_run": self.run_id, "last_seen_run": self.run_id, "run_id": self.run_id}
        for row in sorted(rows, key=lambda r: tuple(r[k] for k in key_cols)):
            key = tuple(row[k] for k in key_cols)
            before = existing.get(key)
            is_full = full(row)
            if before is None:
                counts.inserted += 1
                new_rows.append({**row, **bookkeeping})
                continue
            if is_full and before != tuple(row[c] for c in content_cols):
                counts.updated += 1
            else:
                counts.unchanged += 1
            (full_rows if is_full else touch_rows).append({**row, **bookkeeping})
        # Rows the warehouse lacks are plain inserts (COPY straight into the table on PostgreSQL, no merge);
        # the run holds the single-flight lock, so no other writer adds them meanwhile.
        bulk.insert_rows(self.conn, table, new_rows)
        self._execute(table, key_cols, full_rows, update_cols=content_cols + ["last_seen_run", "run_id"])
        self._execute(table, key_cols, touch_rows, update_cols=["last_seen_run"])
        return counts

    def _execute(self, table: Table, key_cols: list[str], rows: list[dict[str, Any]], update_cols: list[str]) -> None:
        if not rows:
            return
        bulk.upsert_rows(self.conn, table, key_cols, rows, update_cols)

    def _existing(
        self, table: Table, key_cols: list[str], content_cols: list[str], rows: Sequence[Mapping[str, Any]]
    ) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        """Content of the rows already stored under the batch's keys, by key."""
        if table.name in self.fresh:
            return {}
        lead = key_cols[0]
        leads = sorted({row[lead] for row in rows})
        columns = [table.c[k] for k in key_cols] + [table.c[c] for c in content_cols]
        found: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        nkeys = len(key_cols)
        # Read by the leading key column only (hubs of citations): few statements, and every
        # backend understands a plain IN list.
        for chunk in _chunks(leads, KEY_CHUNK):
            for rec in self.conn.execute(select(*columns).where(table.c[lead].in_(chunk))):
                found[tuple(rec[:nkeys])] = tuple(rec[nkeys:])
        return found


def replace_run_rows(conn: Connection, table: Table, run_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    conn.execute(delete(table).where(table.c.run_id == run_id))
    key_cols = [c.name for c in table.primary_key.columns]
    ordered = sorted(({**row, "run_id": run_id} for row in rows), key=lambda r: tuple(r[k] for k in key_cols))
    bulk.insert_rows(conn, table, ordered)
    return len(ordered)


# --- the run's staged items, hub batch by hub batch --------------------------------------------------------


class LoadGate(Protocol):
    """What `load_staged` asks of its `gate` (`warehouse.guard.Gate`): `start` when the transaction opens,
    `add` per hub batch before its edges are written, `finish` before the commit (it may raise to refuse the
    run); `finish` returns the verdict recorded as `LoadResult.guard`."""

    def start(self, conn: Connection) -> None: ...

    def add(self, complete: Sequence[str], citations: Iterable[dict[str, Any]]) -> None: ...

    def figures(self, hubs: Sequence[Mapping[str, Any]], complete: set[str]) -> None: ...

    def finish(self) -> dict[str, Any]: ...


# `load_staged`'s `then`: runs on the load's connection last, before the commit; what it returns is ignored.
AfterLoad = Callable[[Connection], object]


class _TableOptions(TypedDict):
    prefixes: list[str]


def load_staged(
    engine: Engine,
    run_id: str,
    gate: LoadGate | None = None,
    then: AfterLoad | None = None,
    hubs_per_batch: int = HUBS_PER_BATCH,
) -> LoadResult:
    """Clean and load the items staged for `run_id` (`warehouse.stage`) in one transaction, up to
    `hubs_per_batch` hubs at a time (fewer when their items or edges are many: ITEMS_PER_BATCH,
    EDGES_PER_BATCH), so memory does not grow with the site.

    What one hub's items decide (its hub row, snapshot, facets, fetches, quarantines, completeness, drift)
    is cleaned and written batch by batch. Papers are shared between hubs: each batch writes its papers'
    best values per listing rank and its edges (before the fuzzy merge) into session-local scratch tables;
    once every hub is read, the papers are merged from there (best value per field over all batches, then
    the fuzzy merge by blocks read in order), and the edges are loaded hub batch by hub batch with their
    history. The result is the same as the test oracle's whole-run `load(engine, run_id, clean(items))`.

    `gate` (`warehouse.guard.Gate`) counts the warehouse's current edges when the transaction opens, judges
    each batch's edges before they are written and may refuse the run before the commit (everything rolls
    back); `then(conn)` runs last, before the commit (e.g. `materialize_marts`)."""
    result = LoadResult(run_id)
    with _no_cyclic_gc(), engine.begin() as conn:
        lock.fence(conn, run_id)  # the run still holds the warehouse, or it writes nothing
        if gate is not None:
            gate.start(conn)
        run = _StagedRun(conn, run_id, result, hubs_per_batch)
        run.hubs(gate)
        run.analyze(ANALYZE_PASS1_SCRATCH)
        merge_into = run.papers()
        run.citations(merge_into, gate)
        result.frontier = frontier.record_links(conn, run_id).as_dict()
        plan.observe(conn, run_id, run.t["hub"])  # what the revisit plan learns from this run's fetches
        check_edge_references(conn, of_run=True)
        run.drop()
        if gate is not None:
            result.guard = gate.finish()
        if then is not None:
            then(conn)
    return result


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a run loads: decoding and cleaning a batch allocates millions
    of containers, and each collection of the oldest generation walked every one of them, over and over as
    the load went on. The batches' objects are freed by reference counting as each batch is dropped; what
    cycles there are (SQLAlchemy's) are collected from the youngest generation after each batch, which walks
    only what the batch left alive. The collector is back on, as it was, when the load ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _scratch_tables() -> dict[str, Table]:
    md = MetaData()
    temp: _TableOptions = {"prefixes": ["TEMPORARY"]}
    return {
        "hub": Table(
            "_clean_hub",
            md,
            Column("hub_uuid", Text),
            Column("complete", Boolean),
            Column("unchanged", Boolean),
            Column("drifted", Boolean),
            PrimaryKeyConstraint("hub_uuid"),
            **temp,
        ),
        "citation": Table(
            "_clean_citation",
            md,
            Column("hub_uuid", Text),
            Column("paper_key", Text),
            Column("verdict", Text),
            Column("novelty", Float),
            Column("refs", Integer),
            Column("roles", Text),
            Column("polarities", Text),
            Column("representative", Boolean),
            Column("explorer", Boolean),
            Column("drifted", Boolean),
            PrimaryKeyConstraint("hub_uuid", "paper_key"),
            **temp,
        ),
        "paper": Table(
            "_clean_paper",
            md,
            Column("paper_key", Text),
            Column("obs", Integer),
            Column("rank", Text),
            *(Column(f, Text) for f in clean_mod.PAPER_FIELDS),
            PrimaryKeyConstraint("paper_key", "obs"),
            **temp,
        ),
        "fuzzy": Table(
            "_clean_fuzzy",
            md,
            Column("year", Text),
            Column("token", Text),
            Column("paper_key", Text),
            Column("folded", Text),
            PrimaryKeyConstraint("year", "token", "paper_key"),
            **temp,
        ),
    }


class _StagedRun:
    def __init__(self, conn: Connection, run_id: str, result: LoadResult, hubs_per_batch: int) -> None:
        self.conn, self.run_id, self.result, self.size = conn, run_id, result, hubs_per_batch
        self.fresh = empty_tables(conn, FRESH_CHECKED)
        self.upsert = Upserter(conn, run_id, self.fresh)
        self.t = _scratch_tables()
        for table in self.t.values():
            table.create(conn)
        self.obs = 0
        self.drifted = 0
        result.tables = {"hub": TableCounts(), "paper": TableCounts(), "citation": TableCounts()}
        result.history = {"new": 0, "reopened": 0, "relabelled": 0, "retired": 0, "hub_spells": 0}
        result.run_rows = {t.name: 0 for t in (hub_version, hub_facet_version, fetch, quarantine, paper_merge)}
        for table in (fetch, quarantine, paper_merge):
            conn.execute(delete(table).where(table.c.run_id == run_id))

    def drop(self) -> None:
        for table in self.t.values():
            table.drop(self.conn)

    def analyze(self, statement: str) -> None:
        """Statistics for the scratch tables just filled (PostgreSQL; SQLite's planner needs none here).

        PostgreSQL never analyzes temporary tables by itself (autovacuum skips them): without statistics the
        paged reads of pass 2 (`_pivot`: the next PAGE distinct paper keys) planned a sequential scan and a
        hash of every remaining row for each page, so the pass grew with the square of the site (EXPLAIN:
        Seq Scan + HashAggregate; after ANALYZE an index-only scan of the next keys)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text(statement))

    # --- pass 1: hubs ---

    def hubs(self, gate: LoadGate | None = None) -> None:
        for items in self._item_groups():
            uuids = sorted({i["hub_uuid"] for i in items if i.get("hub_uuid") is not None})
            known: dict[str, str] = (
                {}
                if hub.name in self.fresh
                else dict(
                    self._read(
                        select(hub.c.hub_uuid, hub.c.template), hub.c.hub_uuid, uuids, hub.c.template.is_not(None)
                    )
                )
            )
            part = clean_mod.clean_hub_batch(items, known)
            del items
            self._write_part(part, gate)
            gc.collect(0)  # the batch's cycles, if any (see _no_cyclic_gc): only what is young is walked

    def _item_groups(self) -> Iterator[list[dict[str, Any]]]:
        """The run's staged items grouped by hub (a batch of hubs a group, items of a hub in file order);
        items naming no hub (paper pages' fetches) come first, in groups of about ITEMS_PER_BATCH."""
        s = stg_item.c
        # links items feed the frontier (warehouse.frontier), not the hubs
        base = select(s.payload).where(s.run_id == self.run_id, s.kind.not_in(LINK_KINDS))
        yield from self._loose_groups()
        sizes = self.conn.execute(
            select(s.hub_uuid, func.count())
            .where(s.run_id == self.run_id, s.hub_uuid.is_not(None), s.kind.not_in(LINK_KINDS))
            .group_by(s.hub_uuid)
            .order_by(s.hub_uuid)
        ).all()
        for first, last in hub_ranges(sizes, self.size, ITEMS_PER_BATCH):
            rows = self.conn.execute(
                base.where(s.hub_uuid >= first, s.hub_uuid <= last).order_by(s.hub_uuid, s.seq)
            ).scalars()
            yield [_decode(p) for p in rows]

    def _loose_groups(self) -> Iterator[list[dict[str, Any]]]:
        """The items naming no hub, streamed by URL (in file order within one) and cut between URLs: the
        latest fetch of a URL wins within its group, and a first crawl's paper pages (hundreds of thousands)
        are never held at once."""
        s = stg_item.c
        stmt = (
            select(s.url, s.payload)
            .where(s.run_id == self.run_id, s.kind.not_in(LINK_KINDS), s.hub_uuid.is_(None))
            .order_by(s.url, s.seq)
            .execution_options(stream_results=True, yield_per=ITEMS_PER_BATCH)
        )
        group: list[dict[str, Any]] = []
        last: str | None = None
        for url, payload in self.conn.execute(stmt):
            if len(group) >= ITEMS_PER_BATCH and url != last:
                yield group
                group = []
            group.append(_decode(payload))
            last = url
        if group:
            yield group

    def _write_part(self, part: clean_mod.HubPart, gate: LoadGate | None = None) -> None:
        batch, result = part.batch, self.result
        good = {uuid for uuid, complete in batch.complete.items() if complete}
        if gate is not None and hub.name not in self.fresh:  # a first load changes no figure it holds
            gate.figures(batch.hubs, good)
        _add(result.tables["hub"], self.upsert.rows(hub, batch.hubs, full=lambda r: r["hub_uuid"] in good))
        spells, facet_spells = apply_hub_figures(self.conn, self.run_id, batch.snapshots, batch.facet_counts)
        result.history["hub_spells"] += spells
        result.run_rows[hub_version.name] += spells
        result.run_rows[hub_facet_version.name] += facet_spells
        for table, rows in (
            (fetch, batch.fetches),
            (quarantine, batch.quarantines),
        ):
            result.run_rows[table.name] += _insert_run_rows(self.conn, table, self.run_id, rows)
        unchanged = set(batch.unchanged)
        self.drifted += len(part.drifted)
        bulk.insert_rows(
            self.conn,
            self.t["hub"],
            [
                {"hub_uuid": u, "complete": c, "unchanged": u in unchanged, "drifted": u in part.drifted}
                for u, c in batch.complete.items()
            ],
        )
        bulk.insert_rows(self.conn, self.t["citation"], part.citations)
        for row in part.papers:
            self.obs += 1
            row["obs"] = self.obs
        bulk.insert_rows(self.conn, self.t["paper"], part.papers)

    # --- pass 2: papers ---

    def papers(self) -> dict[str, str]:
        """Merge the batches' paper observations, fuzzy-merge, upsert `paper`; returns the merge map."""
        fuzzy: list[dict[str, Any]] = []
        title_papers = False
        for key, values in self._pivot():
            title_papers = title_papers or key.startswith("title:")
            for (year, token), folded in clean_mod.fuzzy_blocks(values.get("title"), values.get("date")):
                fuzzy.append({"year": year, "token": token, "paper_key": key, "folded": folded})
            if len(fuzzy) >= PAGE:
                bulk.insert_rows(self.conn, self.t["fuzzy"], fuzzy)
                fuzzy = []
        bulk.insert_rows(self.conn, self.t["fuzzy"], fuzzy)
        self.analyze(ANALYZE_FUZZY_SCRATCH)
        merge_into, merges = self._fuzzy() if title_papers else ({}, [])

        targets = set(merge_into.values())
        held: dict[str, dict[str, Any]] = {}  # papers merged away and their targets, merged at the end
        rows: list[dict[str, Any]] = []
        for key, values in self._pivot():
            if key in merge_into or key in targets:
                held[key] = values
                continue
            rows.append(clean_mod.paper_row(key, values))
            if len(rows) >= PAGE:
                self._write_papers(rows)
                rows = []
        for target in sorted(targets):
            values = dict(held[target])
            for source in sorted(k for k, t in merge_into.items() if t == target):
                for name, value in held[source].items():
                    values.setdefault(name, value)
            rows.append(clean_mod.paper_row(target, values))
        rows = self._listed(rows, merge_into)
        kept_targets = {r["paper_key"] for r in rows} & targets
        self._write_papers(rows, filtered=True)
        kept = [m for m in merges if m["into_key"] in kept_targets]
        self.result.run_rows[paper_merge.name] += _insert_run_rows(self.conn, paper_merge, self.run_id, kept)
        return merge_into

    def _write_papers(self, rows: list[dict[str, Any]], filtered: bool = False) -> None:
        if not filtered:
            rows = self._listed(rows, {})
        _add(self.result.tables["paper"], self.upsert.rows(paper, rows, full=lambda r: True))

    def _listed(self, rows: list[dict[str, Any]], merge_into: dict[str, str]) -> list[dict[str, Any]]:
        """Without the papers that only drifted hubs list (their edges are not loaded)."""
        if not self.drifted or not rows:
            return rows
        sources: dict[str, list[str]] = defaultdict(list)
        for source, target in merge_into.items():
            sources[target].append(source)
        wanted = {row["paper_key"]: [row["paper_key"], *sources.get(row["paper_key"], ())] for row in rows}
        c = self.t["citation"]
        listed = {
            key
            for (key,) in self._read(
                select(c.c.paper_key).distinct(),
                c.c.paper_key,
                sorted({k for keys in wanted.values() for k in keys}),
                c.c.drifted.is_(False),
            )
        }
        return [row for row in rows if any(k in listed for k in wanted[row["paper_key"]])]

    def _pivot(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(paper key, best values over every batch) for each paper, a page of keys at a time."""
        p = self.t["paper"]
        last: str | None = None
        while True:
            stmt = select(p.c.paper_key).distinct()
            if last is not None:
                stmt = stmt.where(p.c.paper_key > last)
            keys = list(self.conn.execute(stmt.order_by(p.c.paper_key).limit(PAGE)).scalars())
            if not keys:
                return
            by_key: dict[str, list[RowMapping]] = defaultdict(list)
            for rec in self.conn.execute(
                select(p).where(p.c.paper_key >= keys[0], p.c.paper_key <= keys[-1]).order_by(p.c.paper_key, p.c.obs)
            ).mappings():
                by_key[rec["paper_key"]].append(rec)
            for key in keys:
                yield key, clean_mod.best_values(by_key[key])
            last = keys[-1]

    def _fuzzy(self) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """`warehouse.clean._fuzzy_merges` over the scratch tables: blocks read in order, one at a time."""
        f = self.t["fuzzy"]
        scored: dict[str, dict[str, float]] = defaultdict(dict)
        years: dict[str, str] = {}
        block: tuple[str, str] | None = None
        members: list[tuple[str, str]] = []
        last: tuple[Any, ...] | None = None
        while True:
            stmt = select(f.c.year, f.c.token, f.c.paper_key, f.c.folded)
            if last is not None:
                stmt = stmt.where(tuple_(f.c.year, f.c.token, f.c.paper_key) > tuple_(*last))
            recs = self.conn.execute(stmt.order_by(f.c.year, f.c.token, f.c.paper_key).limit(PAGE)).all()
            for year, token, key, folded in recs:
                if (year, token) != block:
                    if members:
                        assert block is not None  # members are collected once a block is open
                        clean_mod.score_block(block[0], members, scored, years)
                    block, members = (year, token), []
                members.append((key, folded))
            if len(recs) < PAGE:
                break
            last = tuple(recs[-1][:3])
        if members:
            assert block is not None  # members are collected once a block is open
            clean_mod.score_block(block[0], members, scored, years)
        involved = sorted(set(scored) | {o for others in scored.values() for o in others})
        c = self.t["citation"]
        hubs_of: dict[str, set[str]] = defaultdict(set)
        for key, uuid in self._read(
            select(c.c.paper_key, c.c.hub_uuid), c.c.paper_key, involved, c.c.explorer.is_(True)
        ):
            hubs_of[key].add(uuid)
        return clean_mod.choose_merges(scored, years, lambda key, other: bool(hubs_of[key] & hubs_of[other]))

    # --- pass 3: edges ---

    def citations(self, merge_into: dict[str, str], gate: LoadGate | None) -> None:
        h, c = self.t["hub"], self.t["citation"]
        edges = select(c.c.hub_uuid, func.count().label("n")).group_by(c.c.hub_uuid).subquery()
        sizes = self.conn.execute(
            select(h.c.hub_uuid, func.coalesce(edges.c.n, 0))
            .outerjoin(edges, edges.c.hub_uuid == h.c.hub_uuid)
            .order_by(h.c.hub_uuid)
        ).all()
        for first, last in hub_ranges(sizes, self.size, EDGES_PER_BATCH):
            hubs = (
                self.conn.execute(select(h).where(h.c.hub_uuid >= first, h.c.hub_uuid <= last).order_by(h.c.hub_uuid))
                .mappings()
                .all()
            )
            accs = {
                (r[0], r[1]): clean_mod.staged_citation(r)
                for r in self.conn.execute(
                    select(*(c.c[n] for n in clean_mod.STAGED_CITATION)).where(
                        c.c.hub_uuid >= first, c.c.hub_uuid <= last
                    )
                )
            }
            rows, _ = clean_mod.citation_rows(accs, merge_into)
            drifted = {r["hub_uuid"] for r in hubs if r["drifted"]}
            if drifted:
                rows = [r for r in rows if r["hub_uuid"] not in drifted]
            unchanged = [r["hub_uuid"] for r in hubs if r["unchanged"]]
            good = {r["hub_uuid"] for r in hubs if r["complete"]}
            if gate is not None:
                gate.add(sorted(good - set(unchanged)), rows)
            counts, history = load_citations(self.conn, self.run_id, rows, unchanged, good, fresh=self.fresh)
            _add(self.result.tables["citation"], TableCounts(**counts))
            for name, n in history.items():
                self.result.history[name] += n
            gc.collect(0)

    def _read(
        self,
        stmt: Select[*tuple[Any, ...]],
        column: ColumnElement[Any],
        keys: Sequence[str],
        *where: ColumnElement[bool],
    ) -> Iterator[Row[*tuple[Any, ...]]]:
        for chunk in _chunks(list(keys), KEY_CHUNK):
            yield from self.conn.execute(stmt.where(column.in_(chunk), *where))


def hub_ranges(sizes: Iterable[tuple[str, int]], max_hubs: int, max_rows: int) -> Iterator[tuple[str, str]]:
    """(first, last) hub of each batch, from (hub, rows) in hub order: consecutive hubs, at most `max_hubs`
    of them and, unless one hub alone has more, at most `max_rows` rows."""
    first: str | None = None
    last: str | None = None
    hubs = rows = 0
    for uuid, n in sizes:
        if hubs and (hubs >= max_hubs or rows + n > max_rows):
            assert first is not None and last is not None  # set by the batch's first hub
            yield first, last
            first, hubs, rows = None, 0, 0
        if first is None:
            first = uuid
        last, hubs, rows = uuid, hubs + 1, rows + n
    if hubs:
        assert first is not None and last is not None  # set by the batch's first hub
        yield first, last


def _decode(payload: str) -> dict[str, Any]:
    """A staged item. orjson (installed with Prefect) decodes faster than json; whatever it refuses and
    json reads (NaN, lone surrogates) goes to json, so the result never differs from `warehouse.stage`'s."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def _add(total: TableCounts, counts: TableCounts) -> None:
    total.inserted += counts.inserted
    total.updated += counts.updated
    total.unchanged += counts.unchanged


def _insert_run_rows(conn: Connection, table: Table, run_id: str, rows: Sequence[Mapping[str, Any]]) -> int:
    bulk.insert_rows(conn, table, [{**row, "run_id": run_id} for row in rows])
    return len(rows)
