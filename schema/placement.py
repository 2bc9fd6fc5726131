"""Where each layer of the warehouse lives: its own schema on PostgreSQL, one namespace on SQLite.

PostgreSQL: core and staging tables (internal bookkeeping) in `citehub`, published tables and views in
`marts`. Every connection of `schema.engine` sets `search_path = citehub, marts, public`, so the Table objects
of `schema.tables` (which carry no schema) and the plain SQL of `warehouse/marts/*.sql` and
`warehouse/checks.py` name tables without a schema and run unchanged on both engines. A symbolic schema per
Table plus `schema_translate_map` would do the same for Table objects only, and would make SQLite reflection
(Alembic batch mode, autogenerate) look for attached databases that do not exist; one search_path serves
both Table objects and plain SQL.

A table created unqualified lands in the first schema of the search_path (`citehub`). `place_tables` moves
every table of the metadata (and every published view) to its layer's schema; `schema.migrations.env` runs it
after each upgrade, so tables added by later migrations end up where their layer says.
`public` stays last in the path so a warehouse created before the schemas existed (revision 0001) still
resolves while it is being upgraded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from psycopg import sql as pgsql
from sqlalchemy import Connection, MetaData, Table, text

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType
    from sqlalchemy.schema import SchemaItem

CORE_SCHEMA = "citehub"
MARTS_SCHEMA = "marts"
LAYER_SCHEMAS = {"core": CORE_SCHEMA, "staging": CORE_SCHEMA, "marts": MARTS_SCHEMA}
SEARCH_PATH = (CORE_SCHEMA, MARTS_SCHEMA, "public")
# Views the history engineer publishes (as-of views); views are not Table objects of the metadata.
PUBLISHED_VIEWS_KEY = "published_views"


def schema_for(table: Table) -> str:
    """PostgreSQL schema of `table`, from its layer (`info["layer"]`)."""
    return LAYER_SCHEMAS[table.info["layer"]]


def published_tables(metadata: MetaData) -> list[Table]:
    """The published tables (layer `marts`), sorted by name: the contract analysts read."""
    return sorted((t for t in metadata.tables.values() if t.info.get("layer") == "marts"), key=lambda t: t.name)


def published_views(metadata: MetaData) -> tuple[str, ...]:
    """Names of published views declared in `metadata.info["published_views"]`."""
    return tuple(metadata.info.get(PUBLISHED_VIEWS_KEY, ()))


def placed_metadata(metadata: MetaData) -> MetaData:
    """A copy of `metadata` whose published tables carry the `marts` schema, for Alembic's comparison on
    PostgreSQL. Core tables keep no schema: `citehub` heads the search_path, so it is the connection's
    default schema, which Alembic reports as None."""
    placed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        schema = MARTS_SCHEMA if schema_for(table) == MARTS_SCHEMA else None
        # Foreign keys only ever point at core tables (run, hub, paper).
        # schema=None is documented (the target MetaData's schema: none) but left out of the annotation.
        table.to_metadata(placed, schema=schema, referred_schema_fn=lambda *_: None)  # type: ignore[arg-type]
    return placed


def include_object(
    obj: SchemaItem, name: str | None, type_: NameFilterType, reflected: bool, compare_to: SchemaItem | None
) -> bool:
    """Alembic filter on PostgreSQL: reflection of the default schema lists every table *visible* through
    the search_path, so published tables show up there too; they are compared under `marts` only."""
    # `obj` is a Table when type_ is "table".
    return not (
        type_ == "table"
        and reflected
        and compare_to is None
        and cast(Table, obj).schema is None
        and name in _published_names()
    )


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """Alembic filter on PostgreSQL: the default schema (None: core tables, found through the search_path)
    and `marts`. `citehub` by name is left out: an engine first connected to an empty database keeps
    `public` as its default schema, and would otherwise list the core tables twice."""
    return type_ != "schema" or name in (None, MARTS_SCHEMA)


def _published_names() -> set[str]:
    from schema.tables import metadata

    return {t.name for t in published_tables(metadata)}


def relation_schema(conn: Connection, name: str) -> str | None:
    """Schema holding the table or view `name` as the search_path resolves it; None when absent."""
    return conn.execute(
        text(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(:name)"
        ),
        {"name": name},
    ).scalar()


def schemas_exist(conn: Connection) -> bool:
    found = conn.execute(
        text("SELECT COUNT(*) FROM pg_namespace WHERE nspname IN (:core, :marts)"),
        {"core": CORE_SCHEMA, "marts": MARTS_SCHEMA},
    ).scalar_one()
    return found == 2


def move(conn: Connection, name: str, schema: str, kind: str = "TABLE") -> bool:
    """Move table or view `name` (resolved by the search_path) into `schema`; True when it moved."""
    current = relation_schema(conn, name)
    if current is None or current == schema:
        return False
    statement = {"TABLE": "ALTER TABLE {} SET SCHEMA {}", "VIEW": "ALTER VIEW {} SET SCHEMA {}"}[kind]
    execute_pg(conn, pgsql.SQL(statement).format(pgsql.Identifier(current, name), pgsql.Identifier(schema)))
    return True


def execute_pg(conn: Connection, statement: pgsql.Composable, params: dict | None = None) -> None:
    """Run a psycopg.sql statement (identifiers quoted by psycopg) in `conn`'s current transaction."""
    driver = conn.connection.driver_connection
    if driver is None:  # SQLAlchemy's pool holds none for a connection it invalidated
        raise RuntimeError("the connection has no driver connection (invalidated)")
    driver.execute(statement, params)


def place_tables(conn: Connection, metadata: MetaData) -> list[str]:
    """Move every metadata table and published view to its layer's schema (PostgreSQL, once the schemas
    exist, i.e. from revision 0003 on); returns what moved. A no-op on SQLite."""
    if conn.dialect.name != "postgresql" or not schemas_exist(conn):
        return []
    moved = [t.name for t in metadata.sorted_tables if move(conn, t.name, schema_for(t))]
    moved += [v for v in published_views(metadata) if move(conn, v, MARTS_SCHEMA, "VIEW")]
    if move(conn, "alembic_version", CORE_SCHEMA):
        moved.append("alembic_version")
    return moved


def reader_roles(conn: Connection) -> list[str]:
    """Roles that may use the `marts` schema (granted by `citehub db grant-reader`), owner excluded."""
    return list(
        conn.execute(
            text(
                "SELECT r.rolname FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee "
                "WHERE n.nspname = :marts AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner "
                "ORDER BY r.rolname"
            ),
            {"marts": MARTS_SCHEMA},
        ).scalars()
    )


def sync_reader_grants(conn: Connection) -> list[str]:
    """Give every reader role SELECT on everything now in `marts` (PostgreSQL; a no-op elsewhere)."""
    if conn.dialect.name != "postgresql" or not schemas_exist(conn):
        return []
    roles = reader_roles(conn)
    for role in roles:
        execute_pg(
            conn,
            pgsql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                pgsql.Identifier(MARTS_SCHEMA), pgsql.Identifier(role)
            ),
        )
    return roles
