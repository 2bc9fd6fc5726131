-- hub_role_history, incrementally (issue 17). hub_role_history.sql, the full build, stays the reference: the
-- rows this file leaves equal its rows (the run_id bookkeeping column aside),
-- tests/warehouse/test_growth_increments.py. Rows per hub and run that began or ended one of the hub's
-- role_summary spells, as of that run, so a run adds the rows of the hubs whose role summary it changed, as
-- of itself, and changes no other, provided it is the newest started run that wrote any spell: the spells it
-- opened begin after every earlier row's run and the ones it closed end after it, so what each earlier row
-- held is unchanged, and the calendar only grows at its end. The run's rows get what the full build gives:
-- - run_seq: 1 + the runs before the run (by started_at, run_id) that opened a figure spell or began or ended
--   a role_summary spell (hub_growth's calendar, computed here too: a mart's SQL does not read another
--   mart), counted from the run table with three index probes a run (ix_hub_version_from_run,
--   ix_hub_facet_version_from_run / _to_run) instead of reading every spell
-- - the role_summary values each such hub held at the run (spells with from <= run < to, by started_at),
--   read by the hub's key, with shares of their total: a hub whose role summary ended with no new one holds
--   nothing (total 0) and gets no row, as in the full build.
-- The DELETE takes the run's rows of those hubs and of the hubs staged in the run (_mart_run_hub, filled by
-- _run_hubs.sql): a reload of the run may drop a spell it opened, and only a staged hub's spells move.
-- The calendar is MATERIALIZED: computed once (PostgreSQL 12+ and SQLite 3.35+ read the keyword). The CROSS
-- JOINs keep SQLite's join order (the changed hubs first, their spells by key).
-- Why no fallback to the full build for a run that is not the newest: it does not publish. Runs are
-- serialized by the run lock (warehouse.lock) and a replay of a crawl that started before the warehouse's
-- newest run is refused (warehouse.runs.refuse_older_history, OlderThanHistory), so the run loading is the
-- latest started run that wrote a spell. Were one loaded anyway, its own rows here would still be exact
-- (computed by start time, not by being last): only later runs' rows (run_seq, held roles) would be stale
-- until the marts are rebuilt, and warehouse.rebuild's drift report names them. A copy of the full build
-- guarded by that condition was tried: on PostgreSQL its estimated cost made every night JIT-compile it
-- (3 s at 50,000 hubs) though the guard kept it from reading a row.
DELETE FROM hub_role_history
WHERE snapshot_run = :run_id
  AND hub_uuid IN (SELECT hub_uuid FROM hub_facet_version WHERE valid_from_run = :run_id AND facet = 'role_summary'
                   UNION SELECT hub_uuid FROM hub_facet_version WHERE valid_to_run = :run_id AND facet = 'role_summary'
                   UNION SELECT hub_uuid FROM _mart_run_hub);
INSERT INTO hub_role_history (hub_uuid, snapshot_run, run_seq, run_date, run_day, run_kind, role, count, share,
                              run_id)
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
), changed AS (
  SELECT hub_uuid FROM hub_facet_version WHERE valid_from_run = :run_id AND facet = 'role_summary'
  UNION
  SELECT hub_uuid FROM hub_facet_version WHERE valid_to_run = :run_id AND facet = 'role_summary'
), held AS (
  SELECT c.hub_uuid, f.value, f.count
  FROM changed c
  CROSS JOIN calendar k
  CROSS JOIN hub_facet_version f
  JOIN run fr ON fr.run_id = f.valid_from_run
  LEFT JOIN run tr ON tr.run_id = f.valid_to_run
  WHERE f.hub_uuid = c.hub_uuid AND f.facet = 'role_summary'
    AND fr.started_at <= k.started_at AND (tr.run_id IS NULL OR tr.started_at > k.started_at)
), total AS (
  SELECT hub_uuid, SUM(count) AS n FROM held GROUP BY hub_uuid
)
SELECT h.hub_uuid, k.run_id, k.run_seq, k.run_date, k.run_day, k.run_kind, h.value, h.count,
       100 * CAST(h.count AS DOUBLE PRECISION) / t.n, CAST(:run_id AS TEXT)
FROM calendar k
CROSS JOIN held h
JOIN total t ON t.hub_uuid = h.hub_uuid
WHERE t.n > 0;
