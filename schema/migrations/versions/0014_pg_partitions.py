"""pg partitions: fetch, citation_version, hub_version, hub_facet_version by run month (PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00

PostgreSQL: the four tables that grow without bound become range-partitioned by the month of a run id
(`fetch` by `run_id`, the others by `valid_from_run`; run ids begin with their UTC start, so the month
2026-11 is '202611' <= key < '202612'). Each table gets a partition for every month its rows hold, for the
current and the next month, and a DEFAULT partition for keys no month takes; partitions live in the schema
`citehub_partitions`, off the search_path (storage, not tables of the model). `schema.partitions.
ensure_partitions` adds months as runs start.

Each table is rebuilt in place: a partitioned copy (LIKE the table: columns, defaults, NOT NULL, CHECK
constraints, column comments) is filled with every row, the old table dropped and the copy renamed; its
primary key, indexes and foreign keys are then built under their old names, the table comment, owner and
grants put back, and the views that read the table (the as-of views) dropped before and created again from
their own definitions, comments and grants. Downgrade rebuilds plain tables the same way. Rows are moved
as they are: counts and contents are equal before and after, both ways.

SQLite: nothing (plain tables).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from alembic import op

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as pgsql

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen as of this revision (schema.partitions carries the live copy for ensure_partitions).
PARTITION_SCHEMA = "citehub_partitions"
PARTITION_KEYS = {
    "fetch": "run_id",
    "citation_version": "valid_from_run",
    "hub_version": "valid_from_run",
    "hub_facet_version": "valid_from_run",
}
RUN_MONTH = re.compile(r"(\d{4})(0[1-9]|1[0-2])\d\dT")
# Copy of the table's definition without its indexes (the primary key is built once the rows are in).
LIKE = "INCLUDING ALL EXCLUDING INDEXES"


def _driver() -> psycopg.Connection[Any]:
    return cast("psycopg.Connection[Any]", op.get_bind().connection.driver_connection)


def _run(statement: pgsql.SQL | pgsql.Composed) -> None:
    _driver().execute(statement)


def _rows(query: str, **params: Any) -> list[Any]:
    return list(op.get_bind().execute(sa.text(query), params).all())


def _month_after(month: str) -> str:
    year, number = int(month[:4]), int(month[4:])
    return f"{year + number // 12:04d}{number % 12 + 1:02d}"


# --- what a rebuild must put back ----------------------------------------------------------------------

ACL = (
    "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type, "
    "a.is_grantable FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = :oid AND a.grantee <> c.relowner "
    "ORDER BY 1, 2"
)
DEPENDENT_VIEWS = """
WITH RECURSIVE dependent(oid, depth) AS (
  SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
    AND d.refobjid = :oid AND r.ev_class <> :oid
  UNION
  SELECT r.ev_class, dependent.depth + 1 FROM dependent
  JOIN pg_depend d ON d.refobjid = dependent.oid AND d.classid = 'pg_rewrite'::regclass
                  AND d.refclassid = 'pg_class'::regclass
  JOIN pg_rewrite r ON r.oid = d.objid AND r.ev_class <> dependent.oid
)
SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, pg_get_viewdef(c.oid) AS definition,
       c.reloptions AS options, pg_get_userbyid(c.relowner) AS owner,
       obj_description(c.oid, 'pg_class') AS comment, MAX(dep.depth) AS depth
