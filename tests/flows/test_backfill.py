"""Backfill of named hubs: a nightly on day 1, the site moves to day 2, `citehub backfill --hubs FILE UUID`
(day 4 here) fetches exactly those two hubs, unconditionally (their twins answer 200, not 304), and the warehouse then
holds the day-2 edges of those hubs and the day-1 edges of every other hub. Bad references are named
before anything runs."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from flows.cli import app
from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import tables as t
from schema.engine import make_engine

HUBS, SEED, LATER = 8, 11, 4


def _edges(day_truth: dict, hubs: set[str]) -> set[tuple[str, str]]:
    return {(c["hub_uuid"], c["paper_key"]) for c in day_truth["citations"] if c["hub_uuid"] in hubs}


@pytest.mark.slow
def test_backfill_of_two_hubs_fetches_only_those(tmp_path, prefect_server):
    from flows.backfill import backfill
    from flows.nightly import nightly_refresh

    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    site1, site2 = (build_site(hubs=HUBS, seed=SEED, day=d) for d in (1, LATER))
    all_hubs = {h.uuid for h in site1.hubs}
    # two hubs whose edges change by then, so "fetched" and "loaded" are real claims
    picked = sorted({h for h, _ in _edges(truth(site1), all_hubs) ^ _edges(truth(site2), all_hubs)})[:2]
    assert len(picked) == 2
    seeds = tmp_path / "hubs.txt"
    seeds.write_text(f"# one hub\n{picked[0]}\n")
    with serving(site1) as base_url:
        nightly_refresh(
            base_url=base_url,
            hubs=sorted(all_hubs),
            database_url=url,
            data_dir=str(tmp_path / "data"),
            include_known=False,
        )
        post(base_url, "day", {"day": LATER})
        result = backfill(
            hubs=[str(seeds), f"{base_url}/citations/{picked[1]}"],
            base_url=base_url,
            database_url=url,
            data_dir=str(tmp_path / "data"),
        )
    assert result["status"] == "completed"
    run_id = result["runs"][0]["run_id"]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(select(t.run.c.kind).where(t.run.c.run_id == run_id)).scalar_one() == "backfill"
        fetched = conn.execute(
            select(t.fetch.c.hub_uuid, t.fetch.c.url, t.fetch.c.status).where(t.fetch.c.run_id == run_id)
        ).all()
        current = set(
            conn.execute(
                select(t.citation.c.hub_uuid, t.citation.c.paper_key).where(t.citation.c.valid_to_run.is_(None))
            ).all()
        )
    assert {h for h, _, _ in fetched} == set(picked)
    assert {url for _, url, _ in fetched if url.endswith(".json")} == {f"{base_url}/citations/{u}.json" for u in picked}
    assert {status for _, _, status in fetched} == {200}  # no validators sent: no 304
    others = all_hubs - set(picked)
    assert current == _edges(truth(site2), set(picked)) | _edges(truth(site1), others)


def test_bad_backfill_input_is_named_before_any_run(tmp_path):
    url = f"sqlite:///{tmp_path / 'wh.sqlite'}"
    runner = CliRunner()
    cases = [
        (["backfill", "--hubs", str(tmp_path / "missing.txt")], "unknown hub reference"),
        (["backfill", "--hubs", "no-uuid-here"], "not a hub uuid or URL"),
        (
            ["backfill", "--from-archive", "--since", "2026-02-01", "--until", "2026-01-01"],
            "--until 2026-01-01 is before --since 2026-02-01",
        ),
        (["backfill", "--from-archive", "--since", "tuesday"], "--since: not a date"),
        (["backfill", "--since", "2026-01-01"], "add --from-archive"),
        (["backfill", "--from-archive", "--data-dir", str(tmp_path / "nowhere")], "no run archive at"),
    ]
    bad_seed = tmp_path / "bad.txt"
    bad_seed.write_text("not a hub\n")
    cases.append((["backfill", "--hubs", str(bad_seed)], f"{bad_seed}:1: not a hub reference"))
    (tmp_path / "runs" / "20260101T030000Z-abcdef" / "warc").mkdir(parents=True)
    for name in ("stats.json", "items.jsonl"):
        (tmp_path / "runs" / "20260101T030000Z-abcdef" / name).write_text("{}\n" if name == "stats.json" else "")
    cases.append(
        (
            ["backfill", "--from-archive", "--data-dir", str(tmp_path), "--since", "2026-03-01"],
            "no archived crawl in .* from 2026-03-01 to the last",
        )
    )
    import re

    for args, message in cases:
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 2, (args, result.output)
        assert re.search(message, result.output), (args, result.output)
    assert not (tmp_path / "wh.sqlite").exists()  # nothing ran, nothing was created
