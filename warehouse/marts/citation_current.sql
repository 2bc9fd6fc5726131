-- citation_current: the current edges (not retired), with their labels: who cites whom, and how.
-- Rows go in primary-key order: the index then grows at its right edge instead of splitting pages.
DELETE FROM citation_current;
INSERT INTO citation_current (hub_uuid, paper_key, role, polarity, verdict, novelty, refs, representative,
                              valid_from_run, first_seen_run, run_id)
SELECT c.hub_uuid, c.paper_key, c.role, c.polarity, c.verdict, c.novelty, c.refs, c.representative,
       c.valid_from_run, c.first_seen_run, CAST(:run_id AS TEXT)
FROM citation c
WHERE c.valid_to_run IS NULL
ORDER BY c.hub_uuid, c.paper_key;
