"""Terminal views of `citehub status` and `citehub hub` (Rich), over the queries in warehouse.queries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table
from sqlalchemy import Engine

from flows.schedule import next_scheduled_run
from warehouse import queries as ops
from warehouse.report import NEXT_SQL


def _n(value: object) -> str:
    return "–" if value is None else str(value)


def runs_table(runs: list[ops.RunRow]) -> Table:
    table = Table(title=f"Last {len(runs)} runs (newest first)")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("run", "left"),
        ("kind", "left"),
        ("outcome", "left"),
        ("duration s", "right"),
        ("pages", "right"),
        ("errors", "right"),
        ("new", "right"),
        ("retired", "right"),
        ("relabelled", "right"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=col == "run")
    for r in runs:
        outcome = {"completed": "[green]completed[/]", "failed": "[red]failed[/]"}.get(r.status, r.status)
        table.add_row(
            r.run_id,
            r.kind,
            outcome,
            _n(r.duration_s),
            _n(r.pages),
            _n(r.errors),
            _n(r.new),
            _n(r.retired),
            _n(r.relabelled),
        )
    return table


def print_status(
    console: Console,
    engine: Engine,
    database_url: str,
    data_dir: Path,
    stale_days: float,
    runs_limit: int = 10,
    now: datetime | None = None,
) -> None:
    now = now or datetime.now(UTC)
    runs = ops.recent_runs(engine, runs_limit)
    if runs:
        console.print(runs_table(runs))
        failed = [(r.run_id, r.error) for r in runs if r.status == "failed" and r.error]
        for run_id, error in failed[:3]:
            console.print(
                f"[red]run {run_id} failed:[/] {error.splitlines()[0][:200]}", highlight=False, soft_wrap=True
            )
    else:
        console.print("no runs yet: start one with `citehub refresh` (or `citehub demo`)")
    total = ops.hub_count(engine)
    stale = ops.stale_hubs(engine, stale_days, now)
    console.print(
        f"freshness: {total - len(stale)} of {total} hubs refreshed in the last {stale_days:g} days, "
        f"{len(stale)} stale",
        highlight=False,
        soft_wrap=True,
    )
    for h in stale[:10]:
        console.print(
            f"  stale {h.hub_uuid} {(h.title or '')[:50]!r}: last seen {h.last_seen_at:%Y-%m-%d} "
            f"({h.age_days:g} days ago, run {h.last_seen_run})",
            highlight=False,
            soft_wrap=True,
        )
    if len(stale) > 10:
        console.print(f"  ... and {len(stale) - 10} more", highlight=False, soft_wrap=True)
    console.print(f"schedule: {next_scheduled_run().message}", highlight=False, soft_wrap=True)
    where = ops.storage(engine, database_url, data_dir)
    console.print(
        f"database: {where.database} ({ops.human_bytes(where.database_bytes)})", highlight=False, soft_wrap=True
    )
    console.print(
        f"archive: {where.archive_dir} ({where.archive_runs} runs, {ops.human_bytes(where.archive_bytes)})",
        highlight=False,
        soft_wrap=True,
    )


def _mix(values: list[tuple[str, int, float]]) -> str:
    return ", ".join(f"{v} {n} ({share:.0f}%)" for v, n, share in values) or "unclassified"


def print_hub(console: Console, info: ops.HubInfo) -> None:
    console.print(f"[bold]{info.title or '(title pending)'}[/bold]", highlight=False, soft_wrap=True)
    console.print(
        f"hub {info.hub_uuid}: tier {info.tier or 'stub'}, label {info.label or '–'}, template {info.template or '–'}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"citing papers {_n(info.citing_count)} declared, {info.citation_rows} held; "
        f"classified {_n(info.classified_count)}",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"roles: {_mix(info.roles)}", highlight=False, soft_wrap=True)
    console.print(f"polarities: {_mix(info.polarities)}", highlight=False, soft_wrap=True)
    table = Table(title=f"History across {len(info.history)} runs")
    for col in ("run", "kind", "tier", "label", "citing", "classified", "parsed", "complete"):
        table.add_column(col, no_wrap=col == "run")
    for s in info.history:
        table.add_row(
            s["run_id"],
            s["kind"],
            s["tier"] or "stub",
            s["label"] or "–",
            _n(s["citing_count"]),
            _n(s["classified_count"]),
            _n(s["parsed_count"]),
            "yes" if s["complete"] else "no",
        )
    console.print(table)


def print_report(console: Console, report: dict[str, Any]) -> None:
    """A run's outcome as the terminal shows it: counts, changes, top hubs, time per stage, SQL to try."""
    if report.get("status") == "skipped":  # another run held the warehouse's run lock (warehouse/lock.py)
        console.print(f"[yellow]{report['message']}[/yellow]", highlight=False)
        return
    if report.get("status") == "blocked":  # the publish guard refused an abnormal change (warehouse/guard.py)
        console.print(f"[bold red]{report['message']}[/bold red]", highlight=False)
        return
    console.print(
        f"[bold]run {report['run_id']}[/bold]: {report['hubs']} hubs, {report['papers']} citing papers, "
        f"{report['citations']} citations"
    )
    console.print(
        f"requests {report['requests']}, pages parsed {report['pages_fetched']}, "
        f"quarantined {report['quarantined']}, failed fetches {report['failed_fetches']}, "
        f"checks passed {report['checks_passed']}, failed {len(report['checks_failed'])}"
    )
    changes = report.get("changes") or {}
    console.print(
        "changes: "
        + (", ".join(f"{kind} {n}" for kind, n in changes.items()) or "none")
        + (
            f"; [bold]incomplete hubs (nothing retired)[/bold]: {', '.join(report['incomplete_hubs'])}"
            if report.get("incomplete_hubs")
            else ""
        )
    )
    if report.get("change_sample"):
        changed = Table(title="Change report (first rows; all in change_report)")
        for col in ("change", "hub", "subject", "field", "old", "new"):
            changed.add_column(col)
        for c in report["change_sample"]:
            changed.add_row(
                c["change"],
                c["hub_uuid"][:8],
                c["subject"][:40],
                c["field"],
                c["old_value"] or "",
                c["new_value"] or "",
            )
        console.print(changed)
    top = Table(title="Top hubs by citing papers")
    for col in ("hub", "tier", "label", "citing", "role mix"):
        top.add_column(col)
    for h in report["top_hubs"]:
        top.add_row(
            (h["title"] or h["hub_uuid"])[:60],
            h["tier"] or "stub",
            h["label"] or "",
            str(h["citing_count"]),
            h["role_mix"],
        )
    console.print(top)
    timing = Table(title="Time per stage")
    timing.add_column("stage")
    timing.add_column("seconds", justify="right")
    for stage, seconds in report["timings"].items():
        timing.add_row(stage, f"{seconds:.2f}")
    timing.add_row("total", f"{sum(report['timings'].values()):.2f}")
    console.print(timing)
    # Published tables only: what a reader role can query on PostgreSQL too (docs/warehouse.md, docs/queries.md).
    console.print('[bold]Try next[/bold] (citehub sql -c "...", or sqlite3 data/citehub.sqlite):')
    for q in NEXT_SQL:
        console.print(f"  {q}", markup=False, highlight=False)
