"""One function per benchmarked stage; each measures citehub and its baseline on the same input."""

from __future__ import annotations

import gzip
import json
import secrets
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import Stage, Timer, new_warehouse

ROOT = Path(__file__).resolve().parents[1]


# --- fetch ------------------------------------------------------------------------------------------------


def crawl(run_dir: Path, base_url: str, hub_urls: list[str]) -> tuple[float, dict]:
    from spiders.crawl import allowed_hosts_for, run_crawl

    with Timer() as t:
        result = run_crawl(run_dir.name, run_dir, base_url, hub_urls, allowed_hosts_for(base_url))
    return t.seconds, result.stats


def bare_fetch(urls: list[str], work: Path) -> tuple[float, float]:
    """Seconds and the bare spider process's own peak RSS (MB)."""
    urls_file = work / "urls.txt"
    urls_file.write_text("\n".join(urls))
    rss_file = work / "bare-rss.txt"
    with Timer() as t:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "runspider",
                str(ROOT / "bench" / "bare_spider.py"),
                "-a",
                f"urls_file={urls_file}",
                "-a",
                f"rss_file={rss_file}",
            ],
            check=True,
            cwd=work,
        )
    return t.seconds, int(rss_file.read_text()) / 2**20


def fetched_urls(run_dir: Path) -> list[str]:
    urls = []
    with open(run_dir / "items.jsonl", encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            if item["kind"] == "fetch":
                urls.append(item["url"])
    return urls


def fetch_stage(base_url: str, hub_urls: list[str], work: Path, rss: dict) -> tuple[Stage, Path]:
    warm = work / "warm"
    crawl(warm, base_url, hub_urls)  # renders and caches every page on the server: both sides then read it warm
    urls = fetched_urls(warm)
    bare_seconds, rss["bare scrapy crawl"] = bare_fetch(urls, work)
    run_dir = work / "measured"
    seconds, stats = crawl(run_dir, base_url, hub_urls)
    rss["citehub crawl (scrapy subprocess)"] = stats.get("citehub/peak_rss_bytes", 0) / 2**20
    requests = stats.get("downloader/request_count", len(urls))
    stage = Stage(
        "fetch",
        "pages",
        requests / seconds,
        len(urls) / bare_seconds,
        ">= 0.7",
        f"{requests} requests; citehub {seconds:.1f} s, bare {bare_seconds:.1f} s",
    )
    return stage, run_dir


# --- parse ------------------------------------------------------------------------------------------------


def archived_pages(run_dir: Path) -> Iterator[tuple[str, bytes]]:
    """The archived hub pages (200s, HTML), streamed from the run's WARC files."""
    from warcio.archiveiterator import ArchiveIterator

    for path in sorted((run_dir / "warc").glob("*.warc.gz")):
        with gzip.open(path, "rb") as raw:
            for record in ArchiveIterator(raw):
                if record.rec_type != "response":
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                if "/citations/" in url and not url.endswith(".json") and record.http_headers.get_statuscode() == "200":
                    yield url, record.content_stream().read()


def parse_stage(run_dir: Path, chunk: int = 500) -> Stage:
    """Both sides parse the same pages, `chunk` pages at a time read from the archive (untimed), so the
    harness's memory does not grow with the site."""
    import lxml.html

    from spiders.parse.hub_html import parse_hub_page
    from spiders.parse.normalize import normalize_text, normalize_title

    ours = base = 0.0
    count = size = 0
    for pages in _batched(archived_pages(run_dir), chunk):
        with Timer() as t:
            for _, body in pages:
                lxml.html.fromstring(body)
        base += t.seconds
        with Timer() as t:
            for url, body in pages:
                page = parse_hub_page(body, url)
                normalize_title(page.title_raw)
                for entry in (*page.representative, *page.explorer):
                    normalize_title(entry.title_raw)
                    normalize_text(entry.summary_raw)
        ours += t.seconds
        count += len(pages)
        size += sum(len(b) for _, b in pages)
    return Stage(
        "parse", "pages", count / ours, count / base, ">= 0.25", f"{count} archived hub pages, {size / 1e6:.1f} MB"
    )


def _batched(iterable, n: int):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


# --- load -------------------------------------------------------------------------------------------------


def read_items(run_dir: Path) -> list[dict]:
    with open(run_dir / "items.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _clean(items: list[dict]):
    from warehouse.clean import clean

    return clean(items)


def _rows_of(batch) -> dict[str, list[dict]]:
    return {"hub": batch.hubs, "paper": batch.papers, "citation": batch.citations}


def citehub_load(url: str, run_dir: Path) -> tuple[float, int]:
    """Clean + dedupe + upsert + materialize into an empty warehouse: staged records to published tables, as
    the nightly does it (`warehouse.load.load_staged`, one transaction). Staging items.jsonl is not timed."""
    from warehouse import stage
    from warehouse.load import load_staged, materialize_marts

    engine, run_id = new_warehouse(url, "load")
    stage.stage_items(engine, run_id, run_dir / "items.jsonl")
    with Timer() as loading:
        result = load_staged(engine, run_id, then=lambda conn: materialize_marts(conn, run_id))
    engine.dispose()
    return loading.seconds, sum(c.inserted + c.updated + c.unchanged for c in result.tables.values())


def citehub_load_proper(url: str, items: list[dict]) -> float:
    """The load proper on already cleaned rows (what dlt is handed): history, upserts and marts in one
    transaction (`tests.oracle.load` of a `CleanBatch`; clean is not timed)."""
    from tests.oracle import load
    from warehouse.clean import clean
    from warehouse.load import materialize_marts

    engine, run_id = new_warehouse(url, "load proper")
    batch = clean(items)
    with Timer() as loading:
        load(engine, run_id, batch, then=lambda conn: materialize_marts(conn, run_id))
    engine.dispose()
    return loading.seconds


def _plain_rows(batch) -> dict[str, tuple[list[str], list[tuple]]]:
    """clean()'s hub, paper and citation rows as plain tuples, for the baselines."""
    out = {}
    for name, rows in _rows_of(batch).items():
        cols = sorted(rows[0]) if rows else []
        out[name] = (cols, [tuple(_plain(r[c]) for c in cols) for r in rows])
    return out


def _plain(value):
    return value if value is None or isinstance(value, (int, float, str, bytes)) else str(value)


def sqlite_baseline(path: Path, tables) -> float:
    """Plain sqlite3 executemany into empty, constraint-free tables (SQL text compiled by SQLAlchemy)."""
    from sqlalchemy import Column, MetaData, Table, Text, insert
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    md = MetaData()
    conn = sqlite3.connect(path)
    statements = {}
    for name, (cols, _) in tables.items():
        table = Table(name, md, *(Column(c, Text) for c in cols))
        conn.execute(str(CreateTable(table).compile(dialect=sqlite.dialect())))
        statements[name] = str(insert(table).compile(dialect=sqlite.dialect()))
    with Timer() as t:
        for name, (_, rows) in tables.items():
            conn.executemany(statements[name], rows)
        conn.commit()
    conn.close()
    return t.seconds


@dataclass
class Floor:
    """The stage's rows written into the warehouse's own tables and nothing else: the most any load of
    them can reach against the stage's baseline, whatever its dedupe, history and marts cost. With
    `read_seconds`, the time to read the run's staged items back and decode them, nothing cleaned: what
    any load of staged records pays before it writes a row, so the second ratio is the most a load that
    starts from the staging table can reach."""

    stage: str
    rows: int
    seconds: float
    baseline_seconds: float
    read_seconds: float

    def line(self) -> str:
        both = self.seconds + self.read_seconds
        return (
            f"floor {self.stage}: warehouse tables alone {self.rows / self.seconds:,.1f} rows/s, "
            f"baseline {self.rows / self.baseline_seconds:,.1f} rows/s, "
            f"ratio {self.baseline_seconds / self.seconds:.2f}; "
            f"after reading the staged items ({self.read_seconds:.2f} s) {self.rows / both:,.1f} rows/s, "
            f"ratio {self.baseline_seconds / both:.2f}"
        )


def warehouse_floor(url: str, batch) -> float:
    """Seconds to write clean()'s hub, paper and citation rows into an empty warehouse's own tables (their
    keys, indexes and types) with citehub's bulk writer (executemany on SQLite, COPY on PostgreSQL), in one
    transaction, commit included: no dedupe, no history, no marts (clean is not timed)."""
    from schema import bulk
    from schema.tables import citation, hub, paper

    engine, run_id = new_warehouse(url, "floor")
    bookkeeping = {"first_seen_run": run_id, "last_seen_run": run_id, "run_id": run_id, "valid_from_run": run_id}
    tables = [
        (table, _table_rows(table, rows, bookkeeping))
        for table, rows in ((hub, batch.hubs), (paper, batch.papers), (citation, batch.citations))
    ]
    with Timer() as t, engine.begin() as conn:
        for table, rows in tables:
            bulk.insert_rows(conn, table, rows)
    engine.dispose()
    return t.seconds


def staged_read_floor(url: str, run_dir: Path) -> tuple[float, int]:
    """Seconds the load's first step takes alone, and how many items it read: the run's staged items read
    back from an empty warehouse's staging table and decoded, hub batch by hub batch, by the load's own reader
    (`load_staged`'s pass 1, `_StagedRun._item_groups`); nothing cleaned or written (staging is not timed)."""
    from sqlalchemy import func, select

    from schema.tables import stg_item
    from spiders.parse.items import LINK_KINDS
    from warehouse import stage
    from warehouse.load import HUBS_PER_BATCH, LoadResult, _StagedRun

    engine, run_id = new_warehouse(url, "read floor")
    staged = stage.stage_items(engine, run_id, run_dir / "items.jsonl")
    with engine.begin() as conn:
        # the pages' links items go to the frontier (warehouse.frontier), not through this reader
        links = conn.execute(
            select(func.count())
            .select_from(stg_item)
            .where(stg_item.c.run_id == run_id, stg_item.c.kind.in_(LINK_KINDS))
        ).scalar_one()
        run = _StagedRun(conn, run_id, LoadResult(run_id), HUBS_PER_BATCH)
        with Timer() as t:
            read = sum(len(items) for items in run._item_groups())
    engine.dispose()
    if read != staged - links:
        raise RuntimeError(f"read {read} staged items back, {staged - links} were staged for the hubs")
    return t.seconds, read


def _table_rows(table, rows: list[dict], bookkeeping: dict[str, str]) -> list[dict]:
    """`rows` with exactly `table`'s columns (bookkeeping filled in), in primary-key order as the load writes."""
    names = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    shaped = [{n: bookkeeping[n] if n in bookkeeping else row.get(n) for n in names} for row in rows]
    return sorted(shaped, key=lambda r: tuple(r[k] for k in keys))


def load_sqlite_stage(run_dir: Path, work: Path) -> tuple[Stage, Floor]:
    batch = _clean(read_items(run_dir))  # once, untimed, for the baseline and the floor
    seconds, rows = citehub_load(f"sqlite:///{work / 'load.sqlite'}", run_dir)
    base = sqlite_baseline(work / "baseline.sqlite", _plain_rows(batch))
    floor = warehouse_floor(f"sqlite:///{work / 'floor.sqlite'}", batch)
    read, items = staged_read_floor(f"sqlite:///{work / 'read.sqlite'}", run_dir)
    stage = Stage(
        "load-sqlite",
        "rows",
        rows / seconds,
        rows / base,
        ">= 0.4",
        f"{rows} rows (hubs, papers, citations); citehub {seconds:.2f} s incl. dedupe + marts; "
        f"executemany {base:.2f} s; the rows alone into the warehouse's tables {floor:.2f} s; "
        f"reading the {items} staged items alone {read:.2f} s",
    )
    return stage, Floor("load-sqlite", rows, floor, base, read)


class PgDatabase:
    """A scratch PostgreSQL database for one measurement."""

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"

    def __init__(self, template: str | None = None) -> None:
        self.template = template  # a database to copy (CREATE DATABASE ... TEMPLATE); none: an empty one

    def __enter__(self):
        import psycopg
        from psycopg import sql

        self.name = f"citehub_bench_{uuid.uuid4().hex[:8]}"
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name))
        if self.template:
            create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(self.template))
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(create)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"
        self.dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={self.name}"
        return self

    def __exit__(self, *exc):
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


