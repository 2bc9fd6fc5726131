-- The keys of the published rows this run can have changed, filled once per run before any mart is touched
-- (warehouse/materialize.py describes each scratch table); the marts' .changed.sql files read them. For
-- paper_reach, maintained by delta, they also hold what the run changed as published before it (the marts
-- are not yet refreshed here): the figures to add to each paper's row (_mart_reach, last below).
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
--
-- paper_reach by delta (paper_reach.changed.sql): each paper's new figures are its published ones plus what
-- this run changed, taken from the run's changed edges and hubs only (a popular paper cites tens of
-- thousands of hubs: recounting all its edges cost as much as the warehouse). Before = as published:
-- citation_current and hub_summary, not yet refreshed (a mart may refresh them before paper_reach is
-- built, so the before side is read here); after = citation and hub, as the load left them.
--
-- Hubs whose row the load wrote (_mart_asked_hub) and whose super_hub standing moved, with it before the
-- run (was_super) and after (is_super). The load rewrites a hub's row (tier) only on a complete fetch of an
-- existing hub, or inserts it: before = hub_summary's tier (a hub with a complete spell before this run),
-- else hub's tier when the hub had no published edge (the before tier counts for nothing) or the run left
-- its row alone (no complete spell opened by this run). A hub never complete before, with published edges,
-- that this run fetched completely: its tier before was rewritten and no published row holds it (NULL:
-- unknown, its papers are recounted in full, _mart_reach_full).
INSERT INTO _mart_tier_move (hub_uuid, was_super, is_super)
SELECT m.hub_uuid, m.was_super, m.is_super
FROM (SELECT h.hub_uuid,
             CASE WHEN s.hub_uuid IS NOT NULL THEN CASE WHEN s.tier = 'super_hub' THEN 1 ELSE 0 END
                  WHEN NOT EXISTS (SELECT 1 FROM citation_current cc WHERE cc.hub_uuid = h.hub_uuid)
                       OR NOT EXISTS (SELECT 1 FROM hub_version v
                                      WHERE v.hub_uuid = h.hub_uuid AND v.valid_from_run = :run_id AND v.complete)
                  THEN CASE WHEN h.tier = 'super_hub' THEN 1 ELSE 0 END
             END AS was_super,
             CASE WHEN h.tier = 'super_hub' THEN 1 ELSE 0 END AS is_super
      FROM hub h
      LEFT JOIN hub_summary s ON s.hub_uuid = h.hub_uuid
      WHERE h.hub_uuid IN (SELECT hub_uuid FROM _mart_asked_hub)) m
WHERE m.was_super IS NULL OR m.was_super <> m.is_super;
-- Edges whose share of paper_reach can have moved: the changed edges, and every edge (published or current)
-- of a hub whose standing moved, by hub.
INSERT INTO _mart_reach_edge (hub_uuid, paper_key)
SELECT e.hub_uuid, e.paper_key FROM _mart_edge e
UNION
SELECT cc.hub_uuid, cc.paper_key
FROM citation_current cc
WHERE cc.hub_uuid IN (SELECT hub_uuid FROM _mart_tier_move WHERE was_super IS NOT NULL)
UNION
SELECT c.hub_uuid, c.paper_key
FROM citation c
WHERE c.hub_uuid IN (SELECT hub_uuid FROM _mart_tier_move WHERE was_super IS NOT NULL) AND c.valid_to_run IS NULL;
-- Papers with a published edge to a hub whose tier before the run is unknown: recounted from all their
-- current edges (rare: a hub's first complete fetch after incomplete ones).
INSERT INTO _mart_reach_full (paper_key)
SELECT DISTINCT cc.paper_key
FROM citation_current cc
WHERE cc.hub_uuid IN (SELECT hub_uuid FROM _mart_tier_move WHERE was_super IS NULL);
-- Per paper (not recounted in full) whose paper_reach row this run changes: what to add to its published
-- figures (after minus before over _mart_reach_edge: a new edge +1, a retired one -1, a relabel its
-- classification's change, a hub's move its super_hub change), zeros when only its title, category or date
-- changed (a row the run wrote, compared with the published one). A paper without a published row had no
-- current edge: its figures are the after side alone. CROSS JOIN makes SQLite drive from the scratch keys
-- (else it may scan every current edge by the partial index on citation's paper_key).
INSERT INTO _mart_reach (paper_key, hubs_cited, super_hubs_cited, classified_citations)
SELECT d.paper_key, SUM(d.hubs_cited), SUM(d.super_hubs_cited), SUM(d.classified_citations)
FROM (SELECT c.paper_key, 1 AS hubs_cited,
             CASE WHEN h.tier = 'super_hub' THEN 1 ELSE 0 END AS super_hubs_cited,
             CASE WHEN c.role IS NOT NULL THEN 1 ELSE 0 END AS classified_citations, 0 AS moved
      FROM _mart_reach_edge e
      CROSS JOIN citation c
      CROSS JOIN hub h
      WHERE c.hub_uuid = e.hub_uuid AND c.paper_key = e.paper_key AND h.hub_uuid = c.hub_uuid
        AND c.valid_to_run IS NULL
      UNION ALL
      SELECT cc.paper_key, -1,
             -(CASE WHEN m.hub_uuid IS NOT NULL THEN m.was_super WHEN h.tier = 'super_hub' THEN 1 ELSE 0 END),
             -(CASE WHEN cc.role IS NOT NULL THEN 1 ELSE 0 END), 0
      FROM _mart_reach_edge e
      CROSS JOIN citation_current cc
      CROSS JOIN hub h
      LEFT JOIN _mart_tier_move m ON m.hub_uuid = cc.hub_uuid
      WHERE cc.hub_uuid = e.hub_uuid AND cc.paper_key = e.paper_key AND h.hub_uuid = cc.hub_uuid
      UNION ALL
      SELECT p.paper_key, 0, 0, 0, 1
      FROM _mart_paper k
      CROSS JOIN paper p
      CROSS JOIN paper_reach r
      WHERE p.paper_key = k.paper_key AND r.paper_key = k.paper_key
        AND p.run_id = :run_id
        AND (CASE WHEN p.title = r.title OR (p.title IS NULL AND r.title IS NULL) THEN 0 ELSE 1 END = 1
             OR CASE WHEN p.category = r.category OR (p.category IS NULL AND r.category IS NULL) THEN 0 ELSE 1 END = 1
             OR CASE WHEN p.date = r.date OR (p.date IS NULL AND r.date IS NULL) THEN 0 ELSE 1 END = 1)) d
WHERE d.paper_key NOT IN (SELECT paper_key FROM _mart_reach_full)
GROUP BY d.paper_key
HAVING SUM(d.hubs_cited) <> 0 OR SUM(d.super_hubs_cited) <> 0 OR SUM(d.classified_citations) <> 0
    OR MAX(d.moved) = 1;
