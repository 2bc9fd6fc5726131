"""`citehub report`: one self-contained HTML file (inline SVG charts drawn by matplotlib, inline CSS,
no script, no network) showing what the warehouse holds and how the runs went.

Charts (each an <svg> inside <figure data-chart="...">, with a title, labelled axes and units):
growth of the top hubs across runs, role mix and polarity mix per hub, citing categories x hubs heatmap,
run history (duration, pages, errors), coverage across runs (hubs known, fetched completely, left on the
frontier) and the staleness of the known hubs as of the latest run; then the latest run's change report as a
table.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display: draw to SVG only
import matplotlib.pyplot as plt
from sqlalchemy import Engine

from warehouse import coverage as cov
from warehouse import queries as ops

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: smaller files, selectable, searchable
        "svg.hashsalt": "citehub",  # stable element ids: the same warehouse gives the same file
        "font.size": 9,
        "axes.titlesize": 11,
        "figure.dpi": 96,
    }
)

CHARTS = ("growth", "role-mix", "polarity-mix", "category-heatmap", "run-history", "coverage", "staleness")
# At most this many run numbers label an x axis (every k-th run beyond): one per run overlaps from ~20 runs on.
GROWTH_RUN_LABELS = 15  # the growth chart's axis, ~6 in wide
PANEL_RUN_LABELS = 8  # each of the run history's three panels, ~2.5 in wide
MISSING = "—"  # a value the warehouse does not have, in the change table
NO_MIX = {"role": "no classified citations yet", "polarity": "no citations with a polarity yet"}
# The run history as a reader role sees it (published relations only, warehouse.reader): fetch outcomes per URL
# and the stage timings that make a replay's duration live in core tables.
READER_RUNS_CAPTION = (
    "Wall time of each run, pages parsed, and failed or quarantined fetches. Not published, so not shown to a "
    "reader role: fetches refused by policy, and the duration of a replay (the time of its own stages)."
)


def _label(title: str, limit: int = 38) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG needs neither


def run_ticks(ax: Axes, runs: int, most: int) -> None:
    """Label runs 1..`runs` on `ax`'s x axis with at most `most` labels: every k-th run, starting at 1."""
    step = max(1, math.ceil(runs / most))
    ax.set_xticks(range(1, runs + 1, step))
    ax.set_xlim(0.4, max(runs, 1) + 0.6)


def growth_chart(engine: Engine, hubs: list[tuple[str, str]], run_ids: list[str]) -> str:
    series = ops.hub_growth(engine, [u for u, _ in hubs], run_ids)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = list(range(1, len(run_ids) + 1))
    for u, title in hubs:
        # a run that did not parse the hub: NaN, a gap in its line
        ax.plot(x, [math.nan if n is None else n for n in series[u]], marker="o", label=_label(title))
    ax.set_title("Growth of the top hubs across runs")
    ax.set_xlabel("completed run (1 = oldest)")
    ax.set_ylabel("citing papers (count)")
    run_ticks(ax, len(run_ids), GROWTH_RUN_LABELS)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def mix_chart(engine: Engine, hubs: list[tuple[str, str]], dimension: str) -> str:
    shares = ops.mix_shares(engine, [u for u, _ in hubs], dimension)
    values = sorted({v for mix in shares.values() for v in mix})
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(hubs) + 1.4))
    rows = list(range(len(hubs)))[::-1]  # the first hub on top
    left = [0.0] * len(hubs)
    for value in values:
        widths = [shares[u].get(value, 0.0) for u, _ in hubs]
        ax.barh(rows, widths, left=left, label=value)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, (u, _) in zip(rows, hubs, strict=True):
        if not shares[u]:  # nothing to draw a bar of: say so rather than leave the row blank
            ax.text(1, y, NO_MIX[dimension], va="center", fontsize=8, fontstyle="italic", color="#555")
    ax.set_yticks(rows, [_label(title) for _, title in hubs])
    ax.set_ylim(-0.6, len(hubs) - 0.4)
    ax.set_title(f"Citation {dimension} mix per hub")
    ax.set_xlabel(f"share of the hub's citations with a {dimension} (%)")
    ax.set_ylabel("hub")
    ax.set_xlim(0, 100)
    if values:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def category_heatmap(engine: Engine, hubs: list[tuple[str, str]]) -> str:
    cats, counts = ops.category_matrix(engine, [u for u, _ in hubs])
    grid = [[counts.get((c, u), 0) for u, _ in hubs] for c in cats]
    fig, ax = plt.subplots(figsize=(8, 0.32 * max(len(cats), 1) + 2.6))
    image = ax.imshow(grid or [[0]], aspect="auto", cmap="Blues")
    ax.set_title("Which citing categories cite which hubs")
    ax.set_xlabel("hub")
    ax.set_ylabel("citing paper's primary arXiv category")
    ax.set_xticks(range(len(hubs)), [_label(t, 24) for _, t in hubs], rotation=35, ha="right", fontsize=7)
    ax.set_yticks(range(len(cats)), cats)
    for i, row in enumerate(grid):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="citing papers (count)")
    return _svg(fig)


