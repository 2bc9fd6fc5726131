"""The run summary: what a run did and what the warehouse now holds, for the terminal and Prefect."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from warehouse import coverage as cov
from warehouse import queries
from warehouse.rebuild import drift_line

if TYPE_CHECKING:
    from warehouse.checks import CheckResult
    from warehouse.load import LoadResult

NEXT_SQL = [
    "SELECT title, tier, label, citing_count FROM hub_summary ORDER BY citing_count DESC LIMIT 10;",
    "SELECT role, count, share FROM hub_role_mix WHERE hub_uuid = '<uuid>' ORDER BY count DESC;",
    "SELECT title, hubs_cited FROM paper_reach ORDER BY hubs_cited DESC, paper_key LIMIT 10;",
    "SELECT run_id, hubs_known, hubs_fetched, frontier_unfetched, new_hubs FROM coverage ORDER BY started_at;",
]


@dataclass
class RunReport:
    run_id: str
    hubs: int
    papers: int
    citations: int
    pages_fetched: int
    requests: int
    quarantined: int
    failed_fetches: int
    checks_passed: int
    checks_failed: list[str]
    timings: dict[str, float]
    loaded: dict[str, Any] = field(default_factory=dict)
    top_hubs: list[dict[str, Any]] = field(default_factory=list)
    # change report of the run (mart change_report): its rows per change kind (one per changed field of a
    # relabelled citation); what changed per kind, counted in citations (new, retired, relabelled: a relabelled
    # citation once) or hubs (tier, label, incomplete), as the reports show it; hubs fetched incompletely; the
    # first rows of each kind
    changes: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    incomplete_hubs: list[str] = field(default_factory=list)
    change_sample: list[dict[str, Any]] = field(default_factory=list)
    # every URL of the run by outcome (fetch table: parsed, not_modified, quarantined, failed, skipped),
    # quarantined pages by reason, and retried requests (crawl stats)
    fetch_outcomes: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    # coverage of the crawl after the run (mart coverage: warehouse.coverage.COUNTS), the staleness buckets
    # as of the run (bucket, hubs, oldest_days), and the frontier as the run's links changed it
    # (warehouse.frontier.FrontierCounts: pages read, new hubs, seen again, bad links)
    coverage: dict[str, Any] = field(default_factory=dict)
    staleness: list[dict[str, Any]] = field(default_factory=list)
    frontier: dict[str, int] = field(default_factory=dict)
    # the full rebuilds of the marts the run made (the nightly's weekly one), with the drift each corrected
    # (warehouse.rebuild.Rebuild.as_dict); `citehub marts --rebuild` appends its own to the run it rebuilt for
    mart_rebuilds: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def markdown(self) -> str:
        lines = [
            f"# citehub run `{self.run_id}`",
            "",
            f"- hubs: {self.hubs}, citing papers: {self.papers}, citations: {self.citations}",
            f"- requests: {self.requests}, pages parsed: {self.pages_fetched}, "
            f"quarantined: {self.quarantined}, failed fetches: {self.failed_fetches}",
            f"- checks passed: {self.checks_passed}, failed: {', '.join(self.checks_failed) or 'none'}",
            f"- URLs by outcome: {_pairs_line(self.fetch_outcomes)}; retries: {self.retries}; "
            f"quarantined by reason: {_pairs_line(self.quarantine_reasons)}",
            f"- changes: {queries.changes_line(dict(self.changed))}",
            f"- hubs fetched incompletely (nothing of them retired): {', '.join(self.incomplete_hubs) or 'none'}",
            *coverage_lines(self.coverage, self.staleness, self.frontier, "- "),
            *[f"- {drift_line(r)}" for r in self.mart_rebuilds],
            "",
            "| change | hub | subject | field | old | new |",
            "|---|---|---|---|---|---|",
            *[
                f"| {c['change']} | {c['hub_uuid']} | {c['subject']} | {c['field']} | {c['old_value'] or ''} | "
                f"{c['new_value'] or ''} |"
                for c in self.change_sample
            ],
            "",
            "| stage | seconds |",
            "|---|---|",
            *[f"| {k} | {v:.2f} |" for k, v in self.timings.items()],
            "",
            "| hub | tier | label | citing | role mix |",
            "|---|---|---|---|---|",
            *[
                f"| {h['title'] or h['hub_uuid']} | {h['tier'] or 'stub'} | {h['label'] or ''} | "
                f"{h['citing_count']} | {h['role_mix']} |"
                for h in self.top_hubs
            ],
        ]
        return "\n".join(lines)


def build_report(
    engine: Engine,
    run_id: str,
    stats: Mapping[str, Any],
    loaded: LoadResult,
    checks: Sequence[CheckResult],
    timings: dict[str, float],
) -> RunReport:
    hubs, papers, citations = queries.warehouse_counts(engine)
    changed = queries.change_summary(engine, run_id)
    outcomes, reasons = queries.fetch_accounting(engine, run_id)
    loaded_dict = loaded.as_dict() if hasattr(loaded, "as_dict") else dict(getattr(loaded, "__dict__", {}))
    return RunReport(
        run_id=run_id,
        hubs=hubs,
        papers=papers,
        citations=citations,
        pages_fetched=int(stats.get("citehub/items/hub_page", 0)),
        requests=int(stats.get("downloader/request_count", 0)),
        quarantined=int(stats.get("citehub/items/quarantine", 0)),
        failed_fetches=int(stats.get("citehub/fetch/failed", 0)),
        checks_passed=sum(1 for c in checks if c.passed),
        checks_failed=[c.name for c in checks if not c.passed],
        timings=timings,
        loaded=loaded_dict,
        top_hubs=queries.top_hubs(engine),
        changes=changed.rows,
        changed=changed.changed,
        incomplete_hubs=changed.incomplete,
        change_sample=changed.sample,
        fetch_outcomes=outcomes,
        quarantine_reasons=reasons,
        retries=int(stats.get("retry/count", 0)),
        coverage=cov.summary_fields(cov.run_coverage(engine, run_id)),
        staleness=[{k: b[k] for k in ("bucket", "hubs", "oldest_days")} for b in cov.staleness_buckets(engine)],
        frontier=dict(loaded_dict.get("frontier") or {}),
    )


def coverage_lines(
    coverage: Mapping[str, Any], staleness: Sequence[Mapping[str, Any]], frontier: Mapping[str, int], prefix: str = ""
) -> list[str]:
    """The run summary's coverage, frontier and staleness lines (none for a summary that recorded none)."""
    lines = []
    if coverage:
        lines.append(f"{prefix}coverage: {cov.coverage_line(dict(coverage))}; this run: {cov.run_line(dict(coverage))}")
    if frontier:
        lines.append(
            f"{prefix}frontier: {frontier.get('new_hubs', 0):,} hubs new, {frontier.get('seen_again', 0):,} linked "
            f"again, from {frontier.get('pages', 0):,} pages read; {frontier.get('bad_links', 0):,} links refused"
        )
    if staleness:
        lines.append(f"{prefix}days since last complete fetch: {cov.staleness_line([dict(b) for b in staleness])}")
    return lines


def _pairs_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
