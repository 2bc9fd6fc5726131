"""`citehub status`, `citehub hub` and `citehub report` for a PostgreSQL reader role (issue 18): the role made by
`citehub db grant-reader` reads the published relations only, and gets the owner's answers from them.

The warehouse: the real nightly flow over sample-site days 1..3 (16 hubs), then a fourth run, `degraded`, that
asks for two hubs: one the site does not have (its fetch fails: a hub never fetched completely) and one whose
JSON twin fails (its snapshot is incomplete: it was last fetched completely by run 3). Each command runs
twice, with the owner's URL and with the reader's, and the two outputs are compared.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from bs4 import BeautifulSoup
from psycopg import errors, sql
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.report_html import CHARTS, READER_RUNS_CAPTION
from samplesite.control import post
from samplesite.generator import build_site
from samplesite.server import serving
from samplesite.truth import truth
from schema import placement
from schema.engine import make_engine
from schema.migrate import upgrade
from tests.conftest import pg_url_of, require_postgres, scratch_database
from tests.flows.cli.test_ops_hub import changed_days
from warehouse import queries as ops
from warehouse.grants import grant_reader
from warehouse.runs import finish_run, start_run

pytestmark = pytest.mark.postgres

HUBS, SEED, DAYS = 16, 7, 3
MISSING = "dddddddd-0000-4000-8000-00000000000d"  # asked for by the last run; the site has no such hub


def _reader_role(owner_url: str) -> tuple[str, str]:
    """A LOGIN role granted as reader of the warehouse at `owner_url`: (role, its URL)."""
    role = f"citehub_reader_{secrets.token_hex(4)}"
    engine = make_engine(owner_url)
    with engine.begin() as conn:
        placement.execute_pg(conn, sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    grant_reader(engine, role)
    return role, make_url(owner_url).set(username=role).render_as_string(hide_password=False)


def _drop_role(owner_url: str, role: str) -> None:
    engine = make_engine(owner_url)
    with engine.begin() as conn:
        for statement in ("DROP OWNED BY {}", "DROP ROLE {}"):
            placement.execute_pg(conn, sql.SQL(statement).format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, prefect_server):
    """The owner's and the reader's URLs of a warehouse built by four real nightly runs, with the runs' reports,
    the site's truth of the last day and the hub fetched incompletely by the last run."""
    from flows.nightly import nightly_refresh

    require_postgres()
    root = tmp_path_factory.mktemp("reader")
    with scratch_database() as name:
        owner = pg_url_of(name)
        reports = []
        for day in range(1, DAYS + 1):
            site = build_site(hubs=HUBS, seed=SEED, day=day)
            with serving(site) as base_url:
                reports.append(
                    nightly_refresh(
                        base_url=base_url,
                        hubs=[h.uuid for h in site.hubs] if day == 1 else None,
                        database_url=owner,
                        data_dir=str(root / "data"),
                        include_known=day > 1,
                    )
                )
                if day == DAYS:
                    partial = site.hubs[1].uuid
                    post(base_url, "fail", {"path": f"/citations/{partial}.json", "status": 404})
                    reports.append(
                        nightly_refresh(
                            base_url=base_url,
                            hubs=[partial, MISSING],
                            database_url=owner,
                            data_dir=str(root / "data"),
                            include_known=False,
                            conditional=False,  # fetch its pages, not just a 304 on the twin
                        )
                    )
        role, reader = _reader_role(owner)
        try:
            yield {
                "owner": owner,
                "reader": reader,
                "data_dir": root / "data",
                "reports": reports,
                "truth": truth(site),
                "root": root,
                "partial": partial,
            }
        finally:
            for url in (owner, reader):
                make_engine(url).dispose()
            _drop_role(owner, role)


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_reader_reads_no_core_table(warehouse):
    """The premise: the reader's connection cannot read the run table, so the commands must do without it."""
    conninfo = make_url(warehouse["reader"]).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn, pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SELECT COUNT(*) FROM citehub.run")
    assert ops.published_only(make_engine(warehouse["reader"]))
    assert not ops.published_only(make_engine(warehouse["owner"]))


