"""What the hub-batched load (`warehouse.load.load_staged`) asks PostgreSQL to read while it writes, seen from
inside its transaction through a publish gate (`warehouse.guard.Gate`, the load's own hook: `start` as the
transaction opens, `add` before each batch of pass 3).

- Tables that were empty when the load began are never read back by key (`warehouse.load.empty_tables`): they
  have no statistics inside the transaction, and each batch's keyed read planned a scan of the whole table
  (a first load grew with the square of the site). A second load into the same warehouse does read.
- The scratch tables have statistics once filled (PostgreSQL never analyzes temporary tables by itself):
  without them pass 2's paged reads scanned every remaining row per page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from samplesite.generator import build_site
from samplesite.server import serving
from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.crawl import allowed_hosts_for, run_crawl
from warehouse import guard, runs, stage
from warehouse.load import load_staged, materialize_marts

pytestmark = pytest.mark.postgres

SCRATCH = ("_clean_citation", "_clean_fuzzy", "_clean_hub", "_clean_paper")
PUBLISHED = ("hub", "paper", "citation", "citation_version")
FAST = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_TIMEOUT": "5", "CITEHUB_RETRY_BACKOFF": "0"}


@pytest.fixture(scope="module")
def items(tmp_path_factory) -> Path:
    site = build_site(hubs=12, seed=5, day=1)
    with serving(site) as base:
        crawl = run_crawl(
            "plans",
            tmp_path_factory.mktemp("plans"),
            base,
            [f"{base}/citations/{h.uuid}" for h in site.hubs],
            allowed_hosts_for(base),
            8,
            extra_settings=FAST,
        )
    return crawl.items_path


class Observer(guard.Gate):
    """A real gate that also records, from inside the load's transaction, this transaction's scans of the
    published tables and the scratch tables' statistics."""

    def start(self, conn):
        self.conn, self.seen = conn, []
        self.at_start = self._scans()
        super().start(conn)

    def add(self, complete, citations):
        stats = {}
        for name in SCRATCH:
            # this session's temporary schema only: parallel tests have scratch tables of the same names
            reltuples = self.conn.execute(
                text("SELECT reltuples FROM pg_class WHERE relname = :name AND relnamespace = pg_my_temp_schema()"),
                {"name": name},
            ).scalar_one()
            rows = self.conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # a constant name
            stats[name] = (reltuples, rows)
        self.seen.append((self._scans(), stats))
        super().add(complete, citations)

    def _scans(self) -> dict[tuple[str, str], int]:
        """{(table, the table itself or one of its partitions): scans}: a partitioned table (PostgreSQL,
        migration 0014) is read in its partitions."""
        rows = self.conn.execute(
            text(
                "SELECT coalesce(p.relname, s.relname), s.relname, s.seq_scan + coalesce(s.idx_scan, 0) "
                "FROM pg_stat_xact_user_tables s LEFT JOIN pg_inherits i ON i.inhrelid = s.relid "
                "LEFT JOIN pg_class p ON p.oid = i.inhparent WHERE coalesce(p.relname, s.relname) = ANY(:names)"
            ),
            {"names": list(PUBLISHED)},
        ).all()
        return {(table, relation): int(n) for table, relation, n in rows}


def _load(engine, items: Path) -> Observer:
    run_id = runs.start_run(engine, "nightly", {})
    stage.stage_items(engine, run_id, items)
    gate = Observer(run_id, guard.Limits())
    load_staged(engine, run_id, gate=gate, then=lambda conn: materialize_marts(conn, run_id), hubs_per_batch=5)
    runs.finish_run(engine, run_id, "completed", {})
    return gate


def test_a_first_load_reads_nothing_back_and_its_scratch_tables_have_statistics(items: Path, pg_url: str):
    engine = make_engine(pg_url)
    upgrade(engine)
    first = _load(engine, items)
    second = _load(engine, items)
    engine.dispose()
    assert len(first.seen) == len(second.seen) == 3  # 12 hubs, 5 a batch: three batches in pass 3

    def delta(after: dict[tuple[str, str], int], before: dict[tuple[str, str], int]) -> dict[str, int]:
        # the view counts this backend's scans not yet reported, earlier transactions' too: compare within one;
        # a partitioned table counts the reads of its most read partition (a scan reads each partition once)
        out = dict.fromkeys(PUBLISHED, 0)
        for (table, relation), n in after.items():
            out[table] = max(out[table], n - before.get((table, relation), 0))
        return out

    # First load: from the gate's start to pass 3, hub, paper and citation_version were read once each, by the
    # emptiness check, never by key (passes 1 and 2 wrote without reading); no batch of pass 3 read an edge
    # or a version.
    start_to_pass3 = delta(first.seen[0][0], first.at_start)
    assert {name: start_to_pass3[name] for name in ("hub", "paper", "citation_version")} == {
        "hub": 1,
        "paper": 1,
        "citation_version": 1,
    }, start_to_pass3
    assert delta(first.seen[-1][0], first.seen[0][0]) == dict.fromkeys(PUBLISHED, 0)
    # The same run loaded again finds every key stored and reads them, pass after pass, batch after batch.
    start_to_pass3 = delta(second.seen[0][0], second.at_start)
    assert start_to_pass3["hub"] > 1 and start_to_pass3["paper"] > 1, start_to_pass3
    batches = delta(second.seen[-1][0], second.seen[0][0])
    assert batches["citation"] > 0 and batches["citation_version"] > 0, batches
    for _, stats in first.seen + second.seen:
        assert all(rows > 0 for _, rows in stats.values()), stats  # the site has title-only papers: fuzzy rows
        # never analyzed reads -1 (PostgreSQL 14+); ANALYZE of a table this small counts every row
        assert {name: reltuples for name, (reltuples, _) in stats.items()} == {
            name: float(rows) for name, (_, rows) in stats.items()
        }
