"""Lint: no SQL built from strings. A call of execute()/exec_driver_sql()/executescript()/text() whose
SQL argument is an f-string, a %-format, a .format() call or a string concatenation fails this test:
values go in as bound parameters, identifiers through SQLAlchemy constructs or psycopg.sql."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("spiders", "flows", "schema", "warehouse", "samplesite", "bench")
SQL_CALLS = frozenset({"execute", "exec_driver_sql", "executescript", "executemany", "text"})


def _constant(node: ast.expr) -> bool:
    """A module constant (UPPER_CASE name): `PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}` takes no
    bound parameters, and a constant is not data."""
    return isinstance(node, ast.Name) and node.id.isupper()


def _is_psycopg_sql(node: ast.expr) -> bool:
    """`sql.SQL("...").format(sql.Identifier(name))`: psycopg's own safe composition."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, (ast.Attribute, ast.Name))
        and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "SQL"
    )


def _built_from_strings(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) and not _constant(v.value) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and not _is_psycopg_sql(node.func.value)
    )


def violations(source: str, name: str) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called in SQL_CALLS and _built_from_strings(node.args[0]):
            out.append(f"{name}:{node.lineno}: {called}() with SQL built from strings")
    return out


def test_rule_catches_each_form():
    bad = [
        'conn.execute(f"SELECT {x}")',
        'text("SELECT " + x)',
        'cur.execute("SELECT %s" % x)',
        'conn.exec_driver_sql("SELECT {}".format(x))',
    ]
    for line in bad:
        assert violations(line, "t.py"), line
    good = [
        'conn.execute(text("SELECT :x"), {"x": x})',
        "conn.execute(select(t))",
        "text(sql)",
        'conn.execute(f"SELECT 1")',
        'cur.execute(f"PRAGMA busy_timeout={TIMEOUT_MS}")',
        'conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))',
    ]
    for line in good:
        assert not violations(line, "t.py"), line


def test_no_sql_built_from_strings():
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found += violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == []
