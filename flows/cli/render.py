"""Terminal views of `citehub status` and `citehub hub` (Rich), over the queries in warehouse.queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.console import Console, Group, JustifyMethod, RenderableType
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from flows.schedule import next_scheduled_run
from warehouse import coverage as cov
from warehouse import queries as ops
from warehouse.frontier import frontier_size
from warehouse.rebuild import drift_line
from warehouse.report import NEXT_SQL, coverage_lines


def _n(value: object) -> str:
    return "–" if value is None else str(value)


def clip(title: str, limit: int) -> str:
    """`title` cut to at most `limit` characters at a word boundary, with an ellipsis when cut."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1]
    if not title[limit - 1].isspace():  # the cut fell inside a word: drop the partial word
        head, space, _ = cut.rpartition(" ")
        cut = head if space and head.strip() else cut
    return cut.rstrip(" ,;:-–—") + "…"


@dataclass(frozen=True)
class Col:
    header: str
    justify: JustifyMethod = "left"
    wrap: bool = False  # free text (titles, labels, mixes) wraps at spaces; other cells are never broken


WRAP_MIN = 10  # a free-text column narrower than this is no longer readable


def _fits(width: int, cols: Sequence[Col], rows: list[list[Text]]) -> bool:
    """Whether a table of `rows` fits `width` with every non-wrapping cell whole and free text at least as wide
    as its longest word and WRAP_MIN (boxed, one space of padding each side)."""
    need = len(cols) + 1  # the box's edges and column separators
    for i, col in enumerate(cols):
        longest = max((row[i].cell_len for row in rows), default=0)
        if col.wrap:
            words = [w for row in rows for w in row[i].plain.split()] + col.header.split()
            need += max(max(cell_len(w) for w in words), min(longest, WRAP_MIN)) + 2
        else:
            need += max(cell_len(col.header), longest) + 2
    return need <= width


def table(console: Console, title: str, cols: Sequence[Col], rows: Sequence[Sequence[str | Text]]) -> RenderableType:
    """A table when it fits the console; otherwise one `header: value` record per row, so no value is ever
    cut ("nig…") in a narrow terminal or a pipe (80 columns)."""
    cells = [[v if isinstance(v, Text) else Text(v) for v in row] for row in rows]
    if _fits(console.width, cols, cells):
        out = Table(title=title)
        for col in cols:
            out.add_column(col.header, justify=col.justify, no_wrap=not col.wrap, overflow="fold")
        for row in cells:
            out.add_row(*row)
        return out
    lines: list[RenderableType] = [Text(title, style="table.title")]
    for row in cells:
        first, *rest = row
        lines.append(Text.assemble((f"{cols[0].header}: ", "bold"), first))
        pairs = [
            Text.assemble(f"{col.header}: ", value if value.plain else "–")
            for col, value in zip(cols[1:], rest, strict=True)
        ]
        for line in Text(", ").join(pairs).wrap(console, max(console.width - 2, WRAP_MIN)):
            line.rstrip()
            lines.append(Text.assemble("  ", line))  # wrapped at words, indented under the row's first value
    return Group(*lines)


RUN_COLUMNS = (
    Col("run"),
    Col("kind"),
    Col("outcome"),
    Col("duration s", "right"),
    Col("pages", "right"),
    Col("errors", "right"),
    Col("new", "right"),
    Col("retired", "right"),
    Col("relabelled", "right"),
)
HISTORY_COLUMNS = (
    Col("run"),
    Col("kind"),
    Col("tier"),
    Col("label", wrap=True),
    Col("citing", "right"),
    Col("classified", "right"),
    Col("parsed", "right"),
    Col("complete"),
)
CHANGE_COLUMNS = (
    Col("change"),
    Col("hub"),
    Col("subject"),
    Col("field"),
    Col("old", wrap=True),
    Col("new", wrap=True),
)
TOP_COLUMNS = (
    Col("hub", wrap=True),
    Col("tier"),
    Col("label", wrap=True),
    Col("citing", "right"),
    Col("role mix", wrap=True),
)
TITLE_CHARS = 60  # a hub title in the run summary is cut (at a word) beyond this


