"""`citehub hub`: lookup by uuid, URL or title, and what it shows, against the sample site's ground truth."""

from __future__ import annotations

import inspect
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from flows.cli import app, demo
from samplesite import seed_hub
from samplesite.generator import build_site
from schema import tables as t
from schema.engine import make_engine
from warehouse import queries as ops

README = Path(__file__).resolve().parents[3] / "README.md"


FIGURES = ("citing_count", "classified_count", "tier", "label", "template", "headline_role", "headline_share")


def changed_days(truths, uuid: str) -> list[int]:
    """Indexes of the days whose truth shows the hub with figures other than the day before (the first: all)."""
    seen = [next((h for h in t["hubs"] if h["uuid"] == uuid), None) for t in truths]
    return [
        i
        for i, h in enumerate(seen)
        if h is not None and (i == 0 or seen[i - 1] is None or any(seen[i - 1][k] != h[k] for k in FIGURES))
    ]


def _grown_hub(history):
    """The hub whose declared citing count changed most over the days (ground truth)."""
    first = {h["uuid"]: h for h in history["truths"][0]["hubs"]}
    last = {h["uuid"]: h for h in history["truths"][-1]["hubs"]}
    return max(last.values(), key=lambda h: (h["citing_count"] - first[h["uuid"]]["citing_count"], h["uuid"]))


def test_hub_info_equals_ground_truth(history):
    engine = make_engine(history["url"])
    hub = _grown_hub(history)
    info = ops.hub_info(engine, ops.resolve_hub(engine, hub["uuid"]))
    assert (info.tier, info.label, info.citing_count, info.classified_count) == (
        hub["tier"],
        hub["label"],
        hub["citing_count"],
        hub["classified_count"],
    )
    assert info.citation_rows == hub["citing_count"]
    truth_edges = [c for c in history["truths"][-1]["citations"] if c["hub_uuid"] == hub["uuid"]]
    roles: dict[str, int] = {}
    for c in truth_edges:
        if c["role"]:
            roles[c["role"]] = roles.get(c["role"], 0) + 1
    assert {r: n for r, n, _ in info.roles} == roles
    assert sum(share for _, _, share in info.roles) == pytest.approx(100.0)
    # history: one row per run that changed the hub's figures (its first run included), with that day's count
    days = changed_days(history["truths"], hub["uuid"])
    assert [s["run_id"] for s in info.history] == [history["reports"][d]["run_id"] for d in days]
    by_day = [next(h["citing_count"] for h in day["hubs"] if h["uuid"] == hub["uuid"]) for day in history["truths"]]
    assert [s["citing_count"] for s in info.history] == [by_day[d] for d in days]
    assert by_day[0] < by_day[-1] and len(days) > 1  # the chosen hub really grew
    assert all(s["complete"] for s in info.history)


