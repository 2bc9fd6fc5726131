"""`citehub report`: one self-contained HTML file (inline SVG charts drawn by matplotlib, inline CSS,
no script, no network) showing what the warehouse holds and how the runs went.

Charts (each an <svg> inside <figure data-chart="...">, with a title, labelled axes and units):
growth of the top hubs across runs, role mix and polarity mix per hub, citing categories x hubs heatmap,
run history (duration, pages, errors); then the latest run's change report as a table.
"""

from __future__ import annotations

import html
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no display: draw to SVG only
import matplotlib.pyplot as plt
from sqlalchemy import Engine

from warehouse import queries as ops

if TYPE_CHECKING:
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

CHARTS = ("growth", "role-mix", "polarity-mix", "category-heatmap", "run-history")


def _label(title: str, limit: int = 38) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline SVG needs neither


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
    ax.set_xticks(x)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _svg(fig)


def mix_chart(engine: Engine, hubs: list[tuple[str, str]], dimension: str) -> str:
    shares = ops.mix_shares(engine, [u for u, _ in hubs], dimension)
    values = sorted({v for mix in shares.values() for v in mix})
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(hubs) + 1.4))
    names = [_label(title) for _, title in hubs][::-1]
    left = [0.0] * len(hubs)
    for value in values:
        widths = [shares[u].get(value, 0.0) for u, _ in hubs][::-1]
        ax.barh(names, widths, left=left, label=value)
        left = [a + b for a, b in zip(left, widths, strict=True)]
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


def run_history_chart(runs: list[ops.RunRow]) -> str:
    fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
    x = list(range(1, len(runs) + 1))
    panels: tuple[tuple[str, str, list[float]], ...] = (
        ("duration", "duration (s)", [r.duration_s or 0 for r in runs]),
        ("pages parsed", "pages (count)", [r.pages or 0 for r in runs]),
        ("errors", "failed fetches + quarantined (count)", [r.errors or 0 for r in runs]),
    )
    colors = ["tab:red" if r.status == "failed" else "tab:blue" for r in runs]
    for ax, (name, unit, values) in zip(axes, panels, strict=True):
        ax.bar(x, values, color=colors)
        ax.set_title(f"Run {name}")
        ax.set_xlabel("run (1 = oldest)")
        ax.set_ylabel(unit)
        ax.set_xticks(x)
        ax.set_ylim(0, max([*values, 1]) * 1.1)  # an all-zero panel still shows a 0-based axis
    fig.suptitle("Run history (red: failed run)")
    fig.tight_layout()
    return _svg(fig)


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
        return "<td>–</td>"
    if isinstance(value, int | float):
        return f'<td class="n">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def changes_table(changes: list[dict[str, Any]]) -> str:
    counted = [  # (heading, key): the columns shown as the change rows hold them
        ("citing before", "citing_before"),
        ("citing after", "citing_after"),
        ("new", "new_citations"),
        ("retired", "retired_citations"),
        ("relabelled", "relabelled_citations"),
    ]
    cols = [("hub", "title"), *counted, ("tier", None), ("label", None)]
    head = "".join(f"<th>{html.escape(n)}</th>" for n, _ in cols)
    body = []
    for c in changes:
        tier = c["tier_after"] if c["tier_before"] == c["tier_after"] else f"{c['tier_before']} → {c['tier_after']}"
        label = (
            c["label_after"] if c["label_before"] == c["label_after"] else f"{c['label_before']} → {c['label_after']}"
        )
        cells = [_cell(c["title"] or c["hub_uuid"]), *(_cell(c[k]) for _, k in counted), _cell(tier), _cell(label)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(cols)}">no hub changed in this run</td></tr>')
    return f'<table id="change-report"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def build_html(engine: Engine, top: int = 8, runs_limit: int = 30, now: datetime | None = None) -> str:
    """The whole report as one HTML string."""
    now = now or datetime.now(UTC)
    hubs = ops.top_hub_uuids(engine, top)
    run_ids = ops.completed_run_ids(engine, runs_limit)
    runs = ops.recent_runs(engine, runs_limit)[::-1]
    latest = run_ids[-1] if run_ids else None
    changes = ops.hub_changes(engine, latest) if latest else []
    counts = ops.run_changes(engine, [latest]) if latest else {}
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
            _figure("run-history", run_history_chart(runs), "Wall time, pages parsed and errors of each run."),
            f"<h2>Latest change report: run <code>{html.escape(latest)}</code></h2>",
            "<p>" + ", ".join(f"{k}: {'–' if v is None else v}" for k, v in counts[latest].items()) + " citations.</p>",
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
