"""`citehub report`: one self-contained HTML file, opened in headless Chromium with no network."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.report_html import CHARTS, build_html
from schema.engine import make_engine
from tests.flows.cli import chromium as cr
from tests.flows.cli.conftest import DAYS, chromium
from warehouse import queries as ops

TITLES = {
    "growth": ("Growth of the top hubs across runs", "completed run (1 = oldest)", "citing papers (count)"),
    "role-mix": ("Citation role mix per hub", "share of the hub's citations with a role (%)", "hub"),
    "polarity-mix": ("Citation polarity mix per hub", "share of the hub's citations with a polarity (%)", "hub"),
    "category-heatmap": ("Which citing categories cite which hubs", "hub", "citing paper's primary arXiv category"),
    "run-history": ("Run duration", "duration (s)", "pages (count)"),
}


@pytest.fixture(scope="module")
def report(history, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(app, ["report", "--out", str(out), "--database-url", history["url"]])
    assert result.exit_code == 0, result.output
    return out


def test_report_is_self_contained_with_every_chart(report, history):
    page = report.read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    # nothing to fetch: no script, no external stylesheet, image, font or frame
    assert soup.find_all(["script", "link", "img", "iframe", "object", "embed"]) == []
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page
    assert set(re.findall(r"url\((.)", page)) <= {"#"}  # only references inside the page (SVG clip paths)
    figures = {f["data-chart"]: f for f in soup.find_all("figure")}
    assert list(figures) == list(CHARTS)
    for chart, texts in TITLES.items():
        svg = figures[chart].find("svg")
        assert svg is not None, chart
        shown = " ".join(svg.stripped_strings)
        for text in texts:  # title, x axis label, y axis label (with units)
            assert text in shown, (chart, text)


def test_report_figures_equal_the_warehouse(report, history):
    soup = BeautifulSoup(report.read_text(encoding="utf-8"), "html.parser")
    engine = make_engine(history["url"])
    top = ops.top_hub_uuids(engine, 8)
    growth = " ".join(soup.find("figure", {"data-chart": "growth"}).stripped_strings)
    for _, title in top:  # each top hub has its line in the legend
        assert (title if len(title) <= 38 else title[:37] + "…") in growth
    # the heatmap's numbers are the citing-paper counts per (category, hub), none more, none less
    cats, counts = ops.category_matrix(engine, [u for u, _ in top])
    heat = soup.find("figure", {"data-chart": "category-heatmap"}).find("svg")
    cell_numbers = sorted(int(t) for t in heat.stripped_strings if t.isdigit())
    top_set = {u for u, _ in top}
    category = {p["paper_key"]: p["category"] or "(none)" for p in history["truths"][-1]["papers"]}
    expected: dict[tuple[str, str], int] = {}
    for c in history["truths"][-1]["citations"]:
        if c["hub_uuid"] in top_set:
            key = (category[c["paper_key"]], c["hub_uuid"])
            expected[key] = expected.get(key, 0) + 1
    totals: dict[str, int] = {}
    for (cat, _), n in expected.items():
        totals[cat] = totals.get(cat, 0) + n
    top_cats = sorted(totals, key=lambda k: (-totals[k], k))[:10]
    assert cats == top_cats
    assert counts == {k: n for k, n in expected.items() if k[0] in top_cats}
    assert set(counts.values()) <= set(cell_numbers)  # every cell's number is drawn
    # latest change report: the hubs the last day changed, with before/after counts from the truth
    rows = soup.find("table", id="change-report").find("tbody").find_all("tr")
    before = {h["uuid"]: h["citing_count"] for h in history["truths"][-2]["hubs"]}
    after = {h["uuid"]: h for h in history["truths"][-1]["hubs"]}
    grown = {
        u
        for u, h in after.items()
        if h["citing_count"] != before[u]
        or h["tier"] != next(x["tier"] for x in history["truths"][-2]["hubs"] if x["uuid"] == u)
    }
    changed_titles = {td.find_all("td")[0].get_text() for td in rows}
    assert {after[u]["title"] or u for u in grown} <= changed_titles
    for tr in rows:
        cells = [td.get_text() for td in tr.find_all("td")]
        hub = next((h for h in after.values() if (h["title"] or h["uuid"]) == cells[0]), None)
        assert hub is not None
        assert (int(cells[1]), int(cells[2])) == (before[hub["uuid"]], hub["citing_count"])


def test_report_renders_offline_in_headless_chromium(report, tmp_path):
    binary = chromium()
    dom, stderr = cr.dump_dom(binary, report)
    assert cr.console_errors(stderr) == []
    soup = BeautifulSoup(dom, "html.parser")
    figures = soup.find_all("figure")
    assert [f["data-chart"] for f in figures] == list(CHARTS)
    for f in figures:
        svg = f.find("svg")
        # drawn, not empty: a sized canvas holding marks (paths) and text
        assert float(svg["width"].rstrip("pt")) > 100 and float(svg["height"].rstrip("pt")) > 100
        assert len(svg.find_all("path")) >= 10 and len(list(svg.stripped_strings)) >= 5
    png = tmp_path / "report.png"
    stderr = cr.screenshot(binary, report, png)
    assert cr.console_errors(stderr) == []
    from PIL import Image

    image = Image.open(BytesIO(png.read_bytes())).convert("RGB")
    assert image.size == (1100, 4200)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # charts in colour, not a blank page


def test_report_of_an_empty_warehouse(tmp_path):
    from schema.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    upgrade(make_engine(url))
    page = build_html(make_engine(url))
    assert "No completed run yet" in page and "<figure" not in page


def test_runs_shown_are_the_days(report):
    page = report.read_text(encoding="utf-8")
    assert f"{DAYS} runs shown" in page
