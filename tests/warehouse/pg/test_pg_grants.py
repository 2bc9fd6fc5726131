"""Reader roles on PostgreSQL (every write refused, every published table readable, later ones too) and the
read-only `citehub sql` on SQLite."""

from __future__ import annotations

import secrets

import psycopg
import pytest
from psycopg import errors, sql
from sqlalchemy import inspect as sqlalchemy_inspect
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from flows.cli import app
from schema import placement
from schema.engine import make_engine
from schema.migrate import upgrade
from schema.tables import metadata
from warehouse.grants import GrantError, grant_reader, validate_role

pytestmark = pytest.mark.postgres

# Each attempt a reader might make that must fail for lack of privilege.
FORBIDDEN = {
    "insert into a mart": "INSERT INTO hub_summary (hub_uuid, citation_rows, first_seen_run, last_seen_run, run_id) "
    "VALUES ('x', 0, 'r', 'r', 'r')",
    "update a mart": "UPDATE hub_summary SET tier = 'super_hub'",
    "delete from a mart": "DELETE FROM hub_summary",
    "truncate a mart": "TRUNCATE hub_summary",
    "create table in marts": "CREATE TABLE marts.mine (x int)",
    "create table in public": "CREATE TABLE public.mine (x int)",
    "create table in citehub": "CREATE TABLE citehub.mine (x int)",
    "create schema": "CREATE SCHEMA mine",
    "select a core table": "SELECT COUNT(*) FROM citehub.hub",
    "select run bookkeeping": "SELECT COUNT(*) FROM citehub.run",
    "select staging": "SELECT COUNT(*) FROM citehub.stg_item",
    "drop a mart": "DROP TABLE marts.hub_summary",
}


@pytest.fixture
def reader(pg_url):
    """A migrated warehouse with one hub_summary row, and a LOGIN role granted as reader; dropped after."""
    upgrade(pg_url)
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO hub_summary (hub_uuid, tier, citation_rows, first_seen_run, last_seen_run, "
                "run_id) VALUES ('h1', 'hub', 3, 'r1', 'r1', 'r1')"
            )
        )
    role = f"citehub_reader_{secrets.token_hex(4)}"
    with engine.begin() as conn:
        placement.execute_pg(conn, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    done = grant_reader(engine, role)
    conninfo = make_url(pg_url).set(drivername="postgresql", username=role).render_as_string(hide_password=False)
    yield {"role": role, "engine": engine, "conninfo": conninfo, "done": done}
    engine.dispose()
    with engine.begin() as conn:
        for statement in ("DROP OWNED BY {}", "DROP ROLE {}"):
            placement.execute_pg(conn, sql.SQL(statement).format(sql.Identifier(role)))


def _as_reader(reader, query: str):
    with psycopg.connect(reader["conninfo"], autocommit=True) as conn:
        return conn.execute(query).fetchall()


@pytest.mark.parametrize("attempt", sorted(FORBIDDEN))
def test_reader_cannot_write_create_or_read_internals(reader, attempt):
    with pytest.raises(errors.InsufficientPrivilege):
        _as_reader(reader, FORBIDDEN[attempt])


def test_reader_reads_every_published_table_and_view_unqualified(reader):
    assert reader["done"]["created"] is False and reader["done"]["owner"] == "postgres"
    names = [t.name for t in placement.published_tables(metadata)] + list(placement.published_views(metadata))
    assert {"citation_as_of", "hub_as_of", "runs", "run_checks"} <= set(names)
    for name in names:  # the role's search_path is marts: no schema prefix needed
        with psycopg.connect(reader["conninfo"], autocommit=True) as conn:
            conn.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(name))).fetchone()
    assert _as_reader(reader, "SELECT hub_uuid, citation_rows FROM hub_summary") == [("h1", 3)]
    assert reader["done"]["readable"] == len(names)


