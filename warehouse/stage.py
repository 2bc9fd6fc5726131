"""Staging: the crawl's items.jsonl into `stg_item`, tagged with the run, so crawl and load retry apart."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from schema.errors import CitehubError
from schema.tables import stg_item
from spiders.parse.items import BadItem, validate_item


class StageError(CitehubError, ValueError):
    """An items file that cannot be staged; names the file and line."""


# Rows written at a time: at most this many, and at most this many bytes of payload (a hub page's item
# holds its whole explorer page, so a count of rows alone does not bound a batch's memory on dense hubs).
BATCH_ROWS = 5000
BATCH_BYTES = 4 << 20


def stage_items(
    engine: Engine, run_id: str, items_path: str | Path, batch_size: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES
) -> int:
    """Stage every item of `items_path` for `run_id` (replacing what was staged for it); returns the count.

    One transaction: a malformed line (not JSON, or not an item its kind allows: `spiders.parse.items`) rolls
    everything back and raises StageError naming file and line.
    """
    path = Path(items_path)
    count = 0
    with engine.begin() as conn, path.open("r", encoding="utf-8") as lines:
        conn.execute(delete(stg_item).where(stg_item.c.run_id == run_id))
        stmt = insert(stg_item)
        batch: list[dict[str, Any]] = []
        size = 0
        for lineno, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            batch.append(_row(path, lineno, line, run_id))
            size += len(line)
            if len(batch) >= batch_size or size >= batch_bytes:
                conn.execute(stmt, batch)
                count += len(batch)
                batch, size = [], 0
        if batch:
            conn.execute(stmt, batch)
            count += len(batch)
    return count


def _row(path: Path, lineno: int, line: str, run_id: str) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise StageError(f"{path}:{lineno}: malformed JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
        raise StageError(f"{path}:{lineno}: not an item (a JSON object with a 'kind')")
    try:  # typed at the boundary: the load reads only items that hold what their kind promises
        validate_item(item)
    except BadItem as exc:
        raise StageError(f"{path}:{lineno}: bad {item['kind']} item: {exc}") from None
    return {
        "run_id": run_id,
        "seq": lineno,
        "kind": item["kind"],
        "url": item.get("url"),
        "hub_uuid": item.get("hub_uuid"),
        "payload": line.strip(),
    }


def staged_items(engine: Engine, run_id: str, chunk_size: int = 5000) -> Iterator[dict[str, Any]]:
    """The items staged for `run_id`, in file order, decoded (streamed)."""
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=chunk_size).execute(
            select(stg_item.c.payload).where(stg_item.c.run_id == run_id).order_by(stg_item.c.seq)
        )
        for payload in result.scalars():
            yield json.loads(payload)
