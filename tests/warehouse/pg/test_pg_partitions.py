"""Month partitions of fetch, citation_version, hub_version and hub_facet_version (migration 0014,
schema.partitions): an existing warehouse is partitioned in place with its history intact, a run in a new
month gets its own partition, the downgrade gives plain tables back; SQLite keeps plain tables."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import errors, sql
from sqlalchemy import Engine, insert, select, text

from schema import partitions, placement
from schema.engine import make_engine
from schema.migrate import alembic_config, upgrade
from schema.tables import citation_version, fetch, hub_facet_version, hub_version, metadata, run
from warehouse import runs
from warehouse.grants import grant_reader

BEFORE = "0013"
PARTITIONED = "0014"
# indexes later revisions add (0015: the run indexes): a warehouse taken back to BEFORE lacks them
LATER_INDEXES = {
    "ix_citation_version_from_run",
    "ix_citation_version_to_run",
    "ix_hub_version_from_run",
    "ix_hub_version_to_run",
    "ix_hub_facet_version_from_run",
    "ix_hub_facet_version_to_run",
    "ix_stg_item_run_kind",
}
TABLES = (fetch, citation_version, hub_version, hub_facet_version)
R1, R2, R3 = "20261020T030000Z-aaaaaa", "20261103T030000Z-bbbbbb", "20261124T030000Z-cccccc"
LEGACY = "legacy-import"  # a run id of no month: its rows go to DEFAULT
H1, H2 = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
AS_OF = {
    "citation_as_of": "SELECT * FROM citation_as_of ORDER BY as_of_run, hub_uuid, paper_key, valid_from_run",
    "hub_as_of": "SELECT * FROM hub_as_of ORDER BY as_of_run, hub_uuid",
}


def _run_row(run_id: str, started: datetime) -> dict:
    return {
        "run_id": run_id,
        "kind": "nightly",
        "status": "completed",
        "started_at": started,
        "params": "{}",
        "code_version": "x",
        "parser_version": "y",
    }


def _edge(hub: str, paper: str, start: str, end: str | None, role: str | None) -> dict:
    return {
        "hub_uuid": hub,
        "paper_key": paper,
        "valid_from_run": start,
        "valid_to_run": end,
        "role": role,
        "polarity": "support",
        "verdict": "accept",
        "novelty": 6.5,
        "refs": 2,
        "representative": False,
    }


def _figures(hub: str, start: str, end: str | None, tier: str, citing: int) -> dict:
    return {
        "hub_uuid": hub,
        "valid_from_run": start,
        "valid_to_run": end,
        "tier": tier,
        "label": "Mixed citations",
        "template": "current",
        "headline": "Mostly background.",
        "headline_role": "background",
        "headline_share": 60.0,
        "citing_count": citing,
        "classified_count": citing - 1,
        "parsed_count": citing,
        "complete": True,
    }


def _populate(engine: Engine) -> None:
    """Three runs over two months and one run id of no month, with relabels, a retirement, new hubs."""
    with engine.begin() as conn:
        conn.execute(
            insert(run),
            [
                _run_row(LEGACY, datetime(2026, 9, 1, 3, tzinfo=UTC)),
                _run_row(R1, datetime(2026, 10, 20, 3, tzinfo=UTC)),
                _run_row(R2, datetime(2026, 11, 3, 3, tzinfo=UTC)),
                _run_row(R3, datetime(2026, 11, 24, 3, tzinfo=UTC)),
            ],
        )
        conn.execute(
            insert(fetch),
            [
                {
                    "run_id": r,
                    "url": f"http://site/citations/{h}?page={p}",
                    "hub_uuid": h,
                    "status": 200,
                    "outcome": "parsed",
                    "etag": f'"{r}-{p}"',
                }  # fmt: skip
                for r in (LEGACY, R1, R2, R3)
                for h in (H1, H2)
                for p in (1, 2)
            ],
        )
        conn.execute(
            insert(citation_version),
            [
                _edge(H1, "arxiv:2601.00001", LEGACY, R1, None),
                _edge(H1, "arxiv:2601.00001", R1, R2, "background"),
                _edge(H1, "arxiv:2601.00001", R2, None, "method"),
                _edge(H1, "arxiv:2601.00002", R1, R3, "dataset"),
                _edge(H2, "arxiv:2601.00001", R3, None, None),
            ],
        )
        conn.execute(
            insert(hub_version),
            [
                _figures(H1, R1, R3, "hub", 12),
                _figures(H1, R3, None, "super_hub", 40),
                _figures(H2, R3, None, "hub", 3),
            ],
        )
        conn.execute(
            insert(hub_facet_version),
            [
                {"hub_uuid": H1, "facet": "fields", "value": "cs.LG", "valid_from_run": R1, "valid_to_run": R2, "count": 3},
                {"hub_uuid": H1, "facet": "fields", "value": "cs.LG", "valid_from_run": R2, "valid_to_run": None, "count": 4},
                {"hub_uuid": H2, "facet": "years", "value": "2026", "valid_from_run": R3, "valid_to_run": None, "count": 1},
            ],
        )  # fmt: skip


def _contents(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of the four tables and every answer of the as-of views, in a fixed order."""
    with engine.connect() as conn:
        out = {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))] for t in TABLES}
        out |= {view: [tuple(r) for r in conn.execute(text(query))] for view, query in AS_OF.items()}
    return out