def test_reader_reads_tables_created_after_the_grant(reader):
    engine = reader["engine"]
    with engine.begin() as conn:  # the owner creates a table straight in marts: default privileges
        conn.execute(text("CREATE TABLE marts.late_mart (x integer)"))
        conn.execute(text("INSERT INTO marts.late_mart VALUES (7)"))
        # and a migration re-creates a mart unqualified, so it lands in citehub without grants
        conn.execute(text("DROP TABLE marts.paper_reach"))
        conn.execute(text("CREATE TABLE paper_reach (LIKE citehub.paper INCLUDING ALL)"))
        assert placement.relation_schema(conn, "paper_reach") == "citehub"
    assert _as_reader(reader, "SELECT x FROM late_mart") == [(7,)]
    with pytest.raises(errors.InsufficientPrivilege):
        _as_reader(reader, "SELECT COUNT(*) FROM citehub.paper_reach")
    upgrade(engine)  # the post-migration step moves it to marts and re-grants the readers
    assert _as_reader(reader, "SELECT COUNT(*) FROM paper_reach") == [(0,)]


@pytest.mark.parametrize(
    "bad",
    ["", "Robert'); DROP TABLE hub; --", "1abc", "pg_monitor", "public", "Reader", "a" * 64, "has space", 'quo"te'],
)
def test_bad_role_names_are_refused(bad):
    with pytest.raises(GrantError):
        validate_role(bad)


def test_grant_on_sqlite_is_refused_with_a_reason(tmp_path):
    with pytest.raises(GrantError, match="PostgreSQL only"):
        grant_reader(make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}"), "analyst")


def test_cli_grant_reader_rejects_a_bad_name(pg_url):
    result = CliRunner().invoke(app, ["db", "grant-reader", "x; DROP TABLE hub", "--database-url", pg_url])
    assert result.exit_code == 2
    assert "must be 1-63 characters" in result.output


