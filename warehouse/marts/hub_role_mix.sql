-- hub_role_mix: per hub and role, its citations and their percent of the hub's classified citations
-- (citations with a role) in the warehouse.
-- Current edges only (valid_to_run IS NULL): retired edges are history.
DELETE FROM hub_role_mix;
INSERT INTO hub_role_mix (hub_uuid, role, count, share, run_id)
SELECT c.hub_uuid, c.role, COUNT(*), 100.0 * COUNT(*) / t.classified, CAST(:run_id AS TEXT)
FROM citation c
JOIN (SELECT hub_uuid, COUNT(*) AS classified FROM citation WHERE role IS NOT NULL AND valid_to_run IS NULL
      GROUP BY hub_uuid) t
  ON t.hub_uuid = c.hub_uuid
WHERE c.role IS NOT NULL AND c.valid_to_run IS NULL
GROUP BY c.hub_uuid, c.role, t.classified;
