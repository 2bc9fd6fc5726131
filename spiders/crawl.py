"""Run one crawl as a `scrapy crawl` subprocess (a Twisted reactor cannot restart in one process)
and read back what it hands over: items as JSON Lines, stats as JSON, WARC files."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from schema.errors import CitehubError

logger = logging.getLogger(__name__)

POLL_S = 0.25  # how often the flow looks at the subprocess's log and progress files
# "2026-11-24 09:27:01 [scrapy.core.engine] INFO: Spider closed (finished)"
_SCRAPY_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[(?P<name>[^\]]+)\] (?P<level>[A-Z]+): ")


class CrawlFailed(CitehubError, RuntimeError):
    exit_code = 1

    pass


class DiskFull(CrawlFailed):
    """The data directory's file system filled up during the crawl."""


_ENOSPC = f"[Errno {errno.ENOSPC}]"
# Crawl stat: errors the crawl logged whose cause is a full disk (spiders.extensions.StatsJson counts them).
NO_SPACE_STAT = "citehub/errors/no_space"
# What a crawl that finished says of a write lost to a full disk: a traceback's last line (`OSError: [Errno
# 28] ...`, `builtins.OSError: ...` from a Twisted failure, or the logging module's own report on stderr),
# at the start of a line, so a page's text quoted inside a log line cannot pass for it.
_ENOSPC_RAISED = re.compile(r"^(?:[\w.]+\.)?\w*Error: \[Errno 28\] No space left on device", re.MULTILINE)


def _out_of_space(run_dir: Path, *logs: Path) -> bool:
    """Did the crawl fail for want of space? Its logs say `[Errno 28]`, or the run folder's file system has
    no free byte left (the log itself may not have been written)."""
    try:
        if shutil.disk_usage(run_dir).free == 0:
            return True
    except OSError:
        pass
    for path in logs:
        with contextlib.suppress(OSError):
            if _ENOSPC in path.read_text(errors="replace"):
                return True
    return False


def _lost_writes(stats: dict, *logs: Path) -> bool:
    """Did a crawl that finished (exit 0, stats.json) lose writes to a full disk? Its stats count the errors
    whose cause was ENOSPC (NO_SPACE_STAT), or its logs hold such a traceback."""
    if stats.get(NO_SPACE_STAT):
        return True
    for path in logs:
        with contextlib.suppress(OSError):
            if _ENOSPC_RAISED.search(path.read_text(errors="replace")):
                return True
    return False


@dataclass
class CrawlResult:
    run_dir: Path
    items_path: Path
    stats: dict
    log_path: Path

    @property
    def warc_files(self) -> list[Path]:
        return sorted((self.run_dir / "warc").glob("*.warc.gz"))


