"""coverage and staleness: published marts of the crawl's coverage and freshness (issue 16)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00

Two new published tables (PostgreSQL: schema `marts`). `coverage` holds one row per run that published: it
is filled here for the runs the warehouse already holds, from their history (a frozen copy of
warehouse.coverage.REBUILD as of this revision), and every later run appends its own. `staleness` is rebuilt
by every run; it stays empty until the next one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL_COVERAGE = """
INSERT INTO coverage (run_id, started_at, hubs_known, hubs_fetched, frontier_unfetched, frontier_oldest_days,
                      paper_pages, new_hubs, discovery_rate, requests, planned_hubs)
WITH stamp AS (
  SELECT run_id,
         CAST(SUBSTR(run_id, 1, 4) AS INTEGER) - CASE WHEN CAST(SUBSTR(run_id, 5, 2) AS INTEGER) <= 2
                                                     THEN 1 ELSE 0 END AS yy,
         (CAST(SUBSTR(run_id, 5, 2) AS INTEGER) + 9) % 12 AS mp,
         CAST(SUBSTR(run_id, 7, 2) AS INTEGER) AS d,
         CAST(SUBSTR(run_id, 10, 2) AS INTEGER) * 3600 + CAST(SUBSTR(run_id, 12, 2) AS INTEGER) * 60
           + CAST(SUBSTR(run_id, 14, 2) AS INTEGER) AS secs
  FROM run
), epoch AS (
  SELECT run_id,
         CAST((yy / 400) * 146097 + (yy - (yy / 400) * 400) * 365 + (yy - (yy / 400) * 400) / 4
              - (yy - (yy / 400) * 400) / 100 + (153 * mp + 2) / 5 + d - 1 - 719468 AS BIGINT) * 86400
           + secs AS s
  FROM stamp
), published AS (
  SELECT r.run_id, r.started_at FROM run r
  WHERE r.status IN ('completed', 'degraded') OR EXISTS (SELECT 1 FROM "fetch" f WHERE f.run_id = r.run_id)
), hub_at AS (
  SELECT h.hub_uuid, r.started_at AS at FROM hub h JOIN run r ON r.run_id = h.first_seen_run
), sighted AS (
  SELECT f.hub_uuid, f.first_seen_run, r.started_at AS at FROM frontier f JOIN run r ON r.run_id = f.first_seen_run
), complete_at AS (
  SELECT s.hub_uuid, MIN(r.started_at) AS at
  FROM hub_snapshot s JOIN run r ON r.run_id = s.run_id
  WHERE s.complete
  GROUP BY s.hub_uuid
), unfetched AS (
  SELECT p.run_id, COUNT(s.hub_uuid) AS n, MIN(s.first_seen_run) AS oldest_run
  FROM published p
  LEFT JOIN sighted s
    ON s.at <= p.started_at
   AND NOT EXISTS (SELECT 1 FROM hub_at h WHERE h.hub_uuid = s.hub_uuid AND h.at <= p.started_at)
  GROUP BY p.run_id
), fetched AS (
  SELECT run_id, COUNT(*) AS requests,
         SUM(CASE WHEN (url LIKE '%://%/paper/%' AND url NOT LIKE '%://%/%/paper/%')
                    OR (url LIKE '%://%/p/%' AND url NOT LIKE '%://%/%/p/%')
                    OR (url LIKE '%://%/ref/arxiv/%' AND url NOT LIKE '%://%/%/ref/arxiv/%')
                  THEN 1 ELSE 0 END) AS paper_pages
  FROM "fetch"
  GROUP BY run_id
), discovered AS (
  SELECT first_seen_run AS run_id, COUNT(*) AS n FROM frontier GROUP BY first_seen_run
), planned AS (
  SELECT run_id, COUNT(*) AS n FROM run_plan GROUP BY run_id
)
SELECT p.run_id, p.started_at,
       (SELECT COUNT(*) FROM hub_at h WHERE h.at <= p.started_at) + u.n,
       (SELECT COUNT(*) FROM complete_at c WHERE c.at <= p.started_at),
       u.n,
       CASE WHEN u.oldest_run IS NULL THEN NULL ELSE CAST(me.s - eo.s AS DOUBLE PRECISION) / 86400 END,
       COALESCE(fe.paper_pages, 0), COALESCE(di.n, 0),
       CASE WHEN COALESCE(fe.paper_pages, 0) > 0 THEN CAST(COALESCE(di.n, 0) AS DOUBLE PRECISION) / fe.paper_pages
            ELSE NULL END,
       COALESCE(fe.requests, 0), COALESCE(pl.n, 0)