def run_history_chart(runs: list[ops.RunRow], outcomes: dict[str, dict[str, int]] | None = None) -> str:
    """Duration, pages parsed and errors of each run (oldest first); `outcomes`, URLs of each run by fetch
    outcome, adds the fetches refused by policy (skipped) to the errors panel.

    A replay's duration is its own stages' time (warehouse.queries.recent_runs): its started_at is the
    archived crawl's start, days earlier. A run without a known duration gets no bar, and a note says so."""
    outcomes = outcomes or {}
    fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
    notes = []  # under the panels: a panel is too narrow for a sentence
    x = list(range(1, len(runs) + 1))
    colors = ["tab:red" if r.status == "failed" else "tab:blue" for r in runs]
    replays = [bool(r.replay_of) for r in runs]
    refused = [outcomes.get(r.run_id, {}).get("skipped", 0) for r in runs]
    errors = [r.errors or 0 for r in runs]
    # duration
    ax = axes[0]
    timed = [(i, r.duration_s) for i, r in zip(x, runs, strict=True) if r.duration_s is not None]
    bars = ax.bar([i for i, _ in timed], [d for _, d in timed], color=[colors[i - 1] for i, _ in timed])
    for (i, _), bar in zip(timed, bars, strict=True):
        if replays[i - 1]:
            bar.set_hatch("///")
            bar.set_edgecolor("white")
    untimed = [i for i, r in zip(x, runs, strict=True) if r.duration_s is None]
    if untimed:
        notes.append(f"Duration: {_runs_list(untimed)} recorded none.")
    _panel(ax, "Run duration", "duration (s)", [d for _, d in timed], len(runs))
    # pages parsed
    pages = [r.pages or 0 for r in runs]
    axes[1].bar(x, pages, color=colors)
    _panel(axes[1], "Run pages parsed", "pages (count)", pages, len(runs))
    # errors, and fetches refused by policy (skipped), stacked on them
    ax = axes[2]
    ax.bar(x, errors, color=colors, label="failed + quarantined")
    if any(refused):
        ax.bar(x, refused, bottom=errors, color="tab:gray", label="refused (skipped)")
        ax.legend(fontsize=7, loc="upper left", frameon=False)
        every = [i for i, r in zip(x, runs, strict=True) if refused[i - 1] and refused[i - 1] == _urls(outcomes, r)]
        if every:
            notes.append(
                f"Errors: {_runs_list(every)}: every fetch was refused "
                f"({sum(refused[i - 1] for i in every):,} skipped)."
            )
    totals = [a + b for a, b in zip(errors, refused, strict=True)]
    unit = "fetches (count)" if any(refused) else "failed fetches + quarantined (count)"
    _panel(ax, "Run errors", unit, totals, len(runs), top=1.3 if any(refused) else 1.1)  # room for the legend
    title = "Run history (red: failed run"
    if any(replays):
        title += "; hatched: replay, its own stages' time"
    fig.suptitle(title + ")")
    fig.tight_layout()
    for line, note in enumerate(notes):
        fig.text(0.5, -0.02 - 0.07 * line, note, ha="center", va="top", fontsize=8, color="#333")
    return _svg(fig)


