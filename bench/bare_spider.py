"""The fetch baseline: a bare Scrapy spider that fetches a fixed URL list and discards the bodies.

Run with `scrapy runspider bench/bare_spider.py -a urls_file=FILE`; same concurrency as citehub's crawl,
no robots, no throttle, no archive, no parsing: what the transport alone costs.
"""

import scrapy


class BareSpider(scrapy.Spider):
    name = "bare"
    custom_settings = {
        "ROBOTSTXT_OBEY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False,
    }

    def __init__(self, urls_file: str, rss_file: str = "", *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.urls_file = urls_file
        self.rss_file = rss_file

    async def start(self):
        with open(self.urls_file, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield scrapy.Request(line.strip(), callback=self.discard)

    def closed(self, reason):
        if self.rss_file:  # own peak RSS, as citehub's crawl reports it (spiders/extensions.py)
            from spiders.peak_rss import peak_rss_bytes

            with open(self.rss_file, "w", encoding="ascii") as fh:
                fh.write(str(peak_rss_bytes() or 0))

    def discard(self, response):
        self.crawler.stats.inc_value("bare/bytes", len(response.body))
