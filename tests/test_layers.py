"""The rooms and which way imports run between them (README "Layout"): every import, at module level or inside
a function, of every module in the product's packages is checked against the layer it lives in."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("schema", "spiders", "warehouse", "flows", "samplesite")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def room(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _forbidden(path: Path) -> tuple[str, ...]:
    """Package prefixes the module at `path` must not import."""
    name = room(path)
    if name.startswith("schema"):
        return ("spiders", "warehouse", "flows", "samplesite", "scrapy", "prefect")
    if name.startswith("spiders.parse"):
        return ("schema", "warehouse", "flows", "samplesite", "scrapy", "prefect", "sqlalchemy", "twisted")
    if name.startswith("spiders"):
        return ("warehouse", "flows", "samplesite", "prefect")
    if name.startswith("warehouse"):
        # siblings of the crawl: only its pure parsers are shared
        return ("flows", "samplesite", "prefect", "scrapy", "twisted", *_crawl_modules())
    if name.startswith("flows.cli"):
        return ()  # the top: checked separately for the sample site
    if name.startswith("flows"):
        # orchestration only: no SQL, and nothing from the CLI above it
        return ("flows.cli", "samplesite", "sqlalchemy", "scrapy")
    return ()


def _crawl_modules() -> tuple[str, ...]:
    return tuple(
        room(p) for p in modules("spiders") if not room(p).startswith("spiders.parse") and p.stem != "__init__"
    )


# Allowed below a forbidden prefix: the errors' base sits beside the tables so the pure parsers can raise its
# subclasses; orchestration may name an Engine in a signature, never build SQL.
EXEMPT = {"schema.errors", "schema.errors.CitehubError", "sqlalchemy", "sqlalchemy.Engine"}


def _hits(imported: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(i for i in imported - EXEMPT if any(i == f or i.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("package", ["schema", "spiders", "warehouse", "flows"])
def test_imports_run_one_way(package):
    wrong = {
        room(path): _hits(imports_of(path), _forbidden(path))
        for path in modules(package)
        if _hits(imports_of(path), _forbidden(path))
    }
    assert wrong == {}


def test_the_sample_site_is_imported_only_by_its_own_command():
    """The product's CLI imports `samplesite` inside the `samplesite` command group alone, never at load."""
    cli = ROOT / "flows" / "cli" / "__init__.py"
    tree = ast.parse(cli.read_text(encoding="utf-8"))
    module_level = {
        alias.name if isinstance(node, ast.Import) else node.module
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not [m for m in module_level if m and m.startswith("samplesite")]
    users = [room(p) for p in modules("flows") if any(i.startswith("samplesite") for i in imports_of(p))]
    assert users == ["flows.cli"]


def test_flows_hold_no_sql_text():
    """Orchestration modules name no SQL: every statement lives in warehouse/ or schema/."""
    words = ("SELECT ", "INSERT ", "UPDATE ", "DELETE FROM", "CREATE TABLE", "ANALYZE")
    found = {
        room(p): [w for w in words if w in p.read_text(encoding="utf-8")]
        for p in modules("flows")
        if any(w in p.read_text(encoding="utf-8") for w in words)
    }
    assert found == {}
