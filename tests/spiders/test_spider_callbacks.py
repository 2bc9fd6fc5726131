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
    assert sorted(_callbacks()) == ["failed", "parse", "parse_json", "parse_page"]


@pytest.mark.parametrize("name", _callbacks())
def test_callbacks_never_return_a_value(name):
    assert not is_generator_with_return_value(getattr(HubSpider, name))


def test_per_response_overheads_are_off():
    assert settings.CONCURRENT_ITEMS == 1
    assert settings.WARN_ON_GENERATOR_RETURN_VALUE is False
