-- hub_summary, incrementally: the hubs whose row the run wrote (_mart_asked_hub, filled by _changed_keys.sql:
-- every hub a staged item names; their edges and figure spells can change only among them), in two parts.
-- A hub the run only re-checked (no page or JSON twin of it staged, no figure spell opened: its twin
-- answered "not modified", or its fetch failed before any page) has nothing new but its bookkeeping
-- (last_seen_run, last_complete_run): those are updated in place, without counting its edges again (on a quiet
-- night that is every hub). The others are deleted and inserted again, as hub_summary.sql selects them. A
-- hub's current citations and complete spells are read by its key.
-- Its last_complete_run was the later of hub_change's and its latest complete spell's; no spell opened, and
-- hub_change's only moves forward: the later of the published value and hub_change's now.
UPDATE hub_summary
SET last_seen_run = (SELECT h.last_seen_run FROM hub h WHERE h.hub_uuid = hub_summary.hub_uuid),
    last_complete_run = COALESCE((SELECT k.last_complete_run FROM hub_change k
                                  WHERE k.hub_uuid = hub_summary.hub_uuid
                                    AND k.last_complete_run > hub_summary.last_complete_run),
                                 hub_summary.last_complete_run),
    run_id = CAST(:run_id AS TEXT)
WHERE hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub)
  AND hub_uuid NOT IN (SELECT hub_uuid FROM _mart_run_hub)
  AND hub_uuid NOT IN (SELECT s.hub_uuid FROM stg_item s
                       WHERE s.run_id = :run_id AND s.kind = 'hub_json' AND s.hub_uuid IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM hub_version v WHERE v.hub_uuid = hub_summary.hub_uuid AND v.valid_from_run = :run_id);
-- The rest of the asked hubs: every row but those just updated (a hub with no row yet is inserted below).
DELETE FROM hub_summary
WHERE hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub)
  AND (hub_uuid IN (SELECT hub_uuid FROM _mart_run_hub)
       OR hub_uuid IN (SELECT s.hub_uuid FROM stg_item s
                       WHERE s.run_id = :run_id AND s.kind = 'hub_json' AND s.hub_uuid IS NOT NULL)
       OR EXISTS (SELECT 1 FROM hub_version v WHERE v.hub_uuid = hub_summary.hub_uuid AND v.valid_from_run = :run_id));
INSERT INTO hub_summary (hub_uuid, title, tier, label, citing_count, classified_count, headline_role,
                         headline_share, citation_rows, first_seen_run, last_seen_run, last_complete_run, run_id)
SELECT h.hub_uuid, h.title, h.tier, h.label, h.citing_count, h.classified_count, h.headline_role,
       h.headline_share,
       (SELECT COUNT(*) FROM citation c WHERE c.hub_uuid = h.hub_uuid AND c.valid_to_run IS NULL),
       h.first_seen_run, h.last_seen_run,
       (SELECT MAX(u.run_id) FROM (SELECT k.last_complete_run AS run_id FROM hub_change k WHERE k.hub_uuid = h.hub_uuid
                                     UNION ALL
                                     SELECT v.valid_from_run FROM hub_version v
                                     WHERE v.hub_uuid = h.hub_uuid AND v.complete) u),
       CAST(:run_id AS TEXT)
FROM hub h
WHERE h.hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub)
  AND NOT EXISTS (SELECT 1 FROM hub_summary o WHERE o.hub_uuid = h.hub_uuid)
  AND EXISTS (SELECT 1 FROM hub_version v WHERE v.hub_uuid = h.hub_uuid AND v.complete);
