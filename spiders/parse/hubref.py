"""Hub references from seed lists and the command line, turned into canonical hub URLs."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from schema.errors import CitehubError

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# pith.science serves hubs on both hosts; one canonical host keeps one identity per hub.
_CANONICAL_HOSTS = {"www.pith.science": "pith.science"}


class BadHubRef(CitehubError, ValueError):
    pass


def hub_url(ref: str, base_url: str) -> str:
    """A seed line (a hub URL, with or without query or `.json`, or a bare uuid) -> canonical hub URL."""
    ref = ref.strip()
    match = UUID.search(ref.lower())
    if not match:
        raise BadHubRef(f"not a hub reference (no hub uuid): {ref!r}")
    if ref.lower().startswith(("http://", "https://")):
        parts = urlsplit(ref)
        host = _CANONICAL_HOSTS.get(parts.netloc.lower(), parts.netloc.lower())
        return urlunsplit((parts.scheme.lower(), host, f"/citations/{match.group(0)}", "", ""))
    return f"{base_url.rstrip('/')}/citations/{match.group(0)}"


def read_seeds(path: Path) -> list[str]:
    """One hub reference a line; blank lines and `#` comments are skipped.

    Every line is checked here, so a bad seed file fails before any run starts, naming file and line.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise BadHubRef(f"{path}: not UTF-8 text ({exc.reason})") from exc
    refs = []
    for number, line in enumerate(lines, start=1):
        ref = line.strip()
        if not ref or ref.startswith("#"):
            continue
        if not UUID.search(ref.lower()):
            raise BadHubRef(f"{path}:{number}: not a hub reference (no hub uuid): {ref[:200]!r}")
        refs.append(ref)
    return refs


def resolve_hub_refs(args: list[str]) -> list[str]:
    """`--hubs FILE|UUID...`: an existing file is a seed list, anything else must hold a hub uuid (or URL)."""
    refs: list[str] = []
    for arg in args:
        path = Path(arg)
        if path.is_file():
            refs.extend(read_seeds(path))
        elif UUID.search(arg.strip().lower()):
            refs.append(arg.strip())
        else:
            raise BadHubRef(f"unknown hub reference {arg!r}: no such seed file, and not a hub uuid or URL")
    if not refs:
        raise BadHubRef("no hubs to backfill (the seed files name none)")
    return list(dict.fromkeys(refs))
