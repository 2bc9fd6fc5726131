"""published runs: views `runs` and `run_checks`; `run_kind` on hub_growth and hub_role_history

Readers could not see runs: the `run` table is core (PostgreSQL schema `citehub`, out of a reader's reach).
Two views in the published namespace show what analysts need: each run's kind, outcome, times, the run it
replays and its counts (`runs`), and each run's quality checks (`run_checks`). A view runs with its owner's
rights, so a reader role reads them without reading `run`. The history marts gain `run_kind`, filled here
for existing rows and by every materialization after.

The run's counts live in its JSON `summary` (text): SQLite reads them with json_extract, PostgreSQL with
the jsonb operators; both views answer alike.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_MARTS = ("hub_growth", "hub_role_history")
RUN_KIND_COMMENT = (
    "Kind of snapshot_run: nightly, backfill or reparse (a replay re-derives an archived crawl; runs.replay_of "
    "names it)."
)
# Written out per engine (no SQL is assembled from strings); the two answer alike.
RUNS_SQLITE = """
CREATE VIEW runs AS
SELECT r.run_id, r.kind, r.status AS outcome, r.started_at, r.finished_at,
       json_extract(r.params, '$.replay_of') AS replay_of, r.parser_version, r.code_version,
       CAST(json_extract(r.summary, '$.requests') AS INTEGER) AS requests,
       CAST(json_extract(r.summary, '$.pages_fetched') AS INTEGER) AS pages_fetched,
       CAST(json_extract(r.summary, '$.quarantined') AS INTEGER) AS quarantined,
       CAST(json_extract(r.summary, '$.failed_fetches') AS INTEGER) AS failed_fetches,
       json_array_length(r.summary, '$.incomplete_hubs') AS incomplete_hubs,
       json_extract(r.summary, '$.error') AS error
FROM run r
"""
RUNS_PG = """
CREATE VIEW marts.runs AS
SELECT r.run_id, r.kind, r.status AS outcome, r.started_at, r.finished_at,
       r.params::jsonb ->> 'replay_of' AS replay_of, r.parser_version, r.code_version,
       CAST(r.summary::jsonb ->> 'requests' AS INTEGER) AS requests,
       CAST(r.summary::jsonb ->> 'pages_fetched' AS INTEGER) AS pages_fetched,
       CAST(r.summary::jsonb ->> 'quarantined' AS INTEGER) AS quarantined,
       CAST(r.summary::jsonb ->> 'failed_fetches' AS INTEGER) AS failed_fetches,
       jsonb_array_length(r.summary::jsonb -> 'incomplete_hubs') AS incomplete_hubs,
       r.summary::jsonb ->> 'error' AS error
FROM run r
"""
RUN_CHECKS_SELECT = """
SELECT c.run_id, r.kind, r.started_at, c.check_name, c.table_name, c.passed, c.failed_rows, c.detail
FROM check_result c JOIN run r ON r.run_id = c.run_id
"""
RUN_CHECKS_SQLITE = "CREATE VIEW run_checks AS" + RUN_CHECKS_SELECT
RUN_CHECKS_PG = "CREATE VIEW marts.run_checks AS" + RUN_CHECKS_SELECT
FILL_RUN_KIND = {
    "hub_growth": "UPDATE hub_growth SET run_kind = (SELECT kind FROM run WHERE run.run_id = hub_growth.snapshot_run)",
    "hub_role_history": "UPDATE hub_role_history SET run_kind = "
    "(SELECT kind FROM run WHERE run.run_id = hub_role_history.snapshot_run)",
}
DROP_VIEWS_SQLITE = ("DROP VIEW run_checks", "DROP VIEW runs")
DROP_VIEWS_PG = ("DROP VIEW marts.run_checks", "DROP VIEW marts.runs")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    schema = "marts" if postgres else None
    for table in HISTORY_MARTS:
        op.add_column(table, sa.Column("run_kind", sa.Text(), nullable=True, comment=RUN_KIND_COMMENT), schema=schema)
        op.execute(FILL_RUN_KIND[table])
    op.execute(RUNS_PG if postgres else RUNS_SQLITE)
    op.execute(RUN_CHECKS_PG if postgres else RUN_CHECKS_SQLITE)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in DROP_VIEWS_PG if postgres else DROP_VIEWS_SQLITE:
        op.execute(statement)
    for table in HISTORY_MARTS:
        with op.batch_alter_table(table, schema="marts" if postgres else None) as batch:
            batch.drop_column("run_kind")
