-- hub_polarity_mix, incrementally: the hubs this run can have changed (_mart_hub, filled by
-- _changed_keys.sql) are recomputed whole, as hub_polarity_mix.sql computes every hub.
DELETE FROM hub_polarity_mix WHERE hub_uuid IN (SELECT hub_uuid FROM _mart_hub);
INSERT INTO hub_polarity_mix (hub_uuid, polarity, count, share, run_id)
SELECT c.hub_uuid, c.polarity, COUNT(*), 100.0 * COUNT(*) / t.classified, CAST(:run_id AS TEXT)
FROM citation c
JOIN (SELECT hub_uuid, COUNT(*) AS classified FROM citation
      WHERE polarity IS NOT NULL AND valid_to_run IS NULL AND hub_uuid IN (SELECT hub_uuid FROM _mart_hub)
      GROUP BY hub_uuid) t
  ON t.hub_uuid = c.hub_uuid
WHERE c.polarity IS NOT NULL AND c.valid_to_run IS NULL AND c.hub_uuid IN (SELECT hub_uuid FROM _mart_hub)
GROUP BY c.hub_uuid, c.polarity, t.classified;
