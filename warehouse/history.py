"""Edge history: how one run's citations change `citation` and `citation_version` (inside load's transaction).

Per hub of the run, by what the run saw of it:
- complete fetch (`CleanBatch.complete`): the run's edges are the hub's edges. New edges open a spell and
  a version; an edge the warehouse had retired reopens; a changed value (role, polarity, verdict,
  novelty, refs, representative) closes the open version and opens another; a current edge the run did
  not see is retired (`valid_to_run` = this run on the edge and its open version).
- incomplete fetch (failed, truncated or quarantined page): edges the run showed that the warehouse does
  not hold as current are added; current edges only get `last_seen_run`; nothing is relabelled (a missing
  filter page would read as "unclassified") and nothing is retired.
- unchanged (JSON twin answered 304): current edges get `last_seen_run`, nothing else moves.

Conditional requests: `write_validators` hands the spider the JSON twins' validators from the last complete
fetch of each hub (never from an incomplete one: a 304 must mean "the warehouse holds this hub whole").

Reloading the same run is idempotent: a version opened by this run is updated in place, not duplicated.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, Text, and_, bindparam, func, insert, literal, or_, select, update

from schema import bulk
from schema.bulk import chunks as _chunks
from schema.tables import citation, citation_version, fetch, hub_facet_count, hub_snapshot, run

VALUE_FIELDS = ("role", "polarity", "verdict", "novelty", "refs", "representative")
KEY_CHUNK = 500
ROW_CHUNK = 5000


def load_citations(
    conn: Connection,
    run_id: str,
    citations: Iterable[Mapping[str, Any]],
    unchanged: Iterable[str],
    good: set[str],
    fresh: frozenset[str] = frozenset(),
) -> tuple[dict[str, int], dict[str, int]]:
    """Apply the edges of a run (or of one hub batch of it: hubs are independent); `unchanged` are the hubs
    whose twin answered 304, `good` the hubs fetched completely; `fresh` the tables that were empty as the
    load began (`warehouse.load.empty_tables`: no edge or version of these hubs to read back from them). Returns
    (inserted/updated/unchanged counts, history counts)."""
    incoming: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in citations:
        incoming[row["hub_uuid"]].append(row)
    unchanged_hubs = set(unchanged)
    # Hubs whose twin answered 304 and listed nothing: all they need is "seen again" on their current edges,
    # one set-based UPDATE instead of reading and rewriting every edge (most hubs of a quiet night).
    bump = sorted(h for h in unchanged_hubs if h not in incoming)
    hubs = sorted((set(incoming) | good | unchanged_hubs) - set(bump))
    existing = {} if citation.name in fresh else _existing_edges(conn, hubs)
    existing_by_hub: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for (uuid, key), row in sorted(existing.items()):
        existing_by_hub[uuid].append((key, row))
    open_from = {} if citation_version.name in fresh else _open_versions(conn, hubs)

    counts = {"inserted": 0, "updated": 0, "unchanged": 0}
    history = {"new": 0, "reopened": 0, "relabelled": 0, "retired": 0}
    edge_rows: list[dict[str, Any]] = []  # final state of every edge this run touches that the warehouse holds
    open_rows: list[dict[str, Any]] = []  # versions opened (or rewritten) by this run of those edges
    # Edges the warehouse never held have no version either (edges are never deleted): both are plain
    # inserts (COPY straight into the tables on PostgreSQL), not merges.
    new_edges: list[dict[str, Any]] = []
    new_versions: list[dict[str, Any]] = []
    close_keys: list[dict[str, str]] = []  # open versions this run closes

    def close(key: tuple[str, str]) -> None:
        start = open_from.get(key)
        if start is not None and start != run_id:
            close_keys.append({"k_hub": key[0], "k_paper": key[1], "k_from": start})

    for uuid in hubs:
        seen = {row["paper_key"]: row for row in incoming.get(uuid, ())}
        complete = uuid in good and uuid not in unchanged_hubs
        for key, row in sorted(seen.items()):
            values = {f: row[f] for f in VALUE_FIELDS}
            before = existing.get((uuid, key))
            if before is None or before["valid_to_run"] is not None:
                history["new" if before is None else "reopened"] += 1
                counts["inserted"] += 1
                (new_edges if before is None else edge_rows).append(
                    {
                        "hub_uuid": uuid,
                        "paper_key": key,
                        **values,
                        "first_seen_run": before["first_seen_run"] if before else run_id,
                        "last_seen_run": run_id,
                        "run_id": run_id,
                        "valid_from_run": run_id,
                        "valid_to_run": None,
                    }
                )
                (new_versions if before is None else open_rows).append(
                    {"hub_uuid": uuid, "paper_key": key, "valid_from_run": run_id, **values}
                )
            elif complete and any(before[f] != values[f] for f in VALUE_FIELDS):
                history["relabelled"] += 1
                counts["updated"] += 1
                edge_rows.append({**before, **values, "last_seen_run": run_id, "run_id": run_id})
                close((uuid, key))
                open_rows.append({"hub_uuid": uuid, "paper_key": key, "valid_from_run": run_id, **values})
            else:
                counts["unchanged"] += 1
                # a complete fetch rewrites the edge's values (same ones): it becomes their latest writer
                edge_rows.append({**before, "last_seen_run": run_id, **({"run_id": run_id} if complete else {})})
        for key, before in existing_by_hub.get(uuid, ()):
            if key in seen or before["valid_to_run"] is not None:
                continue
            if complete:
                history["retired"] += 1
                edge_rows.append({**before, "valid_to_run": run_id})
                close((uuid, key))
            elif uuid in unchanged_hubs:
                edge_rows.append({**before, "last_seen_run": run_id})

    bulk.insert_rows(conn, citation, new_edges)
    _upsert(conn, citation, ["hub_uuid", "paper_key"], edge_rows, keep=("first_seen_run",))
    for chunk in _chunks(bump, KEY_CHUNK):
        conn.execute(
            update(citation)
            .where(citation.c.hub_uuid.in_(chunk), citation.c.valid_to_run.is_(None))
            .values(last_seen_run=run_id)
        )
    if close_keys:
        stmt = (
            update(citation_version)
            .where(
                and_(
                    citation_version.c.hub_uuid == bindparam("k_hub"),
                    citation_version.c.paper_key == bindparam("k_paper"),
                    citation_version.c.valid_from_run == bindparam("k_from"),
                )
            )
            .values(valid_to_run=run_id)
        )
        for chunk in _chunks(close_keys, ROW_CHUNK):
            conn.execute(stmt, chunk)
    _upsert(
        conn,
        citation_version,
        ["hub_uuid", "paper_key", "valid_from_run"],
        [{**r, "valid_to_run": None} for r in open_rows],
        keep=(),
    )
    bulk.insert_rows(conn, citation_version, [{**r, "valid_to_run": None} for r in new_versions])
    return counts, history


def carry_forward(conn: Connection, run_id: str, hubs: Iterable[str]) -> tuple[int, int]:
    """Copy the latest earlier snapshot and facet counts of each unchanged hub to this run, inside the
    database (INSERT ... SELECT: the rows never come to Python, where copying them was a large part of a
    load in which nothing changed). Returns (snapshots, facet count rows) written. The run's own rows must
    not hold these hubs."""
    hubs = sorted(set(hubs))
    latest: dict[str, tuple[datetime, str]] = {}
    for chunk in _chunks(hubs, KEY_CHUNK):
        stmt = (
            select(hub_snapshot.c.hub_uuid, hub_snapshot.c.run_id, run.c.started_at)
            .join(run, run.c.run_id == hub_snapshot.c.run_id)
            .where(hub_snapshot.c.hub_uuid.in_(chunk), hub_snapshot.c.run_id != run_id)
        )
        for uuid, source, started in conn.execute(stmt):
            if uuid not in latest or (started, source) > latest[uuid]:
                latest[uuid] = (started, source)
    by_source: dict[str, list[str]] = defaultdict(list)
    for uuid, (_, source) in latest.items():
        by_source[source].append(uuid)
    written = {hub_snapshot.name: 0, hub_facet_count.name: 0}
    for source, uuids in sorted(by_source.items()):
        for chunk in _chunks(sorted(uuids), KEY_CHUNK):
            for table in (hub_snapshot, hub_facet_count):
                names = [c.name for c in table.columns]
                copied = select(
                    *(literal(run_id, Text).label(n) if n == "run_id" else table.c[n] for n in names)
                ).where(table.c.run_id == source, table.c.hub_uuid.in_(chunk))
                conn.execute(insert(table).from_select(names, copied))
                # counted apart: PostgreSQL's driver reports no row count for INSERT ... SELECT here
                written[table.name] += conn.execute(
                    select(func.count()).where(table.c.run_id == source, table.c.hub_uuid.in_(chunk))
                ).scalar_one()
    return written[hub_snapshot.name], written[hub_facet_count.name]


def _existing_edges(conn: Connection, hubs: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in _chunks(list(hubs), KEY_CHUNK):
        for rec in conn.execute(select(citation).where(citation.c.hub_uuid.in_(chunk))).mappings():
            found[(rec["hub_uuid"], rec["paper_key"])] = dict(rec)
    return found


def _open_versions(conn: Connection, hubs: Sequence[str]) -> dict[tuple[str, str], str]:
    v = citation_version
    found: dict[tuple[str, str], str] = {}
    for chunk in _chunks(list(hubs), KEY_CHUNK):
        stmt = select(v.c.hub_uuid, v.c.paper_key, v.c.valid_from_run).where(
            v.c.hub_uuid.in_(chunk), v.c.valid_to_run.is_(None)
        )
        for uuid, key, start in conn.execute(stmt):
            found[(uuid, key)] = start
    return found


def _upsert(
    conn: Connection, table: Table, key_cols: list[str], rows: list[dict[str, Any]], keep: tuple[str, ...]
) -> None:
    if not rows:
        return
    update_cols = [c.name for c in table.columns if c.name not in key_cols and c.name not in keep]
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in key_cols))
    bulk.upsert_rows(conn, table, key_cols, ordered, update_cols)


def latest_validators(conn: Connection) -> dict[str, dict[str, str]]:
    """JSON-twin validators (ETag / Last-Modified) of every hub whose latest snapshot is complete, taken from
    the twin fetch of that run: a 304 against them means "unchanged since the data the warehouse holds".

    The latest snapshot per hub is picked in the database (latest `run.started_at`, then run id) and only
    the twin fetches of the runs it names are read: reading every twin fetch of the warehouse's history into
    Python grew with each night kept."""
    s = hub_snapshot.c
    ranked = (
        select(
            s.hub_uuid,
            s.run_id,
            s.complete,
            func.row_number()
            .over(partition_by=s.hub_uuid, order_by=(run.c.started_at.desc(), s.run_id.desc()))
            .label("rank"),
        )
        .join(run, run.c.run_id == s.run_id)
        .subquery()
    )
    wanted = {
        (run_id, uuid)
        for uuid, run_id, complete in conn.execute(
            select(ranked.c.hub_uuid, ranked.c.run_id, ranked.c.complete).where(ranked.c.rank == 1)
        )
        if complete
    }
    out: dict[str, dict[str, str]] = {}
    for runs in _chunks(sorted({run_id for run_id, _ in wanted}), KEY_CHUNK):
        stmt = select(fetch.c.run_id, fetch.c.hub_uuid, fetch.c.url, fetch.c.etag, fetch.c.last_modified).where(
            fetch.c.run_id.in_(runs),
            fetch.c.url.like("%.json"),
            fetch.c.status.in_((200, 304)),
            or_(fetch.c.etag.is_not(None), fetch.c.last_modified.is_not(None)),
        )
        for run_id, uuid, url, etag, last_modified in conn.execute(stmt):
            if (run_id, uuid) in wanted:
                out[url] = {k: v for k, v in (("etag", etag), ("last_modified", last_modified)) if v}
    return out


def write_validators(engine: Engine, path: Path) -> int:
    """Write the run's validators file for the spider (spiders/conditional.py); returns its URL count."""
    with engine.connect() as conn:
        validators = latest_validators(conn)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(validators, sort_keys=True, indent=0), encoding="utf-8")
    return len(validators)
