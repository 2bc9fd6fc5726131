-- hub_summary, incrementally: the hubs whose row the run wrote (_mart_asked_hub, filled by _changed_keys.sql:
-- every hub a staged item names; their edges and figure spells can change only among them) are deleted and
-- inserted again, as hub_summary.sql selects them. A hub's current citations and complete spells are read by
-- its key.
DELETE FROM hub_summary WHERE hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub);
INSERT INTO hub_summary (hub_uuid, title, tier, label, citing_count, classified_count, headline_role,
                         headline_share, citation_rows, first_seen_run, last_seen_run, last_complete_run, run_id)
SELECT h.hub_uuid, h.title, h.tier, h.label, h.citing_count, h.classified_count, h.headline_role,
       h.headline_share, COALESCE(c.n, 0), h.first_seen_run, h.last_seen_run,
       (SELECT MAX(u.run_id) FROM (SELECT k.last_complete_run AS run_id FROM hub_change k WHERE k.hub_uuid = h.hub_uuid
                                     UNION ALL
                                     SELECT v.valid_from_run FROM hub_version v
                                     WHERE v.hub_uuid = h.hub_uuid AND v.complete) u),
       CAST(:run_id AS TEXT)
FROM hub h
LEFT JOIN (SELECT hub_uuid, COUNT(*) AS n FROM citation
           WHERE valid_to_run IS NULL AND hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub)
           GROUP BY hub_uuid) c ON c.hub_uuid = h.hub_uuid
WHERE h.hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub)
  AND EXISTS (SELECT 1 FROM hub_version v WHERE v.hub_uuid = h.hub_uuid AND v.complete);
