-- hub_growth: one row per hub and spell of its figures (a run that showed the hub with figures other than
-- the ones before, or found it incomplete), with the change since the hub's previous spell. Runs are ordered
-- by run.started_at; run_seq numbers the runs that opened a figure spell or changed a role summary (the
-- calendar hub_role_history shares); run_date / run_day come from the run id's UTC stamp
-- (YYYYMMDDTHHMMSSZ-xxxxxx), run_day by the days-from-civil algorithm in integer arithmetic, which SQLite and
-- PostgreSQL evaluate alike. Shares stay as the page showed them. The null-safe comparison is written
-- CASE WHEN a = b OR (both NULL) THEN FALSE ELSE TRUE: `NOT (a = b ...)` would be NULL for 'hub' vs NULL.
DELETE FROM hub_growth;
INSERT INTO hub_growth (hub_uuid, snapshot_run, run_seq, run_date, run_day, run_kind, tier, label, citing_count,
                        classified_count, headline_role, headline_share, prev_run, citing_delta, tier_changed,
                        label_changed, run_id)
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
), ordered AS (
  SELECT s.*, k.run_seq, k.run_date, k.run_day, k.run_kind,
         LAG(s.valid_from_run) OVER (PARTITION BY s.hub_uuid ORDER BY k.run_seq) AS prev_run
  FROM hub_version s JOIN calendar k ON k.run_id = s.valid_from_run
)
SELECT o.hub_uuid, o.valid_from_run, o.run_seq, o.run_date, o.run_day, o.run_kind, o.tier, o.label, o.citing_count,
       o.classified_count, o.headline_role, o.headline_share, o.prev_run, o.citing_count - p.citing_count,
       CASE WHEN o.prev_run IS NULL OR o.tier = p.tier OR (o.tier IS NULL AND p.tier IS NULL)
            THEN FALSE ELSE TRUE END,
       CASE WHEN o.prev_run IS NULL OR o.label = p.label OR (o.label IS NULL AND p.label IS NULL)
            THEN FALSE ELSE TRUE END,
       CAST(:run_id AS TEXT)
FROM ordered o
LEFT JOIN hub_version p ON p.hub_uuid = o.hub_uuid AND p.valid_from_run = o.prev_run;
