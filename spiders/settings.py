"""Scrapy settings for the citehub crawl: all transport policy lives here, not in the spider.

The flow runs `scrapy crawl hub` with SCRAPY_SETTINGS_MODULE=spiders.settings and passes per-run
values (`-s CITEHUB_RUN_DIR=...`, allowlist, concurrency) on the command line.
"""

import os
from pathlib import Path

from spiders.config import PITH_HOSTS

BOT_NAME = "citehub"
SPIDER_MODULES = ["spiders.hub"]
NEWSPIDER_MODULE = "spiders"

# Identify ourselves with a contact URL, as a polite crawler should.
USER_AGENT = "citehub/0.1 (+https://github.com/citehub/citehub; citation-warehouse crawler)"
ROBOTSTXT_OBEY = True

# Politeness: AutoThrottle adapts the delay to the server's latency. On loopback the latency is negligible,
# so the sample site is crawled at full speed; against pith.science the delay grows with its latency.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 4.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 8
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
# A hub page is ~100 KB at most; anything past 16 MB is not a hub page.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_ENABLED = True
REDIRECT_MAX_TIMES = 5
# The crawl must see 404s to account for them in the fetch table.
HTTPERROR_ALLOWED_CODES = [404, 410]
COOKIES_ENABLED = False

# spiders/middlewares.py: allowlist on every hop and on the resolved address, RFC 9309 robots.txt with
# Crawl-delay, Retry-After-aware retries. The guard replaces Scrapy's offsite filter, which ignores ports
# and drops an offsite redirect at scheduling without calling the errback (the URL would go unaccounted).
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "spiders.middlewares.HostGuardMiddleware": 40,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "spiders.middlewares.PolicyRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.middlewares.RetryAfterMiddleware": 550,
    # below HttpCompressionMiddleware (590): sees the decompressed body
    "spiders.middlewares.CharsetMiddleware": 585,
    # If-None-Match / If-Modified-Since from the run's validators file (spiders/conditional.py)
    "spiders.conditional.ConditionalRequestsMiddleware": 590,
    # last before the download, after DefaultHeaders/HttpAuth could have re-added credentials
    "spiders.middlewares.CredentialScrubMiddleware": 960,
    # counts (and caps) what reaches the network: after everything that refuses or answers a request itself
    "spiders.middlewares.RequestBudgetMiddleware": 965,
    # closest to the download: one request at a time to a host whose robots.txt asks a Crawl-delay
    "spiders.middlewares.CrawlDelayMiddleware": 970,
}
# Every request this crawl sends counts against CITEHUB_REQUEST_BUDGET (robots.txt, retries and redirects
# included); past it a request is refused and recorded as skipped, which leaves its hub incomplete. 0 = none.
CITEHUB_REQUEST_BUDGET = 0
CITEHUB_PLAN_FILE = ""  # JSON hub uuid -> requests its pages are expected to take (the run plan's), or ""
# Discovery: the paper page of each citing paper not in CITEHUB_KNOWN_PAPERS_FILE (written by the flow per run)
# is fetched once, for the hub links of its reference list (spiders/hub.py).
CITEHUB_PAPER_PAGES = True
CITEHUB_KNOWN_PAPERS_FILE = ""
CITEHUB_VALIDATORS_FILE = ""  # JSON url -> {etag, last_modified}, written by the flow per run; "" = none
CITEHUB_RETRY_AFTER_MAX = 120.0  # seconds; a longer Retry-After gives up instead of retrying early
CITEHUB_RETRY_BACKOFF = 0.25  # seconds before the first retry of a 5xx without Retry-After, doubling
CITEHUB_CRAWL_DELAY_MAX = 60.0  # seconds; robots.txt Crawl-delay above this is capped (with a warning)
# No control port in a crawl: neither the telnet console nor Scrapy 2.19's remote-control HTTP server
# (on by default, a token-guarded port on localhost; nothing of ours uses it).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Per-response overheads that buy us nothing, found by profiling a no-change nightly (all 304s):
# - Scrapy runs each callback's output through CONCURRENT_ITEMS (default 100) asyncio workers, created
#   afresh per response. Our pipelines are synchronous, so one worker does the same work.
# - Scrapy re-reads and re-parses a callback's source (inspect.getsource + ast) whenever its weak cache
#   of bound methods misses, which happens for many responses. Our callbacks never `return` a value
#   (tests/spiders/test_spider_callbacks.py checks it), so the warning it looks for cannot fire.
CONCURRENT_ITEMS = 1
WARN_ON_GENERATOR_RETURN_VALUE = False

