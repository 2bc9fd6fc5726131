"""Every cookbook query of docs/queries.md answers its own question: its exact rows on a small warehouse whose
content this test wrote, on SQLite and on PostgreSQL (as a reader role, which sees the published tables only).

The warehouse: three hubs and five citing papers (all with arXiv ids), loaded by the production path (stage,
load_staged, marts) in three runs:

- run 1 (2026-11-01): hub A (hub, 'Mixed citations') cited by P1 P2 P3; hub B (super hub, 'Tool reference')
  by P1 P3 P4; hub C (hub, 'Canonical reference') by P2 P3 P4.
- run 2 (2026-11-15), the last run that changed something: P5 newly cites A; C drops P4 (retired) and turns
  super hub with the label 'Dataset reference'; P2's verdict turns from unverdicted to accept (relabelled
  under A and under C). B is fetched again, unchanged.
- run 3 (2026-11-16): only hub C is fetched, and its page answers 503: the run changes nothing, and its
  change report holds one `incomplete` row.

The expected rows below are worked out by hand from this story, not read back from the marts.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from conftest import BASE, entry, fetch_item, hub_page, page_item, write_items
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url

from schema import placement
from schema.engine import make_engine
from schema.migrate import upgrade
from spiders.parse.records import CitingEntry
from tests.conftest import pg_dsn, pg_url_of, require_postgres, scratch_database
from warehouse.grants import grant_reader
from warehouse.load import load_staged, materialize_marts
from warehouse.runs import finish_run, start_run
from warehouse.stage import stage_items

QUERIES = Path(__file__).resolve().parents[2] / "docs" / "queries.md"

HA = "aaaaaaaa-0000-4000-8000-00000000000a"
HB = "bbbbbbbb-0000-4000-8000-00000000000b"
HC = "cccccccc-0000-4000-8000-00000000000c"
TITLES = {HA: "Attention Mechanisms", HB: "Gradient Toolkit", HC: "Benchmark Corpus"}
STARTS = (
    datetime(2026, 11, 1, 3, tzinfo=UTC),
    datetime(2026, 11, 15, 3, tzinfo=UTC),
    datetime(2026, 11, 16, 3, tzinfo=UTC),
)

# key: (title, arXiv id, category, date, novelty)
PAPERS = {
    1: ("Alpha Paper", "2401.00001", "cs.LG", "2024-01-10", 9.0),
    2: ("Beta Paper", "2402.00002", "cs.CL", "2024-02-10", 7.0),
    3: ("Gamma Paper", "2403.00003", "stat.ML", "2024-03-10", 8.5),
    4: ("Delta Paper", "2404.00004", "cs.LG", "2024-04-10", 6.0),
    5: ("Epsilon Paper", "2405.00005", None, "2024-05-10", 8.0),
}
KEY = {n: f"arxiv:{p[1]}" for n, p in PAPERS.items()}


def paper(n: int, position: int, run: int) -> CitingEntry:
    title, arxiv, category, date, novelty = PAPERS[n]
    verdict = "accept" if n == 2 and run >= 2 else "unverdicted"
    return entry(title, position, arxiv=arxiv, category=category, date=date, novelty=novelty, verdict=verdict)


def hub_items(
    uuid: str,
    run: int,
    *,
    cited: list[int],
    tier: str,
    label: str,
    representative: list[int],
    roles: dict[str, list[int]],
    polarities: dict[str, list[int]],
    role_summary: dict[str, int],
) -> list[dict]:
    """A hub's pages in one run: its unfiltered page (every citing paper) and one page per role and polarity
    filter, listing the papers under it."""

    def listed(ns: list[int]) -> list[CitingEntry]:
        return [paper(n, i, run) for i, n in enumerate(ns)]

    common = {"citing_count": len(cited), "tier": tier, "label": label, "title_raw": TITLES[uuid]}
    pages = [
        hub_page(
            uuid,
            explorer=listed(cited),
            representative=listed(representative),
            role_summary=role_summary,
            polarity_summary={k: len(v) for k, v in polarities.items()},
            **common,
        )
    ]
    for facet, groups in (("role", roles), ("polarity", polarities)):
        pages += [hub_page(uuid, explorer=listed(ns), filters={facet: value}, **common) for value, ns in groups.items()]
    return [page_item(p) for p in pages]


def hub_b(run: int) -> list[dict]:
    return hub_items(
        HB,
        run,
        cited=[1, 3, 4],
        tier="super_hub",
        label="Tool reference",
        representative=[3],
        roles={"method": [1, 3], "background": [4]},
        polarities={"support": [1, 3]},
        role_summary={"method": 2, "background": 1},
    )


RUNS: tuple[list[dict], ...] = (
    hub_items(
        HA,
        1,
        cited=[1, 2, 3],
        tier="hub",
        label="Mixed citations",
        representative=[1],
        roles={"background": [1, 2], "method": [3]},
        polarities={"support": [1], "background": [2]},
        role_summary={"background": 2, "method": 1},
    )
    + hub_b(1)
    + hub_items(
        HC,
        1,
        cited=[2, 3, 4],
        tier="hub",
        label="Canonical reference",
        representative=[2],
        roles={"background": [2, 4], "method": [3]},
        polarities={"background": [2]},
        role_summary={"background": 2, "method": 1},
    ),
    hub_items(
        HA,
        2,
        cited=[1, 2, 3, 5],
        tier="hub",
        label="Mixed citations",
        representative=[1, 5],
        roles={"background": [1, 2], "method": [3, 5]},
        polarities={"support": [1, 5], "background": [2]},
        role_summary={"background": 2, "method": 2},
    )
    + hub_b(2)
    + hub_items(
        HC,
        2,
        cited=[2, 3],
        tier="super_hub",
        label="Dataset reference",
        representative=[2],
        roles={"background": [2], "method": [3]},
        polarities={"background": [2]},
        role_summary={"background": 1, "method": 1},
    ),
    [fetch_item(f"{BASE}/citations/{HC}", HC, outcome="failed", status=503)],
)


def load_runs(engine, tmp: Path, runs=RUNS, starts=STARTS) -> list[str]:
    """Each run through stage -> load_staged -> marts, as the nightly flow publishes it; the run ids."""
    ids = []
    for items, started in zip(runs, starts, strict=True):
        run_id = start_run(engine, "nightly", {}, started_at=started)
        stage_items(engine, run_id, write_items(tmp / f"{run_id}.jsonl", items))
        load_staged(engine, run_id, then=lambda conn, r=run_id: materialize_marts(conn, r))
        finish_run(engine, run_id, "completed", {})
        ids.append(run_id)
    return ids


def cookbook() -> list[tuple[str, str]]:
    """(heading, query) for every ```sql block of docs/queries.md, in page order."""
    page = QUERIES.read_text(encoding="utf-8")
    found = []
    for section in re.split(r"^## ", page, flags=re.M)[1:]:
        heading = section.splitlines()[0]
        for block in re.findall(r"```sql\n(.*?)```", section, flags=re.S):
            found.append((heading, block.strip().rstrip(";")))
    return found


def _normal(rows) -> list[tuple]:
    return [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse(request, tmp_path_factory):
    """The three runs loaded; `ask(query)` -> (columns, rows) as an analyst: on PostgreSQL a reader role."""
    tmp = tmp_path_factory.mktemp("cookbook")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'warehouse.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        runs = load_runs(engine, tmp)

        def ask(query: str):
            with engine.connect() as conn:
                result = conn.execute(text(query))
                return list(result.keys()), _normal(result)

        yield {"runs": runs, "ask": ask, "engine": engine}
        engine.dispose()
        return
    require_postgres()
    role = f"citehub_cookbook_{secrets.token_hex(4)}"
    with scratch_database() as name:
        url = pg_url_of(name)
        engine = make_engine(url)
        try:
            upgrade(engine)
            runs = load_runs(engine, tmp)
            with engine.begin() as conn:
                placement.execute_pg(conn, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
            grant_reader(engine, role)
            reader = make_url(url).set(drivername="postgresql", username=role).render_as_string(hide_password=False)

            def ask(query: str):
                with psycopg.connect(reader, autocommit=True) as conn:
                    cur = conn.execute(query)
                    return [d.name for d in cur.description], _normal(cur.fetchall())

            yield {"runs": runs, "ask": ask, "engine": engine}
        finally:
            engine.dispose()
            with psycopg.connect(pg_dsn(), autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


TWO_THIRDS = round(200 / 3, 6)  # percent: 2 of 3


def expected(runs: list[str]) -> dict[int, tuple[list[str], list[tuple]]]:
    """(columns, rows) of each cookbook query on this warehouse, by query number."""
    run1, run2, _run3 = runs
    return {
        # hub_summary: A grew to 4 citing papers, B has 3, C fell to 2
        1: (
            ["hub_uuid", "title", "tier", "label", "citing_count"],
            [
                (HA, "Attention Mechanisms", "hub", "Mixed citations", 4),
                (HB, "Gradient Toolkit", "super_hub", "Tool reference", 3),
                (HC, "Benchmark Corpus", "super_hub", "Dataset reference", 2),
            ],
        ),
        # super hubs now: B and C (C promoted in run 2), one label each
        2: (["label", "super_hubs"], [("Dataset reference", 1), ("Tool reference", 1)]),
        # current edges: A{1,2,3,5}, B{1,3,4}, C{2,3}; super hubs B and C
        3: (
            ["paper_key", "title", "hubs_cited", "super_hubs_cited"],
            [
                (KEY[3], "Gamma Paper", 3, 2),
                (KEY[1], "Alpha Paper", 2, 1),
                (KEY[2], "Beta Paper", 2, 1),
                (KEY[4], "Delta Paper", 1, 1),
                (KEY[5], "Epsilon Paper", 1, 0),
            ],
        ),
        # background in the role summary: A 2/3 -> 2/4, C 2/3 -> 1/2, B 1/3 -> 1/3 (not fallen); ties by hub
        4: (
            ["hub_uuid", "share_before", "share_now", "change"],
            [(HA, TWO_THIRDS, 50.0, round(50 - 200 / 3, 6)), (HC, TWO_THIRDS, 50.0, round(50 - 200 / 3, 6))],
        ),
        # earliest citing paper: A and B P1 (cs.LG, 2024-01-10), C P2 (cs.CL, 2024-02-10)
        5: (["category", "hubs_cited_first"], [("cs.LG", 2), ("cs.CL", 1)]),
        # cs.LG: A-P1, B-P1, B-P4; stat.ML: P3 under A, B, C; cs.CL: A-P2, C-P2; (none): A-P5
        6: (
            ["category", "citations", "hubs"],
            [("cs.LG", 3, 2), ("stat.ML", 3, 3), ("cs.CL", 2, 2), ("(none)", 1, 1)],
        ),
        # latest snapshot run is run 2 (run 3 fetched no page): A 3 -> 4; B unchanged; C 3 -> 2
        7: (["hub_uuid", "prev_run", "citing_count", "citing_delta"], [(HA, run1, 4, 1)]),
        8: (["hub_uuid", "tier_before", "tier_now", "run_date"], [(HC, "hub", "super_hub", "2026-11-15")]),
        # method share of current classified edges: A 2/4, B 2/3 (3 classified), C 1/2
        9: (
            ["hub_uuid", "title", "label", "method_citations", "share"],
            [(HB, "Gradient Toolkit", "Tool reference", 2, TWO_THIRDS)],
        ),
        # polarity of current edges: A support P1 P5, background P2; B support P1 P3; C background P2
        10: (
            ["label", "support", "with_polarity"],
            [("Dataset reference", 0, 1), ("Mixed citations", 2, 3), ("Tool reference", 2, 2)],
        ),
        # representative: A P1 (9.0) P5 (8.0), B P3 (8.5), C P2 (7.0: below 8)
        11: (
            ["hub_uuid", "paper_key", "title", "novelty"],
            [(HA, KEY[1], "Alpha Paper", 9.0), (HB, KEY[3], "Gamma Paper", 8.5), (HA, KEY[5], "Epsilon Paper", 8.0)],
        ),
        # P1 cites A and B, P2 A and C, P3 all three
        12: (["hub_a", "hub_b", "papers"], [(HA, HB, 2), (HA, HC, 2), (HB, HC, 1)]),
        # run 2, the last run with changes (run 3 only failed to fetch C): P5 new under A, C-P4 retired,
        # P2's verdict relabelled under A and C, C's tier and label
        13: (
            ["run_id", "change", "rows_changed"],
            [(run2, "label", 1), (run2, "new", 1), (run2, "relabelled", 2), (run2, "retired", 1), (run2, "tier", 1)],
        ),
    }


def test_every_cookbook_query_has_an_expected_answer():
    queries = cookbook()
    assert [h.split(".")[0] for h, _ in queries] == [str(n) for n in range(1, len(queries) + 1)]
    assert len(queries) == len(expected(["r1", "r2", "r3"]))


@pytest.mark.parametrize("number", range(1, 14))
def test_cookbook_query_gives_the_exact_answer(warehouse, number):
    heading, query = cookbook()[number - 1]
    assert heading.startswith(f"{number}. ")
    assert warehouse["ask"](query) == expected(warehouse["runs"])[number]


def test_the_latest_run_changed_nothing(warehouse):
    """What makes query 13 a question: the latest run's report is not empty, yet it changed nothing."""
    _run1, run2, run3 = warehouse["runs"]
    rows = warehouse["ask"]("SELECT run_id, change, COUNT(*) FROM change_report GROUP BY run_id, change")[1]
    assert sorted(r for r in rows if r[0] == run3) == [(run3, "incomplete", 1)]
    assert {r[1] for r in rows if r[0] == run2} == {"new", "retired", "relabelled", "tier", "label"}


def test_query_13_skips_later_runs_without_changes(tmp_path):
    """A fourth run that fetches hub B again, unchanged (no row in change_report), after the run that only
    failed: the answer is still run 2's."""
    engine = make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    upgrade(engine)
    runs = load_runs(engine, tmp_path, (*RUNS, hub_b(4)), (*STARTS, datetime(2026, 11, 17, 3, tzinfo=UTC)))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM change_report WHERE run_id = :r"), {"r": runs[3]}).scalar() == 0
        rows = [tuple(r) for r in conn.execute(text(cookbook()[12][1]))]
    engine.dispose()
    assert rows == expected(runs[:3])[13][1]
