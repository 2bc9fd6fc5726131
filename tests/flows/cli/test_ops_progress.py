"""Live crawl progress: the renderer, the steady log lines, and a real crawl's progress and log capture."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rich.console import Console

from flows.progress import ProgressReporter, ProgressTracker, render
from samplesite.generator import build_site
from samplesite.server import serving
from spiders.crawl import allowed_hosts_for, run_crawl


def snap(t, hubs_done, pages_done, pages_planned, final=False, **extra):
    return {
        "run_id": "R1",
        "t": t,
        "hubs_planned": 10,
        "hubs_done": hubs_done,
        "pages_planned": pages_planned,
        "pages_done": pages_done,
        "retries": extra.get("retries", 0),
        "quarantined": extra.get("q", 0),
        "failed": 0,
        "final": final,
    }


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def logger(name: str) -> tuple[logging.Logger, Lines]:
    log = logging.getLogger(f"citehub.test.{name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = Lines()
    log.handlers = [handler]
    return log, handler


def test_tracker_rate_eta_and_line():
    tracker = ProgressTracker()
    tracker.update(snap(0.0, 0, 0, 2))
    p = tracker.update(snap(4.0, 2, 40, 60, retries=3, q=1))
    assert p.pages_per_s == 10.0  # 40 pages in 4 s
    assert p.eta_s == 16.0  # 2 hubs in 4 s: 8 hubs to go take 16 s
    assert p.line() == (
        "run R1: hubs 2/10, pages 40/60, 10.0 pages/s, retries 3, quarantined 1, failed 0, elapsed 4s, ETA 16s"
    )
    done = tracker.update(snap(6.0, 9, 100, 100, final=True))
    assert (done.hubs_done, done.eta_s) == (10, 0.0)
    assert done.line().endswith("ETA done")


def test_rich_view_shows_every_fact():
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    tracker = ProgressTracker()
    tracker.update(snap(0.0, 0, 0, 2))
    console.print(render(tracker.update(snap(4.0, 2, 40, 60, retries=3, q=1))))
    text = console.file.getvalue()
    for fact in (
        "crawl R1",
        "hubs",
        "2/10",
        "pages",
        "40/60",
        "10.0 pages/s",
        "retries 3",
        "quarantined 1",
        "ETA 16 s",
    ):
        assert fact in text, fact


def test_interactive_reporter_draws_live_and_logs_only_the_end():
    log, lines = logger("live")
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    with ProgressReporter(log, console=console) as reporter:
        assert reporter.interactive
        for i in range(5):
            reporter(snap(float(i), i, i * 10, 50))
        reporter(snap(5.0, 10, 50, 50, final=True))
    drawn = console.file.getvalue()  # Live redraws 4 times a second: the last state is always drawn
    assert "crawl R1" in drawn and "10/10" in drawn and "50/50" in drawn and "ETA done" in drawn
    assert [r.getMessage() for r in lines.records] == [
        "run R1: hubs 10/10, pages 50/50, 10.0 pages/s, retries 0, quarantined 0, failed 0, elapsed 5s, ETA done"
    ]


def test_non_terminal_logs_plain_lines_at_a_steady_interval():
    log, lines = logger("plain")
    with ProgressReporter(log, interactive=False, log_every_s=10) as reporter:
        for second in range(26):
            reporter(snap(float(second), second // 3, second * 2, 60))
        reporter(snap(26.0, 10, 52, 52, final=True))
    messages = [r.getMessage() for r in lines.records]
    assert [m.split("elapsed ")[1].split("s,")[0] for m in messages] == ["0", "10", "20", "26"]
    assert all(m.startswith("run R1: hubs ") for m in messages)
    assert messages[1] == (
        "run R1: hubs 3/10, pages 20/60, 2.0 pages/s, retries 0, quarantined 0, failed 0, elapsed 10s, ETA 23s"
    )


@pytest.mark.slow
def test_real_crawl_reports_progress_and_forwards_scrapy_log(tmp_path):
    site = build_site(hubs=6, seed=7, day=1)
    log, lines = logger("crawl")
    seen: list[dict] = []
    with serving(site) as base_url:
        urls = [f"{base_url}/citations/{h.uuid}" for h in site.hubs]
        result = run_crawl(
            "RUN-P",
            tmp_path / "run",
            base_url,
            urls,
            allowed_hosts_for(base_url),
            4,
            extra_settings={"CITEHUB_PROGRESS_INTERVAL": "0.2"},
            log=log,
            on_progress=seen.append,
        )
    items = [json.loads(line) for line in result.items_path.read_text().splitlines()]
    fetches = [i for i in items if i["kind"] == "fetch" and i["hub_uuid"]]  # paper pages belong to no hub
    papers = [i for i in items if i["kind"] == "fetch" and not i["hub_uuid"]]
    assert papers and all("/paper/" in i["url"] for i in papers)
    final = seen[-1]
    assert final["final"] and final["run_id"] == "RUN-P" and final["reason"] == "finished"
    assert (final["hubs_done"], final["hubs_planned"]) == (6, 6)
    assert final["pages_done"] == final["pages_planned"] == len(fetches)  # one fetch item per hub request
    assert final["retries"] == final["quarantined"] == final["failed"] == 0
    assert [s["t"] for s in seen] == sorted(s["t"] for s in seen)
    messages = [r.getMessage() for r in lines.records]
    assert any(m.startswith("scrapy: ") and "Spider closed (finished)" in m for m in messages)
    stats = next(m for m in messages if "Dumping Scrapy stats" in m)
    assert f"'downloader/request_count': {result.stats['downloader/request_count']}" in stats