FROM dependent dep JOIN pg_class c ON c.oid = dep.oid JOIN pg_namespace n ON n.oid = c.relnamespace
GROUP BY c.oid, n.nspname, c.relname, c.relkind, c.reloptions, c.relowner
ORDER BY depth, c.oid
"""


def _capture(table: str) -> dict[str, Any]:
    """The table's schema, owner, comment, grants, constraints (not CHECK: LIKE copies those), indexes,
    the foreign keys of other tables that point at it, and the views that read it, deepest last, each with
    its definition, options, owner, comments and grants."""
    oid, schema, owner, comment = _rows(
        "SELECT c.oid, n.nspname, pg_get_userbyid(c.relowner), obj_description(c.oid, 'pg_class') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(:t)",
        t=table,
    )[0]
    views = []
    for view in _rows(DEPENDENT_VIEWS, oid=oid):
        if view.kind != "v":
            raise RuntimeError(f"{table}: materialized view {view.schema}.{view.name} reads it; drop it first")
        columns = _rows(
            "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute "
            "WHERE attrelid = :oid AND attnum > 0 AND col_description(attrelid, attnum) IS NOT NULL ORDER BY attnum",
            oid=view.oid,
        )
        views.append({**view._asdict(), "column_comments": columns, "acl": _rows(ACL, oid=view.oid)})
    return {
        "name": table,
        "schema": schema,
        "owner": owner,
        "comment": comment,
        "acl": _rows(ACL, oid=oid),
        "constraints": _rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = :oid AND contype IN ('p', 'u', 'x', 'f') ORDER BY contype = 'f', conname",
            oid=oid,
        ),
        # a partitioned table's index reads CREATE INDEX ... ON ONLY: built here for every partition
        "indexes": [
            definition.replace(" ON ONLY ", " ON ", 1)
            for (definition,) in _rows(
                "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = :oid AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = :oid) "
                "ORDER BY i.indexrelid",
                oid=oid,
            )
        ],
        "referencing": _rows(
            "SELECT n.nspname, c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE k.confrelid = :oid AND k.contype = 'f' AND k.conparentid = 0 AND k.conrelid <> :oid "
            "ORDER BY 1, 2, 3",
            oid=oid,
        ),
        "views": views,
    }


def _grant(kind: str, target: pgsql.Composable, acl: list[Any]) -> None:
    from psycopg import sql

    for grantee, privilege, grantable in acl:
        _run(
            sql.SQL("GRANT {} ON {} {} TO {}{}").format(
                sql.SQL(privilege),  # a privilege keyword from aclexplode (SELECT, INSERT, ...)
                sql.SQL(kind),
                target,
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )


def _drop_dependents(saved: dict[str, Any]) -> None:
    from psycopg import sql

    for schema, name, conname, _ in saved["referencing"]:
        _run(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(schema, name), sql.Identifier(conname)))
    for view in reversed(saved["views"]):
        _run(sql.SQL("DROP VIEW {}").format(sql.Identifier(view["schema"], view["name"])))


def _restore(saved: dict[str, Any]) -> None:
    """Put back on the rebuilt table, now under its own name, everything `_capture` saved."""
    from psycopg import sql

    target = sql.Identifier(saved["schema"], saved["name"])
    for conname, definition in saved["constraints"]:
        _run(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(target, sql.Identifier(conname)) + sql.SQL(definition))
    for definition in saved["indexes"]:
        _run(sql.SQL(definition))
    if saved["comment"] is not None:
        _run(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(saved["comment"])))
    _run(sql.SQL("ALTER TABLE {} OWNER TO {}").format(target, sql.Identifier(saved["owner"])))
    _grant("TABLE", target, saved["acl"])
    for schema, name, conname, definition in saved["referencing"]:
        _run(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(schema, name), sql.Identifier(conname))
            + sql.SQL(definition)
        )
    for view in saved["views"]:
        name = sql.Identifier(view["schema"], view["name"])
        options = sql.SQL(" WITH ({})".format(", ".join(view["options"]))) if view["options"] else sql.SQL("")
        _run(sql.SQL("CREATE VIEW {}").format(name) + options + sql.SQL(" AS ") + sql.SQL(view["definition"]))
        if view["comment"] is not None:
            _run(sql.SQL("COMMENT ON VIEW {} IS {}").format(name, sql.Literal(view["comment"])))
        for column, comment in view["column_comments"]:
            _run(
                sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                    sql.Identifier(view["schema"], view["name"], column), sql.Literal(comment)
                )
            )
        _run(sql.SQL("ALTER VIEW {} OWNER TO {}").format(name, sql.Identifier(view["owner"])))
        _grant("TABLE", name, view["acl"])


# --- the rebuilds ----------------------------------------------------------------------------------------


def _months(table: str, key: str) -> list[str]:
    """Months whose rows the table holds, and the current and next months."""
    from psycopg import sql

    prefixes = _driver().execute(
        sql.SQL("SELECT DISTINCT substr({}, 1, 9) FROM {}").format(sql.Identifier(key), sql.Identifier(table))
    )
    found = {m.group(1) + m.group(2) for (prefix,) in prefixes if (m := RUN_MONTH.match(prefix))}
    now = f"{datetime.now(UTC):%Y%m}"
    return sorted(found | {now, _month_after(now)})


def _rebuild(table: str, key: str | None) -> None:
    """Rebuild `table` partitioned by `key` (a run-id column), or plain when `key` is None, with the same
    rows and everything `_capture` saves."""
    from psycopg import sql

    saved = _capture(table)
    months = _months(table, key) if key else []
    _drop_dependents(saved)
    old = sql.Identifier(saved["schema"], table)
    staging = f"{table}__rebuilt"
    new = sql.Identifier(saved["schema"], staging)
    partition_by = sql.SQL(" PARTITION BY RANGE ({})").format(sql.Identifier(key)) if key else sql.SQL("")
    _run(sql.SQL("CREATE TABLE {} (LIKE {} " + LIKE + "){}").format(new, old, partition_by))
    for month in months:
        _run(
            sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(PARTITION_SCHEMA, f"{table}_{month}"),
                new,
                sql.Literal(month),
                sql.Literal(_month_after(month)),
            )
        )
    if key:
        _run(
            sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                sql.Identifier(PARTITION_SCHEMA, f"{table}_default"), new
            )
        )
    _run(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(new, old))
    _run(sql.SQL("DROP TABLE {}").format(old))  # a partitioned one with its partitions
    _run(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new, sql.Identifier(table)))
    _restore(saved)
    _run(sql.SQL("ANALYZE {}").format(old))  # nothing analyzes a partitioned parent by itself


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from psycopg import sql

    _run(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(PARTITION_SCHEMA)))
    for table, key in PARTITION_KEYS.items():
        _rebuild(table, key)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    from psycopg import sql

    for table in PARTITION_KEYS:
        _rebuild(table, None)
    # partitions detached by hand (cold storage) stay where they are, and so does their schema
    left = _rows(
        "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s",
        s=PARTITION_SCHEMA,
    )[0][0]
    if left == 0:
        _run(sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(PARTITION_SCHEMA)))
