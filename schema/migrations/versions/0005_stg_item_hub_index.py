"""stg_item index on (run_id, hub_uuid, seq)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 09:00:00

The load cleans a run's staged items hub batch by hub batch (warehouse.load.load_staged): each batch reads its
hubs' items in file order, a range of this index instead of a scan of every item of the run. No row changes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_stg_item_run_hub", "stg_item", ["run_id", "hub_uuid", "seq"])


def downgrade() -> None:
    op.drop_index("ix_stg_item_run_hub", table_name="stg_item")
