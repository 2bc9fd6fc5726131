"""Edge history: how one run's citations change `citation` and `citation_version` (inside load's transaction).

Per hub of the run, by what the run saw of it:
- complete fetch (`CleanBatch.complete`): the run's edges are the hub's edges. New edges open a spell and
  a version; an edge the warehouse had retired reopens; a changed value (role, polarity, verdict,
  novelty, refs, representative) closes the open version and opens another; a current edge the run did
  not see is retired (`valid_to_run` = this run on the edge and its open version).
- incomplete fetch (failed, truncated or quarantined page): edges the run showed that the warehouse does
  not hold as current are added; current edges only get `last_seen_run`; nothing is relabelled (a missing
  filter page would read as "unclassified") and nothing is retired.
- unchanged (JSON twin answered 304): nothing moves and nothing is written: a quiet night costs what changed.

Conditional requests: `write_validators` hands the spider the JSON twins' validators from the last complete
fetch of each hub (never from an incomplete one: a 304 must mean "the warehouse holds this hub whole").

Reloading the same run is idempotent: a version opened by this run is updated in place, not duplicated.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, or_, select, update

from schema import bulk
from schema.bulk import chunks as _chunks
from schema.tables import citation, citation_version, fetch, hub_change, hub_facet_version, hub_version

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
    # Hubs whose twin answered 304 and listed nothing: nothing of their edges moves, and nothing is written
    # (an edge's last_seen_run is the last run that listed it; its hub's says when it was last seen whole).
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

    bulk.insert_rows(conn, citation, new_edges)
    _upsert(conn, citation, ["hub_uuid", "paper_key"], edge_rows, keep=("first_seen_run",))
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


HUB_FIGURES = (
    "tier",
    "label",
    "template",
    "headline",
    "headline_role",
    "headline_share",
    "citing_count",
    "classified_count",
    "parsed_count",
    "complete",
)


def apply_hub_figures(
    conn: Connection, run_id: str, figures: Sequence[Mapping[str, Any]], facets: Sequence[Mapping[str, Any]]
) -> tuple[int, int]:
    """Keep the figures a run showed of its hubs as spells (`hub_version`, `hub_facet_version`): a hub
    whose first unfiltered page showed what its open spell holds writes nothing; a change closes the open
    spell and opens another; an incomplete fetch always opens one (the run that found the hub incomplete
    stays on record). `facets` are the hubs' whole facet sets in this run: a value no longer shown closes
    its spell. A spell this run opened is rewritten in place (reloading a run is idempotent). Returns
    (figure spells, facet spells) opened or rewritten."""
    hubs = sorted({f["hub_uuid"] for f in figures})
    if not hubs:
        return 0, 0
    v, fv = hub_version, hub_facet_version
    open_figures: dict[str, dict[str, Any]] = {}
    open_facets: dict[tuple[str, str, str], tuple[int, str]] = {}
    for chunk in _chunks(hubs, KEY_CHUNK):
        for rec in conn.execute(select(v).where(v.c.hub_uuid.in_(chunk), v.c.valid_to_run.is_(None))).mappings():
            open_figures[rec["hub_uuid"]] = dict(rec)
        stmt = select(fv.c.hub_uuid, fv.c.facet, fv.c.value, fv.c.count, fv.c.valid_from_run).where(
            fv.c.hub_uuid.in_(chunk), fv.c.valid_to_run.is_(None)
        )
        for uuid, facet, value, count, start in conn.execute(stmt):
            open_facets[(uuid, facet, value)] = (count, start)

    close_figures: list[dict[str, Any]] = []
    spells: list[dict[str, Any]] = []
    for row in sorted(figures, key=lambda r: r["hub_uuid"]):
        values = {f: row[f] for f in HUB_FIGURES}
        before = open_figures.get(row["hub_uuid"])
        if before is not None and before["valid_from_run"] != run_id:
            if values["complete"] and all(before[f] == values[f] for f in HUB_FIGURES):
                continue
            close_figures.append({"k_hub": row["hub_uuid"], "k_from": before["valid_from_run"]})
        spells.append({"hub_uuid": row["hub_uuid"], "valid_from_run": run_id, "valid_to_run": None, **values})

    shown = {(f["hub_uuid"], f["facet"], f["value"]): f["count"] for f in facets}
    close_facets: list[dict[str, Any]] = []
    facet_spells: list[dict[str, Any]] = []
    for key, (count, start) in open_facets.items():
        if start != run_id and (key not in shown or shown[key] != count):
            close_facets.append({"k_hub": key[0], "k_facet": key[1], "k_value": key[2], "k_from": start})
    for key, count in sorted(shown.items()):
        before_facet = open_facets.get(key)
        if before_facet is not None and before_facet[1] != run_id and before_facet[0] == count:
            continue
        facet_spells.append(
            {
                "hub_uuid": key[0],
                "facet": key[1],
                "value": key[2],
                "valid_from_run": run_id,
                "valid_to_run": None,
                "count": count,
            }
        )
    # a spell this run opened but no longer shows (a reload of the run): gone, not closed
    stale = [k for k, (_, start) in open_facets.items() if start == run_id and k not in shown]
    for chunk in _chunks(stale, ROW_CHUNK):
        conn.execute(
            delete(fv).where(
                fv.c.hub_uuid == bindparam("k_hub"),
                fv.c.facet == bindparam("k_facet"),
                fv.c.value == bindparam("k_value"),
                fv.c.valid_from_run == run_id,
            ),
            [{"k_hub": k[0], "k_facet": k[1], "k_value": k[2]} for k in chunk],
        )
    _close(conn, v, close_figures, run_id, (v.c.hub_uuid == bindparam("k_hub"),))
    _close(
        conn,
        fv,
        close_facets,
        run_id,
        (fv.c.hub_uuid == bindparam("k_hub"), fv.c.facet == bindparam("k_facet"), fv.c.value == bindparam("k_value")),
    )
    _upsert(conn, v, ["hub_uuid", "valid_from_run"], spells, keep=())
    _upsert(conn, fv, ["hub_uuid", "facet", "value", "valid_from_run"], facet_spells, keep=())
    return len(spells), len(facet_spells)


def _close(conn: Connection, table: Table, keys: list[dict[str, Any]], run_id: str, match: tuple[Any, ...]) -> None:
    """Set valid_to_run = `run_id` on the open spells `keys` name (k_from: their valid_from_run)."""
    if not keys:
        return
    stmt = update(table).where(*match, table.c.valid_from_run == bindparam("k_from")).values(valid_to_run=run_id)
    for chunk in _chunks(keys, ROW_CHUNK):
        conn.execute(stmt, chunk)


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
    """JSON-twin validators (ETag / Last-Modified) of every hub whose open figure spell is complete, taken from
    the twin fetch of the latest run that fetched it completely (`hub_change.last_complete_run`, a 304
    included): a 304 against them means "unchanged since the data the warehouse holds". A hub whose latest
    fetch was incomplete has an incomplete open spell, and gets none."""
    v, c = hub_version.c, hub_change.c
    wanted = {
        (run_id, uuid)
        for uuid, run_id in conn.execute(
            select(c.hub_uuid, c.last_complete_run)
            .join(hub_version, v.hub_uuid == c.hub_uuid)
            .where(v.valid_to_run.is_(None), v.complete, c.last_complete_run.is_not(None))
        )
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
                out[url] = {k: val for k, val in (("etag", etag), ("last_modified", last_modified)) if val}
    return out


def write_validators(engine: Engine, path: Path) -> int:
    """Write the run's validators file for the spider (spiders/conditional.py); returns its URL count."""
    with engine.connect() as conn:
        validators = latest_validators(conn)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(validators, sort_keys=True, indent=0), encoding="utf-8")
    return len(validators)
