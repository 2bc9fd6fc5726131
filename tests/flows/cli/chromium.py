"""Headless Chromium over a local HTML file with the network switched off: DOM, screenshot, console."""

from __future__ import annotations

import subprocess
from pathlib import Path

# Every host resolves to nothing and every proxy-able request goes to a closed port: a page that tried
# to fetch anything would log a failed load on the console.
NO_NETWORK = [
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
]
BASE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=3000",
    *NO_NETWORK,
]


def run(binary: str, html: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, *BASE, *args, html.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=html.parent,
    )


def dump_dom(binary: str, html: Path) -> tuple[str, str]:
    """(the DOM after load, chromium's stderr with the page's console messages)."""
    proc = run(binary, html, "--dump-dom")
    proc.check_returncode()
    return proc.stdout, proc.stderr


def screenshot(binary: str, html: Path, png: Path, width: int = 1100, height: int = 4200) -> str:
    proc = run(binary, html, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")
    proc.check_returncode()
    return proc.stderr


def console_errors(stderr: str) -> list[str]:
    """Console messages and failed loads of the page (chromium logs them as CONSOLE(...) / net errors)."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line or "Failed to load resource" in line or "net::ERR_" in line
    ]
