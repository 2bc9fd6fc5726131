"""`citehub hub`: lookup by uuid, URL or title, and what it shows, against the sample site's ground truth."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from schema.engine import make_engine
from tests.flows.cli.conftest import DAYS
from warehouse import queries as ops


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
    # history: one snapshot per run, with the day's declared count
    assert [s["run_id"] for s in info.history] == [r["run_id"] for r in history["reports"]]
    expected = [next(h["citing_count"] for h in day["hubs"] if h["uuid"] == hub["uuid"]) for day in history["truths"]]
    assert [s["citing_count"] for s in info.history] == expected
    assert expected[0] < expected[-1]  # the chosen hub really grew
    assert all(s["complete"] for s in info.history) and len(info.history) == DAYS


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
    assert f"History across {DAYS} runs" in result.output
    for report in history["reports"]:
        assert report["run_id"] in result.output
    ambiguous = CliRunner().invoke(app, ["hub", "a", "--database-url", history["url"]])
    assert ambiguous.exit_code == 2
    n = sum("a" in (h["title"] or h["title_raw"]).casefold() for h in history["truths"][-1]["hubs"])
    assert f"'a' matches {n} hubs; name one by uuid; candidates:" in ambiguous.output
    missing = CliRunner().invoke(app, ["hub", "zzzz qqqq wwww", "--database-url", history["url"]])
    assert missing.exit_code == 1 and "no hub titled like 'zzzz qqqq wwww'" in missing.output
