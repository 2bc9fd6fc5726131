"""The crawl's frontier: every hub a fetched page links to, with where and when it was first seen, and the
links refused (recorded, never crawled). Written from the run's staged `links` items inside the load's
transaction, so a run that rolls back leaves no trace here either; a hub of the frontier that is not in `hub`
was never fetched, and the next crawl plans it (`unfetched_hubs`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, insert, or_, select, update

from schema.tables import bad_link, fetch, frontier, hub, paper_page, run, stg_item
from spiders.parse.paperref import paper_ref_of_url

CHUNK = 1000
GONE = (404, 410)  # a paper page answering these is not asked for again
MAX_TRIES = 3  # runs that may ask for a frontier hub and not get it (a 404, a refusal) before it is left out


@dataclass
class FrontierCounts:
    pages: int = 0  # pages whose links were read
    new_hubs: int = 0  # hubs that joined the frontier in this run
    seen_again: int = 0  # frontier hubs linked to again
    bad_links: int = 0
    failed_tries: int = 0  # frontier hubs asked for and not fetched
    paper_pages: int = 0  # paper pages read for the first time

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def record_links(conn: Connection, run_id: str) -> FrontierCounts:
    """Add the hubs the run's pages link to (first sighting wins: the page's URL, fetch time and block),
    mark those already known as seen again, and keep the refused links."""
    counts = FrontierCounts()
    first: dict[str, dict[str, Any]] = {}
    refused: dict[tuple[str, str], str] = {}
    for item in _links_items(conn, run_id):
        counts.pages += 1
        for link in item.get("hubs", []):
            first.setdefault(
                link["hub_uuid"],
                {
                    "hub_uuid": link["hub_uuid"],
                    "first_seen_run": run_id,
                    "first_seen_on": item["url"],
                    "first_seen_at": _when(item.get("fetched_at")),
                    "first_seen_block": link["block"],
                    "last_seen_run": run_id,
                },
            )
        for bad in item.get("bad", []):
            refused.setdefault((item["url"], bad["href"]), bad["reason"])
    uuids = sorted(first)
    for start in range(0, len(uuids), CHUNK):
        chunk = uuids[start : start + CHUNK]
        known = set(conn.execute(select(frontier.c.hub_uuid).where(frontier.c.hub_uuid.in_(chunk))).scalars())
        if known:
            conn.execute(update(frontier).where(frontier.c.hub_uuid.in_(sorted(known))).values(last_seen_run=run_id))
        fresh = [first[u] for u in chunk if u not in known]
        if fresh:
            conn.execute(insert(frontier), fresh)
        counts.new_hubs += len(fresh)
        counts.seen_again += len(known)
    if refused:
        rows = [{"run_id": run_id, "found_on": u, "href": h, "reason": r} for (u, h), r in sorted(refused.items())]
        conn.execute(insert(bad_link), rows)
    counts.bad_links = len(refused)
    # frontier hubs this run asked for and still does not hold: one try more
    held = select(hub.c.hub_uuid).where(hub.c.hub_uuid == fetch.c.hub_uuid).exists()
    missing = sorted(
        conn.execute(
            select(fetch.c.hub_uuid).distinct().where(fetch.c.run_id == run_id, fetch.c.hub_uuid.is_not(None), ~held)
        ).scalars()
    )
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        conn.execute(update(frontier).where(frontier.c.hub_uuid.in_(chunk)).values(tries=frontier.c.tries + 1))
    counts.failed_tries = len(missing)
    counts.paper_pages = record_paper_pages(conn, run_id)
    return counts


def record_paper_pages(conn: Connection, run_id: str) -> int:
    """The paper pages this run read (or found gone), so no crawl asks for them again; returns how many are
    new. A page that failed otherwise (a 503, a refusal by the budget) is asked for again by a later crawl."""
    read: dict[str, int] = {}
    for url, status in conn.execute(
        select(fetch.c.url, fetch.c.status).where(
            fetch.c.run_id == run_id,
            fetch.c.hub_uuid.is_(None),
            or_(fetch.c.outcome == "parsed", fetch.c.status.in_(GONE)),
        )
    ):
        ref = paper_ref_of_url(url)
        if ref is not None:
            read.setdefault(ref, 200 if status not in GONE else status)
    refs = sorted(read)
    fresh = 0
    for start in range(0, len(refs), CHUNK):
        chunk = refs[start : start + CHUNK]
        known = set(conn.execute(select(paper_page.c.paper_ref).where(paper_page.c.paper_ref.in_(chunk))).scalars())
        rows = [{"paper_ref": r, "run_id": run_id, "status": read[r]} for r in chunk if r not in known]
        if rows:
            conn.execute(insert(paper_page), rows)
        fresh += len(rows)
    return fresh


def _links_items(conn: Connection, run_id: str) -> Iterator[dict[str, Any]]:
    rows = conn.execute(
        select(stg_item.c.payload)
        .where(stg_item.c.run_id == run_id, stg_item.c.kind == "links")
        .order_by(stg_item.c.seq)
    ).scalars()
    for payload in rows:
        yield json.loads(payload)


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _never_fetched() -> ColumnElement[bool]:
    return ~select(hub.c.hub_uuid).where(hub.c.hub_uuid == frontier.c.hub_uuid).exists()


def unfetched_hubs(engine: Engine, limit: int | None = None) -> list[str]:
    """Frontier hubs never fetched (not in `hub`), oldest sighting first."""
    query = (
        select(frontier.c.hub_uuid)
        .join(run, run.c.run_id == frontier.c.first_seen_run)
        .where(_never_fetched(), frontier.c.tries < MAX_TRIES)
        .order_by(run.c.started_at, frontier.c.hub_uuid)
    )
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def frontier_size(engine: Engine) -> tuple[int, int]:
    """(hubs in the frontier, of which never fetched and still planned), counted by the database."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(frontier)).scalar_one()
        unfetched = conn.execute(
            select(func.count()).select_from(frontier).where(_never_fetched(), frontier.c.tries < MAX_TRIES)
        ).scalar_one()
    return total, unfetched
