"""The data dictionary: every published column described, docs/warehouse.md current, COMMENT ON on PostgreSQL."""

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


def test_docs_page_in_repo_is_up_to_date():
    assert docs.DOCS_PATH.read_text(encoding="utf-8") == docs.render(), "run `citehub docs` and commit"


def test_docs_page_names_every_published_table_and_column():
    page = docs.render()
    for table in placement.published_tables(metadata):
        assert f"## {table.name}\n" in page
        for column in table.columns:
            assert f"| `{column.name}` |" in page


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
