"""Lint is part of the suite, so CI enforces it (ruff rules in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a dev dependency: make install"
    proc = subprocess.run(
        [
            ruff,
            "check",
            "--output-format",
            "concise",
            "spiders",
            "flows",
            "schema",
            "warehouse",
            "samplesite",
            "tests",
            "bench",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