def pg_copy_baseline(dsn: str, tables) -> float:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn) as conn:
        for name, (cols, _) in tables.items():
            conn.execute(
                sql.SQL("CREATE TABLE {} ({})").format(
                    sql.Identifier(name), sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in cols)
                )
            )
        conn.commit()
        with Timer() as t:
            for name, (cols, rows) in tables.items():
                stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(name), sql.SQL(", ").join(map(sql.Identifier, cols))
                )
                with conn.cursor().copy(stmt) as copy:
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
    return t.seconds


def load_pg_stage(run_dir: Path) -> tuple[Stage, Floor]:
    batch = _clean(read_items(run_dir))  # once, untimed, for the baseline and the floor
    with PgDatabase() as db:
        seconds, rows = citehub_load(db.url, run_dir)
    with PgDatabase() as db:
        base = pg_copy_baseline(db.dsn, _plain_rows(batch))
    with PgDatabase() as db:
        floor = warehouse_floor(db.url, batch)
    with PgDatabase() as db:
        read, items = staged_read_floor(db.url, run_dir)
    stage = Stage(
        "load-postgresql",
        "rows",
        rows / seconds,
        rows / base,
        ">= 0.3",
        f"{rows} rows; citehub {seconds:.2f} s incl. dedupe + marts; COPY {base:.2f} s; "
        f"the rows alone into the warehouse's tables {floor:.2f} s; "
        f"reading the {items} staged items alone {read:.2f} s",
    )
    return stage, Floor("load-postgresql", rows, floor, base, read)