FROM published p
JOIN unfetched u ON u.run_id = p.run_id
JOIN epoch me ON me.run_id = p.run_id
LEFT JOIN epoch eo ON eo.run_id = u.oldest_run
LEFT JOIN fetched fe ON fe.run_id = p.run_id
LEFT JOIN discovered di ON di.run_id = p.run_id
LEFT JOIN planned pl ON pl.run_id = p.run_id
"""


def upgrade() -> None:
    schema = "marts" if op.get_bind().dialect.name == "postgresql" else None
    op.create_table(
        "coverage",
        sa.Column(
            "run_id",
            sa.Text(),
            nullable=False,
            comment="The run the row describes (one row per run that published).",
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, comment="When the run started (UTC)."),
        sa.Column(
            "hubs_known",
            sa.Integer(),
            nullable=False,
            comment="Hubs the warehouse knew after the run: hubs fetched at least once plus frontier hubs never "
            "fetched.",
        ),
        sa.Column(
            "hubs_fetched",
            sa.Integer(),
            nullable=False,
            comment="Of those, hubs fetched completely at least once (every page parsed, or 'not modified').",
        ),
        sa.Column(
            "frontier_unfetched",
            sa.Integer(),
            nullable=False,
            comment="Frontier hubs never fetched after the run: linked from a fetched page, not yet crawled.",
        ),
        sa.Column(
            "frontier_oldest_days",
            sa.Float(),
            nullable=True,
            comment="Age in days of the oldest sighting among them, from the start of the run that first saw it "
            "to this run's start; NULL when none is left.",
        ),
        sa.Column(
            "paper_pages",
            sa.Integer(),
            nullable=False,
            comment="Paper pages the run fetched (URL path /paper/, /p/ or /ref/arxiv/): where new citing papers "
            "link to hubs.",
        ),
        sa.Column(
            "new_hubs", sa.Integer(), nullable=False, comment="Hubs the run's pages linked to for the first time."
        ),
        sa.Column(
            "discovery_rate",
            sa.Float(),
            nullable=True,
            comment="new_hubs per paper page fetched; NULL when the run fetched no paper page.",
        ),
        sa.Column(
            "requests", sa.Integer(), nullable=False, comment="URLs the run fetched (its rows in the fetch log)."
        ),
        sa.Column(
            "planned_hubs", sa.Integer(), nullable=False, comment="Hubs the run planned to fetch (its run plan)."
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_coverage")),
        comment="Coverage of the crawl after each run: hubs known, fetched and still on the frontier, and what "
        "the run fetched and discovered. One row per run that published; earlier runs kept.",
        info={"layer": "marts"},
        schema=schema,
    )
    op.create_table(
        "staleness",
        sa.Column(
            "bucket",
            sa.Text(),
            nullable=False,
            comment="Days since the last complete fetch: 0-1, 1-2, 2-4, 4-7, 7-14, 14+, or never (no complete "
            "fetch yet).",
        ),
        sa.Column("bucket_seq", sa.Integer(), nullable=False, comment="Order of the bucket, 1 = freshest, 7 = never."),
        sa.Column(
            "min_days",
            sa.Float(),
            nullable=True,
            comment="Lower bound of the bucket in days (included); NULL for never.",
        ),
        sa.Column(
            "max_days",
            sa.Float(),
            nullable=True,
            comment="Upper bound of the bucket in days (excluded); NULL for 14+ and never.",
        ),
        sa.Column("hubs", sa.Integer(), nullable=False, comment="Known hubs in the bucket."),
        sa.Column(
            "oldest_days",
            sa.Float(),
            nullable=True,
            comment="The most days any hub of the bucket has gone (never: since it was first seen); NULL when the "
            "bucket is empty. The maximum staleness is the largest value outside never.",
        ),
        sa.Column(
            "run_id",
            sa.Text(),
            nullable=False,
            comment="The run as of which ages are counted, which built the rows.",
        ),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_staleness")),
        comment="Freshness of the known hubs as of the latest run: how many hubs were last fetched completely "
        "how many days before it, by bucket, and the oldest of each bucket.",
        info={"layer": "marts"},
        schema=schema,
    )
    op.execute(BACKFILL_COVERAGE)


def downgrade() -> None:
    schema = "marts" if op.get_bind().dialect.name == "postgresql" else None
    op.drop_table("staleness", schema=schema)
    op.drop_table("coverage", schema=schema)
