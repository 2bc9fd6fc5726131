"""A process's own peak memory, without importing Scrapy (the bench and the load tool read it too, and
importing Scrapy would add its own memory to the peak they measure)."""

from __future__ import annotations


def peak_rss_bytes() -> int | None:
    """This process's own peak RSS (Linux VmHWM), or None where /proc is missing.

    Scrapy's memusage/max is getrusage's ru_maxrss, which Linux carries across fork and exec: a crawl
    started by a flow process reports at least the flow's peak however little it used itself.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None
