"""The change report and `citehub report` on a hand-built warehouse of 25 runs: the terminal and the HTML count
changed citations alike, the first rows show every kind of change, no Python None is shown, a hub without a
classified citation says so, replays keep their own durations, run numbers on an axis do not overlap, and a
run whose every fetch was refused shows its refused fetches.

Runs r01..r25, a day apart: r05 and r06 replay archived crawls (backfill: started at the crawl's time,
finished at the replay's, weeks later); r24 is the last completed run (30 new citations of hub A, one
citation of A relabelled in two fields, hub B's tier changed, hub C fetched incompletely, hub D first seen);
r25 failed: every fetch refused by policy.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from io import StringIO
from itertools import pairwise
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from rich.console import Console
from sqlalchemy import insert

from flows.cli.render import print_report
from flows.cli.report_html import PANEL_RUN_LABELS, build_html
from schema import tables as t
from schema.engine import make_engine
from schema.migrate import upgrade
from warehouse import queries as ops
from warehouse.report import build_report

RUNS, LATEST, REFUSED_RUN, REPLAYS = 25, "r24", "r25", ("r05", "r06")
START = datetime(2026, 10, 1, 3, tzinfo=UTC)
A, B, C, D = (f"{c * 8}-0000-4000-8000-{c * 12}" for c in "abcd")
NEW_EDGES, REFUSED = 30, 16
FONT_PT = 9  # the charts' tick label size (report_html rcParams)


def _run_id(i: int) -> str:
    return f"r{i:02d}"


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fixes') / 'w.sqlite'}")
    upgrade(engine)
    shown: dict[str, list[tuple[str, dict]]] = {}  # each hub's figures per run that fetched it, in run order
    with engine.begin() as conn:
        for i in range(1, RUNS + 1):
            run_id = _run_id(i)
            started = START + timedelta(days=i)
            finished = started + timedelta(seconds=60)
            summary: dict = {
                "pages_fetched": 0 if run_id == REFUSED_RUN else 40,
                "failed_fetches": 0,
                "quarantined": 0,
                "timings": {"crawl": 50.0, "load": 8.0},
            }
            if run_id == LATEST:  # as publish recorded it: change_report rows per kind (two for one relabel)
                summary["changes"] = {"new": NEW_EDGES, "relabelled": 2, "tier": 1, "incomplete": 1}
            params: dict = {}
            kind = "nightly"
            if run_id in REPLAYS:  # started at the archived crawl's time, run weeks later
                kind, finished = "backfill", START + timedelta(days=40)
                summary |= {"replay_of": f"crawl-{run_id}", "timings": {"replay": 4.0, "load": 1.0}}
                params = {"replay_of": f"crawl-{run_id}"}
            conn.execute(
                insert(t.run).values(
                    run_id=run_id,
                    kind=kind,
                    status="failed" if run_id == REFUSED_RUN else "completed",
                    started_at=started,
                    finished_at=finished,
                    params=json.dumps(params),
                    summary=json.dumps(summary),
                    code_version="x",
                    parser_version="x",
                )
            )
            outcome, urls = ("skipped", REFUSED) if run_id == REFUSED_RUN else ("parsed", 40)
            conn.execute(
                insert(t.fetch),
                [{"run_id": run_id, "url": f"https://pith.example/{n}", "outcome": outcome} for n in range(urls)],
            )
            if run_id == REFUSED_RUN:
                continue
            latest = run_id == LATEST
            for snap in [
                {"hub_uuid": A, "citing_count": 60 if latest else 30, "tier": "hub"},
                {"hub_uuid": B, "citing_count": 5, "tier": "hub" if latest else None},
                *([] if latest else [{"hub_uuid": C, "citing_count": 7, "tier": None}]),
                *([{"hub_uuid": D, "citing_count": 3, "tier": "hub"}] if latest else []),
            ]:
                shown.setdefault(snap["hub_uuid"], []).append((run_id, snap))
        # kept as spells: a run that showed the same figures opens none
        for seen in shown.values():
            spells: list[dict] = []
            for run_id, snap in seen:
                if spells and (spells[-1]["citing_count"], spells[-1]["tier"]) == (snap["citing_count"], snap["tier"]):
                    continue
                if spells:
                    spells[-1]["valid_to_run"] = run_id
                spells.append({**snap, "valid_from_run": run_id, "valid_to_run": None})
            for spell in spells:
                conn.execute(
                    insert(t.hub_version).values(parsed_count=spell["citing_count"], complete=True, label=None, **spell)
                )
        last, first = _run_id(RUNS - 1), _run_id(1)
        for u, title, tier, citing in ((A, "Hub A", "hub", 60), (B, "Hub B", "hub", 5), (C, "Hub C", None, 7)):
            conn.execute(
                insert(t.hub).values(
                    hub_uuid=u,
                    title=title,
                    tier=tier,
                    citing_count=citing,
                    first_seen_run=first,
                    last_seen_run=last,
                    run_id=last,
                )
            )
            conn.execute(
                insert(t.hub_summary).values(
                    hub_uuid=u,
                    title=title,
                    tier=tier,
                    citing_count=citing,
                    citation_rows=citing,
                    first_seen_run=first,
                    last_seen_run=last,
                    run_id=last,
                )
            )
        conn.execute(
            insert(t.hub).values(
                hub_uuid=D, title="Hub D", tier="hub", first_seen_run=last, last_seen_run=last, run_id=last
            )
        )
        # only hub A has classified citations
        conn.execute(insert(t.hub_role_mix).values(hub_uuid=A, role="background", count=40, share=66.7, run_id=last))
        conn.execute(insert(t.hub_role_mix).values(hub_uuid=A, role="method", count=20, share=33.3, run_id=last))
        conn.execute(
            insert(t.hub_polarity_mix).values(hub_uuid=A, polarity="support", count=6, share=100.0, run_id=last)
        )
        papers = [f"arxiv:2401.{n:05d}" for n in range(60)]
        conn.execute(
            insert(t.paper),
            [
                {
                    "paper_key": p,
                    "title_raw": p,
                    "category": "cs.CL",
                    "first_seen_run": first,
                    "last_seen_run": last,
                    "run_id": last,
                }
                for p in papers
            ],
        )
        conn.execute(
            insert(t.citation),
            [
                {
                    "hub_uuid": A,
                    "paper_key": p,
                    "representative": False,
                    "first_seen_run": first,
                    "last_seen_run": last,
                    "run_id": last,
                    "valid_from_run": first,
                }
                for p in papers
            ],
        )
        rows = [("new", A, p, "edge", None, "cited") for p in papers[:NEW_EDGES]]
        rows += [
            ("relabelled", A, papers[40], "role", "background", "method"),
            ("relabelled", A, papers[40], "polarity", None, "support"),
            ("tier", B, B, "tier", None, "hub"),
            ("incomplete", C, C, "fetch", None, "failed: https://pith.example/c"),
        ]
        conn.execute(
            insert(t.change_report),
            [
                dict(zip(("change", "hub_uuid", "subject", "field", "old_value", "new_value"), r, strict=True))
                | {"run_id": LATEST}
                for r in rows
            ],
        )
    return engine


@pytest.fixture(scope="module")
def page(engine) -> BeautifulSoup:
    return BeautifulSoup(build_html(engine), "html.parser")


def _summary(engine) -> tuple[dict, str]:
    """The latest completed run's summary as a run ends with it, and as the terminal prints it."""
    report = build_report(engine, LATEST, {}, SimpleNamespace(), [], {}).as_dict()
    console = Console(width=200, file=StringIO(), color_system=None)
    print_report(console, report)
    return report, console.file.getvalue()


