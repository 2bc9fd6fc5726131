"""Shared fixtures: PostgreSQL availability rule, one Prefect test server per worker, temp PREFECT_HOME."""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest

# Prefect reads its home at import time: point it at a temp dir before anything imports prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="citehub-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

PG_ADMIN_URL = os.environ.get("CITEHUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=3):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def require_postgres() -> None:
    """In CI PostgreSQL must be there (fail); elsewhere skip with the reason."""
    problem = _pg_reachable()
    if problem is None:
        return
    message = f"PostgreSQL at 127.0.0.1:5432 unreachable ({problem})"
    if IN_CI:
        pytest.fail(message + " and CI=true: PostgreSQL tests must run in CI")
    pytest.skip(message)


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards (parallel-safe)."""
    require_postgres()
    import psycopg
    from psycopg import sql

    name = f"citehub_t_{uuid.uuid4().hex[:12]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def prefect_server():
    """One temporary Prefect API for the whole worker session (starting one costs 6-20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield
