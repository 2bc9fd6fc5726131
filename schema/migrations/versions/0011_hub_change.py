"""hub_change: what the crawl has learned of each hub's changes (the revisit plan's input)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:10:00

One new core table. An existing warehouse gets a row per hub it already fetched completely, dated by its
latest complete snapshot (so a budgeted nightly right after the upgrade knows how stale each hub is); its
change counts start at zero and are learned from the runs that follow. `frontier.tries` counts the runs that
asked for a hub never fetched and did not get it (a link to a hub that answers 404 is not asked for forever).
`paper_page` starts empty: the paper pages of the papers a warehouse already holds are read as crawls list them
again (their references are how hubs are discovered). The fetch outcome `deferred` joins the CHECK constraint (the procedure of 0007).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUTCOMES = ("parsed", "not_modified", "quarantined", "failed", "skipped")
NEW_OUTCOMES = (*OLD_OUTCOMES, "deferred")
OLD_COMMENT = "parsed, not_modified (a 304), quarantined, failed or skipped."
NEW_COMMENT = (
    "parsed, not_modified (a 304), quarantined, failed, skipped, or deferred (the twin showed a change the "
    "request budget could not fetch tonight; the hub is left as it was)."
)

BACKFILL = (
    "INSERT INTO hub_change (hub_uuid, checks, changes, observed_days, last_checked_at, last_complete_at) "
    "SELECT s.hub_uuid, 0, 0, 0.0, MAX(r.started_at), MAX(r.started_at) "
    "FROM hub_snapshot s JOIN run r ON r.run_id = s.run_id WHERE s.complete GROUP BY s.hub_uuid"
)


# A migration is frozen once released: 0007's procedure is repeated here, not imported.
def _check(values: tuple[str, ...]) -> str:
    return "outcome IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _sqlite_rewrite(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    conn = op.get_bind()
    sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'fetch'").scalar_one()
    if _check(old) not in sql:
        raise RuntimeError(f"fetch table's outcome constraint is not {_check(old)!r}: {sql}")
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'fetch'",
        (sql.replace(_check(old), _check(new)),),
    )
    # Other connections must reload the schema: any DDL bumps the schema cookie they check.
    conn.exec_driver_sql("CREATE TABLE citehub_schema_bump (x INTEGER)")
    conn.exec_driver_sql("DROP TABLE citehub_schema_bump")
    conn.exec_driver_sql("PRAGMA writable_schema = RESET")


def _outcomes(old: tuple[str, ...], new: tuple[str, ...], old_comment: str, new_comment: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(old, new)
        return
    op.drop_constraint(op.f("ck_fetch_outcome"), "fetch", type_="check")
    op.create_check_constraint(op.f("ck_fetch_outcome"), "fetch", _check(new))
    op.alter_column("fetch", "outcome", comment=new_comment, existing_comment=old_comment, existing_nullable=False)


def upgrade() -> None:
    _outcomes(OLD_OUTCOMES, NEW_OUTCOMES, OLD_COMMENT, NEW_COMMENT)
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
    op.create_table(
        "paper_page",
        sa.Column(
            "paper_ref",
            sa.Text(),
            nullable=False,
            comment="arxiv:<id> or pith:<id>: the paper whose page was read.",
        ),
        sa.Column("run_id", sa.Text(), nullable=False, comment="Run that first read the page (or found it gone)."),
        sa.Column(
            "status",
            sa.Integer(),
            nullable=False,
            comment="HTTP status: 200 (read for its hub links), 404 or 410 (gone).",
        ),
        sa.ForeignKeyConstraint(["run_id"], ["run.run_id"], name=op.f("fk_paper_page_run_id_run")),
        sa.PrimaryKeyConstraint("paper_ref", name=op.f("pk_paper_page")),
        comment="Paper pages the crawl has read for discovery: a citing paper listed here is not asked for again; "
        "one not here is, by the next crawl whose hub pages list it (warehouse.frontier).",
        info={"layer": "core"},
    )
    op.create_index("ix_frontier_first_seen_run", "frontier", ["first_seen_run"])
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
    op.drop_index("ix_frontier_first_seen_run", "frontier")
    op.drop_table("paper_page")
    op.execute("UPDATE \"fetch\" SET outcome = 'skipped' WHERE outcome = 'deferred'")  # a reserved word in PostgreSQL
    _outcomes(NEW_OUTCOMES, OLD_OUTCOMES, NEW_COMMENT, OLD_COMMENT)
    with op.batch_alter_table("frontier") as batch:
        batch.drop_column("tries")
    op.drop_table("hub_change")
