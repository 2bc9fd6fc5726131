-- hub_role_history: each hub's citation-role summary (as the page showed it) as of each run that changed it
-- (a role_summary spell began or ended), with shares of the classified total as of that run. Same run
-- calendar as hub_growth.
DELETE FROM hub_role_history;
INSERT INTO hub_role_history (hub_uuid, snapshot_run, run_seq, run_date, run_day, run_kind, role, count, share,
                              run_id)
WITH spell_run AS (
  SELECT r.run_id, r.started_at, r.kind,
         CAST(SUBSTR(r.run_id, 1, 4) AS INTEGER) - CASE WHEN CAST(SUBSTR(r.run_id, 5, 2) AS INTEGER) <= 2
                                                       THEN 1 ELSE 0 END AS yy,
         (CAST(SUBSTR(r.run_id, 5, 2) AS INTEGER) + 9) % 12 AS mp,
         CAST(SUBSTR(r.run_id, 7, 2) AS INTEGER) AS d
  FROM run r
  WHERE r.run_id IN (SELECT valid_from_run FROM hub_version
                     UNION SELECT valid_from_run FROM hub_facet_version WHERE facet = 'role_summary'
                     UNION SELECT valid_to_run FROM hub_facet_version WHERE facet = 'role_summary')
), calendar AS (
  SELECT run_id, kind AS run_kind,
         ROW_NUMBER() OVER (ORDER BY started_at, run_id) AS run_seq,
         SUBSTR(run_id, 1, 4) || '-' || SUBSTR(run_id, 5, 2) || '-' || SUBSTR(run_id, 7, 2) AS run_date,
         (yy / 400) * 146097 + (yy - (yy / 400) * 400) * 365 + (yy - (yy / 400) * 400) / 4
           - (yy - (yy / 400) * 400) / 100 + (153 * mp + 2) / 5 + d - 1 - 719468 AS run_day,
         started_at
  FROM spell_run
), changed AS (
  SELECT hub_uuid, valid_from_run AS at_run FROM hub_facet_version WHERE facet = 'role_summary'
  UNION
  SELECT hub_uuid, valid_to_run FROM hub_facet_version WHERE facet = 'role_summary' AND valid_to_run IS NOT NULL
), held AS (
  SELECT c.hub_uuid, c.at_run, f.value, f.count
  FROM changed c
  JOIN calendar k ON k.run_id = c.at_run
  JOIN hub_facet_version f ON f.hub_uuid = c.hub_uuid AND f.facet = 'role_summary'
  JOIN run fr ON fr.run_id = f.valid_from_run
  LEFT JOIN run tr ON tr.run_id = f.valid_to_run
  WHERE fr.started_at <= k.started_at AND (tr.run_id IS NULL OR tr.started_at > k.started_at)
), total AS (
  SELECT hub_uuid, at_run, SUM(count) AS n FROM held GROUP BY hub_uuid, at_run
)
SELECT h.hub_uuid, h.at_run, k.run_seq, k.run_date, k.run_day, k.run_kind, h.value, h.count,
       100 * CAST(h.count AS DOUBLE PRECISION) / t.n, CAST(:run_id AS TEXT)
FROM held h
JOIN total t ON t.hub_uuid = h.hub_uuid AND t.at_run = h.at_run
JOIN calendar k ON k.run_id = h.at_run
WHERE t.n > 0;
