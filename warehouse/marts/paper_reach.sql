-- paper_reach: per citing paper with a current citation, how many hubs it cites (and how many super hubs,
-- by their latest tier), and how many of its citations are classified.
DELETE FROM paper_reach;
INSERT INTO paper_reach (paper_key, title, category, date, hubs_cited, super_hubs_cited, classified_citations,
                         run_id)
SELECT p.paper_key, p.title, p.category, p.date, COUNT(*),
       SUM(CASE WHEN h.tier = 'super_hub' THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.role IS NOT NULL THEN 1 ELSE 0 END), CAST(:run_id AS TEXT)
FROM citation c
JOIN paper p ON p.paper_key = c.paper_key
JOIN hub h ON h.hub_uuid = c.hub_uuid
WHERE c.valid_to_run IS NULL
GROUP BY p.paper_key, p.title, p.category, p.date;