def coverage_chart(rows: list[dict[str, Any]]) -> str:
    """Hubs known, fetched completely and waiting on the frontier after each run that published (the
    coverage mart, oldest first)."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = list(range(1, len(rows) + 1))
    for key, label, style in (
        ("hubs_known", "known (fetched or on the frontier)", "o-"),
        ("hubs_fetched", "fetched completely at least once", "s-"),
        ("frontier_unfetched", "on the frontier, never fetched", "^--"),
    ):
        ax.plot(x, [r[key] for r in rows], style, label=label)
    ax.set_title("Coverage across runs")
    ax.set_xlabel("run that published (1 = oldest)")
    ax.set_ylabel("hubs (count)")
    run_ticks(ax, len(rows), GROWTH_RUN_LABELS)
    ax.set_ylim(0, max([r["hubs_known"] for r in rows] + [1]) * 1.1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def staleness_chart(buckets: list[dict[str, Any]]) -> str:
    """Known hubs by days since their last complete fetch (the staleness mart); `never` in grey."""
    fig, ax = plt.subplots(figsize=(8, 2.8))
    x = list(range(len(buckets)))
    counts = [b["hubs"] for b in buckets]
    colors = ["tab:gray" if b["bucket"] == "never" else "tab:blue" for b in buckets]
    ax.bar(x, counts, color=colors)
    for i, n in zip(x, counts, strict=True):
        ax.text(i, n, str(n), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [b["bucket"] for b in buckets])
    ax.set_ylim(0, max([*counts, 1]) * 1.2)
    stalest = cov.max_staleness(buckets)
    ax.set_title(
        "Days since each known hub's last complete fetch" + (f" (max {stalest:.1f})" if stalest is not None else "")
    )
    ax.set_xlabel("days since the last complete fetch (never: not fetched completely yet)")
    ax.set_ylabel("hubs (count)")
    return _svg(fig)


def _urls(outcomes: dict[str, dict[str, int]], run: ops.RunRow) -> int:
    return sum(outcomes.get(run.run_id, {}).values())


def _runs_list(numbers: list[int], most: int = 5) -> str:
    """'run 3', 'runs 3, 7', 'runs 1, 2, 3, 4, 5 and 2 more' (run numbers as the x axes count them)."""
    shown = ", ".join(str(n) for n in numbers[:most])
    more = f" and {len(numbers) - most} more" if len(numbers) > most else ""
    return f"run{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _panel(ax: Axes, title: str, unit: str, values: Sequence[float], runs: int, top: float = 1.1) -> None:
    ax.set_title(title)
    ax.set_xlabel("run (1 = oldest)")
    ax.set_ylabel(unit)
    run_ticks(ax, runs, PANEL_RUN_LABELS)
    ax.set_ylim(0, max([*values, 1]) * top)  # an all-zero panel still shows a 0-based axis; room for a note


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; font-size: 0.9em; } th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f3f3f3; text-align: left; } td.n { text-align: right; }
"""


def _figure(chart: str, svg: str, caption: str) -> str:
    return f'<figure data-chart="{chart}">{svg}<figcaption>{html.escape(caption)}</figcaption></figure>'


