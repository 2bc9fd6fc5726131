"""Shared fixtures: PostgreSQL availability rule, one Prefect test server per worker, temp PREFECT_HOME."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

# Prefect reads its home at import time: point it at a temp dir before anything imports prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="citehub-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

# The one PostgreSQL every test uses: CITEHUB_TEST_PG_URL (a SQLAlchemy URL of a database the user may create
# databases from), by default the CI machine's server.
PG_ADMIN_URL = os.environ.get("CITEHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_url_of(database: str | None = None, **parts: str) -> str:
    """The SQLAlchemy URL of `database` (default: the admin database) on the test server, with other `parts`
    (username, password) replaced."""
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL)
    return url.set(database=database or url.database, **parts).render_as_string(hide_password=False)


def pg_dsn(database: str | None = None) -> str:
    """The same server as a libpq connection string for psycopg (admin user)."""
    from sqlalchemy.engine import make_url

    return make_url(pg_url_of(database)).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(pg_dsn(), connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def require_postgres() -> None:
    """In CI PostgreSQL must be there (fail); elsewhere skip with the reason."""
    problem = _pg_reachable()
    if problem is None:
        return
    from sqlalchemy.engine import make_url

    message = f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string()} unreachable ({problem})"
    if IN_CI:
        pytest.fail(message + " and CI=true: PostgreSQL tests must run in CI")
    pytest.skip(message)


@contextmanager
def scratch_database(prefix: str = "citehub_t") -> Iterator[str]:
    """A new, empty database on the test server (unique name: parallel-safe), dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(pg_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    require_postgres()
    with scratch_database() as name:
        yield pg_url_of(name)


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect API for the whole worker session (starting one costs 6-20 s; on a busy machine
    much more: the limit is the one `citehub` commands wait, flows.server.STARTUP_TIMEOUT_S)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.server import STARTUP_TIMEOUT_S

    with prefect_test_harness(server_startup_timeout=STARTUP_TIMEOUT_S):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that runs a real Prefect flow (it needs the test server) is slow, marked or not:
    `make test-fast` leaves them all out."""
    for item in items:
        if "prefect_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