def _counts(line: str) -> dict[str, tuple[int, str]]:
    """{kind: (count, unit)} from 'new 30 citations, relabelled 1 citation, tier 1 hub'."""
    return {k: (int(n), unit) for k, n, unit in re.findall(r"\b([a-z]+) (\d+) (citation|hub)s?\b", line)}


def _svg(page: BeautifulSoup, chart: str):
    return page.find("figure", {"data-chart": chart}).find("svg")


def _ticks(axes, axis: str) -> list[tuple[float, str]]:
    """(position, label) of each tick label drawn on `axes`' x or y axis."""
    out = []
    for tick in axes.find_all("g", id=re.compile(rf"^{axis}tick_\d+$")):
        text = tick.find("text")
        if text is not None:
            out.append((float(text["x"] if axis == "x" else text["y"]), text.get_text(strip=True)))
    return out


def _panels(svg) -> list:
    return svg.find_all("g", id=re.compile(r"^axes_\d+$"))


def test_terminal_and_html_count_relabelled_citations_alike(engine, page):
    report, out = _summary(engine)
    terminal = _counts(next(line for line in out.splitlines() if line.startswith("changes:")))
    heading = next(h for h in page("h2") if h.get_text().startswith("Latest change report"))
    html = _counts(heading.find_next("p").get_text())
    assert terminal.get("relabelled") == html.get("relabelled") == (1, "citation")
    assert terminal == {k: v for k, v in html.items() if v[0]}  # the HTML also names the kinds that did not occur
    assert html["retired"] == (0, "citation")
    # change_report holds one row per changed field; a citation relabelled in two fields is one citation
    assert report["changes"]["relabelled"] == 2
    assert report["changed"] == {"new": NEW_EDGES, "relabelled": 1, "tier": 1, "incomplete": 1}
    # `citehub status` counts the same citations (not the fields a summary once counted)
    (latest,) = [r for r in ops.recent_runs(engine, RUNS) if r.run_id == LATEST]
    assert (latest.new, latest.retired, latest.relabelled) == (NEW_EDGES, 0, 1)


