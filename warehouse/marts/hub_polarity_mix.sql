-- hub_polarity_mix: per hub and polarity, its citations and their percent of the hub's citations that
-- have a polarity, in the warehouse.
-- Current edges only (valid_to_run IS NULL): retired edges are history.
DELETE FROM hub_polarity_mix;
INSERT INTO hub_polarity_mix (hub_uuid, polarity, count, share, run_id)
SELECT c.hub_uuid, c.polarity, COUNT(*), 100.0 * COUNT(*) / t.classified, CAST(:run_id AS TEXT)
FROM citation c
JOIN (SELECT hub_uuid, COUNT(*) AS classified FROM citation WHERE polarity IS NOT NULL AND valid_to_run IS NULL
      GROUP BY hub_uuid) t
  ON t.hub_uuid = c.hub_uuid
WHERE c.polarity IS NOT NULL AND c.valid_to_run IS NULL
GROUP BY c.hub_uuid, c.polarity, t.classified;