def allowed_hosts_for(base_url: str, extra: list[str] | None = None) -> list[str]:
    """The base URL's host, with its port when the URL names one (`127.0.0.1:8123`: the sample site, not
    whatever else listens on loopback), plus the configured hosts."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if host and parts.port is not None:
        host = f"{host}:{parts.port}"
    return sorted({host, *(extra or [])} - {""})


def run_crawl(
    run_id: str,
    run_dir: Path,
    base_url: str,
    hub_urls: list[str],
    allowed_hosts: list[str],
    concurrency: int = 8,
    extra_settings: dict[str, str] | None = None,
    log: logging.Logger | logging.LoggerAdapter | None = None,
    on_progress: Callable[[dict], object] | None = None,
) -> CrawlResult:
    """Crawl `hub_urls`; raise CrawlFailed when scrapy exits non-zero or leaves no stats.

    While scrapy runs, its log lines go to `log` (the flow run's logger, so they reach the Prefect UI)
    and its progress snapshots (spiders/progress.py) to `on_progress`.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    seeds = run_dir / "seeds.txt"
    seeds.write_text("".join(f"{u}\n" for u in hub_urls), encoding="utf-8")
    items = run_dir / "items.jsonl"
    stats_path = run_dir / "stats.json"
    progress_path = run_dir / "progress.jsonl"
    for stale in (items, stats_path, progress_path):
        stale.unlink(missing_ok=True)
    log_path = run_dir / "crawl.log"
    settings = {
        "CITEHUB_RUN_DIR": str(run_dir),
        "CITEHUB_RUN_ID": run_id,
        "CITEHUB_ALLOWED_HOSTS": ",".join(allowed_hosts),
        "CONCURRENT_REQUESTS_PER_DOMAIN": str(concurrency),
        "CONCURRENT_REQUESTS": str(max(16, concurrency * 2)),
        "LOG_FILE": str(log_path),
        "CITEHUB_PARENT_PID": str(os.getpid()),  # the crawl dies with this process (ParentWatch)
        **(extra_settings or {}),
    }
    cmd = [sys.executable, "-m", "scrapy", "crawl", "hub", "-O", f"{items}:jsonlines"]
    cmd += ["-a", f"seeds_file={seeds}", "-a", f"base_url={base_url}"]
    for key, value in settings.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "SCRAPY_SETTINGS_MODULE": "spiders.settings"}
    logger.info("crawl %s: %d hubs from %s", run_id, len(hub_urls), base_url)
    stderr_path = run_dir / "crawl.stderr"
    returncode = _run_and_follow(cmd, env, stderr_path, log_path, progress_path, log or logger, on_progress)
    if returncode != 0 or not stats_path.exists():
        if _out_of_space(run_dir, stderr_path, log_path):
            raise DiskFull(
                f"no space left on {run_dir}: crawl {run_id} could not write its archive (WARC, items, stats); "
                "free space under the data directory (CITEHUB_DATA_DIR) and rerun"
            )
        tail = stderr_path.read_text(errors="replace")[-2000:] if stderr_path.exists() else ""
        raise CrawlFailed(f"scrapy crawl exited {returncode}; see {log_path}\n{tail}")
    stats = json.loads(stats_path.read_text())
    if _lost_writes(stats, stderr_path, log_path):
        # it finished, but what it archived is short of what it fetched: never published as if whole
        raise DiskFull(
            f"no space left on {run_dir}: crawl {run_id} finished but lost writes to its archive (WARC, items) "
            f"to a full disk (see {log_path}); free space under the data directory (CITEHUB_DATA_DIR) and rerun"
        )
    items.touch()  # a crawl of zero hubs writes no feed file
    return CrawlResult(run_dir=run_dir, items_path=items, stats=stats, log_path=log_path)


class ProgressFile:
    """Reads the complete lines appended to a progress file since the last read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def new_snapshots(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        self.offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()  # an unfinished last line waits for the next read
        out = []
        for raw in lines:
            if raw.strip():
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    continue  # a torn line is progress lost, never a failed crawl
        return out


class _LogFollower:
    """Forwards the lines scrapy appends to its LOG_FILE, one record per log entry (continuation lines,
    such as the stats dump, stay with their entry), at the entry's own level."""

    def __init__(self, path: Path, log: logging.Logger | logging.LoggerAdapter) -> None:
        self.path, self.log, self.offset, self.partial = path, log, 0, ""
        self.entry: list[str] = []
        self.level = logging.INFO

    def _emit(self) -> None:
        if self.entry:
            self.log.log(self.level, "scrapy: %s", "\n".join(self.entry))
            self.entry = []

    def poll(self, final: bool = False) -> None:
        if self.path.exists():
            with open(self.path, encoding="utf-8", errors="replace") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
                self.offset = fh.tell()
            lines = (self.partial + chunk).split("\n")
            self.partial = "" if final else lines.pop()
            for line in lines:
                match = _SCRAPY_LINE.match(line)
                if match:
                    self._emit()
                    self.level = logging.getLevelName(match["level"])
                    if not isinstance(self.level, int):
                        self.level = logging.INFO
                if line:
                    self.entry.append(line)
        if final:
            self._emit()


def _run_and_follow(
    cmd,
    env,
    stderr_path: Path,
    log_path: Path,
    progress_path: Path,
    log: logging.Logger | logging.LoggerAdapter,
    on_progress: Callable[[dict], object] | None,
) -> int:
    """Run scrapy; while it runs, forward its log and progress. Returns its exit code."""
    follower = _LogFollower(log_path, log)
    progress = ProgressFile(progress_path)
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            while True:
                done = proc.poll() is not None
                follower.poll(final=done)
                for snap in progress.new_snapshots():
                    if on_progress is not None:
                        on_progress(snap)
                if done:
                    return proc.returncode
                with contextlib.suppress(subprocess.TimeoutExpired):  # wakes the moment scrapy exits
                    proc.wait(timeout=POLL_S)
        finally:
            if proc.poll() is None:  # the flow was cancelled or failed: do not leave scrapy running
                proc.terminate()
                proc.wait(timeout=30)
