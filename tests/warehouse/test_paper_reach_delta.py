"""paper_reach by delta (issue 17): a run adds to each paper's published figures what its changed edges and
hubs changed, instead of recounting every current edge of every paper its hubs list; the mart still equals
a full rebuild exactly, on SQLite and PostgreSQL, and the run rewrites only the rows whose values moved (the
`run_id` column names the run that last computed a row).

Covered here, beyond the five nights of tests/warehouse/test_mart_increments_days.py: hubs moving to and
from super_hub while edges to them stay current (one paper gains and loses one at once: its row is left
alone), a 304 twin and an incomplete fetch showing another tier (the hub's row keeps its tier), a paper
losing its last current edge, a paper's first one, a title and category change, a relabel that classifies
a citation, a hub whose first complete fetch follows incomplete ones (its tier before the run is on no
published row: its papers are recounted in full), and a paper cited by many hubs of which one changes.
"""

from __future__ import annotations

from sqlalchemy import text

from tests.warehouse.conftest import BASE, entry, fetch_item, hub_page, page_item
from tests.warehouse.marts_equality import differences
from tests.warehouse.test_mart_increments import _hub, _run

A = "aaaaaaaa-0000-4000-8000-0000000000a1"  # hub -> super_hub in run 2
B = "bbbbbbbb-0000-4000-8000-0000000000b1"  # super_hub throughout; run 2 only its twin's 304
C = "cccccccc-0000-4000-8000-0000000000c1"  # relabels P3, lists P4 under a new title and category
D = "dddddddd-0000-4000-8000-0000000000d1"  # drops P5 (its only hub), lists P6 (new)
E = "eeeeeeee-0000-4000-8000-0000000000e1"  # run 2: an incomplete fetch showing super_hub
F = "ffffffff-0000-4000-8000-0000000000f1"  # super_hub -> hub in run 2, back in run 3
G = "99999999-0000-4000-8000-000000000091"  # incomplete (super_hub) in run 1, first complete (hub) in run 2


def _paper(n: int, **kw) -> object:
    kw.setdefault("category", "cs.LG")
    kw.setdefault("date", f"2026-0{1 + n % 9}-10")
    return entry(kw.pop("title", f"Paper {n}"), 0, arxiv=f"2401.{n:05d}", **kw)


def _key(n: int) -> str:
    return f"arxiv:2401.{n:05d}"


def _incomplete(uuid: str, papers: list, tier: str) -> list[dict]:
    """A fetch of `uuid` whose explorer showed fewer papers than the hub declares (nothing retired)."""
    return [page_item(hub_page(uuid, citing_count=len(papers) + 5, explorer=papers, tier=tier))]


