-- category_flow: per citing-paper category and hub, the hub's current citations from that category, their
-- share of the hub's current citations, and the earliest and latest dates of those citing papers.
-- Shares are computed in double precision on both engines (parity). Each hub's total is the sum of its
-- categories' counts (a window over the groups), not a second pass over citation.
DELETE FROM category_flow;
INSERT INTO category_flow (category, hub_uuid, citations, share, first_cited_date, last_cited_date,
                           first_seen_run, run_id)
SELECT g.category, g.hub_uuid, g.n, 100 * CAST(g.n AS DOUBLE PRECISION) / SUM(g.n) OVER (PARTITION BY g.hub_uuid),
       g.first_date, g.last_date, g.first_seen_run, CAST(:run_id AS TEXT)
FROM (SELECT COALESCE(p.category, '(none)') AS category, c.hub_uuid, COUNT(*) AS n, MIN(p.date) AS first_date,
             MAX(p.date) AS last_date, MIN(c.first_seen_run) AS first_seen_run
      FROM citation c
      JOIN paper p ON p.paper_key = c.paper_key
      WHERE c.valid_to_run IS NULL
      GROUP BY COALESCE(p.category, '(none)'), c.hub_uuid) g;
