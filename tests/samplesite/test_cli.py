from __future__ import annotations

import json

from typer.testing import CliRunner

from samplesite.cli import app
from samplesite.generator import build_site
from samplesite.truth import truth


def test_truth_and_seeds_commands(tmp_path):
    runner = CliRunner()
    out = tmp_path / "truth.json"
    result = runner.invoke(app, ["truth", "--hubs", "25", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(truth(build_site(25, 5))))
    result = runner.invoke(app, ["seeds", "--hubs", "3", "--base-url", "http://127.0.0.1:8/"])
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"http://127.0.0.1:8/citations/{h.uuid}" for h in build_site(3).hubs]
