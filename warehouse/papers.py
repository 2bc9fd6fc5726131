"""The known-papers file of a run: every citing paper the warehouse holds, for the crawl's discovery.

The hub spider fetches the paper page of each citing paper it does not know (spiders/hub.py): new papers are
what create new hubs. The flow writes this file before the crawl and names it in CITEHUB_KNOWN_PAPERS_FILE.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, or_, select

from schema.tables import paper
from spiders.parse.paperref import paper_ref
from spiders.parse.paperref import write_known_papers as write_refs

ROWS_PER_FETCH = 10_000  # rows the database cursor hands over at a time


def write_known_papers(engine: Engine, path: Path) -> int:
    """Write the known-papers file (spiders.parse.paperref) of every citing paper of the warehouse at `path`;
    returns how many refs it holds. A paper known by both an arXiv and a pith id is known by either (the hub
    page that lists it may link either). Rows are streamed: only their 8-byte hashes are kept."""
    with engine.connect() as conn:
        return write_refs(_refs(conn), Path(path))


def _refs(conn: Connection) -> Iterator[str]:
    rows = conn.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH).execute(
        select(paper.c.arxiv_id, paper.c.pith_id).where(
            or_(paper.c.arxiv_id.is_not(None), paper.c.pith_id.is_not(None))
        )
    )
    for arxiv_id, pith_id in rows:
        for ref in (paper_ref(arxiv_id, None), paper_ref(None, pith_id)):
            if ref is not None:
                yield ref
