-- paper_reach: per citing paper with a current citation, how many hubs it cites (and how many super hubs,
-- by their latest tier), and how many of its citations are classified.
-- Counted per paper_key first, then joined to paper: grouping the joined rows by the paper's text columns
-- as well sorted every edge with its title (same rows either way).
DELETE FROM paper_reach;
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
      WHERE c.valid_to_run IS NULL
      GROUP BY c.paper_key) r
  ON r.paper_key = p.paper_key;
