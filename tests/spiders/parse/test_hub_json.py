"""parse_hub_json against the sample site's JSON twin and hand-made broken bodies."""

from __future__ import annotations

import json

import pytest

from samplesite.generator import build_site
from samplesite.render import render_hub_json
from spiders.parse.hub_json import parse_hub_json
from spiders.parse.records import ParseError

UUID = "0426219a-789e-4964-adc8-a04538510818"
URL = f"https://pith.science/citations/{UUID}.json"
BODY = {
    "work": {
        "id": UUID,
        "arxiv_id": "2106.09685",
        "doi": None,
        "title": "LoRA",
        "year": 2021,
        "venue": "ICLR",
        "authors": ["E. Hu"],
        "updated_at": "2026-06-01T00:00:00Z",
        "new_work_key": 1,
    },
    "hub": {
        "state": {
            "tier": "hub",
            "tier_reason": "pith_inbound>=10",
            "pith_inbound_count": 12,
            "external_cited_by_count": 9000,
            "distinct_field_count": 3,
            "first_pith_cited_at": "2025-01-02T00:00:00Z",
            "last_pith_cited_at": None,
            "new_state_key": "x",
        },
        "other": [1],
    },
    "links": {"self": "/citations/x.json"},
}


def test_known_fields_and_extra() -> None:
    got = parse_hub_json(json.dumps(BODY).encode(), URL).to_dict()
    assert got == {
        "hub_uuid": UUID,
        "title": "LoRA",
        "arxiv_id": "2106.09685",
        "doi": None,
        "year": 2021,
        "venue": "ICLR",
        "external_cited_by_count": 9000,
        "tier": "hub",
        "tier_reason": "pith_inbound>=10",
        "pith_inbound_count": 12,
        "distinct_field_count": 3,
        "first_pith_cited_at": "2025-01-02T00:00:00Z",
        "last_pith_cited_at": None,
        "updated_at": "2026-06-01T00:00:00Z",
        "extra": {
            "links": {"self": "/citations/x.json"},
            "work.authors": ["E. Hu"],
            "work.new_work_key": 1,
            "hub.other": [1],
            "hub.state.new_state_key": "x",
        },
    }


@pytest.mark.parametrize("body", [b"", b"{not json", b"[]", b'{"work": {}}', b'{"hub": {}}', b"\xff\xfe"])
def test_bad_json(body: bytes) -> None:
    with pytest.raises(ParseError) as err:
        parse_hub_json(body, URL)
    assert err.value.reason == "bad_json"


def test_uuid_mismatch() -> None:
    body = dict(BODY, work=dict(BODY["work"], id="214732c0-2edd-44a0-af9e-28184a2b8279"))
    with pytest.raises(ParseError) as err:
        parse_hub_json(json.dumps(body), URL)
    assert err.value.reason == "uuid_mismatch"


def test_not_a_json_url() -> None:
    with pytest.raises(ParseError) as err:
        parse_hub_json(json.dumps(BODY), URL.removesuffix(".json"))
    assert err.value.reason == "not_a_hub_url"


def test_every_sample_site_twin() -> None:
    site = build_site(hubs=30, seed=7, day=1)
    for hub in site.hubs:
        twin = render_hub_json(site, hub.uuid)
        got = parse_hub_json(json.dumps(twin), f"http://127.0.0.1:8000/citations/{hub.uuid}.json")
        state = twin["hub"]["state"]
        assert (got.hub_uuid, got.title, got.year, got.tier, got.pith_inbound_count) == (
            hub.uuid,
            twin["work"]["title"],
            twin["work"]["year"],
            state["tier"],
            state["pith_inbound_count"],
        )
        assert got.external_cited_by_count == state["external_cited_by_count"] == hub.external_cited_by_count
