"""The terminal views in a narrow terminal or a pipe (80 columns): no value is cut ("nig…", "com…"), titles are
cut at a word; a wide terminal still gets the tables."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from rich.console import Console

from flows.cli.render import TITLE_CHARS, clip, print_hub, print_report, runs_table
from warehouse import queries as ops

START = datetime(2026, 12, 1, 3, tzinfo=UTC)
TITLES = [
    "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models",  # cut by the demo as "Large Langua"
    "Pythia: A Suite for Analyzing Large Language Models Across Training and Scaling",
    "Direct Preference Optimization: Your Language Model is Secretly a Reward Model",
    "Attention is not Explanation",
]


def _render(width: int, draw) -> str:
    console = Console(width=width, file=StringIO(), color_system=None)
    draw(console)
    return console.file.getvalue()


def _runs() -> list[ops.RunRow]:
    rows = []
    for i, (kind, status) in enumerate([("nightly", "completed"), ("backfill", "failed"), ("reparse", "completed")]):
        started = START - timedelta(days=i)
        rows.append(
            ops.RunRow(
                run_id=f"{started:%Y%m%dT%H%M%SZ}-a1b2c{i}",
                kind=kind,
                status=status,
                started_at=started,
                finished_at=started + timedelta(seconds=93.5),
                duration_s=93.5,
                pages=12873,
                requests=13000,
                errors=0,
                new=43861,
                retired=1207,
                relabelled=318,
            )
        )
    return rows


def _report() -> dict:
    uuids = [f"{i:x}1bb277e-526e-4f0b-a5f0-8356626ea6b{i}" for i in range(len(TITLES))]
    return {
        "run_id": "20261201T030000Z-a1b2c0",
        "hubs": 200,
        "papers": 1547,
        "citations": 4386,
        "requests": 1074,
        "pages_fetched": 873,
        "quarantined": 0,
        "failed_fetches": 0,
        "checks_passed": 25,
        "checks_failed": [],
        "changes": {"new": 4386, "relabelled": 2},
        "incomplete_hubs": [],
        "change_sample": [
            {
                "change": change,
                "hub_uuid": u,
                "subject": subject,
                "field": field,
                "old_value": old,
                "new_value": new,
            }
            for u, (change, subject, field, old, new) in zip(
                uuids,
                [
                    ("new", "arxiv:2302.29532", "edge", None, "cited"),
                    ("relabelled", "title:83a29ab7e671aa6d", "role", "background", "method"),
                    ("label", uuids[2], "label", "Mixed citations", "Canonical reference"),
                    ("new", "pith:5lssxm5e", "edge", None, "cited"),
                ],
                strict=True,
            )
        ],
        "top_hubs": [
            {
                "hub_uuid": u,
                "title": title,
                "tier": "super_hub",
                "label": "Canonical reference",
                "citing_count": 1188 - i,
                "role_mix": "background 56%, method 20%, baseline 10%, other 8%, dataset 6%",
            }
            for i, (u, title) in enumerate(zip(uuids, TITLES, strict=True))
        ],
        "timings": {"crawl": 8.31, "stage": 0.14, "load": 0.45, "check": 0.02},
    }


def _hub_info() -> ops.HubInfo:
    runs = _runs()
    return ops.HubInfo(
        hub_uuid="d1cf6693-a082-403c-ada9-dac7b96341f9",
        title=TITLES[0],
        tier="super_hub",
        label="Canonical reference",
        template="current",
        citing_count=795,
        classified_count=336,
        citation_rows=795,
        headline=None,
        history=[
            {
                "run_id": r.run_id,
                "kind": r.kind,
                "started_at": r.started_at,
                "tier": "super_hub",
                "label": "Canonical reference",
                "citing_count": 795,
                "classified_count": 336,
                "parsed_count": 795,
                "complete": True,
            }
            for r in runs
        ],
    )


def _words(out: str) -> set[str]:
    return set(re.split(r"[\s│┃,:()]+", out))


def test_runs_in_80_columns_keep_every_value_whole():
    runs = _runs()
    out = _render(80, lambda c: c.print(runs_table(c, runs)))
    assert "…" not in out
    words = _words(out)
    for r in runs:
        assert {r.run_id, r.kind, r.status} <= words, out
    assert {"93.5", "12873", "43861", "1207", "318"} <= words, out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_hub_history_in_80_columns_keeps_every_value_whole():
    info = _hub_info()
    out = _render(80, lambda c: print_hub(c, info))
    assert "…" not in out
    words = _words(out)
    for snap in info.history:
        assert {snap["run_id"], snap["kind"], "super_hub", "795", "336", "yes"} <= words, out
    assert "Canonical reference" in " ".join(out.split())


def _hub_column(out: str, title: str) -> str:
    """The first column of the table titled `title`, its wrapped lines joined by spaces."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if title in line)
    cells = []
    for line in lines[start + 4 :]:  # title, top border, header, header rule
        if not line.startswith("│"):
            break
        cells.append(line.split("│")[1].strip())
    return " ".join(c for c in cells if c)


@pytest.mark.parametrize("width", [80, 200])
def test_summary_titles_are_cut_at_a_word_and_uuid_prefixes_are_whole(width):
    report = _report()
    out = _render(width, lambda c: print_report(c, report))
    shown = [clip(h["title"], TITLE_CHARS) for h in report["top_hubs"]]
    assert _hub_column(out, "Top hubs by citing papers") == " ".join(shown)
    for title, cut in zip(TITLES, shown, strict=True):
        assert len(cut) <= TITLE_CHARS
        if cut == title:
            continue
        assert cut.endswith("…") and title.startswith(cut[:-1])
        assert not title[len(cut) - 1].isalnum(), f"{cut!r} ends mid-word"
    assert shown[0] == "Chain-of-Thought Prompting Elicits Reasoning in Large…"
    words = _words(out)
    for c in report["change_sample"]:
        assert {c["hub_uuid"][:8], c["change"], c["field"]} <= words, out
    assert {"relabelled", "background", "method"} <= words
    assert "arxiv:2302.29532" in out and "title:83a29ab7e671aa6d" in out
    assert out.count("…") == sum(cut.endswith("…") for cut in shown) == 3  # no other cell cut
    assert max(len(line) for line in out.splitlines()) <= width


def test_clip_cuts_at_word_boundaries():
    assert clip("Attention is not Explanation", 60) == "Attention is not Explanation"
    assert clip("Attention is not Explanation", 20) == "Attention is not…"
    assert clip("Attention is not Explanation", 17) == "Attention is not…"  # cut right after a word
    assert clip("Pythia: A Suite for Analyzing", 9) == "Pythia…"  # trailing punctuation dropped
    assert clip("Supercalifragilistic", 8) == "Superca…"  # one long word: nothing better
    assert len(clip(TITLES[1], TITLE_CHARS)) <= TITLE_CHARS


def test_a_wide_terminal_still_gets_tables():
    runs = _runs()
    out = _render(200, lambda c: c.print(runs_table(c, runs)))
    assert "┃ run " in out and "┃ relabelled ┃" in out
    for r in runs:
        assert re.search(rf"│ {re.escape(r.run_id)} +│ {r.kind} +│ {r.status} +│", out), out
