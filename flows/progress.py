"""Live crawl progress for people: a Rich display in an interactive terminal, plain log lines otherwise.

The `scrapy crawl` subprocess appends counters to `<run dir>/progress.jsonl` (spiders/progress.py);
`spiders.crawl` reads the new lines while it waits and hands each to a `ProgressReporter`. Rates and the
ETA are derived here, from the counters and their times, so the renderer is a pure function of a
snapshot and can be tested without a crawl.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

RATE_WINDOW_S = 10.0  # pages/s over the last seconds: the crawl speeds up and slows down
LOG_EVERY_S = 10.0  # a steady log line, not one per tick: the nightly's log stays readable


@dataclass(frozen=True)
class Progress:
    run_id: str
    elapsed_s: float
    hubs_planned: int
    hubs_done: int
    pages_planned: int
    pages_done: int
    retries: int
    quarantined: int
    failed: int
    pages_per_s: float
    eta_s: float | None  # None until the first hub is done
    final: bool = False

    def line(self) -> str:
        """The plain log line: every fact, with the run_id, parseable by eye and by grep."""
        eta = "done" if self.final else ("unknown" if self.eta_s is None else f"{self.eta_s:.0f}s")
        return (
            f"run {self.run_id}: hubs {self.hubs_done}/{self.hubs_planned}, "
            f"pages {self.pages_done}/{self.pages_planned}, {self.pages_per_s:.1f} pages/s, "
            f"retries {self.retries}, quarantined {self.quarantined}, failed {self.failed}, "
            f"elapsed {self.elapsed_s:.0f}s, ETA {eta}"
        )


class ProgressTracker:
    """Turns the extension's counter snapshots into Progress (pages/s over a window, ETA by hubs)."""

    def __init__(self) -> None:
        self.window: deque[tuple[float, int]] = deque()

    def update(self, snap: dict[str, Any]) -> Progress:
        t, pages = float(snap["t"]), int(snap["pages_done"])
        self.window.append((t, pages))
        while len(self.window) > 2 and t - self.window[0][0] > RATE_WINDOW_S:
            self.window.popleft()
        t0, p0 = self.window[0]
        rate = (pages - p0) / (t - t0) if t > t0 else (pages / t if t > 0 else 0.0)
        planned, done = int(snap["hubs_planned"]), min(int(snap["hubs_done"]), int(snap["hubs_planned"]))
        # Hubs differ in size, but the hubs-done rate is the steadiest predictor we have of the rest.
        eta = (planned - done) * t / done if done and t > 0 else None
        final = bool(snap.get("final"))
        return Progress(
            run_id=snap["run_id"],
            elapsed_s=t,
            hubs_planned=planned,
            hubs_done=planned if final else done,
            pages_planned=int(snap["pages_planned"]),
            pages_done=pages,
            retries=int(snap["retries"]),
            quarantined=int(snap["quarantined"]),
            failed=int(snap["failed"]),
            pages_per_s=max(rate, 0.0),
            eta_s=0.0 if final else eta,
            final=final,
        )


def render(p: Progress) -> Table:
    """The Rich view of one Progress: two bars (hubs, pages) and the rest as figures."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="bold")
    grid.add_column(width=40)
    grid.add_column()
    grid.add_row(
        "hubs",
        ProgressBar(total=max(p.hubs_planned, 1), completed=p.hubs_done, width=40),
        f"{p.hubs_done}/{p.hubs_planned}",
    )
    grid.add_row(
        "pages",
        ProgressBar(total=max(p.pages_planned, 1), completed=p.pages_done, width=40),
        f"{p.pages_done}/{p.pages_planned}",
    )
    eta = "done" if p.final else ("unknown" if p.eta_s is None else f"{p.eta_s:.0f} s")
    facts = (
        f"{p.pages_per_s:.1f} pages/s · retries {p.retries} · quarantined {p.quarantined} · "
        f"failed {p.failed} · elapsed {p.elapsed_s:.0f} s · ETA {eta}"
    )
    table = Table(title=f"crawl {p.run_id}", show_header=False, box=None)
    table.add_row(Group(grid, facts))
    return table


class ProgressReporter:
    """Shows each snapshot: Rich Live in a terminal, else a log line every `log_every_s` seconds
    (and the final one). Use as a context manager so the live display is always closed."""

    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter,
        interactive: bool | None = None,
        log_every_s: float = LOG_EVERY_S,
        console: Console | None = None,
    ) -> None:
        self.console = console or Console(stderr=True)
        self.interactive = self.console.is_terminal if interactive is None else interactive
        self.logger = logger
        self.log_every_s = log_every_s
        self.tracker = ProgressTracker()
        self.live: Live | None = None
        self.last_logged: float | None = None
        self.last: Progress | None = None

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, snap: dict[str, Any]) -> Progress:
        p = self.tracker.update(snap)
        self.last = p
        if self.interactive:
            if self.live is None:
                self.live = Live(render(p), console=self.console, refresh_per_second=4, transient=False)
                self.live.start()
            else:
                self.live.update(render(p))
            if p.final:
                self.logger.info(p.line())
        elif p.final or self.last_logged is None or p.elapsed_s - self.last_logged >= self.log_every_s:
            self.logger.info(p.line())
            self.last_logged = p.elapsed_s
        return p

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
