"""spiders/settings.py turns off Scrapy's per-response check for generator callbacks that `return` a value
(it re-parsed the callback's source ~700 times per 2,000 responses); this test does that check once."""

import inspect

import pytest
from scrapy.utils.misc import is_generator_with_return_value

from spiders import settings
from spiders.hub import HubSpider


def _callbacks():
    return [
        name
        for name, fn in inspect.getmembers(HubSpider, inspect.isfunction)
        if name.startswith("parse") or name == "failed"
    ]


def test_every_callback_is_checked():
    assert sorted(_callbacks()) == ["failed", "parse", "parse_json", "parse_page", "parse_paper"]


@pytest.mark.parametrize("name", _callbacks())
def test_callbacks_never_return_a_value(name):
    assert not is_generator_with_return_value(getattr(HubSpider, name))


def test_per_response_overheads_are_off():
    assert settings.CONCURRENT_ITEMS == 1
    assert settings.WARN_ON_GENERATOR_RETURN_VALUE is False


@pytest.mark.parametrize("callback", ["parse_json", "parse_page"])
def test_an_unexpected_parser_exception_is_a_quarantine_with_its_fetch_row(callback, monkeypatch):
    """Fault injection: whatever a parser raises, the URL still ends in `fetch` (quarantined) with the cause."""
    from scrapy import Request
    from scrapy.http import TextResponse

    import spiders.hub as hub_module

    def broken(*_args, **_kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(hub_module, "parse_hub_json", broken)
    monkeypatch.setattr(hub_module, "parse_hub_page", broken)
    uuid = "0426219a-789e-4964-adc8-a04538510818"
    url = f"https://pith.science/citations/{uuid}" + (".json" if callback == "parse_json" else "")
    meta = {"hub_uuid": uuid, "hub_url": f"https://pith.science/citations/{uuid}", "filters": {}, "page": 1}
    request = Request(url, meta=meta)
    response = TextResponse(url, body=b"{}", encoding="utf-8", request=request)
    out = list(getattr(HubSpider(base_url="https://pith.science"), callback)(response))
    kinds = [(o["kind"], o.get("reason") or o.get("outcome")) for o in out if isinstance(o, dict)]
    assert kinds == [("quarantine", "parser_error"), ("fetch", "quarantined")]
    assert out[0]["detail"] == "RecursionError: maximum recursion depth exceeded"