def runs_table(console: Console, runs: list[ops.RunRow]) -> RenderableType:
    rows: list[list[str | Text]] = [
        [
            r.run_id,
            r.kind,
            Text(r.status, style={"completed": "green", "failed": "red"}.get(r.status, "")),
            _n(r.duration_s),
            _n(r.pages),
            _n(r.errors),
            _n(r.new),
            _n(r.retired),
            _n(r.relabelled),
        ]
        for r in runs
    ]
    return table(console, f"Last {len(runs)} runs (newest first)", RUN_COLUMNS, rows)


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
        console.print(runs_table(console, runs))
        failed = [(r.run_id, r.error) for r in runs if r.status == "failed" and r.error]
        for run_id, error in failed[:3]:
            console.print(
                f"[red]run {run_id} failed:[/] {error.splitlines()[0][:200]}", highlight=False, soft_wrap=True
            )
    else:
        console.print("no runs yet: start one with `citehub refresh` (or `citehub demo`)")
    total = ops.hub_count(engine)
    stale = ops.stale_hubs(engine, stale_days, now)
    if not ops.published_only(engine):  # the frontier is internal: a reader role does not see it
        linked, unfetched = frontier_size(engine)
        console.print(
            f"frontier: {linked} hubs linked from fetched pages, {unfetched} never fetched "
            "(the next nightly fetches them)",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"freshness: {total - len(stale)} of {total} hubs refreshed in the last {stale_days:g} days, "
        f"{len(stale)} stale",
        highlight=False,
        soft_wrap=True,
    )
    for h in stale[:10]:
        console.print(
            f"  stale {h.hub_uuid} {clip(h.title or '', 50)!r}: "
            + (
                f"never fetched completely (first seen {h.last_seen_at:%Y-%m-%d}, run {h.last_seen_run})"
                if h.never_complete
                else f"last fetched completely {h.last_seen_at:%Y-%m-%d} ({h.age_days:g} days ago, run {h.last_seen_run})"
            ),
            highlight=False,
            soft_wrap=True,
        )
    if len(stale) > 10:
        console.print(f"  ... and {len(stale) - 10} more", highlight=False, soft_wrap=True)
    # coverage and staleness as the latest run left them (published marts: a reader role sees them too)
    latest = cov.run_coverage(engine)
    if latest is not None:
        console.print(
            f"coverage (run {latest['run_id']}): {cov.coverage_line(latest)}; that run: {cov.run_line(latest)}",
            highlight=False,
            soft_wrap=True,
        )
    buckets = cov.staleness_buckets(engine)
    if buckets:
        console.print(
            f"staleness (days since last complete fetch, hubs): {cov.staleness_line(buckets)}",
            highlight=False,
            soft_wrap=True,
        )
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
    history = [
        [
            snap["run_id"],
            snap["kind"],
            snap["tier"] or "stub",
            snap["label"] or "–",
            _n(snap["citing_count"]),
            _n(snap["classified_count"]),
            _n(snap["parsed_count"]),
            "yes" if snap["complete"] else "no",
        ]
        for snap in info.history
    ]
    title = f"History: {len(info.history)} runs changed its figures"
    console.print(table(console, title, HISTORY_COLUMNS, history))


def changes_counted(report: dict[str, Any]) -> str:
    """What the run changed, in citations (new, retired, relabelled: a relabelled citation counts once, as in
    the HTML report and `citehub status`) and hubs (tier, label, incomplete). A summary written before it
    recorded `changed` has only the change_report rows per kind: its relabelled count is of changed fields."""
    if "changed" in report:
        return ops.changes_line(report["changed"] or {})
    rows = dict(report.get("changes") or {})
    fields = rows.pop("relabelled", None)
    line = ops.changes_line(rows)
    if fields is not None:
        line = (
            "" if line == "none" else f"{line}, "
        ) + f"relabelled {fields:,} field value{'' if fields == 1 else 's'}"
    return line


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
    console.print(
        f"changes: {changes_counted(report)}"
        + (
            f"; [bold]incomplete hubs (nothing retired)[/bold]: {', '.join(report['incomplete_hubs'])}"
            if report.get("incomplete_hubs")
            else ""
        )
    )
    for line in coverage_lines(
        report.get("coverage") or {}, report.get("staleness") or [], report.get("frontier") or {}
    ):
        console.print(line, highlight=False, soft_wrap=True)
    for rebuilt in report.get("mart_rebuilds") or []:  # the weekly full rebuild of the marts (warehouse/rebuild.py)
        console.print(drift_line(rebuilt), highlight=False, soft_wrap=True)
    if report.get("change_sample"):
        changed = [
            [
                c["change"],
                c["hub_uuid"][:8],  # what `citehub hub <prefix>` takes
                "(hub)" if c["subject"] == c["hub_uuid"] else c["subject"],  # tier, label, fetch: the hub itself
                c["field"],
                c["old_value"] or "",
                c["new_value"] or "",
            ]
            for c in report["change_sample"]
        ]
        console.print(
            table(console, "Change report (first rows of each kind; all in change_report)", CHANGE_COLUMNS, changed)
        )
    top = [
        [
            clip(h["title"], TITLE_CHARS) if h["title"] else h["hub_uuid"],
            h["tier"] or "stub",
            h["label"] or "",
            str(h["citing_count"]),
            h["role_mix"],
        ]
        for h in report["top_hubs"]
    ]
    console.print(table(console, "Top hubs by citing papers", TOP_COLUMNS, top))
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
