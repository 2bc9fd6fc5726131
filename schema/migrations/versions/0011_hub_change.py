"""hub_change: what the crawl has learned of each hub's changes (the revisit plan's input)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:10:00

One new core table. An existing warehouse gets a row per hub it already fetched completely, dated by its
latest complete snapshot (so a budgeted nightly right after the upgrade knows how stale each hub is); its
change counts start at zero and are learned from the runs that follow. `frontier.tries` counts the runs that
asked for a hub never fetched and did not get it (a link to a hub that answers 404 is not asked for forever).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "INSERT INTO hub_change (hub_uuid, checks, changes, observed_days, last_checked_at, last_complete_at) "
    "SELECT s.hub_uuid, 0, 0, 0.0, MAX(r.started_at), MAX(r.started_at) "
    "FROM hub_snapshot s JOIN run r ON r.run_id = s.run_id WHERE s.complete GROUP BY s.hub_uuid"
)


def upgrade() -> None:
    op.create_table(
        "hub_change",
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The hub."),
        sa.Column("checks", sa.Integer(), nullable=False, comment="JSON-twin answers compared with an earlier one."),
        sa.Column("changes", sa.Integer(), nullable=False, comment="Of those, answers showing the hub changed."),
        sa.Column("observed_days", sa.Float(), nullable=False, comment="Days those comparisons spanned, summed."),
        sa.Column(
            "twin_sha256", sa.Text(), nullable=True, comment="SHA-256 of the latest JSON twin body received (200)."
        ),
        sa.Column(
            "last_checked_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Start of the latest run whose twin fetch answered.",
        ),
        sa.Column(
            "last_complete_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="Start of the latest run that fetched it completely.",
        ),
        sa.Column(
            "full_requests",
            sa.Integer(),
            nullable=True,
            comment="Requests its latest complete fetch with pages cost (twin included).",
        ),
        sa.PrimaryKeyConstraint("hub_uuid", name=op.f("pk_hub_change")),
        comment="What the crawl has learned of each hub's changes, updated by every load from its own fetches: "
        "the revisit plan's input (warehouse.plan).",
        info={"layer": "core"},
    )
    op.execute(BACKFILL)
    with op.batch_alter_table("frontier") as batch:
        batch.add_column(
            sa.Column(
                "tries",
                sa.Integer(),
                nullable=False,
                server_default="0",
                comment="Runs that asked for it and did not get it (after MAX_TRIES it is no longer planned).",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("frontier") as batch:
        batch.drop_column("tries")
    op.drop_table("hub_change")
