-- Hubs with a hub page staged in this run: a load writes only from the run's staged items, so only these
-- hubs can have edges opened, closed or relabelled, or their row (tier) rewritten. A page item names the hub
-- the crawl asked for; a page reached by a redirect to another hub's page is that hub's (the load reads the
-- page's own uuid): warehouse/materialize.py adds those, from the pages whose URL does not name their item's
-- hub (rare: read one by one).
INSERT INTO _mart_run_hub (hub_uuid)
SELECT DISTINCT s.hub_uuid
FROM stg_item s
WHERE s.run_id = :run_id AND s.kind = 'hub_page' AND s.hub_uuid IS NOT NULL;
