-- The keys of the published rows this run can have changed, filled once per run before any mart is touched
-- (warehouse/materialize.py describes each scratch table); the marts' .changed.sql files read them.
-- Every lookup goes by a key the run names: staged items by (run_id, hub_uuid), edges and versions by their
-- hub, papers and published rows by primary key; nothing here reads a whole table.
--
-- _mart_run_hub is filled first (_run_hubs.sql, and warehouse/materialize.py for redirected pages): the hubs
-- with a hub page staged in this run, the only hubs whose edges or row the run can have changed.
-- Edges whose spell or values the run changed: a version opened (new, reopened, relabelled) or closed
-- (relabelled, retired) by this run.
INSERT INTO _mart_edge (hub_uuid, paper_key)
SELECT DISTINCT v.hub_uuid, v.paper_key
FROM citation_version v
WHERE v.hub_uuid IN (SELECT hub_uuid FROM _mart_run_hub)
  AND (v.valid_from_run = :run_id OR v.valid_to_run = :run_id);
-- Papers of those hubs' current edges and of the edges this run retired: every paper whose row the run
-- wrote (it listed them on those hubs' pages), whose current edges changed, or that cites a hub whose row
-- the run rewrote.
INSERT INTO _mart_paper (paper_key)
SELECT DISTINCT c.paper_key
FROM citation c
WHERE c.hub_uuid IN (SELECT hub_uuid FROM _mart_run_hub)
  AND (c.valid_to_run IS NULL OR c.valid_to_run = :run_id);
-- Papers published before this run (in paper_current, not yet refreshed) whose category or date the run
-- changed: every hub they cite has its category_flow rows moved. A paper not published before had no
-- current edge, so all its current edges are new and their hubs are in _mart_edge already.
-- Null-safe comparisons spelled CASE WHEN a = b OR (a IS NULL AND b IS NULL) (portable SQL).
INSERT INTO _mart_moved (paper_key)
SELECT p.paper_key
FROM paper p
JOIN paper_current o ON o.paper_key = p.paper_key
WHERE p.paper_key IN (SELECT paper_key FROM _mart_paper)
  AND p.run_id = :run_id
  AND (CASE WHEN p.category = o.category OR (p.category IS NULL AND o.category IS NULL) THEN 0 ELSE 1 END = 1
       OR CASE WHEN p.date = o.date OR (p.date IS NULL AND o.date IS NULL) THEN 0 ELSE 1 END = 1);
-- Hubs whose per-hub rows are recomputed: a changed edge, or a current edge from a moved paper (CROSS JOIN
-- makes SQLite drive from the moved papers, most often none).
INSERT INTO _mart_hub (hub_uuid)
SELECT e.hub_uuid FROM _mart_edge e
UNION
SELECT c.hub_uuid
FROM _mart_moved m
CROSS JOIN citation c
WHERE c.paper_key = m.paper_key AND c.valid_to_run IS NULL;
-- Their (category, hub) pairs in category_flow as published before this run (citation_current and
-- paper_current not yet refreshed) and as this run leaves them.
INSERT INTO _mart_flow_key (category, hub_uuid)
SELECT COALESCE(pc.category, '(none)'), cc.hub_uuid
FROM citation_current cc
JOIN paper_current pc ON pc.paper_key = cc.paper_key
WHERE cc.hub_uuid IN (SELECT hub_uuid FROM _mart_hub)
UNION
SELECT COALESCE(p.category, '(none)'), c.hub_uuid
FROM citation c
JOIN paper p ON p.paper_key = c.paper_key
WHERE c.hub_uuid IN (SELECT hub_uuid FROM _mart_hub) AND c.valid_to_run IS NULL;
-- Hubs the run names at all (any staged item but links: a fetch, a twin, a page, a quarantine) and those
-- whose page a redirect led to: every hub whose row the load wrote (its last_seen_run at least), for
-- hub_summary.
INSERT INTO _mart_asked_hub (hub_uuid)
SELECT s.hub_uuid
FROM stg_item s
WHERE s.run_id = :run_id AND s.kind <> 'links' AND s.hub_uuid IS NOT NULL
UNION
SELECT r.hub_uuid FROM _mart_run_hub r;
