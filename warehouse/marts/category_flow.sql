-- category_flow: per citing-paper category and hub, the hub's current citations from that category, their
-- share of the hub's current citations, and the earliest and latest dates of those citing papers.
-- Shares are computed in double precision on both engines (parity).
DELETE FROM category_flow;
INSERT INTO category_flow (category, hub_uuid, citations, share, first_cited_date, last_cited_date,
                           first_seen_run, run_id)
SELECT COALESCE(p.category, '(none)'), c.hub_uuid, COUNT(*), 100 * CAST(COUNT(*) AS DOUBLE PRECISION) / t.n,
       MIN(p.date), MAX(p.date), MIN(c.first_seen_run), CAST(:run_id AS TEXT)
FROM citation c
JOIN paper p ON p.paper_key = c.paper_key
JOIN (SELECT hub_uuid, COUNT(*) AS n FROM citation WHERE valid_to_run IS NULL GROUP BY hub_uuid) t
  ON t.hub_uuid = c.hub_uuid
WHERE c.valid_to_run IS NULL
GROUP BY COALESCE(p.category, '(none)'), c.hub_uuid, t.n;
