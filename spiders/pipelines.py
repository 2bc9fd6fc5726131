"""Item pipelines: small, single-purpose, each counting what it does in the crawl stats."""

from __future__ import annotations

from scrapy.crawler import Crawler

from spiders.parse.records import PARSER_VERSION


class StampRunPipeline:
    """Tags every item with the run that produced it and the parser version that made it."""

    def __init__(self, crawler: Crawler) -> None:
        self.run_id = crawler.settings.get("CITEHUB_RUN_ID")
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StampRunPipeline:
        return cls(crawler)

    def process_item(self, item: dict) -> dict:
        item["run_id"] = self.run_id
        item.setdefault("parser_version", PARSER_VERSION)
        self.stats.inc_value("citehub/items/stamped")
        return item


class CountItemsPipeline:
    """Counts items by kind (hub_page, hub_json, quarantine, fetch) and entries carried by pages."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CountItemsPipeline:
        return cls(crawler)

    def process_item(self, item: dict) -> dict:
        kind = item.get("kind", "unknown")
        self.stats.inc_value(f"citehub/items/{kind}")
        if kind == "hub_page":
            page = item["page"]
            self.stats.inc_value("citehub/entries", len(page["representative"]) + len(page["explorer"]))
        elif kind == "fetch":
            self.stats.inc_value(f"citehub/fetch/{item['outcome']}")
        return item
