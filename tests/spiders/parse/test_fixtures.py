"""Every folder under tests/fixtures/parse: body.html (or body.json), url.txt, expected.json.

expected.json is HubPage.to_dict() / HubJson.to_dict(), or {"error": "<reason>"} for a page that must not parse.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spiders.parse.hub_html import parse_hub_page
from spiders.parse.hub_json import parse_hub_json
from spiders.parse.records import ParseError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "parse"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").exists())


def parse_case(folder: Path) -> dict:
    url = (folder / "url.txt").read_text(encoding="utf-8").strip()
    if (folder / "body.json").exists():
        return parse_hub_json((folder / "body.json").read_bytes(), url).to_dict()
    return parse_hub_page((folder / "body.html").read_bytes(), url).to_dict()


def test_the_fixture_set_is_complete() -> None:
    # Hand-written markups c (seed, legacy) and d (a "Tool reference" stat line, a legacy role summary) plus the
    # sample-site folders written by tests.fixtures.regenerate.
    hand_written = {"seed_hub_markup_c", "legacy_markup_c", "tool_reference_markup_d", "legacy_role_summary_markup_d"}
    assert hand_written <= set(CASES)
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    folder = FIXTURES / case
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    if "error" in expected:
        with pytest.raises(ParseError) as err:
            parse_case(folder)
        assert err.value.reason == expected["error"]
    else:
        assert parse_case(folder) == expected
