"""Coverage and freshness of the crawl (issue 16): the published `coverage` and `staleness` marts, read for
`citehub status`, the run summary and `citehub report`, and `coverage` rebuilt from history.

`warehouse/marts/coverage.sql` appends one row per run that publishes, from the run's own rows and counts of
the warehouse as the run leaves it (cheap at any size: no other run's history is read). `REBUILD` derives
every published run's row from history at once (hub and frontier first sightings, complete snapshots, each
run's fetches, plan and discoveries): the same values, for a warehouse whose rows predate the mart or to
verify the incremental rows (tests/warehouse/test_coverage.py). `staleness.sql` is rebuilt by every run.

Everything read here is published: a reader role (PostgreSQL, `citehub db grant-reader`) gets the same
answers. A warehouse not yet upgraded to the marts answers None / [] (the commands then leave the lines out).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select, text

from schema.tables import coverage, staleness

# Counts of a coverage row, in the order the summaries show them.
COUNTS = (
    "hubs_known",
    "hubs_fetched",
    "frontier_unfetched",
    "frontier_oldest_days",
    "paper_pages",
    "new_hubs",
    "discovery_rate",
    "requests",
    "planned_hubs",
)

# Every published run's coverage row from history; runs are ordered by started_at, as loads are (a replay
# older than the warehouse's newest run is refused, warehouse.runs.refuse_older_history). A run published
# when its load committed: it has fetch rows, or it completed (or degraded) without any.
REBUILD = """
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
  FROM hub_version s JOIN run r ON r.run_id = s.valid_from_run
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


def rebuild(conn: Connection) -> int:
    """Replace every row of `coverage` with the rows derived from history (in the caller's transaction);
    returns the rows written."""
    conn.execute(coverage.delete())
    conn.execute(text(REBUILD))
    return int(conn.execute(select(func.count()).select_from(coverage)).scalar_one())


def _has(engine: Engine, table: str) -> bool:
    return inspect(engine).has_table(table)


def run_coverage(engine: Engine, run_id: str | None = None) -> dict[str, Any] | None:
    """The coverage row of `run_id` (by default the latest run that published), or None."""
    if not _has(engine, coverage.name):
        return None
    query = select(coverage)
    query = (
        query.where(coverage.c.run_id == run_id)
        if run_id is not None
        else query.order_by(coverage.c.started_at.desc(), coverage.c.run_id.desc()).limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def coverage_history(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    """The last `limit` coverage rows (every one by default), oldest first."""
    if not _has(engine, coverage.name):
        return []
    query = select(coverage).order_by(coverage.c.started_at.desc(), coverage.c.run_id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    return rows[::-1]


def staleness_buckets(engine: Engine) -> list[dict[str, Any]]:
    """The staleness rows (freshest bucket first); [] before the first run that built them."""
    if not _has(engine, staleness.name):
        return []
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(staleness).order_by(staleness.c.bucket_seq)).mappings()]


def max_staleness(buckets: list[dict[str, Any]]) -> float | None:
    """The most days a hub fetched completely has gone without a complete fetch (None: no such hub)."""
    ages = [b["oldest_days"] for b in buckets if b["bucket"] != "never" and b["oldest_days"] is not None]
    return max(ages) if ages else None


def _days(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _pct(part: int, whole: int) -> str:
    return f" ({100 * part / whole:.0f}%)" if whole else ""


def coverage_line(row: dict[str, Any]) -> str:
    """'38 of 40 known hubs fetched completely (95%), 2 on the frontier never fetched (oldest seen 1.0 days
    before the run)'."""
    known, fetched, waiting = row["hubs_known"], row["hubs_fetched"], row["frontier_unfetched"]
    line = f"{fetched:,} of {known:,} known hubs fetched completely{_pct(fetched, known)}, "
    line += f"{waiting:,} on the frontier never fetched"
    if row["frontier_oldest_days"] is not None:
        line += f" (oldest seen {_days(row['frontier_oldest_days'])} days before the run)"
    return line


def run_line(row: dict[str, Any]) -> str:
    """What the run fetched and found: 'URLs fetched 120, planned hubs 40, paper pages 12, new hubs 3 (0.25 per
    paper page)' (URLs fetched: the run's fetch rows, column `requests`)."""
    rate = row["discovery_rate"]
    return (
        f"URLs fetched {row['requests']:,}, planned hubs {row['planned_hubs']:,}, paper pages {row['paper_pages']:,}, "
        f"new hubs {row['new_hubs']:,}" + (f" ({rate:.2f} per paper page)" if rate is not None else "")
    )


def staleness_line(buckets: list[dict[str, Any]]) -> str:
    """'0-1 d 30, 1-2 d 5, 2-4 d 0, 4-7 d 0, 7-14 d 0, 14+ d 0, never 5; max 1.5 days'."""
    parts = [f"{b['bucket']}{'' if b['bucket'] == 'never' else ' d'} {b['hubs']:,}" for b in buckets]
    stalest = max_staleness(buckets)
    return ", ".join(parts) + (f"; max {_days(stalest)} days" if stalest is not None else "")


def summary_fields(row: dict[str, Any] | None) -> dict[str, Any]:
    """A coverage row as the run's summary records it (JSON: no timestamp)."""
    if row is None:
        return {}
    return {k: row[k] for k in ("run_id", *COUNTS)}
