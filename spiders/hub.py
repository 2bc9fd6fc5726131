"""The hub spider: navigation only. For every hub it fetches the JSON twin, the page, every explorer
page, and the role- and polarity-filtered lists (the only place a citation's role or polarity shows). For
discovery it also fetches, once and after the hub pages, the paper page of every citing paper the warehouse
does not know (CITEHUB_PAPER_PAGES, CITEHUB_KNOWN_PAPERS_FILE): a new paper's references are what create new
hubs, and its hub links go to the frontier like a hub page's.

Parsing is delegated to the pure functions in `spiders.parse`; transport policy (robots, throttling,
retries, allowlist, size limit) lives in settings and middlewares.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.python.failure import Failure
from w3lib.url import add_or_replace_parameters

from spiders import settings as default_settings
from spiders.conditional import load_validators
from spiders.config import PITH_HOSTS
from spiders.crawl import allowed_hosts_for
from spiders.middlewares import AllowEntry, Refused, RequestBudgetMiddleware
from spiders.parse.hub_html import parse_hub_page
from spiders.parse.hub_json import parse_hub_json
from spiders.parse.hubref import hub_url, read_seeds
from spiders.parse.links import hub_links
from spiders.parse.paperref import KnownPapers, is_paper_url, paper_path, paper_ref
from spiders.parse.records import HubPage, ParseError
from spiders.parse.urls import hub_json_url, hub_page_url

# Filters whose lists assign a value to each citation: facet name -> query parameter.
_LABELLING_FILTERS = {"roles": "role", "polarities": "polarity"}
# Paper pages wait for hub pages: below any hub page, a hub page's retries (-1 each) and redirects included.
PAPER_PRIORITY = -10


DEFAULT_EXPECTED_REQUESTS = 8  # a hub's pages, when the plan has no figure for it


def _load_expected(path: str | None) -> dict[str, int]:
    """The run plan's expected requests per hub (a JSON object uuid -> requests), written by the flow."""
    if not path:
        return {}
    return {str(k): int(v) for k, v in json.loads(Path(path).read_text(encoding="utf-8")).items()}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _requested_url(request) -> str:
    """The URL the spider asked for: fetch rows account for it, not for where redirects led."""
    return (request.meta.get("redirect_urls") or [request.url])[0]


