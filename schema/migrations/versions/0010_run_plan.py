"""run_plan: which hubs a run chose to fetch within its request budget, and why

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 17:00:00

One new core table, empty; no existing row changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_plan",
        sa.Column("run_id", sa.Text(), nullable=False, comment="Run the plan was made for."),
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="A hub the run planned to fetch."),
        sa.Column(
            "rank", sa.Integer(), nullable=False, comment="Order of the choice (1 first): the crawl asks in this order."
        ),
        sa.Column(
            "reason",
            sa.Text(),
            nullable=False,
            comment="Why it was chosen: seed, named, new (a frontier hub never fetched), overdue (past the maximum "
            "staleness), incomplete (known, never fetched completely), likely_changed (its learned change rate), round_robin, or known (an unbudgeted run).",
        ),
        sa.Column(
            "expected_requests", sa.Float(), nullable=False, comment="Requests the plan expected the hub to cost."
        ),
        sa.Column(
            "change_rate",
            sa.Float(),
            nullable=True,
            comment="Learned chance a day that the hub changes; NULL for a hub never fetched.",
        ),
        sa.Column(
            "days_stale",
            sa.Float(),
            nullable=True,
            comment="Days since its last complete fetch; NULL for a hub never fetched.",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.run_id"], name=op.f("fk_run_plan_run_id_run")),
        sa.PrimaryKeyConstraint("run_id", "hub_uuid", name=op.f("pk_run_plan")),
        comment="Which hubs each run planned to fetch within its request budget, and why (flows.nightly plans, "
        "warehouse.plan chooses).",
        info={"layer": "core"},
    )


def downgrade() -> None:
    op.drop_table("run_plan")