def _reach(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT paper_key, title, category, hubs_cited, super_hubs_cited, classified_citations, run_id "
                "FROM paper_reach"
            )
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_paper_reach_moves_by_delta_and_equals_the_rebuild(engine, tmp_path):
    p = {n: _paper(n) for n in range(1, 11)}
    p4_moved = _paper(4, title="Paper 4 Revised", category="cs.CL")
    first = _run(
        engine,
        tmp_path,
        1,
        _hub(A, [p[1], p[2], p[3], p[9]], roles={"background": [p[1]]})
        + _hub(B, [p[1], p[8]], tier="super_hub")
        + _hub(C, [p[3], p[4]])
        + _hub(D, [p[5]])
        + _hub(E, [p[7]])
        + _hub(F, [p[3], p[8], p[9]], tier="super_hub")
        + _incomplete(G, [p[10]], tier="super_hub"),
    )
    assert differences(engine, first) == {}
    before = _reach(engine)
    assert before[_key(10)][3] == 1  # G is super_hub in `hub`, though never fetched completely
    assert before[_key(3)][2:5] == (3, 1, 0)

    not_modified = fetch_item(f"{BASE}/citations/{B}.json", B, outcome="not_modified", status=304)
    second = _run(
        engine,
        tmp_path,
        2,
        _hub(A, [p[1], p[2], p[9]], tier="super_hub", roles={"background": [p[1]]})  # P3 retired from A
        + [not_modified]
        + _hub(C, [p[3], p4_moved], roles={"method": [p[3]]})
        + _hub(D, [p[6]])
        + _incomplete(E, [p[7]], tier="super_hub")
        + _hub(F, [p[3], p[8], p[9]], tier="hub")
        + _hub(G, [p[10]], tier="hub"),
    )
    assert differences(engine, second) == {}
    after = _reach(engine)
    assert _key(5) not in after  # its last current edge retired
    assert after[_key(6)] == ("Paper 6", "cs.LG", 1, 0, 0, second)  # its first current edge
    assert after[_key(1)][2:] == (2, 2, 1, second)  # A became a super hub: its edge to P1 stayed current
    assert after[_key(2)][2:] == (1, 1, 0, second)
    assert after[_key(3)][2:] == (2, 0, 1, second)  # off A, F no longer super, classified on C
    assert after[_key(4)] == ("Paper 4 Revised", "cs.CL", 1, 0, 0, second)  # its row changed, no edge
    assert after[_key(8)][2:] == (2, 1, 0, second)  # F no longer super, B still (its 304 kept its tier)
    assert after[_key(10)][2:] == (1, 0, 0, second)  # G's tier before the run: recounted in full
    # untouched: P7 (E's incomplete fetch showed super_hub, the hub keeps its tier), P9 (A up, F down)
    assert after[_key(7)] == before[_key(7)]
    assert after[_key(9)] == before[_key(9)]
    assert {k for k, row in after.items() if row[-1] == second} == {_key(n) for n in (1, 2, 3, 4, 6, 8, 10)}

    # run 3: F back to super_hub, nothing else
    third = _run(engine, tmp_path, 3, _hub(F, [p[3], p[8], p[9]], tier="super_hub"))
    assert differences(engine, third) == {}
    last = _reach(engine)
    assert {k for k, row in last.items() if row[-1] == third} == {_key(3), _key(8), _key(9)}
    assert [last[_key(n)][3] for n in (3, 8, 9)] == [1, 2, 2]


def test_a_paper_cited_by_many_hubs_moves_by_what_one_hub_changed(engine, tmp_path):
    """The run adds its delta to the published row and does not recount the paper's edges: a count planted
    in the published row (drift) comes out shifted by the delta, and a full rebuild then corrects it."""
    popular = _paper(1)
    hubs = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 31)]
    items: list[dict] = []
    for n, uuid in enumerate(hubs):
        items += _hub(uuid, [popular, _paper(100 + n)], tier="super_hub" if n % 3 == 0 else "hub")
    first = _run(engine, tmp_path, 1, items)
    assert differences(engine, first) == {}
    assert _reach(engine)[_key(1)][2:] == (30, 10, 0, first)

    # one hub classifies its citation of the popular paper (relabel), another drops it
    second = _run(
        engine,
        tmp_path,
        2,
        _hub(hubs[1], [popular, _paper(101)], roles={"method": [popular]}) + _hub(hubs[3], [_paper(103)], "super_hub"),
    )
    assert differences(engine, second) == {}
    reach = _reach(engine)
    assert reach[_key(1)][2:] == (29, 9, 1, second)
    assert {k for k, row in reach.items() if row[-1] == second} == {_key(1)}

    with engine.begin() as conn:  # drift the published row by hand
        conn.execute(text("UPDATE paper_reach SET hubs_cited = 1000 WHERE paper_key = :k"), {"k": _key(1)})
    third = _run(engine, tmp_path, 3, _hub(hubs[2], [popular, _paper(102)], tier="super_hub"))
    assert _reach(engine)[_key(1)][2:] == (1000, 10, 1, third)  # delta applied: super +1, no recount
    assert set(differences(engine, third)) == {"paper_reach"}
