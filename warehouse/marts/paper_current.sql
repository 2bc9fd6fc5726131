-- paper_current: the citing papers that have at least one current citation, without raw text and
-- internal bookkeeping (the published paper dimension).
DELETE FROM paper_current;
INSERT INTO paper_current (paper_key, arxiv_id, pith_id, title, category, date, summary, first_seen_run,
                           last_seen_run, run_id)
SELECT p.paper_key, p.arxiv_id, p.pith_id, p.title, p.category, p.date, p.summary, p.first_seen_run,
       p.last_seen_run, CAST(:run_id AS TEXT)
FROM paper p
-- IN, not a correlated EXISTS: citation's key leads with hub_uuid, so EXISTS scanned it once per paper;
-- both engines build the IN set once.
WHERE p.paper_key IN (SELECT c.paper_key FROM citation c WHERE c.valid_to_run IS NULL);
