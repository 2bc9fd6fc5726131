-- hub_role_history: each hub's citation-role summary (as the page showed it) in each run that fetched it,
-- with shares of the run's classified total. Same run calendar as hub_growth.
DELETE FROM hub_role_history;
INSERT INTO hub_role_history (hub_uuid, snapshot_run, run_seq, run_date, run_day, run_kind, role, count, share,
                              run_id)
SELECT f.hub_uuid, f.run_id, g.run_seq, g.run_date, g.run_day, g.run_kind, f.value, f.count,
       100 * CAST(f.count AS DOUBLE PRECISION) / t.total, CAST(:run_id AS TEXT)
FROM hub_facet_count f
JOIN hub_growth g ON g.hub_uuid = f.hub_uuid AND g.snapshot_run = f.run_id
JOIN (SELECT run_id, hub_uuid, SUM(count) AS total FROM hub_facet_count WHERE facet = 'role_summary'
      GROUP BY run_id, hub_uuid) t ON t.run_id = f.run_id AND t.hub_uuid = f.hub_uuid
WHERE f.facet = 'role_summary' AND t.total > 0;