def test_resolve_by_title_substring_fuzzy_and_ambiguous(history):
    engine = make_engine(history["url"])
    hubs = [h for h in history["truths"][-1]["hubs"] if h["title"]]
    hub = hubs[0]
    assert ops.resolve_hub(engine, hub["title"]) == hub["uuid"]  # exact
    assert ops.resolve_hub(engine, f"https://pith.science/citations/{hub['uuid']}?page=2") == hub["uuid"]
    unique_word = next(
        w
        for w in hub["title"].split()
        if len(w) > 5 and sum(w.casefold() in (h["title"] or "").casefold() for h in hubs) == 1
    )
    assert ops.resolve_hub(engine, unique_word.upper()) == hub["uuid"]  # case-insensitive substring
    typo = hub["title"][:-3] + "xq"  # not a substring of anything any more
    assert ops.resolve_hub(engine, typo) == hub["uuid"]  # rapidfuzz best match
    with pytest.raises(ops.AmbiguousHub) as exc:
        ops.resolve_hub(engine, "a")  # a substring of many titles
    assert len(exc.value.candidates) == sum(
        "a" in (h["title"] or h["title_raw"]).casefold() for h in history["truths"][-1]["hubs"]
    )
    with pytest.raises(ops.HubNotFound):
        ops.resolve_hub(engine, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(ops.HubNotFound):
        ops.resolve_hub(engine, "zzzz qqqq wwww")


def test_hub_command(history, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    hub = _grown_hub(history)
    result = CliRunner().invoke(app, ["hub", hub["uuid"], "--database-url", history["url"]])
    assert result.exit_code == 0, result.output
    assert f"hub {hub['uuid']}: tier {hub['tier'] or 'stub'}, label {hub['label'] or '–'}" in result.output
    assert f"citing papers {hub['citing_count']} declared, {hub['citing_count']} held" in result.output
    days = changed_days(history["truths"], hub["uuid"])
    assert f"History: {len(days)} runs changed its figures" in result.output
    for day in days:
        assert history["reports"][day]["run_id"] in result.output
    ambiguous = CliRunner().invoke(app, ["hub", "a", "--database-url", history["url"]])
    assert ambiguous.exit_code == 2
    n = sum("a" in (h["title"] or h["title_raw"]).casefold() for h in history["truths"][-1]["hubs"])
    assert f"'a' matches {n} hubs; name one by uuid; candidates:" in ambiguous.output
    missing = CliRunner().invoke(app, ["hub", "zzzz qqqq wwww", "--database-url", history["url"]])
    assert missing.exit_code == 1 and "no hub titled like 'zzzz qqqq wwww'" in missing.output


def _warehouse(url: str, hubs: list[tuple[str, str | None, str]]) -> str:
    """A migrated warehouse holding one run and `hubs` (uuid, title, title_raw): what resolve_hub reads."""
    from schema.migrate import upgrade

    upgrade(url)
    run_id = "20261201T030000Z-a1b2c3"
    with make_engine(url).begin() as conn:
        started = datetime(2026, 12, 1, 3, tzinfo=UTC)
        conn.execute(
            insert(t.run),
            {
                "run_id": run_id,
                "kind": "nightly",
                "status": "completed",
                "started_at": started,
                "finished_at": started,
                "params": "{}",
                "code_version": "test",
                "parser_version": "test",
            },
        )
        conn.execute(
            insert(t.hub),
            [
                {"hub_uuid": u, "title": title, "title_raw": raw, "first_seen_run": run_id, "last_seen_run": run_id}
                | {"run_id": run_id}
                for u, title, raw in hubs
            ],
        )
    return url


@pytest.fixture(scope="module")
def demo_like(tmp_path_factory):
    """The hubs of `citehub demo`'s warehouse (its default sample site: same uuids, titles and raw titles), without
    the crawl."""
    defaults = {name: p.default for name, p in inspect.signature(demo).parameters.items()}
    site = build_site(hubs=defaults["hubs"], seed=defaults["seed"], day=defaults["day"])
    url = f"sqlite:///{tmp_path_factory.mktemp('demo_like') / 'warehouse.sqlite'}"
    return _warehouse(url, [(h.uuid, h.title, h.title_raw) for h in site.hubs]), site


def test_readme_hub_example_resolves_on_the_demo_warehouse(demo_like, monkeypatch):
    url, _ = demo_like
    examples = re.findall(r'citehub hub "([^"]+)"', README.read_text())
    assert examples, 'README.md shows no `citehub hub "..."` example'
    monkeypatch.setenv("COLUMNS", "80")
    for example in examples:
        assert ops.resolve_hub(make_engine(url), example) == seed_hub.UUID, example
        result = CliRunner().invoke(app, ["hub", example, "--database-url", url])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{seed_hub.TITLE}\nhub {seed_hub.UUID}: ")


def test_resolve_by_words_in_any_order(demo_like):
    url, site = demo_like
    engine = make_engine(url)
    cot = next(h for h in site.hubs if h.title and h.title.startswith("Chain-of-Thought"))
    for ref in ("chain of thought", "Thought chain prompting", "chain-of-thought elicits reason"):
        assert ops.resolve_hub(engine, ref) == cot.uuid, ref
    assert ops.resolve_hub(engine, "attention explanation") == seed_hub.UUID
    with pytest.raises(ops.AmbiguousHub):
        ops.resolve_hub(engine, "language models")  # every word in several titles


def test_resolve_by_uuid_prefix(demo_like, tmp_path):
    url, site = demo_like
    engine = make_engine(url)
    for hub in site.hubs:
        assert ops.resolve_hub(engine, hub.uuid[:8]) == hub.uuid
        assert ops.resolve_hub(engine, hub.uuid[:13].upper()) == hub.uuid
    shared = "abcdef12"
    twins = [(f"{shared}-{i}000-4000-8000-000000000000", f"Twin {i}", f"Twin {i}") for i in (1, 2)]
    other = _warehouse(
        f"sqlite:///{tmp_path / 'twins.sqlite'}", [*twins, ("0123abcd-0000-4000-8000-000000000000", "Solo", "Solo")]
    )
    with pytest.raises(ops.AmbiguousHub) as exc:
        ops.resolve_hub(make_engine(other), shared)
    assert exc.value.candidates == [(u, title) for u, title, _ in twins]
    assert ops.resolve_hub(make_engine(other), twins[1][0][:10]) == twins[1][0]
    ambiguous = CliRunner().invoke(app, ["hub", shared, "--database-url", other])
    assert ambiguous.exit_code == 2
    assert f"'{shared}' matches 2 hubs; name one by uuid; candidates:" in ambiguous.output
    assert all(u in ambiguous.output for u, _, _ in twins)
    missing = CliRunner().invoke(app, ["hub", "fedcba98", "--database-url", other])
    assert missing.exit_code == 1 and "no hub whose uuid starts with fedcba98" in missing.output


def test_hub_command_takes_the_prefix_the_run_summary_prints(history, monkeypatch):
    from io import StringIO

    from rich.console import Console

    from flows.cli.render import print_report

    monkeypatch.setenv("COLUMNS", "80")
    first = history["reports"][0]
    summary = Console(width=80, file=StringIO(), color_system=None)
    print_report(summary, first)
    printed = {c["hub_uuid"][:8]: c["hub_uuid"] for c in first["change_sample"]}
    assert printed
    for prefix, hub_uuid in printed.items():
        assert re.search(rf"(│ |hub: ){prefix}( +│|,)", summary.file.getvalue())  # as the summary shows it
        result = CliRunner().invoke(app, ["hub", prefix, "--database-url", history["url"]])
        assert result.exit_code == 0, result.output
        assert f"hub {hub_uuid}: tier " in result.output
        assert "…" not in result.output
        words = set(re.split(r"[\s│,:]+", result.output))
        for day in changed_days(history["truths"], hub_uuid):  # every run that changed its figures, whole
            assert {history["reports"][day]["run_id"], "nightly"} <= words, result.output
