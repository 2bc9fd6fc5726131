"""`python -m bench` end to end on a tiny site: the stage lines in the issue's form, RESULTS.md's section and
the per-size record (the same code `make bench` runs at 2,000 hubs)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import require_postgres

LINE = re.compile(
    r"^stage (?P<name>[a-z-]+): citehub (?P<c>[\d,.]+) (?P<unit>\w+)/s, "
    r"baseline (?P<b>[\d,.]+) (?P=unit)/s, ratio (?P<r>\d+\.\d\d)$"
)
FLOOR = re.compile(
    r"^floor (?P<name>load-[a-z]+): warehouse tables alone (?P<w>[\d,.]+) rows/s, "
    r"baseline (?P<b>[\d,.]+) rows/s, ratio (?P<r>\d+\.\d\d); "
    r"after reading the staged items \((?P<s>\d+\.\d\d) s\) (?P<wr>[\d,.]+) rows/s, "
    r"ratio (?P<rr>\d+\.\d\d)$"
)


@pytest.mark.slow
def test_bench_prints_each_stage_and_records_the_run(tmp_path):
    require_postgres()
    out, records = tmp_path / "RESULTS.md", tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--hubs",
            "12",
            "--density",
            "2",
            "--skip",
            "peer-dlt",
            "no-change-nightly",
            "--out",
            str(out),
            "--records",
            str(records),
            "--work",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"scratch folder: {tmp_path / 'work'}" in proc.stdout
    assert (tmp_path / "work" / "measured" / "items.jsonl").is_file()  # what bench.load_passes reads
    stages = {m["name"]: m for m in map(LINE.match, proc.stdout.splitlines()) if m}
    assert sorted(stages) == ["fetch", "load-postgresql", "load-sqlite", "parse"]
    # the archive replay on every core, its items checked identical by the bench itself
    replay = [line for line in proc.stdout.splitlines() if line.startswith("replay: ")]
    m = (
        re.fullmatch(
            r"replay: citehub [\d,.]+ fetches/s on (?P<n>\d+) processes, baseline [\d,.]+ fetches/s on 1, "
            r"ratio \d+\.\d\d \((?P<fetches>[\d,]+) fetches\)",
            replay[0],
        )
        if len(replay) == 1
        else None
    )
    assert m, replay
    from spiders.replay import CHUNK

    chunks = -(-int(m["fetches"].replace(",", "")) // CHUNK)
    assert int(m["n"]) == min(len(os.sched_getaffinity(0)), chunks)  # the pool needs two chunks at least
    assert {n: m["unit"] for n, m in stages.items()} == {
        "fetch": "pages",
        "parse": "pages",
        "load-postgresql": "rows",
        "load-sqlite": "rows",
    }
    text = out.read_text()
    assert "## Stages at 12 hubs, density 2 (python -m bench --hubs 12 --density 2)" in text
    assert "| citations in the site |" in text
    assert f"| archive replay (backfill --from-archive, reparse) | {replay[0].split(': ', 1)[1]} |" in text
    # each load stage's floor: the same rows alone into the warehouse's tables, against the stage's baseline
    floors = {m["name"]: m for m in map(FLOOR.match, proc.stdout.splitlines()) if m}
    assert sorted(floors) == ["load-postgresql", "load-sqlite"]
    for name, floor in floors.items():
        assert floor["b"] == stages[name]["b"]  # the very baseline the stage line printed
        # reading the staged items first only lowers the ceiling (equal when rounding hides the read)
        w, wr, r, rr = (float(floor[g].replace(",", "")) for g in ("w", "wr", "r", "rr"))
        assert float(floor["s"]) >= 0 and wr <= w and rr <= r
        figure = f"| {name} floor: the rows alone into the warehouse's tables | {floor.group(0).split(': ', 1)[1]} |"
        assert figure in text
    record = json.loads((records / "hubs-12-density-2.json").read_text())
    assert (record["hubs"], record["density"]) == (12, 2.0)
    assert sorted(record["stages"]) == sorted(stages)
    # The printed figures are the record's, rounded; the ratio is taken before rounding (recomputing it from
    # the printed figures can differ in the last digit), so compare both with the record's exact values.
    for name, m in stages.items():
        exact = record["stages"][name]
        assert exact["citehub"] > 0 and exact["baseline"] > 0
        assert (m["c"], m["b"]) == (f"{exact['citehub']:,.1f}", f"{exact['baseline']:,.1f}")
        assert m["r"] == f"{exact['citehub'] / exact['baseline']:.2f}"
