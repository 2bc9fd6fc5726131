"""Values no warehouse column can hold, and text that `str.isdigit` takes but `int` refuses: each page or
twin is quarantined with a reason (never a crash, never a number stored wrong), the same on every engine."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from spiders.parse.hub_html import parse_hub_page
from spiders.parse.hub_json import parse_hub_json
from spiders.parse.records import INT_MAX, ParseError
from tests.spiders.parse.test_hub_json import BODY, URL

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "parse" / "samplesite_current_a"
PAGE = (FIXTURE / "body.html").read_text(encoding="utf-8")
PAGE_URL = (FIXTURE / "url.txt").read_text(encoding="utf-8").strip()


def _twin(**state: object) -> bytes:
    body = copy.deepcopy(BODY)
    body["hub"]["state"].update(state)
    return json.dumps(body).encode()


@pytest.mark.parametrize("count", ["3,000,000,000", "100000000000000000000", f"{INT_MAX + 1}"])
def test_a_citing_count_no_column_holds_quarantines_the_page(count):
    assert "40 Pith papers citing it" in PAGE
    with pytest.raises(ParseError) as got:
        parse_hub_page(PAGE.replace("40 Pith papers citing it", f"{count} Pith papers citing it"), PAGE_URL)
    assert got.value.reason == "value_out_of_range"
    assert got.value.detail == f"citing_count {int(count.replace(',', ''))} outside 0..{INT_MAX}"


def test_the_largest_count_a_column_holds_still_parses():
    page = parse_hub_page(PAGE.replace("40 Pith papers citing it", f"{INT_MAX:,} Pith papers citing it"), PAGE_URL)
    assert page.citing_count == INT_MAX


@pytest.mark.parametrize("value", [3_000_000_000, 10**20])
def test_a_twin_count_no_column_holds_quarantines_the_twin(value):
    with pytest.raises(ParseError) as got:
        parse_hub_json(_twin(external_cited_by_count=value), URL)
    assert (got.value.reason, got.value.detail) == (
        "value_out_of_range",
        f"external_cited_by_count {value} outside 0..{INT_MAX}",
    )


def test_superscript_digits_are_not_numbers():
    """'²³'.isdigit() is True and int('²³') raises: such a year is no year, and the twin still parses."""
    body = copy.deepcopy(BODY)
    body["work"]["year"] = "²³"
    assert parse_hub_json(json.dumps(body).encode(), URL).year is None


def test_a_superscript_page_link_is_not_a_page_number():
    assert 'page=2">2<' in PAGE
    page = parse_hub_page(PAGE.replace('page=2">2<', 'page=2">²<'), PAGE_URL)
    assert page.page_numbers == [1]  # the current page, shown unlinked; "²" is not page 2
    assert page.next_page == 2  # the "next" link still says where the list goes on


def test_a_twin_nested_past_the_stack_is_bad_json():
    deep = b'{"work": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(ParseError) as got:
        parse_hub_json(deep, URL)
    assert (got.value.reason, got.value.detail) == ("bad_json", "nested too deeply")
