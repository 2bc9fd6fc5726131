"""Read-only access for analysts: `citehub db grant-reader ROLE` (PostgreSQL) and `citehub sql` (both).

A reader role may USE the `marts` schema and SELECT every table and view in it, now and later: default
privileges cover tables the warehouse owner creates in `marts`, and `schema.placement.sync_reader_grants`
(run after every migration) covers tables moved there. It gets no privilege on `citehub` (core and
staging bookkeeping) and none to write or create anywhere. Identifiers go through psycopg.sql; the role name
is validated first.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from schema.errors import CitehubError
from schema.placement import CORE_SCHEMA, MARTS_SCHEMA, execute_pg, schemas_exist

if TYPE_CHECKING:
    import psycopg

ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
RESERVED_ROLES = {"public", "postgres", "current_user", "session_user", "current_role", "none"}


class GrantError(CitehubError, ValueError):
    """A reader grant that cannot be made: bad role name, wrong engine, or a warehouse not yet upgraded."""


def validate_role(role: str) -> str:
    """`role` if it is a plain lower-case PostgreSQL identifier that is not reserved, else GrantError."""
    if not ROLE_NAME.fullmatch(role or ""):
        raise GrantError(f"role name {role!r} must be 1-63 characters of a-z, 0-9 and _, not starting with a digit")
    if role in RESERVED_ROLES or role.startswith("pg_"):
        raise GrantError(f"role name {role!r} is reserved")
    return role


def grant_reader(engine: Engine, role: str, create: bool = True) -> dict[str, Any]:
    """Make `role` a reader of the published tables of the warehouse at `engine` (PostgreSQL).

    Creates the role (NOLOGIN: give it a login and password yourself) when missing and `create` is set.
    Returns what was done: role, owner (whose future tables the default privileges cover), tables readable.
    """
    validate_role(role)
    if engine.dialect.name != "postgresql":
        raise GrantError("reader roles exist on PostgreSQL only; on SQLite use `citehub sql` (read-only file)")
    with engine.begin() as conn:
        if not schemas_exist(conn):
            raise GrantError("the warehouse has no marts schema yet: run `citehub db upgrade` first")
        owner = conn.execute(text("SELECT current_user")).scalar_one()
        if role == owner:
            raise GrantError(f"{role!r} owns the warehouse; a reader must be another role")
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).scalar()
        if not exists:
            if not create:
                raise GrantError(f"role {role!r} does not exist (pass --create to create it)")
            can_create = conn.execute(
                text("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
            if not can_create:
                raise GrantError(
                    f"cannot create role {role!r}: {owner!r} lacks the CREATEROLE privilege "
                    "(create the role as an administrator, then run grant-reader with --no-create)"
                )
            execute_pg(conn, sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
        database = conn.execute(text("SELECT current_database()")).scalar_one()
        r, marts, core = sql.Identifier(role), sql.Identifier(MARTS_SCHEMA), sql.Identifier(CORE_SCHEMA)
        for statement in (
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), r),
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(marts, r),
            sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(marts, r),
            sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                sql.Identifier(owner), marts, r
            ),
            # Nothing else: no CREATE on marts, nothing on the core schema, not even through PUBLIC.
            sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(core),
            sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(marts),
            sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(r, sql.Identifier(database), marts),
        ):
            execute_pg(conn, statement)
        readable = conn.execute(
            text(
                "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :marts AND c.relkind IN ('r', 'v') AND has_table_privilege(:role, c.oid, 'SELECT')"
            ),
            {"marts": MARTS_SCHEMA, "role": role},
        ).scalar_one()
    return {"role": role, "owner": owner, "database": database, "created": not exists, "readable": readable}


# --- citehub sql ----------------------------------------------------------------------------------------


def sqlite_readonly_uri(url: str) -> str:
    """`file:` URI opening the SQLite warehouse of `url` read-only (`mode=ro`); the file must exist."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise GrantError(f"not a SQLite file URL: {url!r}")
    path = Path(database).resolve()
    if not path.is_file():
        raise GrantError(f"no warehouse file at {path}")
    return path.as_uri() + "?mode=ro"


class ReadOnlyRefused(CitehubError):
    """A statement the read-only prompt refuses before the database sees it do anything."""

    exit_code = 1


# SQLite's authorizer actions the prompt refuses: ATTACH would open the warehouse file again read-write
# (`mode=ro` binds the main database only); a write to `PRAGMA query_only` would lift the second lock.
_SQLITE_REFUSED = {sqlite3.SQLITE_ATTACH: "ATTACH", sqlite3.SQLITE_DETACH: "DETACH"}


def _sqlite_authorizer(action: int, arg1: str | None, arg2: str | None, *_: object) -> int:
    if action in _SQLITE_REFUSED:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "query_only" and arg2 is not None:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def open_readonly(url: str) -> sqlite3.Connection | psycopg.Connection[tuple[Any, ...]]:
    """A DB-API connection to the warehouse that cannot write, whatever the statements say.

    SQLite: the file opened `mode=ro`, `PRAGMA query_only`, and an authorizer refusing ATTACH/DETACH and
    any change to query_only. PostgreSQL: read-only transactions with the marts schema first in the
    search_path; `run_query` then runs one statement at a time and rolls each back, so no statement can end
    the read-only transaction or change the session for the next one (SET and set_config are transactional).
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        conn = sqlite3.connect(sqlite_readonly_uri(url), uri=True)
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_sqlite_authorizer)
        return conn
    if backend == "postgresql":
        import psycopg

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        pg = psycopg.connect(
            conninfo, options=f"-c default_transaction_read_only=on -c search_path={MARTS_SCHEMA},{CORE_SCHEMA}"
        )
        pg.read_only = True  # psycopg opens each transaction with BEGIN READ ONLY
        return pg
    raise GrantError(f"unsupported warehouse URL scheme {backend!r}")


def run_query(
    conn: sqlite3.Connection | psycopg.Connection[tuple[Any, ...]], query: str
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one analyst statement on a connection from open_readonly: (column names, rows).

    `ReadOnlyRefused` for more than one statement at once (on PostgreSQL a `COMMIT; BEGIN READ WRITE; ...`
    chain would end the read-only transaction) and for what SQLite's authorizer refuses."""
    if isinstance(conn, sqlite3.Connection):
        return _sqlite_query(conn, query)
    import psycopg

    cursor = conn.cursor()
    try:
        # prepare=True: the extended protocol, which takes exactly one statement
        cursor.execute(query, prepare=True)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return columns, (cursor.fetchall() if columns else [])
    except psycopg.errors.SyntaxError as exc:
        if "multiple commands" in str(exc):
            raise ReadOnlyRefused("the read-only prompt runs one statement at a time") from None
        raise
    finally:
        cursor.close()
        conn.rollback()  # whatever the statement did to the session ends with its transaction


def _sqlite_query(conn: sqlite3.Connection, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cursor = conn.cursor()
    try:
        cursor.execute(query)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return columns, (cursor.fetchall() if columns else [])
    except sqlite3.DatabaseError as exc:
        if str(exc) == "not authorized":
            raise ReadOnlyRefused(
                "the read-only prompt refuses ATTACH, DETACH and PRAGMA query_only (not authorized)"
            ) from None
        raise
    finally:
        cursor.close()