# Depth-first by hub: finish a hub's pages before opening many more, so memory stays flat.
DEPTH_PRIORITY = 0
SCHEDULER_PRIORITY_QUEUE = "scrapy.pqueues.ScrapyPriorityQueue"

EXTENSIONS = {
    # AutoThrottle that also learns from 304s (spiders/conditional.py): a no-change nightly is all 304s
    "scrapy.extensions.throttle.AutoThrottle": None,
    "spiders.conditional.NotModifiedAwareAutoThrottle": 0,
    "spiders.extensions.WarcArchive": 100,
    "spiders.extensions.StatsJson": 200,
    "spiders.progress.CrawlProgress": 300,
    "spiders.frontier.FrontierIdle": 400,  # only with a shared Redis frontier (spiders/fleet.py)
    "spiders.extensions.ParentWatch": 500,  # only when launched by spiders/crawl.py (CITEHUB_PARENT_PID)
}
CITEHUB_FRONTIER_LOST_SECONDS = 30.0  # a shared frontier unreachable this long fails the crawl
CITEHUB_PARENT_PID = 0  # the launcher's pid (spiders/crawl.py sets it): the crawl ends when it dies
CITEHUB_PARENT_WATCH_INTERVAL = 0.5  # seconds between checks
ITEM_PIPELINES = {
    "spiders.pipelines.StampRunPipeline": 100,
    "spiders.pipelines.CountItemsPipeline": 900,
}

# Scrapy's HTTP cache (its HttpCacheMiddleware, 900: after the allowlist, robots.txt and the conditional
# headers, before the credential scrub and Crawl-delay), for iterating on parsers only: `-s HTTPCACHE_ENABLED=1`
# on a scrapy shell / parse / crawl command line (README "Working on the parsers"). Off here, so off in every
# product run: spiders/crawl.py passes no HTTPCACHE_* setting, and a cache in an environment variable would
# reach `citehub refresh`'s crawl too. 304s and the codes retried are never cached (a cached 304 or 503 would
# stand for the page), so a validators file (spiders/conditional.py) meets a cached 200 at worst.
HTTPCACHE_ENABLED = False
HTTPCACHE_DIR = str(Path(os.environ.get("CITEHUB_DATA_DIR") or "data").resolve() / "httpcache")  # not .scrapy/
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.DummyPolicy"  # what was fetched once is served until deleted
HTTPCACHE_IGNORE_HTTP_CODES = [304, *RETRY_HTTP_CODES]

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

# citehub's own settings (overridden per run by the flow)
CITEHUB_RUN_DIR = "data/runs/adhoc"
CITEHUB_RUN_ID = "adhoc"
CITEHUB_ALLOWED_HOSTS = PITH_HOSTS
CITEHUB_WARC_MAX_BYTES = 512 * 1024 * 1024
# Per hub, whatever its pages say (spiders/hub.py): role or polarity values followed a facet, and requests
# a hub may make (0: derived from its declared count); past either, the hub is recorded and incomplete.
CITEHUB_MAX_FILTER_VALUES = 24
CITEHUB_HUB_REQUEST_CEILING = 0
# The derived ceiling's absolute maximum: the declared count is the page's own word (2^31-1 would allow
# billions). The sample site's largest hub (1,246 citations, 63 pages of 20) derives 245; 2,000 covers a hub
# of about 13,000 citations.
CITEHUB_HUB_REQUEST_MAX = 2000
# Paper pages (discovery) a hub's pages may queue in one crawl: at most the citing papers it declares, and at
# most this; the papers past it are recorded (citehub/papers/not_followed) and asked for by a later crawl.
CITEHUB_HUB_PAPER_PAGES_MAX = 2000
CITEHUB_START_BATCH = 64  # hubs handed to the scheduler at a time (spiders/hub.py start); 0 = all at once
CITEHUB_PROGRESS_INTERVAL = 1.0  # seconds between progress lines in <run dir>/progress.jsonl; 0 turns it off
