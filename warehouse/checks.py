"""Quality checks of a run, declared per table; results stored in `check_result`.

Each check is a SQL query counting the rows that break it (0 = passed), bound to `:run_id` where it looks
at the run's own rows. Vocabularies are open (the site grows new roles, labels, verdicts): the checks ask
for non-empty values, not for a fixed list.

Checks follow the change: a nightly runs each check over the rows its change can reach (`Check.changed`:
the hubs the run staged, their edges and those edges' papers, their mart rows; every lookup by key), so a
quiet night checks little in a large warehouse. The full set, over every row, runs with the full rebuild of
the marts (`run_checks(..., full=True)`: the weekly rebuild and `citehub marts --rebuild`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, text

from schema.tables import check_result


@dataclass(frozen=True)
class Check:
    name: str
    detail: str
    sql: str  # SELECT COUNT(*) of failing rows, over the whole table
    changed: str | None = None  # the same over the rows the run's change can reach; None: `sql` is already


# The rows a run's change can reach, by key: hubs whose page or JSON twin it staged (a twin that answered "not
# modified" writes the hub's bookkeeping only, last_seen_run, which no check reads), hubs whose pages it staged
# (only those have edges the run wrote or retired), and the papers of those hubs' edges.
CONTENT_HUBS = "SELECT hub_uuid FROM stg_item WHERE run_id = :run_id AND kind IN ('hub_page', 'hub_json')"
PAGE_HUBS = "SELECT hub_uuid FROM stg_item WHERE run_id = :run_id AND kind = 'hub_page'"
PAGE_PAPERS = "SELECT paper_key FROM citation WHERE hub_uuid IN (" + PAGE_HUBS + ")"


def _over(name: str, detail: str, rows: str, where: str, scope: str) -> Check:
    """Rows of `rows` (a table, or a join) breaking `where`; when run-scoped, only those `scope` selects."""
    return Check(
        name,
        detail,
        f"SELECT COUNT(*) FROM {rows} WHERE {where}",
        f"SELECT COUNT(*) FROM {rows} WHERE ({scope}) AND ({where})",
    )


@dataclass(frozen=True)
class CheckResult:
    name: str
    table: str
    passed: bool
    failed_rows: int
    detail: str


def _unique(table: str, *cols: str, scope: str | None = None) -> Check:
    keys = ", ".join(cols)
    return Check(
        f"{table}_key_unique",
        f"({keys}) is unique in {table}",
        f"SELECT COUNT(*) FROM (SELECT {keys} FROM {table} GROUP BY {keys} HAVING COUNT(*) > 1) d",
        None
        if scope is None
        else f"SELECT COUNT(*) FROM (SELECT {keys} FROM {table} WHERE {scope} GROUP BY {keys} HAVING COUNT(*) > 1) d",
    )


def _shares(table: str, dimension: str) -> list[Check]:
    scope = "hub_uuid IN (" + PAGE_HUBS + ")"
    return [
        _over(
            f"{table}_share_in_range",
            "shares are within 0-100 and counts > 0",
            table,
            "share < 0 OR share > 100 OR count <= 0",
            scope,
        ),
        Check(
            f"{table}_shares_sum_to_100",
            f"each hub's {dimension} shares add up to 100",
            f"SELECT COUNT(*) FROM (SELECT hub_uuid FROM {table} GROUP BY hub_uuid HAVING ABS(SUM(share) - 100) > 0.01) d",
            f"SELECT COUNT(*) FROM (SELECT hub_uuid FROM {table} WHERE {scope} GROUP BY hub_uuid "
            "HAVING ABS(SUM(share) - 100) > 0.01) d",
        ),
    ]


HUB_SCOPE = "hub_uuid IN (" + CONTENT_HUBS + ")"
PAPER_SCOPE = "paper_key IN (" + PAGE_PAPERS + ")"
EDGE_SCOPE = "c.hub_uuid IN (" + PAGE_HUBS + ")"

CHECKS: dict[str, list[Check]] = {
    "hub": [
        _unique("hub", "hub_uuid", scope=HUB_SCOPE),
        _over(
            "hub_counts_non_negative",
            "citing, classified and external counts are >= 0",
            "hub",
            "citing_count < 0 OR classified_count < 0 OR external_cited_by_count < 0",
            HUB_SCOPE,
        ),
        _over(
            "hub_classified_within_citing",
            "classified_count <= citing_count",
            "hub",
            "classified_count > citing_count",
            HUB_SCOPE,
        ),
        _over(
            "hub_share_in_range",
            "headline_share is within 0-100",
            "hub",
            "headline_share < 0 OR headline_share > 100",
            HUB_SCOPE,
        ),
        _over(
            "hub_vocabulary_non_empty",
            "tier, label, template and headline role are NULL or non-empty",
            "hub",
            "TRIM(tier) = '' OR TRIM(label) = '' OR TRIM(template) = '' OR TRIM(headline_role) = ''",
            HUB_SCOPE,
        ),
    ],
    "paper": [
        _unique("paper", "paper_key", scope=PAPER_SCOPE),
        _over(
            "paper_title_present",
            "every paper has a non-empty raw title",
            "paper",
            "title_raw IS NULL OR TRIM(title_raw) = ''",
            PAPER_SCOPE,
        ),
        _over(
            "paper_key_matches_arxiv_id",
            "a paper with an arXiv id is keyed by it",
            "paper",
            "arxiv_id IS NOT NULL AND paper_key <> 'arxiv:' || arxiv_id",
            PAPER_SCOPE,
        ),
    ],
    "citation": [
        _unique("citation", "hub_uuid", "paper_key", scope="hub_uuid IN (" + PAGE_HUBS + ")"),
        _over(
            "citation_hub_exists",
            "every citation's hub is in hub",
            "citation c LEFT JOIN hub h ON h.hub_uuid = c.hub_uuid",
            "h.hub_uuid IS NULL",
            EDGE_SCOPE,
        ),
        _over(
            "citation_paper_exists",
            "every citation's paper is in paper",
            "citation c LEFT JOIN paper p ON p.paper_key = c.paper_key",
            "p.paper_key IS NULL",
            EDGE_SCOPE,
        ),
        _over(
            "citation_novelty_in_range",
            "novelty is within 0-10",
            "citation c",
            "novelty < 0 OR novelty > 10",
            EDGE_SCOPE,
        ),
        _over("citation_refs_non_negative", "refs is >= 0", "citation c", "refs < 0", EDGE_SCOPE),
        _over(
            "citation_vocabulary_non_empty",
            "role, polarity and verdict are NULL or non-empty",
            "citation c",
            "TRIM(role) = '' OR TRIM(polarity) = '' OR TRIM(verdict) = ''",
            EDGE_SCOPE,
        ),
    ],
    "hub_version": [
        Check(
            "hub_version_counts_non_negative",
            "the spells the run opened have citing, classified and parsed counts >= 0",
            "SELECT COUNT(*) FROM hub_version WHERE valid_from_run = :run_id "
            "AND (citing_count < 0 OR classified_count < 0 OR parsed_count < 0)",
        ),
        Check(
            "hub_version_share_in_range",
            "the spells the run opened have headline shares within 0-100",
            "SELECT COUNT(*) FROM hub_version WHERE valid_from_run = :run_id "
            "AND (headline_share < 0 OR headline_share > 100)",
        ),
        Check(
            "hub_version_complete_parsed_equals_declared",
            "for complete spells the run opened, parsed explorer entries = declared citing count",
            "SELECT COUNT(*) FROM hub_version WHERE valid_from_run = :run_id AND complete "
            "AND parsed_count <> citing_count",
        ),
        Check(
            "hub_version_complete_citations_equal_declared",
            "for complete spells the run opened, citations seen in the run = declared citing count",
            "SELECT COUNT(*) FROM hub_version s WHERE s.valid_from_run = :run_id AND s.complete "
            "AND s.citing_count <> (SELECT COUNT(*) FROM citation c "
            "WHERE c.hub_uuid = s.hub_uuid AND c.last_seen_run = :run_id AND c.valid_to_run IS NULL)",
        ),
        Check(
            "hub_version_one_open_per_hub",
            "a hub the run wrote figures for has exactly one open spell",
            "SELECT COUNT(*) FROM (SELECT w.hub_uuid FROM hub_version w "
            "JOIN hub_version o ON o.hub_uuid = w.hub_uuid AND o.valid_to_run IS NULL "
            "WHERE w.valid_from_run = :run_id OR w.valid_to_run = :run_id "
            "GROUP BY w.hub_uuid HAVING COUNT(DISTINCT o.valid_from_run) <> 1) d",
        ),
    ],
    "citation_version": [
        _over(
            "citation_version_one_open_per_current_edge",
            "every current edge has exactly one open version, a retired edge none",
            "citation c",
            "(SELECT COUNT(*) FROM citation_version v WHERE v.hub_uuid = c.hub_uuid AND v.paper_key = c.paper_key "
            "AND v.valid_to_run IS NULL) <> CASE WHEN c.valid_to_run IS NULL THEN 1 ELSE 0 END",
            EDGE_SCOPE,
        ),
        _over(
            "citation_version_open_matches_edge",
            "the open version of an edge holds the edge's values",
            "citation c JOIN citation_version v ON v.hub_uuid = c.hub_uuid AND v.paper_key = c.paper_key "
            "AND v.valid_to_run IS NULL",
            "CASE WHEN (c.role = v.role OR (c.role IS NULL AND v.role IS NULL)) "
            "AND (c.polarity = v.polarity OR (c.polarity IS NULL AND v.polarity IS NULL)) "
            "AND (c.verdict = v.verdict OR (c.verdict IS NULL AND v.verdict IS NULL)) "
            "AND (c.novelty = v.novelty OR (c.novelty IS NULL AND v.novelty IS NULL)) "
            "AND (c.refs = v.refs OR (c.refs IS NULL AND v.refs IS NULL)) "
            "AND c.representative = v.representative THEN 0 ELSE 1 END = 1",
            EDGE_SCOPE,
        ),
    ],
    "hub_facet_version": [
        Check(
            "hub_facet_version_non_negative",
            "the facet spells the run opened have counts >= 0",
            "SELECT COUNT(*) FROM hub_facet_version WHERE valid_from_run = :run_id AND count < 0",
        ),
    ],
    "hub_role_mix": _shares("hub_role_mix", "role"),
    "hub_polarity_mix": _shares("hub_polarity_mix", "polarity"),
    "coverage": [
        _unique("coverage", "run_id"),
        Check(
            "coverage_run_has_its_row",
            "the run that published has its coverage row",
            "SELECT 1 - COUNT(*) FROM coverage WHERE run_id = :run_id",
        ),
        Check(
            "coverage_counts_in_range",
            "counts are >= 0, hubs_fetched and frontier_unfetched within hubs_known, ages >= 0",
            "SELECT COUNT(*) FROM coverage WHERE hubs_known < 0 OR hubs_fetched < 0 OR frontier_unfetched < 0 "
            "OR paper_pages < 0 OR new_hubs < 0 OR requests < 0 OR planned_hubs < 0 "
            "OR hubs_fetched > hubs_known OR frontier_unfetched > hubs_known OR frontier_oldest_days < 0",
        ),
        Check(
            "coverage_frontier_age_iff_frontier",
            "frontier_oldest_days is NULL exactly when no frontier hub is left unfetched",
            "SELECT COUNT(*) FROM coverage WHERE (frontier_oldest_days IS NULL) <> (frontier_unfetched = 0)",
        ),
        Check(
            "coverage_discovery_rate_is_new_hubs_per_paper_page",
            "discovery_rate = new_hubs / paper_pages, NULL when no paper page was fetched",
            "SELECT COUNT(*) FROM coverage WHERE CASE WHEN paper_pages = 0 THEN "
            "CASE WHEN discovery_rate IS NULL THEN 0 ELSE 1 END "
            "WHEN discovery_rate IS NULL OR ABS(discovery_rate * paper_pages - new_hubs) > 0.000001 THEN 1 "
            "ELSE 0 END = 1",
        ),
    ],
    "staleness": [
        _unique("staleness", "bucket"),
        Check(
            "staleness_every_bucket",
            "the seven buckets are there, built by the run",
            "SELECT 7 - COUNT(*) FROM staleness WHERE run_id = :run_id",
        ),
        Check(
            "staleness_ages_within_bucket",
            "hub counts are >= 0 and each bucket's oldest age lies within its bounds",
            "SELECT COUNT(*) FROM staleness WHERE hubs < 0 OR oldest_days < min_days OR oldest_days >= max_days "
            "OR (hubs = 0 AND oldest_days IS NOT NULL) OR (hubs > 0 AND oldest_days IS NULL)",
        ),
        Check(
            "staleness_adds_up_to_coverage",
            "the buckets hold the run's known hubs, those outside never its hubs fetched completely",
            "SELECT COUNT(*) FROM coverage c WHERE c.run_id = :run_id AND ("
            "c.hubs_known <> (SELECT COALESCE(SUM(hubs), 0) FROM staleness) "
            "OR c.hubs_fetched <> (SELECT COALESCE(SUM(hubs), 0) FROM staleness WHERE bucket <> 'never'))",
        ),
    ],
}


def run_checks(engine: Engine, run_id: str, full: bool = False) -> list[CheckResult]:
    """Run every check for `run_id` over the rows its change can reach, or with `full` over every row; store
    the results (replacing the run's earlier ones), return them."""
    results: list[CheckResult] = []
    with engine.begin() as conn:
        for table, checks in CHECKS.items():
            for check in checks:
                sql = check.sql if full or check.changed is None else check.changed
                params = {"run_id": run_id} if ":run_id" in sql else {}
                failed = int(conn.execute(text(sql), params).scalar_one())
                results.append(CheckResult(check.name, table, failed == 0, failed, check.detail))
        conn.execute(delete(check_result).where(check_result.c.run_id == run_id))
        conn.execute(
            insert(check_result),
            [
                {
                    "run_id": run_id,
                    "check_name": r.name,
                    "table_name": r.table,
                    "passed": r.passed,
                    "failed_rows": r.failed_rows,
                    "detail": r.detail,
                }
                for r in results
            ],
        )
    return results
