-- staleness: the known hubs (in `hub` or on the frontier) by days since their last complete fetch (a complete
-- fetch: every page parsed, or the twin answered "not modified"), as of this run: the days between the
-- start of the run that last fetched the hub completely and this run's start. A hub never fetched completely
-- (a frontier hub never fetched, or one whose every fetch was incomplete) is in `never`, aged from the first
-- run that saw it (in `hub` or on the frontier). Every bucket has its row, empty or not; the buckets' hubs add
-- up to coverage.hubs_known of the run, those outside `never` to its hubs_fetched.
-- Days from run ids as in coverage.sql (the run table is small: one row per run). The latest complete run of
-- a hub is hub_change.last_complete_run (every load keeps it: a complete fetch, or a twin 'not modified'),
-- or the start of its latest complete figure spell when that is later (run ids sort by start).
DELETE FROM staleness;
INSERT INTO staleness (bucket, bucket_seq, min_days, max_days, hubs, oldest_days, run_id)
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
), known AS (
  SELECT k.hub_uuid, MIN(k.first_seen_run) AS first_run
  FROM (SELECT hub_uuid, first_seen_run FROM hub
        UNION ALL
        SELECT hub_uuid, first_seen_run FROM frontier) k
  GROUP BY k.hub_uuid
), last_complete AS (
  SELECT u.hub_uuid, MAX(u.last_run) AS last_run
  FROM (SELECT hub_uuid, last_complete_run AS last_run FROM hub_change WHERE last_complete_run IS NOT NULL
        UNION ALL
        SELECT hub_uuid, valid_from_run FROM hub_version WHERE complete) u
  GROUP BY u.hub_uuid
), aged AS (
  SELECT k.hub_uuid, c.last_run, CAST(me.s - e.s AS DOUBLE PRECISION) / 86400 AS days
  FROM known k
  LEFT JOIN last_complete c ON c.hub_uuid = k.hub_uuid
  JOIN epoch e ON e.run_id = COALESCE(c.last_run, k.first_run)
  CROSS JOIN (SELECT s FROM epoch WHERE run_id = :run_id) me
), bucketed AS (
  SELECT CASE WHEN last_run IS NULL THEN 7 WHEN days < 1 THEN 1 WHEN days < 2 THEN 2 WHEN days < 4 THEN 3
              WHEN days < 7 THEN 4 WHEN days < 14 THEN 5 ELSE 6 END AS bucket_seq,
         days
  FROM aged
), buckets AS (
  SELECT 1 AS bucket_seq, '0-1' AS bucket, CAST(0 AS DOUBLE PRECISION) AS min_days,
         CAST(1 AS DOUBLE PRECISION) AS max_days
  UNION ALL SELECT 2, '1-2', 1, 2
  UNION ALL SELECT 3, '2-4', 2, 4
  UNION ALL SELECT 4, '4-7', 4, 7
  UNION ALL SELECT 5, '7-14', 7, 14
  UNION ALL SELECT 6, '14+', 14, NULL
  UNION ALL SELECT 7, 'never', NULL, NULL
)
SELECT b.bucket, b.bucket_seq, b.min_days, b.max_days, COUNT(a.bucket_seq), MAX(a.days), CAST(:run_id AS TEXT)
FROM buckets b
LEFT JOIN bucketed a ON a.bucket_seq = b.bucket_seq
GROUP BY b.bucket, b.bucket_seq, b.min_days, b.max_days;