def test_first_rows_of_the_change_report_show_every_kind(engine, page):
    report, out = _summary(engine)
    sample = report["change_sample"]
    assert len(sample) == 20 < NEW_EDGES  # bounded, though 30 new citations alone would fill it
    assert [c["change"] for c in sample] == ["new"] * 16 + ["relabelled"] * 2 + ["tier", "incomplete"]
    table = out[out.index("Change report (first rows of each kind") :]
    for change, hub in (("new", A), ("relabelled", A), ("tier", B), ("incomplete", C)):
        assert re.search(rf"│ {change} +│ {hub[:8]} +│", table), (change, table)
    # the HTML lists every changed hub, the first of each kind of change first, the incomplete one included
    rows = [[td.get_text() for td in tr.find_all("td")] for tr in page.find("table", id="change-report").tbody("tr")]
    assert {r[0] for r in rows[:4]} == {"Hub A", "Hub B", "Hub C", "Hub D"}
    by_hub = {r[0]: r for r in rows}
    assert by_hub["Hub C"][-1] == "incomplete: failed: https://pith.example/c"
    assert by_hub["Hub B"][6] == "stub → hub"
    assert by_hub["Hub A"][3:6] == ["30", "0", "1"]


def test_no_python_none_in_the_html(engine, page):
    assert "None" not in str(page)
    rows = {tr.td.get_text(): [td.get_text() for td in tr("td")] for tr in page.find(id="change-report").tbody("tr")}
    # hub D is seen for the first time: no 'before', its tier is not a change, its missing label an em dash
    assert rows["Hub D"][1:3] == ["—", "3"]
    assert rows["Hub D"][6:8] == ["hub", "—"]
    assert rows["Hub C"][1:8] == ["—"] * 7  # fetched incompletely, no figure spell opened by this run


def test_a_hub_without_classified_citations_says_so(page):
    roles = " ".join(_svg(page, "role-mix").stripped_strings)
    polarities = " ".join(_svg(page, "polarity-mix").stripped_strings)
    assert roles.count("no classified citations yet") == 2  # hubs B and C; hub A has its bars
    assert polarities.count("no citations with a polarity yet") == 2
    assert "background" in roles and "method" in roles


def test_replays_show_their_own_duration(engine, page):
    runs = {r.run_id: r for r in ops.recent_runs(engine, RUNS)}
    for run_id in REPLAYS:  # started at the archived crawl's time, weeks before they ran
        assert runs[run_id].duration_s == 5.0  # the sum of its stages' timings
        assert runs[run_id].replay_of == f"crawl-{run_id}"
    assert {runs[r].duration_s for r in runs if r not in REPLAYS} == {60.0}
    duration = _panels(_svg(page, "run-history"))[0]
    assert max(float(label) for _, label in _ticks(duration, "y")) < 100


def test_run_numbers_on_the_axes_do_not_overlap(page):
    history = _panels(_svg(page, "run-history"))
    growth = _panels(_svg(page, "growth"))
    assert len(history) == 3 and len(growth) == 1
    for axes, most, last in [(a, PANEL_RUN_LABELS, RUNS) for a in history] + [(growth[0], 15, RUNS - 1)]:
        ticks = _ticks(axes, "x")
        labels = [int(label) for _, label in ticks]
        assert 2 <= len(ticks) <= most, labels
        assert labels[0] == 1 and labels == sorted(labels) and labels[-1] > last - (last // most + 1)
        # each label centred on its tick: neighbours are further apart than the wider label is long
        xs = [x for x, _ in ticks]
        widest = max(len(label) for _, label in ticks) * FONT_PT * 0.65
        assert min(b - a for a, b in pairwise(xs)) > widest + 2, labels


def test_errors_panel_when_every_fetch_was_refused(page):
    svg = _svg(page, "run-history")
    errors = _panels(svg)[2]
    assert max(float(label) for _, label in _ticks(errors, "y")) >= REFUSED  # not an empty 0-1 axis
    shown = " ".join(svg.stripped_strings)
    assert f"run {RUNS}: every fetch was refused ({REFUSED} skipped)" in shown
    assert "refused (skipped)" in shown  # the legend of the refused fetches' bars
