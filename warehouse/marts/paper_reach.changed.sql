-- paper_reach, incrementally: the papers this run can have changed (_mart_paper, filled by
-- _changed_keys.sql: rows it wrote, current edges it changed, edges to hubs whose tier it rewrote) are
-- recomputed from all their current edges, as paper_reach.sql computes every paper.
DELETE FROM paper_reach WHERE paper_key IN (SELECT paper_key FROM _mart_paper);
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
      WHERE c.valid_to_run IS NULL AND c.paper_key IN (SELECT paper_key FROM _mart_paper)
      GROUP BY c.paper_key) r
  ON r.paper_key = p.paper_key;
