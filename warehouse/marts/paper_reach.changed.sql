-- paper_reach, incrementally, by delta: _changed_keys.sql leaves in _mart_reach, per paper whose row this
-- run changes, what to add to its published figures (from the run's changed edges and the hubs whose
-- super_hub standing moved; zeros when only its title, category or date changed), so the work grows with
-- what changed, not with the papers' edges (a popular paper cites tens of thousands of hubs). Rows are read
-- and written by primary key: a published row gets the delta and the paper's columns, a paper with its
-- first current edge is inserted, one left with none deleted.
UPDATE paper_reach
SET (title, category, date, hubs_cited, super_hubs_cited, classified_citations, run_id) =
    (SELECT p.title, p.category, p.date, paper_reach.hubs_cited + d.hubs_cited,
            paper_reach.super_hubs_cited + d.super_hubs_cited,
            paper_reach.classified_citations + d.classified_citations, CAST(:run_id AS TEXT)
     FROM _mart_reach d
     JOIN paper p ON p.paper_key = d.paper_key
     WHERE d.paper_key = paper_reach.paper_key)
WHERE paper_key IN (SELECT paper_key FROM _mart_reach);
INSERT INTO paper_reach (paper_key, title, category, date, hubs_cited, super_hubs_cited, classified_citations,
                         run_id)
SELECT d.paper_key, p.title, p.category, p.date, d.hubs_cited, d.super_hubs_cited, d.classified_citations,
       CAST(:run_id AS TEXT)
FROM _mart_reach d
CROSS JOIN paper p
WHERE p.paper_key = d.paper_key AND d.hubs_cited > 0 AND NOT EXISTS (SELECT 1 FROM paper_reach r WHERE r.paper_key = d.paper_key);
DELETE FROM paper_reach WHERE paper_key IN (SELECT paper_key FROM _mart_reach) AND hubs_cited <= 0;
-- The papers _changed_keys.sql could not give a delta (_mart_reach_full: a published edge to a hub whose
-- tier before this run no published row holds) are recounted from all their current edges, as
-- paper_reach.sql counts every paper.
DELETE FROM paper_reach WHERE paper_key IN (SELECT paper_key FROM _mart_reach_full);
INSERT INTO paper_reach (paper_key, title, category, date, hubs_cited, super_hubs_cited, classified_citations,
                         run_id)
SELECT p.paper_key, p.title, p.category, p.date, r.hubs_cited, r.super_hubs_cited, r.classified_citations,
       CAST(:run_id AS TEXT)
FROM paper p
JOIN (SELECT c.paper_key, COUNT(*) AS hubs_cited,
             SUM(CASE WHEN h.tier = 'super_hub' THEN 1 ELSE 0 END) AS super_hubs_cited,
             SUM(CASE WHEN c.role IS NOT NULL THEN 1 ELSE 0 END) AS classified_citations
      FROM citation c
      JOIN hub h ON h.hub_uuid = c.hub_uuid
      WHERE c.valid_to_run IS NULL AND c.paper_key IN (SELECT paper_key FROM _mart_reach_full)
      GROUP BY c.paper_key) r
  ON r.paper_key = p.paper_key;
