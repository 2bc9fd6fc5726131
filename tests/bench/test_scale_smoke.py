"""`python -m bench.scale` at tiny sizes, and the crawl it writes against the one the hub spider writes.

The first test runs the bench at two sizes on both engines: its lines' shape and arithmetic (each ratio is the
larger size's figure over the smaller's), and after every run the warehouse holds exactly the model's hubs and
current citations (the bench stops otherwise; its JSON says so too). The second serves a small site of the
bench's model, crawls it with the real spider (a first crawl, then a night with validators and known papers
after some hubs changed) and compares the items with what bench.scale writes for the same site: the same
items, keys in the same order, values equal but for fetch times and archive positions (bench.scale writes no
archive)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.conftest import require_postgres

pytestmark = pytest.mark.slow

SIZES = (200, 2000)
GROWTH = re.compile(
    r"^stage nightly-db-growth: change (?P<change>\d+(?:\.\d+)?)%: 200 hubs (?P<t1>\d+\.\d\d) s, "
    r"2,000 hubs (?P<t2>\d+\.\d\d) s, ratio (?P<r>\d+\.\d\d) \((?P<target>target <= 1\.5|no target)\) "
    r"\[(?P<engine>sqlite|postgresql)\]$"
)
FIRST = re.compile(
    r"^stage first-load-rows: 200 hubs (?P<r1>[\d,]+\.\d) rows/s, 2,000 hubs (?P<r2>[\d,]+\.\d) rows/s, "
    r"ratio (?P<r>\d+\.\d\d) \(target >= 1\.00: the first load at 200 hubs is the baseline\) "
    r"\[(?P<engine>sqlite|postgresql)\]$"
)
RSS = re.compile(
    r"^peak RSS (?P<process>first load process|nightly process \([\w-]+\)) at (?P<size>[\d,]+) hubs: (?P<mb>\d+) MB"
    r"(?P<target> \(target < 400 MB: (?:ok|OVER)\))? \[(?P<engine>sqlite|postgresql)\]$"
)
PER_HUB = re.compile(
    r"^stage nightly-db-per-hub: a (?:re-checked hub \(no-change night\)|changed hub \(change (?P<change>\d+)%, "
    r"beyond the no-change night\)): 200 hubs (?P<v1>-?\d+\.\d{3}) ms, 2,000 hubs (?P<v2>-?\d+\.\d{3}) ms, "
    r"ratio (?P<r>-?\d+\.\d\d) \(no target\) \[(?P<engine>sqlite|postgresql)\]$"
)
PROFILE = re.compile(
    r"^profile \[(?:sqlite|postgresql)\] (?:first load|change \d+%): (?P<step>.+?): "
    r"(?P<small>\d+\.\d{3}) s, (?P<large>\d+\.\d{3}) s \((?P<growth>x\d+\.\d\d|new)\)$"
)


def test_scale_bench_lines_and_the_warehouse_after_each_night(tmp_path: Path) -> None:
    require_postgres()
    figures, out = tmp_path / "scale.json", tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.scale",
            "--sizes",
            ",".join(map(str, SIZES)),
            "--density",
            "1",
            "--engines",
            "sqlite,postgresql",
            "--work",
            str(tmp_path / "work"),
            "--json",
            str(figures),
            "--out",
            str(out),
            "--process-per",
            "warehouse",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_HOME": str(tmp_path / "prefect")},
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    record = json.loads(figures.read_text())

    growth = [m for m in map(GROWTH.match, lines) if m]
    assert sorted((m["engine"], float(m["change"])) for m in growth) == [
        (e, c) for e in ("postgresql", "sqlite") for c in (0.0, 1.0, 5.0)
    ]
    for m in growth:
        runs = {
            size: next(
                r for r in record["sizes"][str(size)]["engines"][m["engine"]] if r["change"] == float(m["change"])
            )
            for size in SIZES
        }
        t1, t2 = (runs[s]["timings"]["load"] + runs[s]["timings"]["checks"] for s in SIZES)
        assert (m["t1"], m["t2"], m["r"]) == (f"{t1:.2f}", f"{t2:.2f}", f"{t2 / t1:.2f}"), m.string
        assert m["target"] == ("no target" if m["change"] == "5" else "target <= 1.5"), m.string

    per_hub = [m for m in map(PER_HUB.match, lines) if m]
    assert sorted((m["engine"], m["change"] or "0") for m in per_hub) == [
        (e, c) for e in ("postgresql", "sqlite") for c in ("0", "1", "5")
    ]
    for m in per_hub:  # the no-change night over the hubs it re-checked; a changed night's extra over its changes
        runs = {r["change"]: r for r in record["sizes"]["2000"]["engines"][m["engine"]]}
        seconds = {c: r["timings"]["load"] + r["timings"]["checks"] for c, r in runs.items()}
        expected = (
            1000 * seconds[0.0] / 2000
            if m["change"] is None
            else 1000 * (seconds[float(m["change"])] - seconds[0.0]) / (2000 * float(m["change"]) / 100)
        )
        assert m["v2"] == f"{expected:.3f}", m.string

    first = [m for m in map(FIRST.match, lines) if m]
    assert sorted(m["engine"] for m in first) == ["postgresql", "sqlite"]
    for m in first:
        rates = [
            run["rows"] / run["timings"]["load"]
            for size in SIZES
            for run in record["sizes"][str(size)]["engines"][m["engine"]]
            if run["name"] == "first"
        ]
        assert (m["r1"], m["r2"], m["r"]) == (f"{rates[0]:,.1f}", f"{rates[1]:,.1f}", f"{rates[1] / rates[0]:.2f}")

    rss = [m for m in map(RSS.match, lines) if m]
    assert len(rss) == 2 * 2 * 4  # engines x sizes x runs
    assert all(bool(m["target"]) == (m["size"] == "2,000") for m in rss)
    steps = {m["step"] for m in map(PROFILE.match, lines) if m}
    assert {"stage", "load", "load: rest (clean, history, upserts, frontier)", "checks"} <= steps
    assert any(step.startswith("load: mart ") for step in steps)
    assert any(step.startswith("checks: check ") for step in steps)

    for size in SIZES:
        written = {r["name"]: r for r in record["sizes"][str(size)]["generate"]["runs"]}
        assert list(written) == ["first", "night-1-change-0", "night-2-change-1", "night-3-change-5"]
        assert written["night-2-change-1"]["changed_hubs"] == round(size / 100)
        assert written["night-3-change-5"]["changed_hubs"] == round(size / 20)
        for engine in ("sqlite", "postgresql"):
            for run in record["sizes"][str(size)]["engines"][engine]:
                model = written[run["name"]]
                assert (
                    (run["hubs"], run["citations"]) == (model["hubs"], model["citations"]) == (size, model["citations"])
                )
                assert (run["status"], run["checks_failed"]) == ("completed", [])
                if run["name"] != "first":
                    assert run["inputs"]["not_modified"] == size - model["changed_hubs"]

    section = out.read_text()
    assert "## Nightly cost at scale (python -m bench.scale)" in section
    assert "| sqlite | change 1%, database part (s) |" in section

    # the section again from the JSON record alone (--report): the same text
    again = tmp_path / "again.md"
    rerun = [sys.executable, "-m", "bench.scale", "--report", str(figures), "--out", str(again)]
    assert subprocess.run(rerun, capture_output=True, text=True, timeout=120).returncode == 0
    assert again.read_text() == section


# --- the written crawl is the spider's ------------------------------------------------------------------------


def _normalized(items: Path) -> list[str]:
    """Each item with its keys in order, without what differs between two crawls of the same site."""
    out = []
    for line in items.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        for key in ("fetched_at", "warc_file", "warc_offset"):
            item.pop(key, None)
        out.append(json.dumps(item, ensure_ascii=False))
    return sorted(out)


def _compare(real: Path, written: Path) -> None:
    got, want = _normalized(written / "items.jsonl"), _normalized(real / "items.jsonl")
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert a == b
    real_stats = json.loads((real / "stats.json").read_text())
    written_stats = json.loads((written / "stats.json").read_text())
    assert {k: real_stats.get(k, 0) for k in written_stats} == written_stats


def test_written_crawl_is_what_the_hub_spider_writes(tmp_path: Path) -> None:
    from bench.scale import CrawlWriter, build_model, change_site
    from samplesite.server import make_server
    from spiders.crawl import allowed_hosts_for, run_crawl
    from spiders.parse.paperref import write_known_papers

    site, gen = build_model(hubs=15, seed=3, density=1)
    server = make_server(site)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        base = server.base_url
        urls = [f"{base}/citations/{h.uuid}" for h in site.hubs]
        writer = CrawlWriter(base)
        first = run_crawl("r1", tmp_path / "r1", base, urls, allowed_hosts_for(base))
        writer.write_run(site, tmp_path / "w1", None, run_id="r1")
        _compare(tmp_path / "r1", tmp_path / "w1")

        # a night: a fifth of the hubs changed; the crawl sends the first crawl's twin validators and knows the
        # papers whose pages it read
        validators, read = {}, []
        for line in first.items_path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if item["kind"] == "fetch" and item["url"].endswith(".json"):
                validators[item["url"]] = {"etag": item["etag"], "last_modified": item["last_modified"]}
            elif item["kind"] == "fetch" and "/paper/" in item["url"]:
                read.append(item["url"].split("/paper/", 1)[1])
        (tmp_path / "validators.json").write_text(json.dumps(validators))
        refs = [f"{kind}:{ident}" for ident in read for kind in ("arxiv", "pith")]
        write_known_papers(iter(refs), tmp_path / "known.bin")
        night, changed = change_site(site, gen, 20.0, 1)
        assert changed
        server.site = night
        server.last_modified = format_datetime(datetime.fromisoformat(night.as_of).replace(tzinfo=UTC), usegmt=True)
        server.respond.cache_clear()
        settings = {
            "CITEHUB_VALIDATORS_FILE": str(tmp_path / "validators.json"),
            "CITEHUB_KNOWN_PAPERS_FILE": str(tmp_path / "known.bin"),
        }
        run_crawl("r2", tmp_path / "r2", base, urls, allowed_hosts_for(base), extra_settings=settings)
        figures = writer.write_run(night, tmp_path / "w2", changed, run_id="r2")
        assert figures["hubs_full"] == len(changed) and figures["paper_pages"] > 0  # new papers: their pages
        _compare(tmp_path / "r2", tmp_path / "w2")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
