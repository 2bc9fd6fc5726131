-- citation_current, incrementally: the edges whose spell or values this run changed (_mart_edge, filled by
-- _changed_keys.sql) are deleted and those still current inserted again, as citation_current.sql selects them.
DELETE FROM citation_current
WHERE (hub_uuid, paper_key) IN (SELECT hub_uuid, paper_key FROM _mart_edge);
INSERT INTO citation_current (hub_uuid, paper_key, role, polarity, verdict, novelty, refs, representative,
                              valid_from_run, first_seen_run, run_id)
SELECT c.hub_uuid, c.paper_key, c.role, c.polarity, c.verdict, c.novelty, c.refs, c.representative,
       c.valid_from_run, c.first_seen_run, CAST(:run_id AS TEXT)
FROM citation c
WHERE c.valid_to_run IS NULL
  AND (c.hub_uuid, c.paper_key) IN (SELECT hub_uuid, paper_key FROM _mart_edge)
ORDER BY c.hub_uuid, c.paper_key;
