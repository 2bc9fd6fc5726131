"""Compare two SQLite warehouses table by table, as two runs of the same job on different days would differ:
run ids, wall-clock times, crawl order and what the sample site's port changes (URLs, sizes, hashes, ETags)
normalized, everything else exact.

    python -m bench.warehouse_diff OLD.sqlite NEW.sqlite

Prints one line per table (rows, and "same" or the first differing rows) and exits 1 on any difference.
Used to check that a refactoring leaves what `make demo` builds unchanged.
"""

from __future__ import annotations

import hashlib
import re
import sys
from datetime import date, datetime
from typing import Any

from sqlalchemy import MetaData, create_engine, select

# Values that differ between two runs of one job by construction, not by what was loaded.
_RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
_PORT = re.compile(r"127\.0\.0\.1:\d+")
_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:?\d\d|Z)?")
# warc_offset, bytes, sha256, etag: the pages embed the site's absolute URLs, so its port changes them;
# seq: staging follows the crawl's (concurrent) order; summary, params, payload: hold times and ports.
_VOLATILE_COLUMNS = {"warc_offset", "bytes", "sha256", "etag", "seq", "summary", "params", "payload"}
_SKIPPED_TABLES = {"alembic_version"}


def _normal(column: str, value: Any) -> Any:
    if column in _VOLATILE_COLUMNS:
        return "<volatile>"
    if isinstance(value, datetime | date):
        return "<time>"
    if isinstance(value, str):
        value = _RUN_ID.sub("<run>", value)
        value = _PORT.sub("127.0.0.1:<port>", value)
        value = _TIME.sub("<time>", value)
    return value


def table_rows(path: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        tables = MetaData()
        tables.reflect(engine)  # every table, quoted by SQLAlchemy: no SQL text built here
        out = {}
        with engine.connect() as conn:
            for name, table in sorted(tables.tables.items()):
                if name in _SKIPPED_TABLES:
                    continue
                columns = [c.name for c in table.columns]
                out[name] = sorted(
                    (
                        tuple(_normal(c, v) for c, v in zip(columns, row, strict=True))
                        for row in conn.execute(select(table))
                    ),
                    key=repr,
                )
        return out
    finally:
        engine.dispose()


def main(old: str, new: str) -> int:
    a, b = table_rows(old), table_rows(new)
    differing = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"{name}: only in {'new' if name in b else 'old'}")
            differing += 1
            continue
        digest = hashlib.sha256(repr(a[name]).encode()).hexdigest()[:12]
        if a[name] == b[name]:
            print(f"{name}: {len(a[name])} rows, same ({digest})")
            continue
        differing += 1
        only_old = [r for r in a[name] if r not in b[name]][:3]
        only_new = [r for r in b[name] if r not in a[name]][:3]
        print(f"{name}: {len(a[name])} vs {len(b[name])} rows, DIFFERENT; old only {only_old}; new only {only_new}")
    print(f"{len(set(a) | set(b))} tables, {differing} different")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
