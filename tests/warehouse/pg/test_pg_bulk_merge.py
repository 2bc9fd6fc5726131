"""schema.bulk's PostgreSQL upsert (COPY into a scratch table, one merge): a transaction may merge thousands of
times (a first load of 100,000 hubs merges about 1,600 batches) without its locks growing with the merges,
and each merge writes exactly its own rows."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select, text

from schema.bulk import upsert_rows
from schema.engine import make_engine

MERGES = 300  # past max_locks_per_transaction (64) times a few: one new table a merge would show


def _locks(conn) -> int:
    return conn.execute(text("SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()")).scalar_one()


def test_many_merges_in_one_transaction_hold_a_fixed_number_of_locks(pg_url: str) -> None:
    engine = make_engine(pg_url)
    table = Table("t", MetaData(), Column("k", Integer, primary_key=True), Column("v", String))
    table.create(engine)
    with engine.begin() as conn:
        upsert_rows(conn, table, ["k"], [{"k": 0, "v": "first"}], ["v"])
        after_one = _locks(conn)
        for merge in range(1, MERGES):
            # each batch rewrites the key before it and adds one: an earlier batch's rows must not be merged again
            upsert_rows(conn, table, ["k"], [{"k": merge - 1, "v": f"re{merge}"}, {"k": merge, "v": "new"}], ["v"])
        assert _locks(conn) == after_one
    with engine.connect() as conn:
        rows = dict(conn.execute(select(table.c.k, table.c.v)).tuples().all())
    assert rows == {k: f"re{k + 1}" for k in range(MERGES - 1)} | {MERGES - 1: "new"}
    engine.dispose()


def test_a_merge_in_a_later_transaction_of_the_session_starts_empty(pg_url: str) -> None:
    engine = make_engine(pg_url)
    table = Table("t", MetaData(), Column("k", Integer, primary_key=True), Column("v", String))
    table.create(engine)
    with engine.connect() as conn:
        with conn.begin():
            upsert_rows(conn, table, ["k"], [{"k": 1, "v": "a"}], ["v"])
        with conn.begin():
            conn.execute(table.delete())
            upsert_rows(conn, table, ["k"], [{"k": 2, "v": "b"}], ["v"])
        assert conn.execute(select(table.c.k, table.c.v)).tuples().all() == [(2, "b")]
    engine.dispose()
