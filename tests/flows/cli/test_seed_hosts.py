"""Seeds on another host than the site being crawled (issue 18): `backfill --hubs hubs.txt` logged "4 hubs from
https://pith.science", fetched nothing and exited 0. Such a seed is refused before any run, naming it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app

UUID = "0c6c5d40-5c8d-4d5c-9d0e-3f1f1b9a7e11"


@pytest.mark.parametrize(
    "command",
    [
        ["refresh", "--base-url", "http://127.0.0.1:8123", "--hub", f"https://pith.science/citations/{UUID}"],
        ["backfill", "--base-url", "http://127.0.0.1:8123", "--hubs", "hubs.txt"],
    ],
    ids=["refresh", "backfill"],
)
def test_a_seed_on_another_host_is_refused_with_what_to_do(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hubs.txt").write_text(f"https://pith.science/citations/{UUID}\n")
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    result = CliRunner().invoke(app, [*command, "--database-url", url], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert f"seed https://pith.science/citations/{UUID} is on pith.science, but the crawl fetches" in said
    assert "pass --base-url https://pith.science (or set CITEHUB_BASE_URL)" in said
    assert not (tmp_path / "w.sqlite").exists()  # refused before anything started


def test_a_bare_uuid_seed_takes_the_base_url(tmp_path, monkeypatch):
    """The same seed as a bare uuid is on the crawled site whatever it is: accepted (the flow then runs;
    here it fails to reach a closed port, which is the run's business, not the option check's)."""
    from flows.cli import _base, _seed_hosts
    from spiders.parse.hubref import hub_url

    base = "http://127.0.0.1:8123"
    _seed_hosts([hub_url(UUID, base)], base, "--hub")
    monkeypatch.setenv("CITEHUB_BASE_URL", base)
    assert _base(None) == base
