"""The known-papers file of a run: every citing paper whose page the crawl has read (`paper_page`), for the
crawl's discovery.

The hub spider fetches the paper page of each citing paper it does not know (spiders/hub.py): new papers are
what create new hubs. A paper the warehouse holds but whose page no crawl read yet (the budget ran out before
it, or it failed) is not known: a later crawl that lists it asks for it again. The flow writes this file before
the crawl and names it in CITEHUB_KNOWN_PAPERS_FILE.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, literal, or_, select

from schema.tables import paper, paper_page
from spiders.parse.paperref import paper_ref
from spiders.parse.paperref import write_known_papers as write_refs

ROWS_PER_FETCH = 10_000  # rows the database cursor hands over at a time


def write_known_papers(engine: Engine, path: Path) -> int:
    """Write the known-papers file (spiders.parse.paperref) of every paper whose page was read at `path`;
    returns how many refs it holds. A paper known by both an arXiv and a pith id is known by either (the hub
    page that lists it may link either). Rows are streamed: only their 8-byte hashes are kept."""
    with engine.connect() as conn:
        return write_refs(_refs(conn), Path(path))


def _refs(conn: Connection) -> Iterator[str]:
    stream = conn.execution_options(stream_results=True, yield_per=ROWS_PER_FETCH)
    yield from stream.execute(select(paper_page.c.paper_ref)).scalars()
    # the other id of a paper read under one of its two
    by_arxiv = literal("arxiv:") + paper.c.arxiv_id
    by_pith = literal("pith:") + paper.c.pith_id
    read = select(paper_page.c.paper_ref).where(
        or_(paper_page.c.paper_ref == by_arxiv, paper_page.c.paper_ref == by_pith)
    )
    rows = stream.execute(
        select(paper.c.arxiv_id, paper.c.pith_id).where(
            paper.c.arxiv_id.is_not(None), paper.c.pith_id.is_not(None), read.exists()
        )
    )
    for arxiv_id, pith_id in rows:
        for ref in (paper_ref(arxiv_id, None), paper_ref(None, pith_id)):
            if ref is not None:
                yield ref
