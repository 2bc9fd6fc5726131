"""history: citation validity, citation_version, fetch validators, change_report, as-of views

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 09:00:00

Existing edges become one open version each, valid from the run that first saw them.
The as-of views compare runs by `run.started_at` (run ids sort by start second only).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CITATION_AS_OF = """
CREATE VIEW citation_as_of AS
SELECT r.run_id AS as_of_run, r.started_at AS as_of_started_at,
       v.hub_uuid, v.paper_key, v.role, v.polarity, v.verdict, v.novelty, v.refs, v.representative,
       v.valid_from_run, v.valid_to_run
FROM run r
JOIN citation_version v ON 1 = 1
JOIN run f ON f.run_id = v.valid_from_run
LEFT JOIN run t ON t.run_id = v.valid_to_run
WHERE f.started_at <= r.started_at
  AND (t.run_id IS NULL OR t.started_at > r.started_at)
"""

HUB_AS_OF = """
CREATE VIEW hub_as_of AS
SELECT r.run_id AS as_of_run, r.started_at AS as_of_started_at, s.run_id AS snapshot_run,
       s.hub_uuid, s.tier, s.label, s.template, s.headline, s.headline_role, s.headline_share,
       s.citing_count, s.classified_count, s.parsed_count, s.complete
FROM run r
JOIN hub_snapshot s ON 1 = 1
JOIN run sr ON sr.run_id = s.run_id
WHERE sr.started_at <= r.started_at
  AND NOT EXISTS (
    SELECT 1 FROM hub_snapshot s2 JOIN run r2 ON r2.run_id = s2.run_id
    WHERE s2.hub_uuid = s.hub_uuid AND r2.started_at > sr.started_at AND r2.started_at <= r.started_at)
"""


def upgrade() -> None:
    with op.batch_alter_table("citation") as batch:
        batch.add_column(
            sa.Column(
                "valid_from_run",
                sa.Text(),
                nullable=True,
                comment="Run from which the edge has been current (its latest appearance; earlier spells are in "
                "citation_version).",
            )
        )
        batch.add_column(
            sa.Column(
                "valid_to_run",
                sa.Text(),
                nullable=True,
                comment="Run that retired the edge (first complete fetch of its hub without it); NULL = current.",
            )
        )
    op.execute("UPDATE citation SET valid_from_run = first_seen_run")
    with op.batch_alter_table("citation") as batch:
        batch.alter_column("valid_from_run", existing_type=sa.Text(), nullable=False)
    if op.get_bind().dialect.name != "sqlite":  # SQLite keeps no comments
        op.create_table_comment(
            "citation",
            "Who cites whom: one edge per (hub, citing paper), whatever list, page or filter showed it; "
            "current labels. Published readers use current edges (valid_to_run IS NULL).",
            existing_comment="Who cites whom: one edge per (hub, citing paper), whatever list, page or filter "
            "showed it.",
        )
    op.create_table(
        "citation_version",
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The cited hub."),
        sa.Column("paper_key", sa.Text(), nullable=False, comment="The citing paper."),
        sa.Column(
            "valid_from_run", sa.Text(), nullable=False, comment="First run that showed the edge with these values."
        ),
        sa.Column(
            "valid_to_run",
            sa.Text(),
            nullable=True,
            comment="Run from which these values no longer hold (relabelled or retired); NULL = current.",
        ),
        sa.Column("role", sa.Text(), nullable=True, comment="Citation role in this version; NULL when unclassified."),
        sa.Column(
            "polarity", sa.Text(), nullable=True, comment="Citation polarity in this version; NULL when unclassified."
        ),
        sa.Column("verdict", sa.Text(), nullable=True, comment="Review verdict in this version, lower case."),
        sa.Column(
            "novelty", sa.Float(), nullable=True, comment="Novelty score 0-10 in this version; NULL for 'novelty none'."
        ),
        sa.Column("refs", sa.Integer(), nullable=True, comment="'k refs' in this version."),
        sa.Column(
            "representative",
            sa.Boolean(),
            nullable=False,
            comment="True when listed under 'representative citing papers' in this version.",
        ),
        sa.PrimaryKeyConstraint("hub_uuid", "paper_key", "valid_from_run", name=op.f("pk_citation_version")),
        comment="History of every edge: one row per spell of unchanged values; a relabel or retirement closes "
        "the row (valid_to_run) instead of overwriting it.",
        info={"layer": "core"},
    )
    op.execute(
        "INSERT INTO citation_version (hub_uuid, paper_key, valid_from_run, valid_to_run, role, polarity, "
        "verdict, novelty, refs, representative) SELECT hub_uuid, paper_key, first_seen_run, NULL, role, "
        "polarity, verdict, novelty, refs, representative FROM citation"
    )
    with op.batch_alter_table("fetch") as batch:
        batch.add_column(
            sa.Column(
                "etag",
                sa.Text(),
                nullable=True,
                comment="ETag response header (a validator for the next run's If-None-Match).",
            )
        )
        batch.add_column(
            sa.Column(
                "last_modified",
                sa.Text(),
                nullable=True,
                comment="Last-Modified response header (a validator for the next run's If-Modified-Since).",
            )
        )
    op.create_table(
        "change_report",
        sa.Column("run_id", sa.Text(), nullable=False, comment="Run whose changes the row reports."),
        sa.Column(
            "change",
            sa.Text(),
            nullable=False,
            comment="new (edge appeared), retired (edge gone from a complete fetch), relabelled (a value of "
            "a current edge changed), tier, label (hub figures changed), incomplete (hub fetch "
            "failed, truncated or quarantined: nothing of it retired).",
        ),
        sa.Column("hub_uuid", sa.Text(), nullable=False, comment="The hub."),
        sa.Column(
            "subject",
            sa.Text(),
            nullable=False,
            comment="paper_key of the citing paper for edge changes; the hub_uuid for hub changes.",
        ),
        sa.Column(
            "field",
            sa.Text(),
            nullable=False,
            comment="Changed field: role, polarity, verdict, novelty, refs, representative for relabels; "
            "tier or label for hubs; 'edge' for new and retired edges; 'fetch' for incomplete "
            "hubs.",
        ),
        sa.Column("old_value", sa.Text(), nullable=True, comment="Value before the run, as text; NULL when absent."),
        sa.Column("new_value", sa.Text(), nullable=True, comment="Value after the run, as text; NULL when absent."),
        sa.PrimaryKeyConstraint("run_id", "hub_uuid", "subject", "field", name=op.f("pk_change_report")),
        comment="Change report of each run: new, retired and relabelled citations, tier and label changes, "
        "hubs whose fetch was incomplete. Rebuilt for the run at materialize time; earlier runs kept.",
        info={"layer": "marts"},
    )
    op.execute(CITATION_AS_OF)
    op.execute(HUB_AS_OF)


def downgrade() -> None:
    op.execute("DROP VIEW hub_as_of")
    op.execute("DROP VIEW citation_as_of")
    op.drop_table("change_report")
    with op.batch_alter_table("fetch") as batch:
        batch.drop_column("last_modified")
        batch.drop_column("etag")
    op.drop_table("citation_version")
    with op.batch_alter_table("citation") as batch:
        batch.drop_column("valid_to_run")
        batch.drop_column("valid_from_run")