@pytest.mark.parametrize("postgres", [pytest.param(False, id="sqlite"), pytest.param(True, id="postgresql")])
def test_citehub_sql_is_read_only(tmp_path, request, postgres):
    url = request.getfixturevalue("pg_url") if postgres else f"sqlite:///{tmp_path / 'w.sqlite'}"
    upgrade(url)
    with make_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO hub_summary (hub_uuid, citation_rows, first_seen_run, last_seen_run, "
                "run_id) VALUES ('h1', 3, 'r1', 'r1', 'r1')"
            )
        )
    runner = CliRunner()
    read = runner.invoke(app, ["sql", "-c", "SELECT hub_uuid, citation_rows FROM hub_summary", "--database-url", url])
    assert read.exit_code == 0, read.output
    assert "h1" in read.output and "(1 rows)" in read.output
    for write in ("DELETE FROM hub_summary", "CREATE TABLE t (x int)", "UPDATE hub_summary SET tier = 'x'"):
        result = runner.invoke(app, ["sql", "-c", write, "--database-url", url])
        assert result.exit_code == 1, (write, result.output)
        assert "read-only" in result.output.replace("readonly", "read-only"), result.output
    with make_engine(url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM hub_summary")).scalar_one() == 1


def _one_hub_summary(url: str) -> None:
    upgrade(url)
    with make_engine(url).begin() as conn:
        conn.execute(
            text(
                "INSERT INTO hub_summary (hub_uuid, tier, citation_rows, first_seen_run, last_seen_run, "
                "run_id) VALUES ('h1', 'hub', 3, 'r1', 'r1', 'r1')"
            )
        )


def _typed(url: str, statements: list[str]) -> str:
    """What the interactive prompt answers to `statements` typed one a line, as one line of text."""
    result = CliRunner().invoke(app, ["sql", "--database-url", url], input="\n".join(statements) + "\n")
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # Rich wraps long lines


def _unchanged(url: str) -> tuple:
    with make_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT hub_uuid, tier FROM hub_summary")).all()
        tables = set(sqlalchemy_inspect(conn).get_table_names())
    return [tuple(r) for r in rows], {"x", "y"} & tables


def test_sql_prompt_chain_cannot_end_the_read_only_transaction_on_postgresql(pg_url):
    """`COMMIT; BEGIN READ WRITE; ...` in one -c: refused whole, one line, exit 1, nothing changed."""
    _one_hub_summary(pg_url)
    chain = "COMMIT; BEGIN READ WRITE; UPDATE hub_summary SET tier = 'x'; CREATE TABLE citehub.x(x int); COMMIT"
    result = CliRunner().invoke(app, ["sql", "-c", chain, "--database-url", pg_url])
    assert result.exit_code == 1, result.output
    assert "one statement at a time" in " ".join(result.output.split())
    assert _unchanged(pg_url) == ([("h1", "hub")], set())
    with make_engine(pg_url).connect() as conn:
        assert conn.execute(text("SELECT to_regclass('citehub.x')")).scalar() is None


def test_sql_prompt_statements_one_by_one_cannot_write_on_postgresql(pg_url):
    """The same escape typed statement by statement, and the session settings that would lift read-only:
    each statement runs in its own read-only transaction that is rolled back."""
    _one_hub_summary(pg_url)
    typed = [
        "COMMIT;",
        "BEGIN READ WRITE;",
        "UPDATE hub_summary SET tier = 'x';",
        "SET default_transaction_read_only = off;",
        "COMMIT;",
        "CREATE TABLE citehub.x (x int);",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;",
        "CREATE TABLE citehub.y (x int);",
        "SELECT set_config('default_transaction_read_only', 'off', false);",
        "DELETE FROM hub_summary;",
        "SELECT tier FROM hub_summary;",
    ]
    said = _typed(pg_url, typed)
    assert said.count("in a read-only transaction") == 4, said  # the UPDATE, both CREATEs, the DELETE
    assert _unchanged(pg_url) == ([("h1", "hub")], set())
    with make_engine(pg_url).connect() as conn:
        assert conn.execute(text("SELECT to_regclass('citehub.x'), to_regclass('citehub.y')")).one() == (None, None)


def test_sql_prompt_cannot_attach_the_file_read_write_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    _one_hub_summary(url)
    path = (tmp_path / "w.sqlite").resolve()
    typed = [
        f"ATTACH 'file:{path}?mode=rw' AS w;",
        "DELETE FROM w.hub_summary;",
        "COMMIT;",
        "PRAGMA query_only = OFF;",
        "DELETE FROM hub_summary;",
        "SELECT tier FROM hub_summary;",
    ]
    said = _typed(url, typed)
    assert said.count("refuses ATTACH, DETACH and PRAGMA query_only") == 2, said
    assert "no such table: w.hub_summary" in said
    assert "attempt to write a readonly database" in said  # the DELETE on the main database
    assert _unchanged(url) == ([("h1", "hub")], set())


def test_grant_reader_by_an_owner_without_createrole_says_what_is_missing(pg_url):
    """One line naming the missing privilege, exit 2; no traceback, no role."""
    owner = f"citehub_owner_{secrets.token_hex(4)}"
    reader_role = f"citehub_reader_{secrets.token_hex(4)}"
    database = make_url(pg_url).database
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        placement.execute_pg(conn, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)))
        placement.execute_pg(
            conn, sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(owner))
        )
    admin.dispose()
    owner_url = make_url(pg_url).set(username=owner).render_as_string(hide_password=False)
    try:
        upgrade(owner_url)
        result = CliRunner().invoke(app, ["db", "grant-reader", reader_role, "--database-url", owner_url])
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.split())
        assert said == (
            f"error: cannot create role '{reader_role}': '{owner}' lacks the CREATEROLE privilege (create the "
            "role as an administrator, then run grant-reader with --no-create)"
        )
        with make_engine(pg_url).connect() as conn:
            assert conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": reader_role}).first() is None
    finally:
        with make_engine(pg_url).begin() as conn:
            placement.execute_pg(conn, sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(database)))
            placement.execute_pg(conn, sql.SQL("REASSIGN OWNED BY {} TO postgres").format(sql.Identifier(owner)))
            placement.execute_pg(conn, sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner)))
            placement.execute_pg(conn, sql.SQL("DROP ROLE {}").format(sql.Identifier(owner)))
