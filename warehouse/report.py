"""The run summary: what a run did and what the warehouse now holds, for the terminal and Prefect."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine, func, select

from schema import tables as t

NEXT_SQL = [
    "SELECT title, tier, label, citing_count FROM hub_summary ORDER BY citing_count DESC LIMIT 10;",
    "SELECT role, count, share FROM hub_role_mix WHERE hub_uuid = '<uuid>' ORDER BY count DESC;",
    "SELECT title, hubs_cited FROM paper_reach ORDER BY hubs_cited DESC, paper_key LIMIT 10;",
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
    loaded: dict = field(default_factory=dict)
    top_hubs: list[dict] = field(default_factory=list)
    # change report of the run (mart change_report): rows per change kind, hubs fetched incompletely
    changes: dict[str, int] = field(default_factory=dict)
    incomplete_hubs: list[str] = field(default_factory=list)
    change_sample: list[dict] = field(default_factory=list)
    # every URL of the run by outcome (fetch table: parsed, not_modified, quarantined, failed, skipped),
    # quarantined pages by reason, and retried requests (crawl stats)
    fetch_outcomes: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    retries: int = 0

    def as_dict(self) -> dict:
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
            f"- changes: {_changes_line(self.changes)}",
            f"- hubs fetched incompletely (nothing of them retired): {', '.join(self.incomplete_hubs) or 'none'}",
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


def _changes_line(changes: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in changes.items()) or "none"


def run_changes(engine: Engine, run_id: str, sample: int = 20) -> tuple[dict[str, int], list[str], list[dict]]:
    """The run's change report: rows per change kind, incomplete hubs, and the first `sample` rows."""
    c = t.change_report
    with engine.connect() as conn:
        counts = dict(
            conn.execute(
                select(c.c.change, func.count()).where(c.c.run_id == run_id).group_by(c.c.change).order_by(c.c.change)
            ).all()
        )
        incomplete = list(
            conn.execute(
                select(c.c.hub_uuid).where(c.c.run_id == run_id, c.c.change == "incomplete").order_by(c.c.hub_uuid)
            ).scalars()
        )
        rows = (
            conn.execute(
                select(c.c.change, c.c.hub_uuid, c.c.subject, c.c.field, c.c.old_value, c.c.new_value)
                .where(c.c.run_id == run_id)
                .order_by(c.c.change, c.c.hub_uuid, c.c.subject, c.c.field)
                .limit(sample)
            )
            .mappings()
            .all()
        )
    return counts, incomplete, [dict(r) for r in rows]


def _count(conn, table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def top_hubs(engine: Engine, limit: int = 10) -> list[dict]:
    s, m = t.hub_summary, t.hub_role_mix
    with engine.connect() as conn:
        rows = (
            conn.execute(
                select(s.c.hub_uuid, s.c.title, s.c.tier, s.c.label, s.c.citing_count)
                .order_by(s.c.citing_count.desc(), s.c.hub_uuid)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        mix: dict[str, list[str]] = {}
        uuids = [r["hub_uuid"] for r in rows]
        if uuids:
            for r in conn.execute(
                select(m.c.hub_uuid, m.c.role, m.c.share)
                .where(m.c.hub_uuid.in_(uuids))
                .order_by(m.c.hub_uuid, m.c.share.desc(), m.c.role)
            ):
                mix.setdefault(r.hub_uuid, []).append(f"{r.role} {r.share:.0f}%")
    return [{**r, "role_mix": ", ".join(mix.get(r["hub_uuid"], [])) or "unclassified"} for r in rows]


def stage_timer(timings: dict[str, float]):
    """`timed(name, fn, *args)`: run one stage and record its wall seconds in `timings` (the report's table)."""
    import time

    def timed(name, fn, *args):
        start = time.perf_counter()
        result = fn(*args)
        timings[name] = round(time.perf_counter() - start, 3)
        return result

    return timed


def build_report(engine: Engine, run_id: str, stats: dict, loaded, checks, timings) -> RunReport:
    with engine.connect() as conn:
        hubs, papers = (_count(conn, x) for x in (t.hub, t.paper))
        citations = conn.execute(  # current edges; retired ones are history
            select(func.count()).select_from(t.citation).where(t.citation.c.valid_to_run.is_(None))
        ).scalar_one()
    changes, incomplete, change_sample = run_changes(engine, run_id)
    outcomes, reasons = fetch_accounting(engine, run_id)
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
        top_hubs=top_hubs(engine),
        changes=changes,
        incomplete_hubs=incomplete,
        change_sample=change_sample,
        fetch_outcomes=outcomes,
        quarantine_reasons=reasons,
        retries=int(stats.get("retry/count", 0)),
    )


def fetch_accounting(engine: Engine, run_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """URLs of the run by fetch outcome, and quarantined pages by reason."""
    f, q = t.fetch, t.quarantine
    with engine.connect() as conn:
        outcomes = conn.execute(
            select(f.c.outcome, func.count()).where(f.c.run_id == run_id).group_by(f.c.outcome).order_by(f.c.outcome)
        ).all()
        reasons = conn.execute(
            select(q.c.reason, func.count()).where(q.c.run_id == run_id).group_by(q.c.reason).order_by(q.c.reason)
        ).all()
    return dict(outcomes), dict(reasons)


def _pairs_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
