"""citation's references to hub and paper are checked once per load, not per row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 09:00:00

The foreign keys citation.hub_uuid -> hub and citation.paper_key -> paper fired a trigger per inserted or
updated row: on PostgreSQL most of the time a COPY of the edges took, the largest single cost of a first
load. The load now runs the same two checks as one anti-join each inside its transaction and refuses to
commit if an edge names a missing hub or paper (warehouse.load), so the warehouse holds the same guarantee;
nothing ever deletes a hub or a paper. No row changes.

SQLite cannot drop a constraint, and a batch copy of `citation` would fight the views that name it: the
table's text is rewritten in the schema instead (https://sqlite.org/lang_altertable.html, section 7, lists
removing a FOREIGN KEY constraint among the changes that need no rewrite of stored rows), as 0004 did.
"""

import re
from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FKS = (("fk_citation_paper_key_paper", "paper_key", "paper"), ("fk_citation_hub_uuid_hub", "hub_uuid", "hub"))


def _clause(name: str, column: str, parent: str) -> str:
    return f"CONSTRAINT {name} FOREIGN KEY({column}) REFERENCES {parent} ({column})"


def _sqlite_rewrite(edit: Callable[[str], str]) -> None:
    conn = op.get_bind()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'citation'").scalar_one()
    new = edit(sql)
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'citation'", (new,))
    # Other connections must reload the schema: any DDL bumps the schema cookie they check (see 0004).
    conn.exec_driver_sql("CREATE TABLE citehub_schema_bump (x INTEGER)")
    conn.exec_driver_sql("DROP TABLE citehub_schema_bump")
    conn.exec_driver_sql("PRAGMA writable_schema = RESET")


def _without_fks(sql: str) -> str:
    for fk in FKS:
        pattern = re.compile(r",\s*" + re.escape(_clause(*fk)))
        if not pattern.search(sql):
            raise RuntimeError(f"citation's DDL has no {fk[0]}: {sql}")
        sql = pattern.sub("", sql)
    return sql


def _with_fks(sql: str) -> str:
    body, close = sql.rstrip().rsplit(")", 1)
    return body.rstrip() + "".join(f", \n\t{_clause(*fk)}" for fk in FKS) + "\n)" + close


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(_without_fks)
        return
    for name, _, _ in FKS:
        op.drop_constraint(name, "citation", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(_with_fks)
        return
    for name, column, parent in FKS:
        op.create_foreign_key(name, "citation", parent, [column], [column])