def _cell(value: object) -> str:
    if value is None:
        return f"<td>{MISSING}</td>"
    if isinstance(value, int | float):
        return f'<td class="n">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def changes_table(changes: list[dict[str, Any]]) -> str:
    """The hubs a run changed (rows of warehouse.queries.hub_changes, an `incomplete` reason on a hub fetched
    incompletely), the first of each kind of change first; a value the warehouse lacks reads as an em dash."""
    counted = [  # (heading, key): the columns shown as the change rows hold them
        ("citing before", "citing_before"),
        ("citing after", "citing_after"),
        ("new citations", "new_citations"),
        ("retired citations", "retired_citations"),
        ("relabelled citations", "relabelled_citations"),
    ]
    cols = [("hub", "title"), *counted, ("tier", None), ("label", None), ("fetch", None)]
    head = "".join(f"<th>{html.escape(n)}</th>" for n, _ in cols)
    body = []
    for c in ops.lead_with_each_kind(changes):
        first = bool(c.get("first_seen"))
        tier = (  # no tier means a stub; a hub without a snapshot in the run (its fetch failed) has none shown
            ops.figure_change(c["tier_before"] or "stub", c["tier_after"] or "stub", first)
            if "tier_after" in c
            else None
        )
        label = ops.figure_change(c.get("label_before"), c.get("label_after"), first, MISSING)
        fetch = f"incomplete: {c['incomplete']}" if c.get("incomplete") else "complete"
        cells = [
            _cell(c.get("title") or c["hub_uuid"]),
            *(_cell(c.get(k)) for _, k in counted),
            _cell(tier),
            _cell(label),
            _cell(fetch),
        ]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(cols)}">no hub changed in this run</td></tr>')
    return f'<table id="change-report"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def with_incomplete(changes: list[dict[str, Any]], incomplete: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`changes` with each hub fetched incompletely marked by its reason; such a hub the run holds no snapshot
    of (its fetch failed) gets a row of its own, its figures unknown."""
    reasons = {h["hub_uuid"]: h["reason"] for h in incomplete}
    out = [{**c, "incomplete": reasons.get(c["hub_uuid"])} for c in changes]
    listed = {c["hub_uuid"] for c in changes}
    out += [
        {"hub_uuid": h["hub_uuid"], "title": h["title"], "first_seen": False, "incomplete": h["reason"]}
        for h in incomplete
        if h["hub_uuid"] not in listed
    ]
    return out


def build_html(engine: Engine, top: int = 8, runs_limit: int = 30, now: datetime | None = None) -> str:
    """The whole report as one HTML string."""
    now = now or datetime.now(UTC)
    hubs = ops.top_hub_uuids(engine, top)
    run_ids = ops.completed_run_ids(engine, runs_limit)
    runs = ops.recent_runs(engine, runs_limit)[::-1]
    latest = run_ids[-1] if run_ids else None
    changes = with_incomplete(ops.hub_changes(engine, latest), ops.incomplete_hubs(engine, latest)) if latest else []
    # as the terminal's summary counts them (warehouse.report), with the citation kinds that did not occur
    changed = (
        {**ops.run_changes(engine, [latest])[latest], **ops.change_summary(engine, latest, 0).changed} if latest else {}
    )
    outcomes = ops.fetch_outcomes_by_run(engine, [r.run_id for r in runs])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>citehub report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>citehub report</h1>",
        f"<p>{ops.hub_count(engine)} hubs, {len(runs)} runs shown; generated {now:%Y-%m-%d %H:%M} UTC.</p>",
    ]
    if latest is None:  # no completed run
        parts.append("<p>No completed run yet: run <code>citehub refresh</code> or <code>citehub demo</code>.</p>")
    else:
        parts += [
            "<h2>Growth</h2>",
            _figure(
                "growth",
                growth_chart(engine, hubs, run_ids),
                f"Declared citing papers of the {len(hubs)} largest hubs in each of the last "
                f"{len(run_ids)} completed runs.",
            ),
            "<h2>Role and polarity mix</h2>",
            _figure("role-mix", mix_chart(engine, hubs, "role"), "Percent of classified citations per role."),
            _figure(
                "polarity-mix",
                mix_chart(engine, hubs, "polarity"),
                "Percent of citations with a polarity, per polarity.",
            ),
            "<h2>Citing categories</h2>",
            _figure(
                "category-heatmap",
                category_heatmap(engine, hubs),
                "Current citations of each hub by the citing paper's primary arXiv category.",
            ),
            "<h2>Runs</h2>",
            _figure(
                "run-history",
                run_history_chart(runs, outcomes),
                READER_RUNS_CAPTION
                if outcomes is None
                else "Wall time of each run (a replay's: the time of its own stages, as it starts at the archived "
                "crawl's time), pages parsed, and failed or quarantined fetches with those refused by policy.",
            ),
        ]
        history, buckets = cov.coverage_history(engine, runs_limit), cov.staleness_buckets(engine)
        parts += [
            "<h2>Coverage and freshness</h2>",
            _figure(
                "coverage",
                coverage_chart(history),
                f"Hubs known, fetched completely at least once, and linked but never fetched, after each of the "
                f"last {len(history)} runs that published (table coverage).",
            ),
            _figure(
                "staleness",
                staleness_chart(buckets),
                "Known hubs by days since their last complete fetch, as of the latest run (table staleness); "
                "never: a frontier hub not fetched yet, or a hub whose every fetch was incomplete.",
            ),
            f"<h2>Latest change report: run <code>{html.escape(latest)}</code></h2>",
            "<p>Changed: "
            + html.escape(ops.changes_line(changed))
            + " (a relabelled citation counts once, however many of its fields changed).</p>",
            changes_table(changes),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(engine: Engine, out: Path, *, top: int = 8, runs_limit: int = 30, now: datetime | None = None) -> Path:
    """Write `build_html`'s report to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(build_html(engine, top=top, runs_limit=runs_limit, now=now), encoding="utf-8")
    tmp.replace(out)  # a reader never sees half a report
    return out
