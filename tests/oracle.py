"""The reference load path, kept as a test oracle.

`load(engine, run_id, clean(items))` cleans a whole run in memory and loads it in one pass; the product's
load (`warehouse.load.load_staged`) cleans and loads hub batch by hub batch from the staging table so that
memory does not grow with the site. Both must leave identical warehouses (tests/warehouse/test_load_paths.py),
and the small tests that build a batch by hand load it through this path. `checker` is the matching guard
hook: the whole run's verdict, judged before anything is written.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Column, Connection, Engine, MetaData, Table, Text

from schema.tables import fetch, hub, hub_facet_version, hub_version, paper, paper_merge, quarantine
from warehouse import plan
from warehouse.clean import CleanBatch
from warehouse.guard import Limits, PublishBlocked, Tally, Verdict
from warehouse.history import apply_hub_figures, load_citations
from warehouse.load import (
    FRESH_CHECKED,
    LoadResult,
    TableCounts,
    Upserter,
    check_edge_references,
    empty_tables,
    replace_run_rows,
)


def load(engine: Engine, run_id: str, batch: CleanBatch, guard=None, then=None) -> LoadResult:
    """Load `batch` as the output of run `run_id` (which must exist in `run`).

    `guard(conn, batch)` runs first in the transaction (raising rolls everything back; its dict return is
    kept in `LoadResult.guard`); `then(conn)` runs last, before the commit."""
    result = LoadResult(run_id)
    with engine.begin() as conn:
        if guard is not None:
            result.guard = guard(conn, batch)
        fresh = empty_tables(conn, FRESH_CHECKED)
        upsert = Upserter(conn, run_id, fresh)
        good = {uuid for uuid, complete in batch.complete.items() if complete}
        result.tables["hub"] = upsert.rows(hub, batch.hubs, full=lambda r: r["hub_uuid"] in good)
        result.tables["paper"] = upsert.rows(paper, batch.papers, full=lambda r: True)
        counts, result.history = load_citations(conn, run_id, batch.citations, batch.unchanged, good, fresh=fresh)
        result.tables["citation"] = TableCounts(**counts)
        spells, facet_spells = apply_hub_figures(conn, run_id, batch.snapshots, batch.facet_counts)
        result.history["hub_spells"] = spells
        result.run_rows[hub_version.name] = spells
        result.run_rows[hub_facet_version.name] = facet_spells
        for table, rows in (
            (fetch, batch.fetches),
            (quarantine, batch.quarantines),
            (paper_merge, batch.merges),
        ):
            result.run_rows[table.name] = replace_run_rows(conn, table, run_id, rows)
        _observe(conn, run_id, batch)
        check_edge_references(conn)
        if then is not None:
            then(conn)
    return result


def _observe(conn: Connection, run_id: str, batch: CleanBatch) -> None:
    """What the revisit plan learns from the run's fetches (`hub_change`), as the product's load does it."""
    hubs = Table(
        "_oracle_hub",
        MetaData(),
        Column("hub_uuid", Text),
        Column("complete", Boolean),
        Column("unchanged", Boolean),
        prefixes=["TEMPORARY"],
    )
    hubs.create(conn)
    unchanged = set(batch.unchanged)
    rows = [{"hub_uuid": u, "complete": c, "unchanged": u in unchanged} for u, c in batch.complete.items()]
    rows += [{"hub_uuid": u, "complete": False, "unchanged": True} for u in unchanged - set(batch.complete)]
    if rows:
        conn.execute(hubs.insert(), rows)
    plan.observe(conn, run_id, hubs)
    hubs.drop(conn)


def assess(conn: Connection, batch: CleanBatch, limits: Limits, override: str | None = None) -> Verdict:
    """What loading `batch` would retire and relabel, against `limits` (reads only)."""
    tally = Tally(conn, limits, override)
    complete = sorted({u for u, ok in batch.complete.items() if ok} - set(batch.unchanged))
    tally.figures(batch.hubs, set(complete))
    tally.add(complete, batch.citations)
    return tally.close()


def checker(run_id: str, limits: Limits, override: str | None = None):
    """The load's guard hook: assesses inside the load's transaction; raises `PublishBlocked` (the load
    rolls back) unless the change is normal or overridden; returns the verdict as a dict for the summary."""

    def check(conn: Connection, batch: CleanBatch) -> dict[str, Any]:
        verdict = assess(conn, batch, limits, override)
        if verdict.blocked:
            raise PublishBlocked(run_id, verdict)
        return verdict.as_dict()

    return check
