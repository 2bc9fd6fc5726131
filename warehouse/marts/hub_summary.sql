-- hub_summary: one row per hub with its latest good figures (hub keeps the last good values of a hub
-- whose fetch was incomplete) and the number of its current citations (valid_to_run IS NULL). A hub never
-- fetched completely has no good figures to show: it is not published (it stays in change_report's
-- incomplete rows until a complete fetch). last_complete_run: hub_change keeps it per load (a 304 counts), the
-- latest complete figure spell when that is later (run ids sort by start).
DELETE FROM hub_summary;
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
LEFT JOIN (SELECT hub_uuid, COUNT(*) AS n FROM citation WHERE valid_to_run IS NULL GROUP BY hub_uuid) c ON c.hub_uuid = h.hub_uuid
WHERE h.hub_uuid IN (SELECT hub_uuid FROM hub_version WHERE complete);
