"""bench.load_passes: every step of a load printed with its time and the process's peak RSS."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.warehouse.conftest import two_hub_items, write_items

STEP = re.compile(r"^(?P<name>.+?)\s+(?P<s>\d+\.\d\d) s   peak RSS\s+(?P<mb>\d+) MB$")


def test_each_pass_and_mart_is_timed(tmp_path):
    write_items(tmp_path / "items.jsonl", two_hub_items())
    out = subprocess.run(
        [sys.executable, "-m", "bench.load_passes", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    steps = [STEP.match(line) for line in out.splitlines()]
    assert all(steps), out
    names = [m["name"] for m in steps]
    assert names[:5] == ["start", f"stage ({len(two_hub_items())} items)", "pass hubs", "pass papers", "pass citations"]
    assert names[-1] == "load_staged in all"
    from warehouse.materialize import MARTS

    assert names[5:-1] == [f"mart {t.name}" for t in MARTS]
    peaks = [int(m["mb"]) for m in steps]
    assert peaks == sorted(peaks) and peaks[0] > 0  # a peak never falls


def test_a_folder_without_items_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.load_passes", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert f"{tmp_path} has no items.jsonl (give a crawl's run folder)" in proc.stderr
