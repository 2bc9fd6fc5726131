"""The data dictionary: every published column (of the tables and of the views) described, docs/warehouse.md
current, COMMENT ON on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, inspect
from typer.testing import CliRunner

from flows.cli import app
from schema import placement
from schema.engine import make_engine
from schema.migrate import upgrade
from schema.tables import metadata
from warehouse import docs


def test_every_published_column_has_meaning_and_source():
    assert docs.undocumented() == []


def test_a_column_without_description_is_reported():
    extra = Table(
        "new_mart",
        MetaData(),
        Column("hub_uuid", Text, comment="The hub."),
        Column("mystery", Integer),
        Column("vague", Integer, comment="Something."),
        info={"layer": "marts"},
    )
    assert docs.undocumented([extra]) == ["new_mart.mystery", "new_mart.vague"]


def test_every_published_view_is_declared_with_the_columns_it_really_has():
    declared = {v.name: [c.name for c in v.columns] for v in docs.documented_views()}
    assert (
        set(declared)
        == set(placement.published_views(metadata))
        == {
            "citation_as_of",
            "hub_as_of",
            "runs",
            "run_checks",
        }
    )
    assert docs.view_columns() == declared  # the views of a warehouse migrated to head, column for column
    assert sum(map(len, declared.values())) == 26 + 14 + 8


def test_an_undescribed_view_column_is_reported():
    real = docs.view_columns()
    assert docs.undocumented([], real) == []
    grown = {**real, "hub_as_of": [*real["hub_as_of"], "mystery"]}
    assert docs.undocumented([], grown) == ["hub_as_of.mystery"]
    assert docs.undocumented([], {**real, "new_view": ["as_of_run"]}) == ["new_view.as_of_run"]
    shrunk = {**real, "citation_as_of": real["citation_as_of"][:-1]}
    assert docs.undocumented([], shrunk) == ["citation_as_of.valid_to_run (not in the view)"]


def test_a_view_column_without_meaning_or_source_is_reported(monkeypatch):
    view = Table(
        "hub_as_of",
        MetaData(),
        Column("as_of_run", Text, comment="The run."),
        Column("hub_uuid", Text),
        Column("mystery", Integer, comment="Something."),
    )
    monkeypatch.setitem(docs.VIEWS, "hub_as_of", view)
    assert docs.undocumented([], {"hub_as_of": ["as_of_run", "hub_uuid", "mystery"]}) == [
        "hub_as_of.hub_uuid",
        "hub_as_of.mystery",
    ]


def test_cli_docs_refuses_an_undescribed_view_column(tmp_path, monkeypatch):
    real = docs.view_columns()
    monkeypatch.setattr(
        docs, "view_columns", lambda engine=None: {**real, "citation_as_of": [*real["citation_as_of"], "x"]}
    )
    out = tmp_path / "warehouse.md"
    result = CliRunner().invoke(app, ["docs", "--out", str(out), "--database-url", f"sqlite:///{tmp_path}/w.sqlite"])
    assert result.exit_code == 2
    assert "citation_as_of.x" in result.output
    assert not out.exists()


def test_docs_page_in_repo_is_up_to_date():
    assert docs.DOCS_PATH.read_text(encoding="utf-8") == docs.render(), "run `citehub docs` and commit"


def test_docs_page_names_every_published_table_and_view_and_their_columns():
    page = docs.render()
    sections = {s.splitlines()[0]: s for s in page.split("\n## ")[1:]}
    for table in placement.published_tables(metadata):
        assert f"[{table.name}](#{table.name})" in page
        for column in table.columns:
            assert f"| `{column.name}` |" in sections[table.name]
    for view, columns in docs.view_columns().items():
        assert f"[{view}](#{view}) (view)" in page
        assert sections[view].startswith(f"{view}\n\nView, ")
        for column in columns:
            line = next(x for x in sections[view].splitlines() if x.startswith(f"| `{column}` |"))
            meaning, source, values = (cell.strip() for cell in line.split(" | ")[2:5])
            assert meaning and source and values.rstrip(" |"), line


def test_cli_docs_writes_the_page(tmp_path):
    out = tmp_path / "warehouse.md"
    result = CliRunner().invoke(app, ["docs", "--out", str(out), "--database-url", f"sqlite:///{tmp_path}/w.sqlite"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == docs.render()


@pytest.mark.postgres
def test_comment_on_holds_the_documented_text(pg_url, tmp_path):
    upgrade(pg_url)
    result = CliRunner().invoke(app, ["docs", "--out", str(tmp_path / "w.md"), "--database-url", pg_url])
    assert result.exit_code == 0, result.output
    with make_engine(pg_url).connect() as conn:
        inspector = inspect(conn)
        for table in placement.published_tables(metadata):
            assert inspector.get_table_comment(table.name, schema="marts")["text"] == table.comment
            found = {c["name"]: c["comment"] for c in inspector.get_columns(table.name, schema="marts")}
            assert found == {c.name: docs.description(table, c) for c in table.columns}
        for view in docs.documented_views():
            assert inspector.get_table_comment(view.name, schema="marts")["text"] == view.comment
            found = {c["name"]: c["comment"] for c in inspector.get_columns(view.name, schema="marts")}
            assert found == {c.name: docs.description(view, c) for c in view.columns}
            assert all(found.values())
