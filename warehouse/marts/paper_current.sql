-- paper_current: the citing papers that have at least one current citation, without raw text and
-- internal bookkeeping (the published paper dimension).
DELETE FROM paper_current;
INSERT INTO paper_current (paper_key, arxiv_id, pith_id, title, category, date, summary, first_seen_run,
                           last_seen_run, run_id)
SELECT p.paper_key, p.arxiv_id, p.pith_id, p.title, p.category, p.date, p.summary, p.first_seen_run,
       p.last_seen_run, CAST(:run_id AS TEXT)
FROM paper p
WHERE EXISTS (SELECT 1 FROM citation c WHERE c.paper_key = p.paper_key AND c.valid_to_run IS NULL);
