-- change_report: what this run changed, one row per change (rows of earlier runs are kept).
-- new: an edge opened by this run (never seen, or retired before); retired: an edge whose open version
-- this run closed without opening another (only complete fetches retire); relabelled: one row per value
-- that changed on a current edge; tier / label: the figure spell this run opened differs from the one it
-- closed; incomplete: a hub whose fetch failed, was quarantined, refused by policy (skipped) or truncated
-- (nothing of it retired; an incomplete fetch always opens a figure spell of its own).
-- Null-safe comparisons are spelled CASE WHEN a = b OR (a IS NULL AND b IS NULL) (portable SQL).
-- "fetch" is quoted: a reserved word in PostgreSQL. New edges (all of them on a first load) go in key order,
-- so the primary key's index grows at its right edge.
-- Numbers and booleans as text differ by backend (SQLite 7.0 / PostgreSQL 7); booleans read true/false.
DELETE FROM change_report WHERE run_id = :run_id;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'new', v.hub_uuid, v.paper_key, 'edge', NULL, 'cited'
FROM citation_version v
WHERE v.valid_from_run = :run_id
  AND NOT EXISTS (SELECT 1 FROM citation_version o
                  WHERE o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id)
ORDER BY v.hub_uuid, v.paper_key;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'retired', o.hub_uuid, o.paper_key, 'edge', 'cited', NULL
FROM citation_version o
WHERE o.valid_to_run = :run_id
  AND NOT EXISTS (SELECT 1 FROM citation_version v
                  WHERE v.hub_uuid = o.hub_uuid AND v.paper_key = o.paper_key AND v.valid_from_run = :run_id);
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'relabelled', v.hub_uuid, v.paper_key, 'role', CAST(o.role AS TEXT), CAST(v.role AS TEXT)
FROM citation_version v
JOIN citation_version o ON o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id
WHERE v.valid_from_run = :run_id AND CASE WHEN o.role = v.role OR (o.role IS NULL AND v.role IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'relabelled', v.hub_uuid, v.paper_key, 'polarity', CAST(o.polarity AS TEXT), CAST(v.polarity AS TEXT)
FROM citation_version v
JOIN citation_version o ON o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id
WHERE v.valid_from_run = :run_id AND CASE WHEN o.polarity = v.polarity OR (o.polarity IS NULL AND v.polarity IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'relabelled', v.hub_uuid, v.paper_key, 'verdict', CAST(o.verdict AS TEXT), CAST(v.verdict AS TEXT)
FROM citation_version v
JOIN citation_version o ON o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id
WHERE v.valid_from_run = :run_id AND CASE WHEN o.verdict = v.verdict OR (o.verdict IS NULL AND v.verdict IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'relabelled', v.hub_uuid, v.paper_key, 'novelty', CAST(o.novelty AS TEXT), CAST(v.novelty AS TEXT)
FROM citation_version v
JOIN citation_version o ON o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id
WHERE v.valid_from_run = :run_id AND CASE WHEN o.novelty = v.novelty OR (o.novelty IS NULL AND v.novelty IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'relabelled', v.hub_uuid, v.paper_key, 'refs', CAST(o.refs AS TEXT), CAST(v.refs AS TEXT)
FROM citation_version v
JOIN citation_version o ON o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id
WHERE v.valid_from_run = :run_id AND CASE WHEN o.refs = v.refs OR (o.refs IS NULL AND v.refs IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'relabelled', v.hub_uuid, v.paper_key, 'representative', CASE WHEN o.representative THEN 'true' ELSE 'false' END, CASE WHEN v.representative THEN 'true' ELSE 'false' END
FROM citation_version v
JOIN citation_version o ON o.hub_uuid = v.hub_uuid AND o.paper_key = v.paper_key AND o.valid_to_run = :run_id
WHERE v.valid_from_run = :run_id AND o.representative <> v.representative;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'tier', s.hub_uuid, s.hub_uuid, 'tier', p.tier, s.tier
FROM hub_version s
JOIN hub_version p ON p.hub_uuid = s.hub_uuid AND p.valid_to_run = :run_id
WHERE s.valid_from_run = :run_id
  AND CASE WHEN p.tier = s.tier OR (p.tier IS NULL AND s.tier IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'label', s.hub_uuid, s.hub_uuid, 'label', p.label, s.label
FROM hub_version s
JOIN hub_version p ON p.hub_uuid = s.hub_uuid AND p.valid_to_run = :run_id
WHERE s.valid_from_run = :run_id
  AND CASE WHEN p.label = s.label OR (p.label IS NULL AND s.label IS NULL) THEN 0 ELSE 1 END = 1;
INSERT INTO change_report (run_id, change, hub_uuid, subject, field, old_value, new_value)
SELECT CAST(:run_id AS TEXT), 'incomplete', u.hub_uuid, u.hub_uuid, 'fetch', NULL, MIN(u.reason)
FROM (SELECT hub_uuid, outcome || ': ' || url AS reason FROM "fetch"
      WHERE run_id = :run_id AND outcome IN ('failed', 'quarantined', 'skipped') AND hub_uuid IS NOT NULL
      UNION ALL
      SELECT hub_uuid, 'parsed ' || CAST(parsed_count AS TEXT) || ' of ' || CAST(citing_count AS TEXT)
      FROM hub_version WHERE valid_from_run = :run_id AND NOT complete) u
GROUP BY u.hub_uuid;
