-- paper_current, incrementally: the papers this run can have changed (_mart_paper, filled by
-- _changed_keys.sql: rows it wrote, current edges it changed) are deleted and inserted again when they
-- still have a current citation, as paper_current.sql selects them. The IN set of their current edges is
-- built once (by citation's paper_key).
DELETE FROM paper_current WHERE paper_key IN (SELECT paper_key FROM _mart_paper);
INSERT INTO paper_current (paper_key, arxiv_id, pith_id, title, category, date, summary, first_seen_run,
                           last_seen_run, run_id)
SELECT p.paper_key, p.arxiv_id, p.pith_id, p.title, p.category, p.date, p.summary, p.first_seen_run,
       p.last_seen_run, CAST(:run_id AS TEXT)
FROM paper p
WHERE p.paper_key IN (SELECT c.paper_key FROM citation c
                      WHERE c.valid_to_run IS NULL AND c.paper_key IN (SELECT paper_key FROM _mart_paper));