class HubSpider(scrapy.Spider):
    name = "hub"

    def __init__(
        self,
        seeds_file: str | None = None,
        hub_urls: str | None = None,
        base_url: str = "https://pith.science",
        *args,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url.rstrip("/")
        refs: list[str] = []
        if seeds_file:
            refs.extend(read_seeds(Path(seeds_file)))
        if hub_urls:
            refs.extend(u for u in hub_urls.split(",") if u.strip())
        # Deduplicated, order kept: a hub named twice is crawled once.
        self.hub_urls = list(dict.fromkeys(hub_url(ref, self.base_url) for ref in refs))
        self.validators: dict[str, dict[str, str]] = {}  # url -> etag/last_modified of the last complete fetch
        # False when replaying an archive: pages are read back, nothing is requested (nor counted)
        self.follow = True
        # Hosts whose hub links count as the site's (discovery); the crawl's allowlist once it has one.
        self.link_hosts = sorted({*PITH_HOSTS, *allowed_hosts_for(self.base_url)})
        # Discovery: the paper page of every citing paper neither known to the warehouse (the known-papers
        # file, 8 bytes a paper) nor requested already in this crawl (a set that grows with new papers only).
        self.paper_pages = bool(default_settings.CITEHUB_PAPER_PAGES)
        self.known_papers = KnownPapers()
        self.papers_requested: set[str] = set()
        self.papers_pending: list[str] = []  # refs of paper pages to ask for at idle: strings, not Requests
        self.hubs_waiting: list[str] = []  # planned hubs the budget could not start yet (`_idle`)
        # the request budget's ledger (spiders.middlewares.RequestBudgetMiddleware), when the crawl has one
        self.budget: Any = None
        self.expected: dict[str, int] = {}  # hub uuid -> requests its full fetch is expected to take (the plan's)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # Scrapy's offsite filter takes bare host names; ports are enforced by spiders.middlewares.
        spider.allowed_domains = sorted(
            {AllowEntry.parse(h).host for h in crawler.settings.getlist("CITEHUB_ALLOWED_HOSTS") if h}
        )
        spider.validators = load_validators(crawler.settings.get("CITEHUB_VALIDATORS_FILE"))
        allowed = [h for h in crawler.settings.getlist("CITEHUB_ALLOWED_HOSTS") if h]
        if allowed:
            spider.link_hosts = allowed
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        spider.expected = _load_expected(crawler.settings.get("CITEHUB_PLAN_FILE"))
        spider.paper_pages = crawler.settings.getbool("CITEHUB_PAPER_PAGES")
        if spider.paper_pages:
            spider.known_papers = KnownPapers.load(crawler.settings.get("CITEHUB_KNOWN_PAPERS_FILE") or None)
        return spider

    async def start(self):
        # Scrapy reads start() eagerly while the downloader is busy, so every hub's first requests would sit
        # in the scheduler at once and the crawl's memory would grow with the site. Hand hubs over a batch
        # at a time instead, when the scheduler runs dry (Scrapy's documented lazy-start pattern).
        batch = self.settings.getint("CITEHUB_START_BATCH")
        for number, url in enumerate(self.hub_urls):
            if batch and number and number % batch == 0:
                await self.crawler.signals.wait_for(signals.scheduler_empty)
            requests = self._hub_requests(url)
            if requests is None:
                self.hubs_waiting.append(url)  # tried again once the crawl is idle, with what is left
                continue
            for request in requests:
                yield request

    def _hub_requests(self, url: str) -> list[scrapy.Request] | None:
        """A hub's first requests: its JSON twin, and its page 1 when it has no validators (no twin to ask
        first: every page now, if the budget can pay for all of them); None when the budget cannot."""
        uuid = urlsplit(url).path.rsplit("/", 1)[-1]
        validators = self.validators.get(url + ".json")
        meta: dict[str, Any] = {"hub_uuid": uuid}
        if validators:
            # The JSON twin is the hub's change signal: its pages follow only when it changed.
            meta |= {"validators": validators, "pages_after_twin": True, "hub_url": url}
            return [scrapy.Request(url + ".json", callback=self.parse_json, errback=self.failed, meta=meta)]
        promise = self._promise(self._expected_requests(uuid) + 1)
        if promise is None:
            return None
        meta["budget"] = promise
        twin = scrapy.Request(url + ".json", callback=self.parse_json, errback=self.failed, meta=meta)
        return [twin, self._page(url, uuid, {}, 1, budget=promise)]

    def _expected_requests(self, uuid: str) -> int:
        """Requests the hub's pages are expected to take (the plan's figure, else a typical hub's)."""
        return max(1, self.expected.get(uuid, DEFAULT_EXPECTED_REQUESTS))

    def _admit(self, requests: int) -> bool:
        if self.budget is None and getattr(self, "crawler", None) is not None:
            self.budget = self.crawler.get_downloader_middleware(RequestBudgetMiddleware) or False
        return not self.budget or self.budget.admit(requests)

    def _promise(self, requests: int) -> dict[str, int] | None:
        """The hub's budget dict (its request ceiling, and the requests the run's budget promised it), shared by
        its requests; None when the run's budget cannot promise them."""
        if not self._admit(requests):
            return None
        return {"used": 0, "ceiling": self._ceiling(1), "promised": requests if self.budget else 0}

    def _idle(self) -> None:
        """Every hub started is done, and what the budget promised them and they did not use is free again:
        the hubs the budget could not start go now if they fit (the plan's estimates are cautious), then
        the paper pages the hub pages listed, with what is left."""
        if not (self.hubs_waiting or self.papers_pending):
            return
        if self.budget is None:
            self._admit(0)
        if self.budget:
            self.budget.release()
        waiting, self.hubs_waiting = self.hubs_waiting, []
        started = False
        for url in waiting:
            requests = self._hub_requests(url)
            if requests is None:
                self.hubs_waiting.append(url)  # again at the next idle, if those started now leave room
                continue
            started = True
            for request in requests:
                self.crawler.engine.crawl(request)
        if started:
            raise DontCloseSpider
        self.hubs_waiting = []  # none of them fits in what is left: another night's
        pending, self.papers_pending = self.papers_pending, []
        for ref in pending:
            self.crawler.engine.crawl(self._paper_request(ref))
        if pending:
            raise DontCloseSpider

    def _page(
        self,
        hub: str,
        uuid: str,
        filters: dict[str, str],
        page: int,
        listed_up_to: int = 0,
        unique: bool = False,
        pages: int | None = None,
        budget: dict[str, int] | None = None,
    ) -> scrapy.Request:
        """A request for one page of one list of a hub. `listed_up_to`: the highest page of this list already
        requested. `unique`: requested once by construction (a list's first page, or a page its first page
        links), so it skips the duplicate filter, whose fingerprints would otherwise grow with every page
        of the crawl; only seeds and the rare pages found by following "next" past what page 1 linked go
        through it."""
        params = dict(filters)
        if page > 1:
            params["page"] = str(page)
        url = add_or_replace_parameters(hub, params) if params else hub
        return scrapy.Request(
            url,
            callback=self.parse_page,
            errback=self.failed,
            dont_filter=unique,
            meta={
                "hub_uuid": uuid,
                "hub_url": hub,
                "filters": filters,
                "page": page,
                "listed_up_to": max(listed_up_to, page),
                **({"pages": pages} if pages is not None else {}),
                # the hub's ceiling and what the run's budget promised it (spiders.middlewares.RequestBudgetMiddleware)
                **({"budget": budget} if budget is not None else {}),
            },
        )

    def _fetch(self, response: Response, outcome: str, error: str | None = None) -> dict:
        warc = response.meta.get("warc", {})
        return {
            "kind": "fetch",
            "url": _requested_url(response.request) if response.request is not None else response.url,
            "hub_uuid": response.meta.get("hub_uuid"),
            "status": response.status,
            "fetched_at": _now(),
            "sha256": warc.get("sha256"),
            "bytes": warc.get("bytes", len(response.body)),
            "warc_file": warc.get("warc_file"),
            "warc_offset": warc.get("warc_offset"),
            "outcome": outcome,
            "error": error,
            "etag": response.headers.get("ETag", b"").decode("latin-1") or None,
            "last_modified": response.headers.get("Last-Modified", b"").decode("latin-1") or None,
        }

    def _parser_failed(self, response: Response, exc: Exception) -> Iterator[dict]:
        self.logger.warning("parser failed on %s: %s: %s", response.url, type(exc).__name__, exc)
        yield self._quarantine(response, "parser_error", f"{type(exc).__name__}: {exc}")
        yield self._fetch(response, "quarantined", "parser_error")

    def _quarantine(self, response: Response, reason: str, detail: str) -> dict:
        return {
            "kind": "quarantine",
            "url": response.url,
            "hub_uuid": response.meta.get("hub_uuid"),
            "status": response.status,
            "fetched_at": _now(),
            "reason": reason,
            "detail": detail[:500],
        }

    def parse(self, response: Response, **kwargs):
        """A response no request of the crawl routed: `scrapy parse --spider hub URL` (and `scrapy shell`) hand
        the spider a bare URL. A JSON twin goes to parse_json, a hub page (any filters, any page) to
        parse_page, with the meta the crawl's own requests carry read from the URL; a URL that is neither
        is a quarantine (`not_a_hub_url`), as in a crawl. The crawl itself never calls this: its requests
        name their callbacks."""
        url = response.url
        meta = response.meta
        if is_paper_url(url):
            yield from self.parse_paper(response)
            return
        try:
            if urlsplit(url).path.endswith(".json"):
                meta.setdefault("hub_uuid", hub_json_url(url))
                callback = self.parse_json
            else:
                uuid, filters, page = hub_page_url(url)
                meta.setdefault("hub_uuid", uuid)
                meta.setdefault("hub_url", hub_url(url, self.base_url))
                meta.setdefault("filters", filters)
                meta.setdefault("page", page)
                meta.setdefault("listed_up_to", page)
                callback = self.parse_page
        except ParseError as exc:
            yield self._quarantine(response, exc.reason, exc.detail)
            yield self._fetch(response, "quarantined", exc.reason)
        else:
            yield from callback(response)

    def parse_json(self, response: Response):
        if response.status == 304:
            # Unchanged since the last complete fetch: its pages are not fetched, load carries it forward.
            yield self._fetch(response, "not_modified")
            return
        if response.meta.get("pages_after_twin"):
            uuid = response.meta["hub_uuid"]
            promise = self._promise(self._expected_requests(uuid))
            if response.status == 200 and promise is None:
                # Changed, and its pages do not fit in what the budget has left: the hub stays as the warehouse
                # holds it, whole, and the plan of a later night (warehouse.plan) learns it changed.
                yield self._fetch(response, "deferred", "request budget: pages left for a later run")
                return
            yield self._page(response.meta["hub_url"], uuid, {}, 1, budget=promise)
        if response.status != 200:
            yield self._fetch(response, "failed", f"HTTP {response.status}")
            return
        try:
            record = parse_hub_json(response.body, response.url)
        except ParseError as exc:
            yield self._quarantine(response, exc.reason, exc.detail)
            yield self._fetch(response, "quarantined", exc.reason)
            return
        except Exception as exc:  # a parser bug must not lose the fetch: quarantined with its cause
            yield from self._parser_failed(response, exc)
            return
        yield {
            "kind": "hub_json",
            "url": response.url,
            "hub_uuid": response.meta["hub_uuid"],
            "status": response.status,
            "fetched_at": _now(),
            "json": record.to_dict(),
        }
        yield self._fetch(response, "parsed")

    def parse_page(self, response: Response):
        meta = response.meta
        if response.status != 200:
            yield self._fetch(response, "failed", f"HTTP {response.status}")
            return
        try:
            page = parse_hub_page(response.body, response.url, encoding=response.encoding)
        except ParseError as exc:
            yield self._quarantine(response, exc.reason, exc.detail)
            yield self._fetch(response, "quarantined", exc.reason)
            return
        except Exception as exc:  # a parser bug must not lose the fetch: quarantined with its cause
            yield from self._parser_failed(response, exc)
            return
        yield {
            "kind": "hub_page",
            "url": response.url,
            "hub_uuid": meta["hub_uuid"],
            "status": response.status,
            "fetched_at": _now(),
            "page": page.to_dict(),
        }
        yield self._fetch(response, "parsed")

        hub, uuid, filters = meta["hub_url"], meta["hub_uuid"], meta["filters"]
        if meta["page"] == 1:
            # How many pages the list has comes from its declared count (entries per page as page 1 shows
            # them), never from link text alone: a page linking ?page=100000 gets the pages its count calls
            # for, and the link past them is recorded, not followed.
            declared = meta.get("declared", page.citing_count)
            pages = -(-declared // len(page.explorer)) if page.explorer else 1
            meta["pages"] = pages
            if not filters:  # the hub's request budget, carried by every request made from its pages
                meta["budget"] = {
                    **meta.get("budget", {}),
                    "used": 0,
                    "ceiling": self._ceiling(pages),
                    "papers": 0,
                    "paper_ceiling": self._paper_ceiling(declared),
                }
            # after every hub page of the crawl, with what the budget has left (`_idle`)
            yield from self._queue_papers(response, page)
            linked = max(page.page_numbers + [page.next_page or 1])
            last = min(linked, pages)
            if linked > pages:
                yield self._quarantine(
                    response, "past_declared_end", f"links page {linked}; {declared} declared, {pages} pages"
                )
            for number in range(2, last + 1):
                if self._spent(response):  # a count of 2^31-1 declares 10^8 pages: stop at the ceiling
                    break
                yield from self._bounded(response, self._page(hub, uuid, filters, number, last, True, pages))
            if not filters:
                yield from self._filtered_lists(response, page, hub, uuid)
                yield self._links(response, uuid)
            return
        yield from self._queue_papers(response, page)
        if page.next_page and page.next_page > meta.get("listed_up_to", 0):
            # Past page 1 only "next" can reveal pages page 1 did not link; a "next" within what was
            # already requested is not followed, and the duplicate filter catches any other repeat.
            pages = meta.get("pages")
            if pages is not None and page.next_page > pages:
                yield self._quarantine(response, "past_declared_end", f"next is page {page.next_page} of {pages} pages")
                return
            request = self._page(hub, uuid, filters, page.next_page, meta.get("listed_up_to", 0), False, pages)
            yield from self._bounded(response, request)

    def _links(self, response: Response, uuid: str | None) -> dict[str, Any]:
        """The hubs page 1 (or a paper page, `uuid` None) links to (co-cited works, references and any other
        hub link) and the links refused: the frontier's input (warehouse.frontier). Only recorded here; the
        next crawl plans them."""
        scan = hub_links(response.body, response.url, self.link_hosts)
        return {"kind": "links", "url": response.url, "hub_uuid": uuid, "fetched_at": _now(), **scan.to_dict()}

    def _paper_requests(self, page: HubPage) -> Iterator[scrapy.Request]:
        """The requests for `_new_papers(page)`."""
        return (self._paper_request(ref) for ref in self._new_papers(page))

    def _new_papers(self, page: HubPage, budget: dict[str, Any] | None = None) -> Iterator[str]:
        """The refs of the citing papers `page` lists whose page the warehouse has not read and this crawl has
        not asked for yet, once each. Nothing in a replay.

        With the hub's `budget` (`_queue_papers`), at most its `paper_ceiling` of them over all the hub's pages;
        those past it are counted in `papers_left` and not marked requested (another hub listing them, or a
        later crawl, still asks for them).

        The local set spares the scheduler every repeat; the duplicate filter still sees each request, so on
        a shared frontier (spiders/frontier.py) a paper listed to several workers is fetched once."""
        if not (self.follow and self.paper_pages):
            return
        # The explorer lists every citing paper once over its pages, representative ones included: a paper is
        # charged to its hub's ceiling by the explorer page that lists it, once, whichever worker reads which
        # page. A representative paper listed on another explorer page is left to that page.
        listed = {paper_ref(e.arxiv_id, e.pith_id) for e in page.explorer}
        for entry in (*page.representative, *page.explorer):
            ref = paper_ref(entry.arxiv_id, entry.pith_id)
            if ref not in listed:
                continue
            if ref is None or ref in self.papers_requested or ref in self.known_papers:
                continue
            if budget is not None:
                if budget["papers"] >= budget["paper_ceiling"]:
                    budget["papers_left"] = budget.get("papers_left", 0) + 1
                    continue
                budget["papers"] += 1
            self.papers_requested.add(ref)
            if getattr(self, "crawler", None) is not None:
                self.crawler.stats.inc_value("citehub/papers/requested")
            yield ref

    def _queue_papers(self, response: Response, page: HubPage) -> Iterator[dict[str, Any]]:
        """Queue the paper pages of `page`'s new papers for the crawl's idle time, within the hub's paper
        ceiling (`_paper_ceiling`, shared by the hub's pages through its budget dict). A hub whose pages list
        more is recorded once: crawl stats (`citehub/hubs/paper_ceiling`, and `citehub/papers/not_followed`
        per paper left) and a quarantine `paper_pages_ceiling` of no hub (paper pages belong to no hub: the
        hub's own pages are complete or not on their own terms; one listing more papers than it declares
        already is not)."""
        if not (self.follow and self.paper_pages):
            return
        if page.filters:
            # A filtered list re-lists the hub's own citing papers (each list a partition of them): its papers
            # are queued from the unfiltered pages. Counting them again would charge a paper to the ceiling
            # once per list wherever the lists are read apart (workers of a shared frontier each keep their own
            # set of papers asked for), and an honest hub would hit its ceiling.
            return
        budget = response.meta.setdefault("budget", {"used": 0, "ceiling": self._ceiling(1)})
        if "paper_ceiling" not in budget:  # a page read without its hub's first page (e.g. `scrapy parse`)
            budget |= {"papers": 0, "paper_ceiling": self._paper_ceiling(page.citing_count)}
        left = budget.get("papers_left", 0)
        self.papers_pending.extend(self._new_papers(page, budget))
        left = budget.get("papers_left", 0) - left
        if not left:
            return
        stats = self.crawler.stats if getattr(self, "crawler", None) is not None else None
        if stats is not None:
            stats.inc_value("citehub/papers/not_followed", left)
        if not budget.get("papers_recorded"):
            budget["papers_recorded"] = True
            if stats is not None:
                stats.inc_value("citehub/hubs/paper_ceiling")
            uuid = response.meta.get("hub_uuid")
            item = self._quarantine(
                response,
                "paper_pages_ceiling",
                f"{budget['paper_ceiling']} paper pages for hub {uuid} ({page.citing_count} citing papers declared)",
            )
            yield {**item, "hub_uuid": None}

    def _paper_request(self, ref: str) -> scrapy.Request:
        """A paper page, after the hub pages (PAPER_PRIORITY). It belongs to no hub: no hub_uuid, and no hub's
        request ceiling (`_bounded`) pays for it; the hub's paper ceiling bounds how many it queues
        (`_queue_papers`)."""
        return scrapy.Request(
            self.base_url + paper_path(ref),
            callback=self.parse_paper,
            errback=self.failed,
            priority=PAPER_PRIORITY,
            meta={"paper_ref": ref},
        )

    def parse_paper(self, response: Response):
        """A citing paper's page: its hub links (its reference list) as a `links` item of no hub, the frontier's
        input like a hub page's; the fetch row has no hub either, so a paper page makes no hub incomplete."""
        if response.status != 200:
            yield self._fetch(response, "failed", f"HTTP {response.status}")
            return
        try:
            links = self._links(response, None)
        except Exception as exc:  # a bug must not lose the fetch: quarantined with its cause
            yield from self._parser_failed(response, exc)
            return
        yield links
        yield self._fetch(response, "parsed")

    def _filtered_lists(self, response: Response, page: HubPage, hub: str, uuid: str) -> Iterator[Any]:
        """Page 1 of every role- and polarity-filtered list, each with its declared count; at most
        CITEHUB_MAX_FILTER_VALUES values a facet (invented values past them are recorded, not followed)."""
        bound = self._limit("CITEHUB_MAX_FILTER_VALUES")
        for facet, param in _LABELLING_FILTERS.items():
            values = dict(page.facets.get(facet, {}))
            if facet == "roles":
                values.update(page.role_summary)
            elif facet == "polarities":
                values.update(page.polarity_summary)
            if len(values) > bound:
                yield self._quarantine(response, "too_many_filter_values", f"{len(values)} {facet}; {bound} followed")
                values = dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))[:bound])
            for value in sorted(values):
                request = self._page(hub, uuid, {param: value}, 1, unique=True)
                request.meta["declared"] = values[value]
                yield from self._bounded(response, request)

    def _bounded(self, response: Response, request: scrapy.Request) -> Iterator[Any]:
        """`request`, unless its hub has used up its request ceiling: then the hub is recorded (once) as
        having hit it, which makes it incomplete (it retires nothing).

        The budget travels in the requests' meta (one dict shared by a hub's requests), so the spider keeps
        no per-hub state that grows with the site. On a Redis frontier each request is serialized with its
        own copy: the ceiling then bounds each branch of the hub's pages instead of their sum."""
        if not self.follow:
            return
        budget = response.meta.setdefault("budget", {"used": 0, "ceiling": self._ceiling(1)})
        budget["used"] += 1
        used, ceiling = budget["used"], budget["ceiling"]
        if used <= ceiling:
            request.meta["budget"] = budget
            yield request
        elif used == ceiling + 1:
            uuid = request.meta["hub_uuid"]
            if getattr(self, "crawler", None) is not None:
                self.crawler.stats.inc_value("citehub/hubs/request_ceiling")
            yield self._quarantine(response, "request_ceiling", f"{ceiling} requests for hub {uuid}")

    def _spent(self, response: Response) -> bool:
        """Nothing more to request from this hub's pages: a replay (nothing is requested), or its request
        ceiling was passed (and recorded)."""
        budget = response.meta.get("budget")
        return not self.follow or (budget is not None and budget["used"] > budget["ceiling"])

    def _limit(self, name: str) -> int:
        """A bound from the crawl's settings (spiders/settings.py's default for a spider made without one)."""
        settings = getattr(self, "settings", None)
        return settings.getint(name) if settings is not None else int(getattr(default_settings, name))

    def _ceiling(self, pages: int) -> int:
        """CITEHUB_HUB_REQUEST_CEILING, or by default what the hub's declared count can call for: its pages,
        those of its role and polarity lists (each a partition of at most its citations), one first page a
        followed filter value, and a margin; never more than CITEHUB_HUB_REQUEST_MAX (the count is the page's
        own word: 2^31-1 declared would otherwise allow billions)."""
        fixed = self._limit("CITEHUB_HUB_REQUEST_CEILING")
        if fixed:
            return fixed
        derived = 3 * pages + 2 * self._limit("CITEHUB_MAX_FILTER_VALUES") + 8
        return min(derived, self._limit("CITEHUB_HUB_REQUEST_MAX"))

    def _paper_ceiling(self, declared: int) -> int:
        """Paper pages a hub's pages may queue in one crawl: no more than the citing papers it declares, and
        never more than CITEHUB_HUB_PAPER_PAGES_MAX."""
        return max(0, min(declared, self._limit("CITEHUB_HUB_PAPER_PAGES_MAX")))

    def failed(self, failure: Failure):
        request = failure.request
        response = getattr(failure.value, "response", None)
        self.crawler.stats.inc_value("citehub/fetch/errors")
        # Refused by policy (robots, allowlist, private address): never sent, so "skipped" with the reason.
        refused = isinstance(failure.value, Refused)
        yield {
            "kind": "fetch",
            "url": _requested_url(request),
            "hub_uuid": request.meta.get("hub_uuid"),
            "status": response.status if response is not None else None,
            "fetched_at": _now(),
            "sha256": None,
            "bytes": 0,
            "warc_file": None,
            "warc_offset": None,
            "outcome": "skipped" if refused else "failed",
            "error": f"{failure.type.__name__}: {failure.getErrorMessage()}"[:500],
        }
        if request.meta.get("pages_after_twin"):
            # The change signal failed: fetch the pages as an unconditional crawl would.
            yield self._page(request.meta["hub_url"], request.meta["hub_uuid"], {}, 1)
