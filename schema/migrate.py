"""Run the Alembic migrations of schema/migrations programmatically."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from schema.engine import make_engine

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the warehouse at `url_or_engine` up to `revision` (creates every table on an empty database)."""
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


def head_revision() -> str:
    """The newest migration: what `upgrade()` brings a warehouse to."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads ({', '.join(heads)}): make them one chain")
    return heads[0]


def current_revision(url: str) -> str | None:
    """The migration the warehouse at `url` is at (Alembic's version table); None before any."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def history() -> list[tuple[str, str]]:
    """Every migration, newest first: (revision, its one-line description)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return [(s.revision, (s.doc or "").strip()) for s in scripts.walk_revisions()]
