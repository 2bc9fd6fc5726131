-- hub_growth, incrementally (issue 17). hub_growth.sql, the full build, stays the reference: the rows this
-- file leaves equal its rows (the run_id bookkeeping column aside), tests/warehouse/test_growth_increments.py.
-- A row per hub and figure spell (hub_version), so a run adds the rows of the spells it opened
-- (valid_from_run = the run) and changes no other, provided it is the newest started run that wrote any
-- spell: its spells then come last in each hub's order and the run last in the calendar, so the earlier
-- rows' run_seq, prev_run and changes stay as they were (closing a spell writes its valid_to_run, which
-- hub_growth does not read). The run's rows get what the full build gives them:
-- - run_seq: 1 + the runs before the run (by started_at, run_id) that opened a figure spell or began or ended
--   a role_summary spell, counted from the run table with three index probes a run
--   (ix_hub_version_from_run, ix_hub_facet_version_from_run / _to_run) instead of reading every spell
-- - prev_run: the hub's latest spell before the run's in that order (the full build's LAG by run_seq),
--   read by the hub's key, and the changes compared with that spell as the full build compares them.
-- The CTEs are MATERIALIZED: computed once (SQLite would repeat their scalar subqueries wherever a column is
-- used). PostgreSQL 12+ and SQLite 3.35+ read the keyword.
-- Why no fallback to the full build for a run that is not the newest: it does not publish. Runs are
-- serialized by the run lock (warehouse.lock) and a replay of a crawl that started before the warehouse's
-- newest run is refused (warehouse.runs.refuse_older_history, OlderThanHistory), so the run loading is the
-- latest started run that wrote a spell. Were one loaded anyway, its own rows here would still be exact
-- (computed by the calendar's order, not by being last): only later runs' rows (run_seq, prev_run) would be
-- stale until the marts are rebuilt, and warehouse.rebuild's drift report names them. A copy of the full
-- build guarded by that condition was tried: on PostgreSQL its estimated cost made every night JIT-compile
-- it (0.1 s here, 3 s for hub_role_history at 50,000 hubs) though the guard kept it from reading a row.
DELETE FROM hub_growth
WHERE snapshot_run = :run_id AND hub_uuid IN (SELECT hub_uuid FROM hub_version WHERE valid_from_run = :run_id);
INSERT INTO hub_growth (hub_uuid, snapshot_run, run_seq, run_date, run_day, run_kind, tier, label, citing_count,
                        classified_count, headline_role, headline_share, prev_run, citing_delta, tier_changed,
                        label_changed, run_id)
WITH this_run AS (
  SELECT r.run_id, r.started_at, r.kind,
         CAST(SUBSTR(r.run_id, 1, 4) AS INTEGER) - CASE WHEN CAST(SUBSTR(r.run_id, 5, 2) AS INTEGER) <= 2
                                                       THEN 1 ELSE 0 END AS yy,
         (CAST(SUBSTR(r.run_id, 5, 2) AS INTEGER) + 9) % 12 AS mp,
         CAST(SUBSTR(r.run_id, 7, 2) AS INTEGER) AS d
  FROM run r
  WHERE r.run_id = :run_id
), calendar AS MATERIALIZED (
  SELECT t.run_id, t.kind AS run_kind,
         (SELECT COUNT(*) FROM run o
          WHERE (o.started_at < t.started_at OR (o.started_at = t.started_at AND o.run_id <= t.run_id))
            AND (EXISTS (SELECT 1 FROM hub_version v WHERE v.valid_from_run = o.run_id)
                 OR EXISTS (SELECT 1 FROM hub_facet_version f
                            WHERE f.valid_from_run = o.run_id AND f.facet = 'role_summary')
                 OR EXISTS (SELECT 1 FROM hub_facet_version f
                            WHERE f.valid_to_run = o.run_id AND f.facet = 'role_summary'))) AS run_seq,
         SUBSTR(t.run_id, 1, 4) || '-' || SUBSTR(t.run_id, 5, 2) || '-' || SUBSTR(t.run_id, 7, 2) AS run_date,
         (yy / 400) * 146097 + (yy - (yy / 400) * 400) * 365 + (yy - (yy / 400) * 400) / 4
           - (yy - (yy / 400) * 400) / 100 + (153 * mp + 2) / 5 + d - 1 - 719468 AS run_day,
         t.started_at
  FROM this_run t
), opened AS MATERIALIZED (
  SELECT s.hub_uuid, s.valid_from_run, s.tier, s.label, s.citing_count, s.classified_count, s.headline_role,
         s.headline_share, k.run_seq, k.run_date, k.run_day, k.run_kind,
         (SELECT p.valid_from_run FROM hub_version p JOIN run pr ON pr.run_id = p.valid_from_run
          WHERE p.hub_uuid = s.hub_uuid
            AND (pr.started_at < k.started_at OR (pr.started_at = k.started_at AND pr.run_id < k.run_id))
          ORDER BY pr.started_at DESC, pr.run_id DESC
          LIMIT 1) AS prev_run
  FROM calendar k
  JOIN hub_version s ON s.valid_from_run = k.run_id
)
SELECT o.hub_uuid, o.valid_from_run, o.run_seq, o.run_date, o.run_day, o.run_kind, o.tier, o.label, o.citing_count,
       o.classified_count, o.headline_role, o.headline_share, o.prev_run, o.citing_count - p.citing_count,
       CASE WHEN o.prev_run IS NULL OR o.tier = p.tier OR (o.tier IS NULL AND p.tier IS NULL)
            THEN FALSE ELSE TRUE END,
       CASE WHEN o.prev_run IS NULL OR o.label = p.label OR (o.label IS NULL AND p.label IS NULL)
            THEN FALSE ELSE TRUE END,
       CAST(:run_id AS TEXT)
FROM opened o
LEFT JOIN hub_version p ON p.hub_uuid = o.hub_uuid AND p.valid_from_run = o.prev_run;
