"""Shared bench plumbing: timing, peak RSS, the sample site process, result lines."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def new_warehouse(url: str, purpose: str):
    """(engine, run id) of the warehouse at `url`, migrated, with a backfill run started for `purpose`: where
    each load measurement starts."""
    from schema.engine import make_engine
    from schema.migrate import upgrade
    from warehouse import runs

    engine = make_engine(url)
    upgrade(engine)
    return engine, runs.start_run(engine, "backfill", {"bench": purpose})


@dataclass
class Stage:
    name: str
    unit: str
    citehub: float
    baseline: float
    target: str
    notes: str = ""

    @property
    def ratio(self) -> float:
        return self.citehub / self.baseline if self.baseline else float("nan")

    def line(self) -> str:
        return (
            f"stage {self.name}: citehub {self.citehub:,.1f} {self.unit}/s, "
            f"baseline {self.baseline:,.1f} {self.unit}/s, ratio {self.ratio:.2f}"
        )


@dataclass
class Results:
    hubs: int
    density: float = 1.0
    stages: list[Stage] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def record(self) -> dict:
        """What bench/growth.py compares between site sizes."""
        return {
            "hubs": self.hubs,
            "density": self.density,
            "commit": _commit(),
            "stages": {s.name: {"citehub": s.citehub, "baseline": s.baseline, "unit": s.unit} for s in self.stages},
            "seconds": self.seconds,
            "rss_mb": self.rss_mb,
        }

    def record_name(self) -> str:
        """One record per site size and density: growth only compares runs of the same density."""
        return f"hubs-{self.hubs}-density-{self.density:g}.json"

    def add(self, stage: Stage) -> None:
        self.stages.append(stage)
        print(stage.line(), flush=True)


def _commit() -> str:
    """The checkout's commit (with "+dirty" when it has changes): records of two sizes compare only
    when they come from the same code."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        # RESULTS.md and the records are the bench's own output, not code it measured
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":(exclude)bench/RESULTS.md",
                ":(exclude)bench/results",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def self_peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM; getrusage's ru_maxrss would carry a parent's peak across exec)."""
    from spiders.peak_rss import peak_rss_bytes

    peak = peak_rss_bytes()
    return peak / 2**20 if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


@contextmanager
def sample_site(hubs: int, seed: int, day: int = 1, density: float = 1.0, meanwhile=None):
    """The sample site in its own process (the other core), yielding (its base URL, what `meanwhile()`
    returned): `meanwhile` runs while the server builds its site (minutes at 10,000 dense hubs)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "samplesite",
            "serve",
            "--hubs",
            str(hubs),
            "--seed",
            str(seed),
            "--day",
            str(day),
            "--density",
            str(density),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        result = meanwhile() if meanwhile is not None else None
        line = proc.stdout.readline().strip()
        if not line.startswith("serving "):
            raise RuntimeError(f"sample site did not start: {line!r}")
        yield line.split(" ", 1)[1], result
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def write_section(path, heading: str, text: str) -> None:
    """Replace the `heading` section of RESULTS.md (or add it at the end); other sections stay as they are.

    Each benchmark owns one `## ` section, so `make bench` and `python -m bench.faults` never erase each other.
    """
    import re
    from pathlib import Path

    path = Path(path)
    old = path.read_text(encoding="utf-8") if path.exists() else "# Bench results\n"
    pattern = re.compile(re.escape(heading) + r".*?(?=^## |\Z)", re.S | re.M)
    new = pattern.sub(lambda _: text + "\n", old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + text
    path.write_text(new.rstrip("\n") + "\n", encoding="utf-8")
