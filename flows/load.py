"""Load a CleanBatch into the warehouse: one transaction, upserts, idempotent, with history.

Dimensions (`hub`, `paper`) are upserted on their keys. Loading what the warehouse already holds changes
only the bookkeeping (`last_seen_run`, `run_id`); the result counts rows whose content was inserted,
updated or left unchanged. A hub whose fetch was incomplete or quarantined keeps its last good values.

Edges keep history (`flows.history`): `citation` holds each edge's current values and its current spell
(`valid_from_run`, `valid_to_run` NULL = current); `citation_version` holds one row per spell of values, so
a relabel closes a row and opens another. An edge is retired only when its hub was fetched completely in
this run (`CleanBatch.complete`); an incomplete hub adds the new edges it showed and retires nothing. A hub
whose JSON twin answered 304 (`CleanBatch.unchanged`) is carried forward: its last snapshot and facet
counts are copied to this run and its current edges get `last_seen_run` = this run.
Per-run tables (`hub_snapshot`, `hub_facet_count`, `fetch`, `quarantine`, `paper_merge`) are replaced
for the run, so loading one run twice leaves one copy.

Publishing is one transaction: the publish guard (`flows.guard`, hook `guard`) runs first and may refuse
the run (nothing written), and the marts are rebuilt last on the same connection (hook `then`, e.g.
`materialize_marts`), so a process killed at any moment leaves the warehouse as before the run or as after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, text

from flows.clean import CleanBatch
from flows.history import carry_forward, load_citations
from schema import bulk
from schema.bulk import chunks as _chunks
from schema.tables import fetch, hub, hub_facet_count, hub_snapshot, paper, paper_merge, quarantine
from warehouse.materialize import MARTS, MARTS_DIR
from warehouse.sqlfiles import statements

KEY_CHUNK = 500  # keys per IN (...) when reading what exists (SQLite caps bound parameters)
BOOKKEEPING = ("first_seen_run", "last_seen_run", "run_id")


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
    # the publish guard's verdict (flows.guard), when the load ran with one
    guard: dict[str, Any] = field(default_factory=dict)

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
        }


def load(engine: Engine, run_id: str, batch: CleanBatch, guard=None, then=None) -> LoadResult:
    """Load `batch` as the output of run `run_id` (which must exist in `run`).

    `guard(conn, batch)` runs first in the transaction (raising rolls everything back; its dict return is
    kept in `LoadResult.guard`); `then(conn)` runs last, before the commit."""
    result = LoadResult(run_id)
    with engine.begin() as conn:
        if guard is not None:
            result.guard = guard(conn, batch)
        upsert = _Upserter(conn, run_id)
        good = {uuid for uuid, complete in batch.complete.items() if complete}
        result.tables["hub"] = upsert.rows(hub, batch.hubs, full=lambda r: r["hub_uuid"] in good)
        result.tables["paper"] = upsert.rows(paper, batch.papers, full=lambda r: True)
        counts, result.history = load_citations(conn, run_id, batch, good)
        result.tables["citation"] = TableCounts(**counts)
        snapshots, facet_counts = carry_forward(conn, run_id, batch.unchanged)
        result.history["carried_forward_hubs"] = len(snapshots)
        for table, rows in (
            (hub_snapshot, [*batch.snapshots, *snapshots]),
            (hub_facet_count, [*batch.facet_counts, *facet_counts]),
            (fetch, batch.fetches),
            (quarantine, batch.quarantines),
            (paper_merge, batch.merges),
        ):
            result.run_rows[table.name] = _replace_run_rows(conn, table, run_id, rows)
        if then is not None:
            then(conn)
    return result


def materialize_marts(conn: Connection, run_id: str) -> None:
    """`warehouse.materialize` on the load's connection: the marts commit together with the load."""
    for table in MARTS:
        for sql in statements(MARTS_DIR / f"{table.name}.sql"):
            conn.execute(text(sql), {"run_id": run_id} if ":run_id" in sql else {})


class _Upserter:
    def __init__(self, conn: Connection, run_id: str) -> None:
        self.conn = conn
        self.run_id = run_id

    def rows(self, table: Table, rows: Sequence[dict[str, Any]], full) -> TableCounts:
        """Upsert `rows`; those for which `full(row)` is false only touch `last_seen_run` when they exist."""
        key_cols = [c.name for c in table.primary_key.columns]
        content_cols = [c.name for c in table.columns if c.name not in key_cols and c.name not in BOOKKEEPING]
        existing = self._existing(table, key_cols, content_cols, rows)
        counts = TableCounts()
        full_rows, touch_rows = [], []
        bookkeeping = {"first_seen_run": self.run_id, "last_seen_run": self.run_id, "run_id": self.run_id}
        for row in sorted(rows, key=lambda r: tuple(r[k] for k in key_cols)):
            key = tuple(row[k] for k in key_cols)
            before = existing.get(key)
            is_full = full(row)
            if before is None:
                counts.inserted += 1
            elif is_full and before != tuple(row[c] for c in content_cols):
                counts.updated += 1
            else:
                counts.unchanged += 1
            (full_rows if is_full else touch_rows).append({**row, **bookkeeping})
        self._execute(table, key_cols, full_rows, update_cols=content_cols + ["last_seen_run", "run_id"])
        self._execute(table, key_cols, touch_rows, update_cols=["last_seen_run"])
        return counts

    def _execute(self, table: Table, key_cols: list[str], rows: list[dict], update_cols: list[str]) -> None:
        if not rows:
            return
        bulk.upsert_rows(self.conn, table, key_cols, rows, update_cols)

    def _existing(self, table: Table, key_cols: list[str], content_cols: list[str],
                  rows: Sequence[dict]) -> dict[tuple, tuple]:
        """Content of the rows already stored under the batch's keys, by key."""
        lead = key_cols[0]
        leads = sorted({row[lead] for row in rows})
        columns = [table.c[k] for k in key_cols] + [table.c[c] for c in content_cols]
        found: dict[tuple, tuple] = {}
        nkeys = len(key_cols)
        # Read by the leading key column only (hubs of citations): few statements, and every
        # backend understands a plain IN list.
        for chunk in _chunks(leads, KEY_CHUNK):
            for rec in self.conn.execute(select(*columns).where(table.c[lead].in_(chunk))):
                found[tuple(rec[:nkeys])] = tuple(rec[nkeys:])
        return found


def _replace_run_rows(conn: Connection, table: Table, run_id: str, rows: Sequence[dict]) -> int:
    conn.execute(delete(table).where(table.c.run_id == run_id))
    key_cols = [c.name for c in table.primary_key.columns]
    ordered = sorted(({**row, "run_id": run_id} for row in rows), key=lambda r: tuple(r[k] for k in key_cols))
    bulk.insert_rows(conn, table, ordered)
    return len(ordered)