def test_status_as_the_reader_equals_the_owners(warehouse, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    shown = {
        who: _invoke(
            ["status", "--database-url", warehouse[who], "--data-dir", str(warehouse["data_dir"]), "--stale-days", "0"]
        )
        for who in ("owner", "reader")
    }
    owner, reader = shown["owner"], shown["reader"]
    assert [r["status"] for r in warehouse["reports"]] == ["completed"] * DAYS + ["degraded"]
    assert sorted(warehouse["reports"][-1]["incomplete_hubs"]) == sorted([warehouse["partial"], MISSING])
    # every run listed with its kind and outcome, newest first, in the same table
    rows = re.findall(r"│ (\S+) +│ (\w+) +│ (\w+) +│", reader)
    assert rows == [(r["run_id"], "nightly", r["status"]) for r in warehouse["reports"][::-1]]
    assert f"freshness: 0 of {HUBS + 1} hubs refreshed in the last 0 days, {HUBS + 1} stale" in reader
    # the database line names the role's own URL; its size is readable (the role may CONNECT), not unknown
    database = re.compile(r"^database: \S+ \((\d+(\.\d)? [KMGT]?B)\)$", re.MULTILINE)
    assert database.search(reader) and database.search(owner), reader
    # the frontier is internal (the owner sees its line, the reader does not); everything else alike
    owner = "".join(line for line in owner.splitlines(keepends=True) if not line.startswith("frontier: "))
    assert database.sub("database", reader) == database.sub("database", owner)


def test_stale_hubs_and_runs_as_the_reader_equal_the_owners(warehouse):
    """Beyond the ten stale hubs status prints: every one, the hub never fetched completely included."""
    owner, reader = make_engine(warehouse["owner"]), make_engine(warehouse["reader"])
    runs = ops.recent_runs(reader, 10)
    assert runs == ops.recent_runs(owner, 10)
    assert runs[-1].new > 0 and runs[0].new == 0  # the first run saw every citation, the failed one none
    later = runs[0].started_at + timedelta(days=1)
    stale = ops.stale_hubs(reader, 0.5, now=later)
    assert stale == ops.stale_hubs(owner, 0.5, now=later)
    never = [s for s in stale if s.never_complete]
    assert [(s.hub_uuid, s.last_seen_run) for s in never] == [(MISSING, runs[0].run_id)]
    # the hub the last run fetched incompletely was last fetched completely by the run before
    assert [s.last_seen_run for s in stale if s.hub_uuid == warehouse["partial"]] == [runs[1].run_id]
    assert ops.hub_count(reader) == ops.hub_count(owner) == HUBS + 1


def _largest_titled_hub(warehouse) -> dict:
    return max((h for h in warehouse["truth"]["hubs"] if h["title"]), key=lambda h: (h["citing_count"], h["uuid"]))


@pytest.mark.parametrize("by", ["uuid", "title", "missing hub", "incomplete hub"])
def test_hub_as_the_reader_equals_the_owners(warehouse, monkeypatch, by):
    monkeypatch.setenv("COLUMNS", "200")
    hub = _largest_titled_hub(warehouse)
    ref = {
        "uuid": hub["uuid"],
        "title": hub["title"],
        "missing hub": MISSING[:8],
        "incomplete hub": warehouse["partial"],
    }[by]
    owner, reader = (_invoke(["hub", ref, "--database-url", warehouse[who]]) for who in ("owner", "reader"))
    assert reader == owner
    if by == "missing hub":  # never fetched completely: known by its uuid, no figures, one failed run
        assert f"hub {MISSING}: tier stub, label –" in reader
        assert "History: 0 runs changed its figures" in reader
        return
    truths = [truth(build_site(hubs=HUBS, seed=SEED, day=day)) for day in range(1, DAYS + 1)]
    if by == "incomplete hub":  # the runs that changed its figures, then the last run's incomplete fetch
        days = changed_days(truths, warehouse["partial"])
        assert f"History: {len(days) + 1} runs changed its figures" in reader
        complete = re.findall(r"│ (yes|no) +│$", reader, re.MULTILINE)
        assert complete == ["yes"] * len(days) + ["no"], reader
        return
    assert reader.startswith(f"{hub['title']}\n")
    assert f"hub {hub['uuid']}: tier {hub['tier'] or 'stub'}, label {hub['label'] or '–'}" in reader
    assert f"citing papers {hub['citing_count']} declared, {hub['citing_count']} held" in reader
    days = changed_days(truths, hub["uuid"])
    assert f"History: {len(days)} runs changed its figures" in reader
    for day in days:
        assert warehouse["reports"][day]["run_id"] in reader


def test_hub_lookup_as_the_reader_refuses_alike(warehouse):
    """An ambiguous title lists the same candidates; an unknown one is not found, for both."""
    for ref, code in (("a", 2), ("zzzz qqqq wwww", 1)):
        results = [CliRunner().invoke(app, ["hub", ref, "--database-url", warehouse[w]]) for w in ("owner", "reader")]
        assert [r.exit_code for r in results] == [code, code]
        assert results[0].output == results[1].output


def test_report_as_the_reader_equals_the_owners(warehouse):
    pages = {}
    for who in ("owner", "reader"):
        out = warehouse["root"] / f"{who}.html"
        assert _invoke(["report", "--out", str(out), "--database-url", warehouse[who]]).startswith("wrote ")
        pages[who] = BeautifulSoup(out.read_text(encoding="utf-8"), "html.parser")
    reader = pages["reader"]
    figures = {who: {f["data-chart"]: f for f in page.find_all("figure")} for who, page in pages.items()}
    assert list(figures["reader"]) == list(CHARTS)
    for chart in CHARTS:  # every chart drawn alike (matplotlib's ids are salted: same data, same SVG)
        assert str(figures["reader"][chart].find("svg")) == str(figures["owner"][chart].find("svg")), chart
    # what a reader cannot be shown is said, not drawn as zero
    assert figures["reader"]["run-history"].find("figcaption").get_text() == READER_RUNS_CAPTION
    assert figures["owner"]["run-history"].find("figcaption").get_text() != READER_RUNS_CAPTION
    table = {who: page.find("table", id="change-report") for who, page in pages.items()}
    assert str(table["reader"]) == str(table["owner"])
    latest = warehouse["reports"][DAYS - 1]["run_id"]  # the last completed run's changes
    assert f"Latest change report: run {latest}" in reader.get_text()
    first = {who: re.sub(r"generated .* UTC", "", page.find("p").get_text()) for who, page in pages.items()}
    assert first["reader"] == first["owner"] == f"{HUBS + 1} hubs, {DAYS + 1} runs shown; ."


def test_a_replays_duration_is_unavailable_to_a_reader(pg_url):
    """A replay's duration is the sum of its stage timings, kept in the run's summary (core): the reader's run
    list shows none for it and the owner's everything else alike."""
    upgrade(pg_url)
    owner = make_engine(pg_url)
    crawl = start_run(owner, "nightly", {}, datetime(2026, 12, 1, 3, tzinfo=UTC))
    finish_run(owner, crawl, "completed", {"pages_fetched": 5, "requests": 9, "failed_fetches": 1, "quarantined": 2})
    replay = start_run(owner, "reparse", {"replay_of": crawl}, datetime(2026, 12, 1, 3, tzinfo=UTC))
    finish_run(owner, replay, "completed", {"pages_fetched": 5, "requests": 0, "timings": {"load": 1.25}})
    role, reader_url = _reader_role(pg_url)
    try:
        reader = make_engine(reader_url)
        mine, theirs = ops.recent_runs(owner), ops.recent_runs(reader)
        assert [r.duration_s for r in mine if r.run_id == replay] == [1.2]
        assert [(r.run_id, r.duration_s, r.replay_of) for r in theirs if r.replay_of] == [(replay, None, crawl)]
        assert [{**r.as_dict(), "duration_s": None} for r in theirs] == [
            {**r.as_dict(), "duration_s": None} for r in mine
        ]
        assert [r.errors for r in theirs if r.run_id == crawl] == [3]
        reader.dispose()
    finally:
        _drop_role(pg_url, role)
        owner.dispose()
