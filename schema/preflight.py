"""Configuration checked before a command does anything (no flow, no temporary Prefect server, no crawl):
the warehouse's URL and database, a data directory, and the site to crawl. Each problem is one `BadConfig`
line naming the setting, its value (password redacted) and what to do; exit code 2.

It sits with the schema because it checks what the schema needs: a reachable database this citehub's
migrations know.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from schema.engine import make_engine, redacted
from schema.errors import CitehubError

CONNECT_TIMEOUT_S = 5


class BadConfig(CitehubError):
    """A setting that cannot work as given."""

    exit_code = 2


def check_database(url: str, setting: str = "CITEHUB_DATABASE_URL", must_exist: bool = False) -> None:
    """The URL parses, the database answers, and its migration is one this citehub knows (older is fine:
    commands that write upgrade it). `must_exist`: a SQLite file must already be there (read-only commands
    never create one)."""
    try:
        parsed = make_url(url)
        shown = redacted(url)
    except ArgumentError:
        raise BadConfig(
            f"{setting}: not a database URL; expected sqlite:///path/to/file.sqlite or "
            "postgresql+psycopg://user@host:5432/database"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BadConfig(f"{setting}={shown}: citehub stores its warehouse in SQLite or PostgreSQL, not {backend}")
    if backend == "sqlite":
        _check_sqlite_file(parsed.database, shown, setting, must_exist)
        if parsed.database and parsed.database != ":memory:" and not Path(parsed.database).exists():
            return  # its folder takes it; connecting would create an empty file
    try:
        engine = make_engine(url) if backend == "sqlite" else _pg_engine(url)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise BadConfig(f"{setting}={shown}: {exc}") from None
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            _check_revision(conn, shown, setting)
    except DBAPIError as exc:
        raise BadConfig(f"{setting}={shown}: {_first_line(exc)}; {_advice(exc)}") from None
    finally:
        engine.dispose()


def _pg_engine(url: str) -> Engine:
    """A throwaway engine that gives up on an unreachable server in CONNECT_TIMEOUT_S."""
    return create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _check_sqlite_file(database: str | None, shown: str, setting: str, must_exist: bool) -> None:
    if not database or database == ":memory:":
        return
    path = Path(database)
    if must_exist and not path.exists():
        raise BadConfig(f"{setting}={shown}: no warehouse there; run `citehub refresh` or `citehub demo` first")
    folder = path.parent if str(path.parent) else Path(".")
    if not path.exists() and not folder.is_dir():
        raise BadConfig(f"{setting}={shown}: folder {folder} does not exist; create it or fix the URL")
    if not path.exists() and not os.access(folder, os.W_OK):
        raise BadConfig(f"{setting}={shown}: folder {folder} is not writable; fix its permissions or the URL")


def _check_revision(conn: Connection, shown: str, setting: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from schema.migrate import alembic_config

    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        return
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except CommandError:
        raise BadConfig(
            f"{setting}={shown}: the warehouse is at migration {current}, which this citehub does not know "
            "(a newer citehub migrated it): upgrade citehub"
        ) from None


def _first_line(exc: DBAPIError) -> str:
    return (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]


def _advice(exc: DBAPIError) -> str:
    said = str(exc.orig).lower()
    if "does not exist" in said and "database" in said:
        return "create the database (createdb) or fix the URL"
    if "password" in said or "authentication" in said:
        return "check the user and password (PGPASSWORD or ~/.pgpass keep it out of the URL)"
    if "connection refused" in said or "timeout" in said or "could not translate host" in said:
        return "is the server running and reachable from here? check host and port"
    return "check the URL and the database"


def check_data_dir(path: Path, setting: str = "CITEHUB_DATA_DIR") -> None:
    """The data directory exists (or can be made) and takes a file."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".citehub-write-check-"):
            pass
    except OSError as exc:
        raise BadConfig(
            f"{setting}={path}: not writable ({exc.strerror or type(exc).__name__}); "
            "point it at a writable folder or fix its permissions"
        ) from None


def check_base_url(
    url: str, setting: str = "CITEHUB_BASE_URL", refusal: Callable[[str], str | None] | None = None
) -> None:
    """The site is an http(s) URL, and, given the crawl's own host guard as `refusal` (the URL -> why the
    crawl would refuse it, or None; `spiders.middlewares.refusal` with the run's allowlist), one the crawl
    fetches. The allowlist always holds the base URL's host, but the guard still refuses a name that resolves
    to a non-public address (`http://myhost:8123` where myhost is 127.0.1.1) and an IPv6 address with a port:
    a run would refuse every request and fetch nothing."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadConfig(f"{setting}={url}: not an http(s) URL of a site, e.g. https://pith.science")
    why = refusal(url) if refusal is not None else None
    if why:
        raise BadConfig(f"{setting}={url}: the crawl would refuse every request to it: {why}")
