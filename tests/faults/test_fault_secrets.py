"""The database password never leaves the process: a real nightly (`citehub refresh`, the production entry
point, warehouse URL from CITEHUB_DATABASE_URL) against PostgreSQL with a password-bearing URL, then every
place the run wrote is searched for the password: the run folder (crawl.log, stats.json, items.jsonl,
progress, WARC), the run table, captured log records and terminal output, and the Prefect API (flow and
task runs with their parameters, logs, artifacts, events). So is the error of a run that cannot connect.

PostgreSQL on 127.0.0.1 uses trust authentication: the password is not checked, but it is in the URL,
which is all a leak needs.
"""

from __future__ import annotations

import gzip
import json
import logging
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from samplesite.generator import build_site
from samplesite.server import serving
from schema import tables as t
from schema.engine import make_engine
from tests.conftest import pg_dsn, pg_url_of

pytestmark = pytest.mark.slow


class _Records(logging.Handler):
    """Every log record of the process, formatted, with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.texts.append(text)


@pytest.fixture
def records():
    import flows.nightly  # noqa: F401  (importing prefect configures logging: add ours after that)

    handler = _Records()
    # The run loggers too (tests set PREFECT_LOGGING_LEVEL=WARNING): their INFO lines reach the API as well.
    names = ["", "prefect", "prefect.flow_runs", "prefect.task_runs", "flows", "sqlalchemy"]
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.name != "sqlalchemy":
            lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture
def secret_url(pg_url):
    """pg_url's database, owned by a fresh login role with a password; (url, password)."""
    import psycopg
    from psycopg import sql

    role = f"citehub_pw_{uuid.uuid4().hex[:10]}"
    password = f"S3cr3t-P@ss-{uuid.uuid4().hex[:8]}"
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password)))
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(sql.Identifier(database), sql.Identifier(role)))
    url = pg_url_of(database, username=role, password=password)
    yield url, password
    with psycopg.connect(pg_dsn(database), autocommit=True) as conn:
        conn.execute(sql.SQL("REASSIGN OWNED BY {} TO postgres").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
    with psycopg.connect(pg_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(database)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _forms(password: str) -> list[str]:
    """The password as it could appear: plain, URL-encoded, and its distinctive tail."""
    return [password, quote(password, safe=""), password.rsplit("-", 1)[1]]


def _files(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        out[str(path.relative_to(root))] = data.decode("utf-8", errors="replace")
    return out


def _prefect_api() -> dict[str, str]:
    """Everything the Prefect API holds about runs: JSON text per endpoint."""
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value()
    out = {}
    with httpx.Client(base_url=api, timeout=30) as client:
        for endpoint in (
            "flow_runs/filter",
            "task_runs/filter",
            "logs/filter",
            "artifacts/filter",
            "deployments/filter",
        ):
            response = client.post(f"/{endpoint}", json={"limit": 200})
            response.raise_for_status()
            out[endpoint] = response.text
        events = client.post("/events/filter", json={"limit": 50})
        if events.status_code == 200:
            out["events/filter"] = events.text
    return out


def _leaks(password: str, places: dict[str, str]) -> list[str]:
    return sorted(f"{name}: {form!r}" for name, text in places.items() for form in _forms(password) if form in text)


def test_password_appears_nowhere_after_a_nightly_and_a_failed_one(
    secret_url, tmp_path, prefect_server, records, monkeypatch, capfd
):
    from flows.cli import app

    url, password = secret_url
    site = build_site(hubs=4, seed=7, day=1)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("CITEHUB_DATABASE_URL", url)
    runner = CliRunner()
    with serving(site) as base_url:
        args = ["refresh", "--base-url", base_url, "--data-dir", str(data_dir), "--no-known"]
        for hub in site.hubs:
            args += ["--hub", hub.uuid]
        ok = runner.invoke(app, args)
        assert ok.exit_code == 0, ok.output + repr(ok.exception)
        # the same run against a database that does not exist: it must fail, and say so without the password
        monkeypatch.setenv("CITEHUB_DATABASE_URL", url.rsplit("/", 1)[0] + "/citehub_no_such_db")
        bad = runner.invoke(app, args)
    assert bad.exit_code == 2  # checked before anything runs: bad configuration
    error = bad.output
    assert "citehub_no_such_db" in error and "does not exist" in error  # the error names what went wrong

    with make_engine(url).connect() as conn:
        run_rows = [json.dumps(dict(r), default=str) for r in conn.execute(select(t.run)).mappings()]
        fetch_errors = [r for (r,) in conn.execute(select(t.fetch.c.error)) if r]
    assert len(run_rows) == 1 and '"completed"' in run_rows[0]
    captured = capfd.readouterr()
    places = {
        **{f"run folder/{name}": text for name, text in _files(data_dir).items()},
        "run table": "\n".join(run_rows),
        "fetch errors": "\n".join(fetch_errors),
        "cli output": ok.output,
        "failed cli output": bad.output,
        "failed run error": error,
        "log records": "\n".join(records.texts),
        "stdout": captured.out,
        "stderr": captured.err,
        **{f"prefect api/{name}": text for name, text in _prefect_api().items()},
    }
    # the places searched are the real ones: the run wrote its files, logs and Prefect records
    assert {"crawl.log", "stats.json", "items.jsonl"} <= {Path(name).name for name in places}
    assert any("nightly-refresh" in text for name, text in places.items() if name.startswith("prefect api"))
    assert any("run-summary" in text for name, text in places.items() if name.startswith("prefect api"))
    assert len(records.texts) > 10
    # and the URL's user is there where the run names its warehouse (redacted, not removed)
    assert any(url.split("//")[1].split(":")[0] in text for text in records.texts)
    assert _leaks(password, places) == []
