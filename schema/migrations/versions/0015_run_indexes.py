"""run indexes: the spells a run opened or closed, found by the run

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 09:00:00

A night reads what it changed: the edge versions and hub spells it opened (`valid_from_run = run`) or closed
(`valid_to_run = run`), for the change report, the marts it keeps incrementally and the run calendar of
hub_growth and hub_role_history. Without an index each of those reads every version the warehouse holds.
The indexes on the closing run are partial (closed versions only): most versions are open, and a lookup by a
run names a closed one. PostgreSQL builds each on the partitioned table (every partition gets its own).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLOSED = sa.text("valid_to_run IS NOT NULL")
# (name, table, columns, partial on closed versions)
INDEXES = (
    ("ix_citation_version_from_run", "citation_version", ["valid_from_run"], False),
    ("ix_citation_version_to_run", "citation_version", ["valid_to_run"], True),
    ("ix_hub_version_from_run", "hub_version", ["valid_from_run"], False),
    ("ix_hub_version_to_run", "hub_version", ["valid_to_run"], True),
    ("ix_hub_facet_version_from_run", "hub_facet_version", ["valid_from_run", "facet"], False),
    ("ix_hub_facet_version_to_run", "hub_facet_version", ["valid_to_run", "facet"], True),
    ("ix_stg_item_run_kind", "stg_item", ["run_id", "kind", "hub_uuid"], False),
)


def upgrade() -> None:
    for name, table, columns, closed in INDEXES:
        where = CLOSED if closed else None
        op.create_index(name, table, columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table)
