"""Configuration errors a user can act on (issue 18): a malformed CITEHUB_DATABASE_URL, a database that does
not exist, an unreachable server, a data directory that takes no file. Each used to be 40-600 lines of
traceback 30-45 s after the command started (after Prefect's temporary server). Now: checked first, one line
naming the setting, its value (password redacted) and what to do; exit 2; `--debug` shows the traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from flows.cli import app
from schema.preflight import BadConfig

ROOT = Path(__file__).resolve().parents[3]


def _run(args: list[str], tmp_path: Path) -> tuple[int, list[str], float]:
    started = time.monotonic()
    result = CliRunner().invoke(app, args, env={"COLUMNS": "400", "CITEHUB_DATA_DIR": str(tmp_path / "data")})
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result.exit_code, lines, time.monotonic() - started


@pytest.mark.parametrize("command", [["refresh", "--hub", "0c6c5d40-5c8d-4d5c-9d0e-3f1f1b9a7e11"], ["status"]])
def test_a_malformed_database_url_is_one_line(tmp_path, command):
    code, lines, took = _run([*command, "--database-url", "not a url"], tmp_path)
    assert code == 2
    assert lines == [
        "error: --database-url/CITEHUB_DATABASE_URL: not a database URL; expected sqlite:///path/to/file.sqlite "
        "or postgresql+psycopg://user@host:5432/database"
    ]
    assert took < 10


def test_a_sqlite_folder_that_does_not_exist(tmp_path):
    url = f"sqlite:///{tmp_path}/nowhere/w.sqlite"
    code, lines, _ = _run(["refresh", "--database-url", url], tmp_path)
    assert (code, lines) == (
        2,
        [
            f"error: --database-url/CITEHUB_DATABASE_URL={url}: folder {tmp_path}/nowhere does not exist; create it "
            "or fix the URL"
        ],
    )


@pytest.mark.postgres
def test_a_database_that_does_not_exist_and_a_server_that_does_not_answer(tmp_path, pg_url):
    missing = make_url(pg_url).set(database="citehub_no_such_database", password="s3cret-pw")
    code, lines, took = _run(["refresh", "--database-url", missing.render_as_string(hide_password=False)], tmp_path)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: --database-url/CITEHUB_DATABASE_URL={missing.render_as_string()}: ")
    assert 'database "citehub_no_such_database" does not exist' in lines[0]
    assert lines[0].endswith("create the database (createdb) or fix the URL")
    assert "s3cret-pw" not in lines[0] and "***" in lines[0]
    assert took < 10
    closed = make_url(pg_url).set(port=1)
    code, lines, took = _run(["status", "--database-url", closed.render_as_string(hide_password=False)], tmp_path)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].endswith("is the server running and reachable from here? check host and port")
    assert took < 10


def test_a_data_directory_that_takes_no_file(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    code, lines, _ = _run(["refresh", "--database-url", url, "--data-dir", str(blocker / "data")], tmp_path)
    assert (code, lines) == (
        2,
        [
            f"error: --data-dir/CITEHUB_DATA_DIR={blocker / 'data'}: not writable (Not a directory); point it at a "
            "writable folder or fix its permissions"
        ],
    )


def test_a_read_only_data_directory_as_a_user_meets_it(tmp_path):
    """A read-only file system (mounted in a namespace of the command's own): one line, before any server."""
    data = tmp_path / "data"
    data.mkdir()
    script = 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"'
    env = {**os.environ, "COLUMNS": "400"}
    command = [sys.executable, "-m", "flows.cli", "refresh", "--database-url", f"sqlite:///{tmp_path / 'w.sqlite'}"]
    started = time.monotonic()
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, str(data), *command, "--data-dir", str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.strip() == (
        f"error: --data-dir/CITEHUB_DATA_DIR={data}: not writable (Read-only file system); point it at a "
        "writable folder or fix its permissions"
    )
    assert time.monotonic() - started < 15


def test_debug_shows_the_traceback(tmp_path):
    result = CliRunner().invoke(app, ["--debug", "status", "--database-url", "not a url"])
    assert isinstance(result.exception, BadConfig)
    os.environ.pop("CITEHUB_DEBUG", None)  # --debug sets it for the process


def _private_name() -> tuple[str, str]:
    """This machine's host name and the non-public address it resolves to (skip when it has none)."""
    import socket

    from spiders.middlewares import is_public

    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError as exc:
        pytest.skip(f"host name {name} does not resolve ({exc})")
    if is_public(address):
        pytest.skip(f"host name {name} resolves to the public address {address}")
    return name, address


ALLOWLIST = "pith.science, www.pith.science"  # CITEHUB_ALLOWED_HOSTS by default


UUID = "0c6c5d40-5c8d-4d5c-9d0e-3f1f1b9a7e11"


@pytest.mark.parametrize(
    "command",
    [["refresh", "--hub", UUID], ["backfill", "--hubs", UUID], ["discover", "--seeds", "seeds.txt"]],
    ids=["refresh", "backfill", "discover"],
)
def test_a_base_url_the_crawl_would_refuse_is_one_line(tmp_path, command, monkeypatch):
    """Issue 18's "base URL allowed": the run's allowlist always holds the base URL's host, but the crawl's host
    guard still refuses a name that resolves to a non-public address and an IPv6 address with a port. Such a
    run used to end `failed` after a Prefect server and a crawl that fetched nothing."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CITEHUB_ALLOWED_HOSTS", raising=False)
    (tmp_path / "seeds.txt").write_text(UUID + "\n")
    args = [*command, "--database-url", f"sqlite:///{tmp_path / 'w.sqlite'}"]
    name, address = _private_name()
    setting = "error: --base-url/CITEHUB_BASE_URL"
    cases = {
        f"http://{name}:8123": f"{name} resolves to the non-public address {address}, which the crawl fetches "
        f"only from a URL naming the address itself: use http://{address}:8123",
        "http://[::1]:8123": f"::1 port 8123 matches no entry of the crawl's host allowlist (::1:8123, {ALLOWLIST}): "
        "add [::1]:8123 to CITEHUB_ALLOWED_HOSTS",
    }
    for base_url, why in cases.items():
        code, lines, took = _run([*args, "--base-url", base_url], tmp_path)
        assert (code, lines) == (2, [f"{setting}={base_url}: the crawl would refuse every request to it: {why}"])
        assert took < 10
    assert not (tmp_path / "w.sqlite").exists()  # refused before anything ran


def test_the_base_url_check_is_the_crawls_own_judgement(tmp_path):
    """What preflight refuses, a real crawl of the sample site refuses: every request, with the same reason; what
    it lets through, the crawl fetches."""
    from samplesite.generator import build_site
    from samplesite.server import serving
    from spiders.crawl import allowed_hosts_for, run_crawl
    from spiders.middlewares import refusal

    name, _ = _private_name()
    site = build_site(hubs=1, seed=7, day=1)
    outcomes = {}
    with serving(site) as served:
        port = served.rsplit(":", 1)[1]
        for n, base_url in enumerate((served, f"http://{name}:{port}", f"http://[::1]:{port}")):
            allowed = allowed_hosts_for(base_url)
            hub = f"{base_url}/citations/{site.hubs[0].uuid}"
            crawl = run_crawl(f"20260101T00000{n}Z-abcdef", tmp_path / str(n), base_url, [hub], allowed, 2)
            guard = {k.rsplit("/", 1)[-1]: v for k, v in crawl.stats.items() if k.startswith("citehub/guard/refused/")}
            outcomes[base_url] = (
                refusal(base_url, allowed) is None,
                guard,
                crawl.stats.get("citehub/fetch/parsed", 0) > 0,
            )
    assert outcomes == {
        served: (True, {}, True),
        f"http://{name}:{port}": (False, {"private_address": 2}, False),
        f"http://[::1]:{port}": (False, {"host_not_allowed": 2}, False),
    }
