"""The crawl reports its own peak RSS (VmHWM), not getrusage's, which Linux carries over from the parent."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = (
    "import json, resource; from spiders.peak_rss import peak_rss_bytes; "
    "print(json.dumps([peak_rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]))"
)
PARENT = f"""
import subprocess, sys
ballast = bytearray(300 * 2**20)  # a big parent, like a flow process
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
print(subprocess.run([sys.executable, "-c", {CHILD!r}], capture_output=True, text=True, check=True).stdout)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM needs Linux /proc")
def test_child_of_a_big_parent_reports_its_own_peak():
    out = subprocess.run(
        [sys.executable, "-c", PARENT],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    own, inherited = json.loads(out.stdout)
    assert inherited >= 300 * 2**20  # getrusage: the parent's 300 MB
    assert own < 100 * 2**20  # VmHWM: the child alone (a Python interpreter importing spiders.extensions)
