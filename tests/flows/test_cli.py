"""The `citehub` command as a user types it: a seed list from the sample site, `citehub refresh`, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from schema import tables as t
from schema.engine import make_engine

pytestmark = pytest.mark.slow
CITEHUB = [sys.executable, "-m", "flows.cli"]
HUBS = 12


def citehub(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "CITEHUB_DATA_DIR": str(cwd / "data")}
    return subprocess.run([*CITEHUB, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture
def site_url():
    proc = subprocess.Popen(
        [sys.executable, "-m", "samplesite", "serve", "--hubs", str(HUBS), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    assert line.startswith("serving http://127.0.0.1:"), line
    yield line.split(" ", 1)[1]
    proc.terminate()
    assert proc.wait(timeout=10) == 0


def test_refresh_from_a_seed_file(tmp_path, site_url):
    seeds = citehub("samplesite", "seeds", "--hubs", str(HUBS), "--base-url", site_url, cwd=tmp_path)
    assert seeds.returncode == 0, seeds.stderr
    urls = seeds.stdout.split()
    assert len(urls) == HUBS and all(u.startswith(f"{site_url}/citations/") for u in urls)
    (tmp_path / "seeds.txt").write_text("# our seed list\n" + seeds.stdout)
    db = f"sqlite:///{tmp_path / 'w.sqlite'}"
    run = citehub("refresh", "--base-url", site_url, "--seeds", "seeds.txt", "--database-url", db, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{HUBS} hubs" in run.stdout
    assert "Top hubs by citing papers" in run.stdout and "Time per stage" in run.stdout
    with make_engine(db).connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.hub_summary)).scalar_one() == HUBS
        assert conn.execute(select(t.run.c.status)).scalars().all() == ["completed"]


def test_refresh_rejects_bad_seed_files_before_running(tmp_path):
    db = tmp_path / "w.sqlite"
    missing = citehub("refresh", "--seeds", "nope.txt", "--database-url", f"sqlite:///{db}", cwd=tmp_path)
    assert missing.returncode == 2
    assert "seed file not found: nope.txt" in missing.stderr
    (tmp_path / "bad.txt").write_text(
        "https://pith.science/citations/dae37f2b-32da-4f0a-9478-5e06e96fa213\nhttps://pith.science/about\n"
    )
    bad = citehub("refresh", "--seeds", "bad.txt", "--database-url", f"sqlite:///{db}", cwd=tmp_path)
    assert bad.returncode == 2
    assert "bad.txt:2: not a hub reference" in bad.stderr
    assert not db.exists()  # nothing ran, nothing was created