# --- peer: dlt --------------------------------------------------------------------------------------------


def dlt_load(dsn_url: str, items: list[dict], work: Path) -> tuple[float, int]:
    import dlt

    from warehouse.clean import clean

    batch = clean(items)
    keys = {"hub": "hub_uuid", "paper": "paper_key", "citation": ["hub_uuid", "paper_key"]}
    resources = [
        dlt.resource(
            [{k: _plain(v) for k, v in r.items()} for r in rows],
            name=name,
            write_disposition="merge",
            primary_key=keys[name],
        )
        for name, rows in _rows_of(batch).items()
    ]
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{uuid.uuid4().hex[:6]}",
        pipelines_dir=str(work / "dlt"),
        destination=dlt.destinations.postgres(credentials=dsn_url),
        dataset_name="dlt_bench",
    )
    with Timer() as t:
        pipeline.run(resources)
    return t.seconds, sum(len(v) for v in _rows_of(batch).values())


def peer_dlt_stage(run_dir: Path, work: Path) -> Stage:
    items = read_items(run_dir)
    with PgDatabase() as db:
        seconds = citehub_load_proper(db.url, items)
        rows = sum(len(v) for v in _rows_of(_clean(items)).values())
    with PgDatabase() as db:
        # dlt insists on a password; the bench database uses trust auth, so any throwaway value is accepted.
        dlt_seconds, _ = dlt_load(f"postgresql://postgres:{secrets.token_hex(8)}@127.0.0.1:5432/{db.name}", items, work)
    # Both sides get the same deduplicated rows (dlt is handed clean()'s output, untimed); citehub's side is
    # its load proper: history, guard, upserts and marts in one transaction.
    return Stage(
        "peer-dlt",
        "rows",
        rows / seconds,
        rows / dlt_seconds,
        ">= 2.0",
        f"{rows} rows into PostgreSQL; citehub load {seconds:.2f} s (history + marts), dlt merge {dlt_seconds:.2f} s",
    )


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="citehub-bench-"))
