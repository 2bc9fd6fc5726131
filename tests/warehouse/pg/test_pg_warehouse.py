"""The sample site crawled twice (day 1, then day 8) through the real nightly flow into SQLite and into
PostgreSQL: parity of every published table, and every cookbook query of docs/queries.md on both engines
(on PostgreSQL as a reader role), with exact rows where the site's ground truth decides them."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import placement
from schema.engine import make_engine
from schema.tables import metadata
from tests.conftest import pg_dsn, pg_url_of, require_postgres
from warehouse.grants import grant_reader

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

HUBS, SEED, DAYS = 40, 7, (1, 8)
QUERIES = Path(__file__).resolve().parents[3] / "docs" / "queries.md"
RUN_COLUMNS = {
    "run_id",
    "first_seen_run",
    "last_seen_run",
    "last_complete_run",
    "valid_from_run",
    "snapshot_run",
    "prev_run",
    "subject_run",
}
DATE_COLUMNS = {"run_date", "run_day"}  # the calendar date of the run: equal here, both loads run today


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, prefect_server):
    """Both warehouses after the day-1 and day-8 nightlies, a reader role on PostgreSQL, and the truth."""
    from flows.nightly import nightly_refresh

    require_postgres()
    root = tmp_path_factory.mktemp("pgwh")
    name = f"citehub_t_{secrets.token_hex(6)}"
    role = f"citehub_reader_{secrets.token_hex(4)}"
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    urls = {
        "sqlite": f"sqlite:///{root / 'warehouse.sqlite'}",
        "postgresql": pg_url_of(name),
    }
    reports = defaultdict(list)
    truths = {}
    try:
        for day in DAYS:
            site = build_site(hubs=HUBS, seed=SEED, day=day)
            truths[day] = truth(site)
            with serving(site, markup="mixed") as base_url:
                for engine_name, url in urls.items():
                    reports[engine_name].append(
                        nightly_refresh(
                            base_url=base_url,
                            hubs=[h.uuid for h in site.hubs],
                            database_url=url,
                            data_dir=str(root / engine_name),
                            include_known=False,
                        )
                    )
        pg = make_engine(urls["postgresql"])
        with pg.begin() as conn:
            placement.execute_pg(conn, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        grant_reader(pg, role)
        reader = make_url(urls["postgresql"]).set(drivername="postgresql", username=role)
        yield {
            "urls": urls,
            "reports": reports,
            "truth": truths,
            "reader": reader.render_as_string(hide_password=False),
        }
    finally:
        make_engine(urls["postgresql"]).dispose()
        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


# --- parity ---------------------------------------------------------------------------------------------


def _normal(value, column: str, run_order: dict[str, int]):
    """One value in engine-neutral form: run ids as the run's ordinal (each warehouse has its own ids), run
    start times left out and ages in days to the hundredth, floats to 9 significant digits, booleans as bool."""
    if value is None:
        return None
    if column in RUN_COLUMNS:
        return f"run#{run_order[value]}"
    if column == "started_at":  # each warehouse ran at its own time: its runs' order is what compares
        return "time"
    if column.endswith("_days"):  # ages between runs minutes apart: equal to the hundredth of a day
        return round(float(value), 2)
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


def checksums(url: str) -> dict[str, tuple[int, str]]:
    """Per published table: (rows, sha256 of its sorted, normalized rows)."""
    out = {}
    with make_engine(url).connect() as conn:
        runs = conn.execute(text("SELECT run_id FROM run ORDER BY started_at")).scalars().all()
        run_order = {run_id: n for n, run_id in enumerate(runs, 1)}
        for table in placement.published_tables(metadata):
            rows = conn.execute(select(table)).mappings().all()
            normal = sorted(
                json.dumps(
                    [
                        _normal(r[c.name], c.name, run_order)
                        if c.type.python_type is not bool
                        else (None if r[c.name] is None else bool(r[c.name]))
                        for c in table.columns
                    ],
                    default=str,
                )
                for r in rows
            )
            out[table.name] = (len(rows), hashlib.sha256("\n".join(normal).encode()).hexdigest())
    return out


def test_flow_ran_clean_on_both_engines(loaded):
    for engine_name, reports in loaded["reports"].items():
        for report in reports:
            assert report["checks_failed"] == [], engine_name
        assert reports[-1]["hubs"] == HUBS


def test_published_tables_identical_on_sqlite_and_postgresql(loaded):
    sqlite_sums = checksums(loaded["urls"]["sqlite"])
    pg_sums = checksums(loaded["urls"]["postgresql"])
    assert set(sqlite_sums) == {t.name for t in placement.published_tables(metadata)}
    for name in ("hub_summary", "citation_current", "paper_current", "hub_growth", "category_flow"):
        assert sqlite_sums[name][0] > 0, name
    assert pg_sums == sqlite_sums


FIGURES = ("citing_count", "classified_count", "tier", "label", "template", "headline_role", "headline_share")


def test_hub_growth_spans_both_runs(loaded):
    """A row per hub on day 1; on day 8 a row for each hub whose figures the site changed, and only those."""
    first, later = ({h["uuid"]: h for h in loaded["truth"][day]["hubs"]} for day in DAYS)
    changed = {u for u, h in later.items() if u not in first or any(first[u][k] != h[k] for k in FIGURES)}
    assert 0 < len(changed) < HUBS  # both kinds of hub are there
    with make_engine(loaded["urls"]["postgresql"]).connect() as conn:
        rows = conn.execute(text("SELECT run_seq, hub_uuid FROM hub_growth ORDER BY run_seq, hub_uuid")).all()
    assert [u for seq, u in rows if seq == 1] == sorted(first)
    assert [u for seq, u in rows if seq == 2] == sorted(changed)


# --- cookbook -------------------------------------------------------------------------------------------


def cookbook() -> list[tuple[str, str]]:
    """(heading, query) for every ```sql block of docs/queries.md, in page order."""
    page = QUERIES.read_text(encoding="utf-8")
    found = []
    for section in re.split(r"^## ", page, flags=re.M)[1:]:
        heading = section.splitlines()[0]
        for block in re.findall(r"```sql\n(.*?)```", section, flags=re.S):
            found.append((heading, block.strip().rstrip(";")))
    return found


EXPECTED_COLUMNS = {
    1: ["hub_uuid", "title", "tier", "label", "citing_count"],
    2: ["label", "super_hubs"],
    3: ["paper_key", "title", "hubs_cited", "super_hubs_cited"],
    4: ["hub_uuid", "share_before", "share_now", "change"],
    5: ["category", "hubs_cited_first"],
    6: ["category", "citations", "hubs"],
    7: ["hub_uuid", "prev_run", "citing_count", "citing_delta"],
    8: ["hub_uuid", "tier_before", "tier_now", "run_date"],
    9: ["hub_uuid", "title", "label", "method_citations", "share"],
    10: ["label", "support", "with_polarity"],
    11: ["hub_uuid", "paper_key", "title", "novelty"],
    12: ["hub_a", "hub_b", "papers"],
    13: ["run_id", "change", "rows_changed"],
}


def _run_sqlite(url: str, query: str):
    with make_engine(url).connect() as conn:
        result = conn.execute(text(query))
        return list(result.keys()), [tuple(r) for r in result]


def _run_reader(conninfo: str, query: str):
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(query)
        return [d.name for d in cur.description], [tuple(r) for r in cur.fetchall()]


def expected_rows(t1: dict, t3: dict) -> dict[int, list[tuple]]:
    """The rows the ground truth decides, by query number (floats rounded for comparison)."""
    hubs = {h["uuid"]: h for h in t3["hubs"]}
    papers = {p["paper_key"]: p for p in t3["papers"]}
    by_paper = defaultdict(list)
    for c in t3["citations"]:
        by_paper[c["paper_key"]].append(c["hub_uuid"])
    reach = sorted(
        ((k, papers[k]["title"], len(v), sum(hubs[h]["tier"] == "super_hub" for h in v)) for k, v in by_paper.items()),
        key=lambda r: (-r[2], r[0]),
    )[:10]
    labels = Counter(h["label"] or "(no label)" for h in hubs.values() if h["tier"] == "super_hub")
    super_hubs = sorted(labels.items(), key=lambda kv: (-kv[1], kv[0]))
    cats = defaultdict(list)
    for c in t3["citations"]:
        p = papers[c["paper_key"]]
        cats[(p["category"] or "(none)", c["hub_uuid"])].append(p["date"])
    per_cat = Counter()
    hubs_per_cat = Counter()
    for (cat, _hub), dates in cats.items():
        per_cat[cat] += len(dates)
        hubs_per_cat[cat] += 1
    flows = sorted(((cat, n, hubs_per_cat[cat]) for cat, n in per_cat.items()), key=lambda r: (-r[1], r[0]))
    first = Counter()
    for hub in {h for _c, h in cats}:
        dated = {cat: min(d for d in ds if d) for (cat, h), ds in cats.items() if h == hub and any(ds)}
        earliest = min(dated.values())
        first.update(cat for cat, d in dated.items() if d == earliest)
    adopted = sorted(first.items(), key=lambda kv: (-kv[1], kv[0]))
    before = {h["uuid"]: h for h in t1["hubs"]}
    grew = sorted(
        (
            (u, hubs[u]["citing_count"], hubs[u]["citing_count"] - before[u]["citing_count"])
            for u in hubs
            if u in before and hubs[u]["citing_count"] > before[u]["citing_count"]
        ),
        key=lambda r: (-r[2], r[0]),
    )
    tiers = sorted(
        (u, before[u]["tier"], hubs[u]["tier"]) for u in hubs if u in before and before[u]["tier"] != hubs[u]["tier"]
    )

    def bg_share(h):
        total = sum(h["role_summary"].values())
        return 100 * h["role_summary"]["background"] / total if total and "background" in h["role_summary"] else None

    fell = sorted(
        (
            (u, round(bg_share(before[u]), 6), round(bg_share(hubs[u]), 6))
            for u in hubs
            if u in before
            and bg_share(before[u]) is not None
            and bg_share(hubs[u]) is not None
            and bg_share(hubs[u]) < bg_share(before[u])
        ),
        key=lambda r: (r[2] - r[1], r[0]),
    )
    return {2: super_hubs, 3: reach, 5: adopted, 6: flows, 7: grew, 8: tiers, 4: fell}


def _project(number: int, rows: list[tuple]) -> list[tuple]:
    """The part of each row the truth decides."""
    if number == 3:
        return [(r[0], r[1], r[2], r[3]) for r in rows]
    if number == 4:
        return [(r[0], round(r[1], 6), round(r[2], 6)) for r in rows]
    if number == 7:
        return [(r[0], r[2], r[3]) for r in rows]
    if number == 8:
        return [(r[0], r[1], r[2]) for r in rows]
    return rows


def test_cookbook_has_at_least_ten_questions():
    queries = cookbook()
    assert len(queries) >= 10
    assert len(queries) == len(EXPECTED_COLUMNS)


@pytest.mark.parametrize("number", sorted(EXPECTED_COLUMNS))
def test_cookbook_query_runs_on_both_engines(loaded, number):
    heading, query = cookbook()[number - 1]
    assert heading.startswith(f"{number}. ")
    cols_sqlite, rows_sqlite = _run_sqlite(loaded["urls"]["sqlite"], query)
    cols_pg, rows_pg = _run_reader(loaded["reader"], query)  # as the analyst: reader role, marts only
    assert cols_sqlite == cols_pg == EXPECTED_COLUMNS[number]
    expected = expected_rows(loaded["truth"][DAYS[0]], loaded["truth"][DAYS[1]]).get(number)
    if expected is not None:
        assert _project(number, rows_sqlite) == expected
        assert _project(number, rows_pg) == expected
        if number in (4, 7, 8, 5, 6, 3):
            assert expected, f"query {number}: the sample data should give rows"
    elif number not in (13,):
        assert rows_sqlite, f"query {number} returned no rows"
    # both engines agree on every query, run ids and dates aside (each warehouse has its own runs)
    keep = [i for i, c in enumerate(EXPECTED_COLUMNS[number]) if c not in RUN_COLUMNS | DATE_COLUMNS]

    def norm(rows):
        return [tuple(round(r[i], 6) if isinstance(r[i], float) else r[i] for i in keep) for r in rows]

    assert norm(rows_sqlite) == norm(rows_pg)
