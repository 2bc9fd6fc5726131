-- coverage: one row per run that published (rows of earlier runs are kept), computed from the run's own rows
-- (its fetches, run plan and first sightings) plus counts of the warehouse as the run leaves it; it never
-- reads the history of other runs. warehouse.coverage.REBUILD derives every run's row from history instead
-- (same values; tests/warehouse/test_coverage.py).
-- hubs_known: hubs in `hub` plus frontier hubs absent from it (never fetched). hubs_fetched: hub_summary's rows,
-- the hubs with a complete snapshot (fetched completely, or answered "not modified") in some run.
-- Paper pages: fetch URLs whose path starts with /paper/, /p/ or /ref/arxiv/ ('%://%/paper/%' puts the segment
-- right after the host when no other '/' precedes it: '%://%/%/paper/%' is excluded).
-- Days come from the run ids (UTC start YYYYMMDDTHHMMSSZ-xxxxxx, days-from-civil in integer arithmetic as in
-- hub_growth), so both engines count them alike; one division of an integer count of seconds, in double
-- precision. Run ids sort by start: MIN(first_seen_run) is the oldest sighting.
DELETE FROM coverage WHERE run_id = :run_id;
INSERT INTO coverage (run_id, started_at, hubs_known, hubs_fetched, frontier_unfetched, frontier_oldest_days,
                      paper_pages, new_hubs, discovery_rate, requests, planned_hubs)
WITH unfetched AS (
  SELECT COUNT(*) AS n, MIN(f.first_seen_run) AS oldest_run
  FROM frontier f
  WHERE NOT EXISTS (SELECT 1 FROM hub h WHERE h.hub_uuid = f.hub_uuid)
), fetched AS (
  SELECT COUNT(*) AS requests,
         COALESCE(SUM(CASE WHEN (url LIKE '%://%/paper/%' AND url NOT LIKE '%://%/%/paper/%')
                             OR (url LIKE '%://%/p/%' AND url NOT LIKE '%://%/%/p/%')
                             OR (url LIKE '%://%/ref/arxiv/%' AND url NOT LIKE '%://%/%/ref/arxiv/%')
                           THEN 1 ELSE 0 END), 0) AS paper_pages
  FROM "fetch"
  WHERE run_id = :run_id
), discovered AS (
  SELECT COUNT(*) AS n FROM frontier WHERE first_seen_run = :run_id
), stamp AS (
  SELECT run_id,
         CAST(SUBSTR(run_id, 1, 4) AS INTEGER) - CASE WHEN CAST(SUBSTR(run_id, 5, 2) AS INTEGER) <= 2
                                                     THEN 1 ELSE 0 END AS yy,
         (CAST(SUBSTR(run_id, 5, 2) AS INTEGER) + 9) % 12 AS mp,
         CAST(SUBSTR(run_id, 7, 2) AS INTEGER) AS d,
         CAST(SUBSTR(run_id, 10, 2) AS INTEGER) * 3600 + CAST(SUBSTR(run_id, 12, 2) AS INTEGER) * 60
           + CAST(SUBSTR(run_id, 14, 2) AS INTEGER) AS secs
  FROM run
  WHERE run_id = :run_id OR run_id = (SELECT oldest_run FROM unfetched)
), epoch AS (
  SELECT run_id,
         CAST((yy / 400) * 146097 + (yy - (yy / 400) * 400) * 365 + (yy - (yy / 400) * 400) / 4
              - (yy - (yy / 400) * 400) / 100 + (153 * mp + 2) / 5 + d - 1 - 719468 AS BIGINT) * 86400
           + secs AS s
  FROM stamp
)
SELECT r.run_id, r.started_at, (SELECT COUNT(*) FROM hub) + u.n, (SELECT COUNT(*) FROM hub_summary), u.n,
       CASE WHEN u.oldest_run IS NULL THEN NULL
            ELSE CAST(me.s - eo.s AS DOUBLE PRECISION) / 86400 END,
       fe.paper_pages, di.n,
       CASE WHEN fe.paper_pages > 0 THEN CAST(di.n AS DOUBLE PRECISION) / fe.paper_pages ELSE NULL END,
       fe.requests, (SELECT COUNT(*) FROM run_plan WHERE run_id = :run_id)
FROM run r
CROSS JOIN unfetched u
CROSS JOIN fetched fe
CROSS JOIN discovered di
JOIN epoch me ON me.run_id = r.run_id
LEFT JOIN epoch eo ON eo.run_id = u.oldest_run
WHERE r.run_id = :run_id;