def _layout(engine: Engine) -> dict[str, list[str]]:
    """{partitioned table: its partitions, "schema.name" with their bounds}."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.partrelid::regclass::text, c.oid::regclass::text, pg_get_expr(c.relpartbound, c.oid) "
                "FROM pg_partitioned_table p JOIN pg_inherits i ON i.inhparent = p.partrelid "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE c.relkind = 'r'"
            )
        ).all()
    layout: dict[str, list[str]] = {}
    for parent, child, bound in rows:
        layout.setdefault(parent.strip('"'), []).append(f"{child} {bound}")
    return {parent: sorted(children) for parent, children in layout.items()}


def _where(engine: Engine, table: str, key: str) -> dict[str, str]:
    """{key value: the partition holding its rows} of one table (tableoid: where a row really is)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(f'SELECT DISTINCT {key}, tableoid::regclass::text FROM "{table}"')  # names from this module
        ).all()
    return dict(rows)


def _model_diff(engine: Engine) -> list:
    with engine.connect() as conn:
        opts = {
            "compare_type": True,
            "include_schemas": True,
            "include_name": placement.include_name,
            "include_object": placement.include_object,
        }
        return compare_metadata(MigrationContext.configure(conn, opts=opts), placement.placed_metadata(metadata))


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def _month_bound(table: str, month: str) -> str:
    return (
        f"{partitions.PARTITION_SCHEMA}.{table}_{month} "
        f"FOR VALUES FROM ('{month}') TO ('{partitions.month_after(month)}')"
    )


def _expected_layout() -> dict[str, list[str]]:
    """The months the populated tables hold (R1: 2026-10; R2, R3: 2026-11), the current and the next month,
    and DEFAULT, in each table."""
    now = partitions.current_month()
    months = {"202610", "202611", now, partitions.month_after(now)}
    default = f"{partitions.PARTITION_SCHEMA}.{{}}_default DEFAULT"
    return {t.name: sorted([_month_bound(t.name, m) for m in months] + [default.format(t.name)]) for t in TABLES}


@pytest.fixture
def warehouse_at_0013(pg_url):
    """A PostgreSQL warehouse at 0013 holding history, with a reader role granted; the role dropped after."""
    engine = make_engine(pg_url)
    upgrade(engine, BEFORE)
    _populate(engine)
    role = f"citehub_reader_{secrets.token_hex(4)}"
    grant_reader(engine, role)
    yield engine, role
    with engine.begin() as conn:
        for statement in ("DROP OWNED BY {}", "DROP ROLE {}"):
            placement.execute_pg(conn, sql.SQL(statement).format(sql.Identifier(role)))
    engine.dispose()


