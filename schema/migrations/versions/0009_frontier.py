"""frontier and bad_link: hubs discovered by following links, and links refused

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:00:00

Two new core tables, empty; no existing row changes. A hub of the frontier absent from `hub` was never
fetched: the crawl plans it (flows.nightly.plan_hubs).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "frontier",
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="A hub some fetched page links to."),
        sa.Column(
            "first_seen_run", sa.Text(), nullable=False, comment="Run whose crawl first found a link to the hub."
        ),
        sa.Column("first_seen_on", sa.Text(), nullable=False, comment="URL of the page that first linked to it."),
        sa.Column(
            "first_seen_at", sa.DateTime(timezone=True), nullable=True, comment="When that page was fetched (UTC)."
        ),
        sa.Column(
            "first_seen_block",
            sa.Text(),
            nullable=False,
            comment="Where on that page: co_cited (a 'co-cited works' block), references (a paper's reference "
            "list) or other.",
        ),
        sa.Column("last_seen_run", sa.Text(), nullable=False, comment="Latest run whose crawl found a link to it."),
        sa.ForeignKeyConstraint(["first_seen_run"], ["run.run_id"], name=op.f("fk_frontier_first_seen_run_run")),
        sa.ForeignKeyConstraint(["last_seen_run"], ["run.run_id"], name=op.f("fk_frontier_last_seen_run_run")),
        sa.PrimaryKeyConstraint("hub_uuid", name=op.f("pk_frontier")),
        comment="Every hub a fetched page has linked to, with where and when it was first seen: the crawl's "
        "frontier (a hub of the frontier absent from `hub` was never fetched).",
        info={"layer": "core"},
    )
    op.create_table(
        "bad_link",
        sa.Column("run_id", sa.Text(), nullable=False, comment="Run whose crawl found the link."),
        sa.Column("found_on", sa.Text(), nullable=False, comment="URL of the page carrying the link."),
        sa.Column("href", sa.Text(), nullable=False, comment="The link as found (at most 500 characters)."),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=False,
            comment="Why it is not followed: malformed_uuid, off_site, unsupported_scheme, unparsable, ...",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.run_id"], name=op.f("fk_bad_link_run_id_run")),
        sa.PrimaryKeyConstraint("run_id", "found_on", "href", name=op.f("pk_bad_link")),
        comment="Links to hubs that were recorded and not followed (never crawled).",
        info={"layer": "core"},
    )

    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no comments
        op.alter_column(
            "stg_item",
            "kind",
            comment="Item kind: hub_page, hub_json, quarantine, fetch or links.",
            existing_comment="Item kind: hub_page, hub_json, quarantine or fetch.",
            existing_type=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "stg_item",
            "kind",
            comment="Item kind: hub_page, hub_json, quarantine or fetch.",
            existing_comment="Item kind: hub_page, hub_json, quarantine, fetch or links.",
            existing_type=sa.Text(),
            existing_nullable=False,
        )
    op.drop_table("bad_link")
    op.drop_table("frontier")
