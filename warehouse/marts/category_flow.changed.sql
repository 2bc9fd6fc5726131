-- category_flow, incrementally: every (category, hub) row of the hubs this run can have changed (_mart_hub:
-- a changed edge, or a current edge from a paper whose category or date changed) is recomputed, the hub
-- whole (its shares depend on all its categories). The rows go by primary key: _mart_flow_key holds the
-- hubs' pairs before and after the run (_changed_keys.sql). Same expressions as category_flow.sql.
DELETE FROM category_flow
WHERE (category, hub_uuid) IN (SELECT category, hub_uuid FROM _mart_flow_key);
INSERT INTO category_flow (category, hub_uuid, citations, share, first_cited_date, last_cited_date,
                           first_seen_run, run_id)
SELECT g.category, g.hub_uuid, g.n, 100 * CAST(g.n AS DOUBLE PRECISION) / SUM(g.n) OVER (PARTITION BY g.hub_uuid),
       g.first_date, g.last_date, g.first_seen_run, CAST(:run_id AS TEXT)
FROM (SELECT COALESCE(p.category, '(none)') AS category, c.hub_uuid, COUNT(*) AS n, MIN(p.date) AS first_date,
             MAX(p.date) AS last_date, MIN(c.first_seen_run) AS first_seen_run
      FROM citation c
      JOIN paper p ON p.paper_key = c.paper_key
      WHERE c.valid_to_run IS NULL AND c.hub_uuid IN (SELECT hub_uuid FROM _mart_hub)
      GROUP BY COALESCE(p.category, '(none)'), c.hub_uuid) g;