def _reader_answers(engine: Engine, role: str) -> dict[str, list[tuple]]:
    """The as-of views as the reader role reads them; the partitions' schema is out of its reach."""
    with engine.begin() as conn:
        placement.execute_pg(conn, sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        answers = {view: [tuple(r) for r in conn.execute(text(query))] for view, query in AS_OF.items()}
    with engine.connect() as conn:
        placement.execute_pg(conn, sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        with pytest.raises(errors.InsufficientPrivilege):
            placement.execute_pg(conn, sql.SQL("SELECT COUNT(*) FROM citehub_partitions.fetch_default"))
        conn.rollback()
    return answers


@pytest.mark.postgres
def test_upgrade_partitions_an_existing_warehouse_with_its_history_intact(warehouse_at_0013):
    engine, role = warehouse_at_0013
    before = _contents(engine)
    assert all(before.values())  # every table and view answers something
    assert _layout(engine) == {}
    upgrade(engine)
    assert _layout(engine) == _expected_layout()
    assert _contents(engine) == before
    assert _reader_answers(engine, role) == {view: before[view] for view in AS_OF}
    # each row sits in its month's partition; a key of no month in DEFAULT
    p = partitions.PARTITION_SCHEMA
    assert _where(engine, "fetch", "run_id") == {
        LEGACY: f"{p}.fetch_default",
        R1: f"{p}.fetch_202610",
        R2: f"{p}.fetch_202611",
        R3: f"{p}.fetch_202611",
    }
    assert _where(engine, "citation_version", "valid_from_run")[LEGACY] == f"{p}.citation_version_default"
    assert _where(engine, "hub_facet_version", "valid_from_run")[R1] == f"{p}.hub_facet_version_202610"
    # the rebuilt tables are what the model says (keys, foreign keys, comments, types), placed as before
    assert _model_diff(engine) == []
    with engine.connect() as conn:
        assert {placement.relation_schema(conn, t.name) for t in TABLES} == {placement.CORE_SCHEMA}
        assert placement.relation_schema(conn, "citation_as_of") == placement.MARTS_SCHEMA
        assert conn.execute(
            text("SELECT conname FROM pg_constraint WHERE conrelid = to_regclass('\"fetch\"') ORDER BY conname")
        ).scalars().all() == ["ck_fetch_outcome", "fk_fetch_run_id_run", "pk_fetch"]


@pytest.mark.postgres
def test_downgrade_gives_plain_tables_back_and_upgrade_again(warehouse_at_0013):
    engine, role = warehouse_at_0013
    before = _contents(engine)
    upgrade(engine)
    _downgrade(engine, BEFORE)
    assert _layout(engine) == {}
    with engine.connect() as conn:
        assert (
            conn.execute(
                text("SELECT COUNT(*) FROM pg_namespace WHERE nspname = :s"), {"s": partitions.PARTITION_SCHEMA}
            ).scalar_one()
            == 0
        )
    assert _contents(engine) == before
    assert [d for d in _model_diff(engine) if not (d[0] == "add_index" and d[1].name in LATER_INDEXES)] == []
    with engine.begin() as conn:
        placement.execute_pg(conn, sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        assert [tuple(r) for r in conn.execute(text(AS_OF["hub_as_of"]))] == before["hub_as_of"]
    upgrade(engine)
    assert _layout(engine) == _expected_layout()
    assert _contents(engine) == before
    assert _reader_answers(engine, role) == {view: before[view] for view in AS_OF}


@pytest.mark.postgres
def test_a_run_in_a_new_month_gets_its_own_partition(pg_url):
    engine = make_engine(pg_url)
    upgrade(engine)
    run_id = runs.start_run(engine, "backfill", {}, started_at=datetime(2031, 3, 5, 3, tzinfo=UTC))
    with engine.begin() as conn:
        conn.execute(insert(fetch).values(run_id=run_id, url="http://site/x", outcome="parsed"))
        conn.execute(insert(citation_version).values(_edge(H1, "arxiv:2601.00001", run_id, None, "method")))
    p = partitions.PARTITION_SCHEMA
    assert _where(engine, "fetch", "run_id") == {run_id: f"{p}.fetch_203103"}
    assert _where(engine, "citation_version", "valid_from_run") == {run_id: f"{p}.citation_version_203103"}
    layout = _layout(engine)
    for table in TABLES:  # the run's month and the one ahead, in every partitioned table
        assert {_month_bound(table.name, "203103"), _month_bound(table.name, "203104")} <= set(layout[table.name])
    with engine.begin() as conn:
        assert partitions.ensure_partitions(conn, run_id) == []  # there already
    engine.dispose()


@pytest.mark.postgres
def test_rows_of_a_month_without_partition_are_split_out_of_default(pg_url):
    """Rows written before their month had a partition (a run started without ensure_partitions) wait in
    DEFAULT; the next call for that month moves them to the month's new partition."""
    engine = make_engine(pg_url)
    upgrade(engine)
    run_id = "20300115T030000Z-dddddd"
    p = partitions.PARTITION_SCHEMA
    with engine.begin() as conn:
        conn.execute(insert(run).values(_run_row(run_id, datetime(2030, 1, 15, 3, tzinfo=UTC))))
        conn.execute(
            insert(fetch), [{"run_id": run_id, "url": f"http://site/{i}", "outcome": "parsed"} for i in range(3)]
        )
    assert _where(engine, "fetch", "run_id") == {run_id: f"{p}.fetch_default"}
    with engine.begin() as conn:
        created = partitions.ensure_partitions(conn, run_id, ahead=0)
    assert created == [f"{p}.{t.name}_203001" for t in TABLES]
    assert _where(engine, "fetch", "run_id") == {run_id: f"{p}.fetch_203001"}
    with engine.connect() as conn:
        assert conn.execute(text(f'SELECT COUNT(*) FROM "{p}".fetch_default')).scalar_one() == 0
        assert conn.execute(select(fetch.c.url).order_by(fetch.c.url)).scalars().all() == [
            f"http://site/{i}" for i in range(3)
        ]
    assert _model_diff(engine) == []  # partitions created later are invisible to the model check too
    engine.dispose()


@pytest.mark.postgres
def test_a_run_does_not_wait_for_a_partition_a_reader_blocks(pg_url, monkeypatch):
    """A reader scanning the whole table holds DEFAULT: the run starts anyway, its rows wait in DEFAULT."""
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "100ms")
    engine = make_engine(pg_url)
    upgrade(engine)
    with engine.connect() as reader:
        reader.execute(select(fetch.c.url).limit(1)).all()  # the transaction stays open: its locks too
        run_id = runs.start_run(engine, "backfill", {}, started_at=datetime(2031, 7, 1, 3, tzinfo=UTC))
        with engine.connect() as conn:
            assert "203107" not in partitions.partitions(conn, "fetch")
        with engine.begin() as conn:
            conn.execute(insert(fetch).values(run_id=run_id, url="http://site/x", outcome="parsed"))
        reader.rollback()
    assert _where(engine, "fetch", "run_id") == {run_id: f"{partitions.PARTITION_SCHEMA}.fetch_default"}
    with engine.begin() as conn:
        partitions.ensure_partitions(conn, run_id)
    assert _where(engine, "fetch", "run_id") == {run_id: f"{partitions.PARTITION_SCHEMA}.fetch_203107"}
    engine.dispose()


def test_sqlite_keeps_plain_tables(tmp_path):
    """On SQLite 0014 changes nothing, either way, and a run creates no partition."""
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    upgrade(engine, BEFORE)
    _populate(engine)

    def schema_and_rows() -> tuple:
        with engine.connect() as conn:
            ddl = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").all()
        return ddl, _contents(engine)

    before = schema_and_rows()
    upgrade(engine, PARTITIONED)
    assert schema_and_rows() == before
    _downgrade(engine, BEFORE)
    assert schema_and_rows() == before
    upgrade(engine)
    runs.start_run(engine, "backfill", {}, started_at=datetime(2031, 3, 5, 3, tzinfo=UTC))
    with engine.begin() as conn:
        assert partitions.partitioned_tables(conn) == {}
        assert partitions.ensure_partitions(conn, R1) == []
    engine.dispose()
