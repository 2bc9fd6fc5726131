"""`python -m bench.scale`: what the database part of a night costs as the warehouse grows (issue 17).

    python -m bench.scale [--sizes 10000,100000] [--density 5] [--engines sqlite,postgresql] [--changes 0,1,5]
                          [--seed 7] [--work DIR] [--json FILE] [--out RESULTS.md] [--keep]
                          [--process-per run|warehouse] [--sample-ms MS] [--report RECORD.json]

For each size, a warehouse is grown to that many hubs of the sample site's model at the bench's density, on
each engine (SQLite in the work folder; PostgreSQL in a scratch database on 127.0.0.1:5432, created and
dropped), then nightlies run on it with 0%, 1% and 5% of the hubs changed (in that order, each on the site the
previous one left). The bench prints, per engine:

- `stage nightly-db-growth: change C%: N1 hubs T1 s, N2 hubs T2 s, ratio T2/T1 (target ...) [engine]`: the
  database part of a night, load (marts included) + checks, timed around the functions the nightly calls;
- `stage first-load-rows: ...`: the first load's rows per second (hub, paper and citation rows over the load's
  seconds, marts included) at each size, the smallest size the baseline, measured in the same run;
- `peak RSS ...`: every process's own peak (VmHWM), the 400 MB target at the largest size;
- `profile ...`: every step of each night (migrate, plan, validators, known papers, stage, the load without
  its marts, ANALYZE, each mart, each check, the report) at each size and how much it grew, so whatever still
  grows with the warehouse shows.

How the nights are made. One process (`generate`) builds the site's model: `samplesite.generator`'s hubs,
citing counts, papers and citations, with two draws that scale (a citing paper is drawn by inverse transform
from the same popularity weights, 1 / (rank + 20), instead of one random number per pool paper per hub; arXiv
numbers take five digits, as a pool of millions of papers needs), so a size's site has build_site's shape but
not its exact draws. It writes each run's crawl-stage output as the hub spider writes it (`spiders/hub.py`,
checked against a real crawl by tests/bench/test_scale_smoke.py): the JSON twin parsed by the spider's own
parser, every hub page the spider asks for (the explorer's pages and the role- and polarity-filtered lists) as
the site shows it (`samplesite.view.expected_page`, what the parser returns for the rendered page), page 1's
hub links and the paper pages of papers no earlier crawl read (read by `spiders.parse.links.hub_links` from
the rendered pages), with the sha256, size, ETag and Last-Modified of the rendered bodies. A night's unchanged
hub is a twin that answered 304 (a fetch item `not_modified`, no page item); a changed hub is fetched whole.
No WARC archive is written: the fetch items' `warc_file` and `warc_offset` are null (a night's load does not
read them; a replay would). A night changes a hub with the kinds of change `samplesite.evolution` makes,
short of its role mix (`_change_hub`): one to three new citing papers (from the whole pool: some the warehouse
holds, some new to it, whose paper pages the night then reads), then one retired or one polarity re-reviewed
or neither, and a new `updated_at`.

Then one process per run and engine (`night`; with `--process-per warehouse`, one process runs a warehouse's
runs in turn) does what the nightly flow does around its crawl, without Prefect: migrate to head, plan (`flows.nightly.plan_hubs`), start the run and record its plan, take the run
lock, write the validators and known-papers files the crawl would get (`flows.nightly.crawl_limits`), then
`flows.publish`'s steps through its tasks' own functions: stage, load (marts included), checks, the report and
the run's end, and the change tables the run's artifacts read. The bench checks that the crawl it wrote is the
one those files call for (an unchanged hub's twin ETag is the validator the crawl sends, a changed hub's is
not; every paper page is of a paper the file does not know), and that after each run the warehouse holds
exactly the model's hubs and current citations, all checks passed and the run completed.

Time inside the load is split by statement (SQLAlchemy's cursor events): statements writing a mart
(`warehouse.materialize.MARTS`) are that mart's, ANALYZE is ANALYZE, statements of a check
(`warehouse.checks.CHECKS`) are that check's (the load runs two itself); the rest of the load is "load: rest".
Peak RSS is also taken step by step (VmHWM started over at each step), so the step that holds the most shows.
With `--sample-ms`, a thread also samples where the main thread is (the innermost function of citehub's own
code), so the load's time not spent in its statements (cleaning, decoding) is attributed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from bench.common import _commit, write_section

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Nightly cost at scale (python -m bench.scale)"
DEFAULT_SIZES = (10_000, 100_000)
DEFAULT_CHANGES = (0.0, 1.0, 5.0)
ENGINES = ("sqlite", "postgresql")
BASE_URL = "http://127.0.0.1:8000"  # the site the written crawl names (nothing listens there)
# The run id the written items carry until a run stamps its own (`_stamp`): as long as a run id, so the id is
# replaced in place.
RUN_PLACEHOLDER = "bench.scale-placeholder"
GROWTH_TARGET = 1.5  # issue 17: a no-change and a 1%-changed night grow at most 1.5x for a 10x warehouse
TARGETED_CHANGES = (0.0, 1.0)
RSS_TARGET_MB = 400.0
STEP_FLOOR = 0.05  # seconds: RESULTS.md's per-step table leaves out steps shorter than this in every run
STATEMENT_FLOOR = 0.5  # seconds: and the load's own statements (by verb and table) shorter than this


# --- the site's model, at any size ------------------------------------------------------------------------


def _generator_class() -> type:
    from samplesite.generator import _Generator

    class ScaleGenerator(_Generator):
        """samplesite's generator, with the two draws that do not scale replaced (see the module's docstring)."""

        def __init__(self, rng: random.Random) -> None:
            super().__init__(rng)
            self._candidates: list[str] = []
            self._candidates_of: tuple[int, int] | None = None

        def arxiv_id(self, when: dt.date) -> str:
            while True:
                ident = f"{when:%y%m}.{self.rng.randint(1, 99999):05d}"
                if ident not in self._ids:
                    self._ids.add(ident)
                    return ident

        def sample(self, k: int, exclude: set[str]) -> list[str]:
            if self._candidates_of != (id(exclude), len(self.order)):
                self._candidates = [key for key in self.order if key not in exclude]
                self._candidates_of = (id(exclude), len(self.order))
            candidates = self._candidates
            n = len(candidates)
            k = min(k, n)
            if k <= 0:
                return []
            if 4 * k > n:  # a small pool: rejection would redraw most draws; the generator's own sampler
                return super().sample(k, exclude)
            # rank r drawn with probability ~ 1 / (r + 20): the inverse of that density's distribution function
            span = math.log((n + 20) / 20)
            chosen: dict[int, None] = {}
            draw = self.rng.random
            while len(chosen) < k:
                chosen.setdefault(min(int(20 * math.exp(draw() * span) - 20), n - 1), None)
            return [candidates[r] for r in chosen]

    return ScaleGenerator


def build_model(hubs: int, seed: int, density: float) -> tuple[Any, Any]:
    """(site, generator): day 1 of a site of `hubs` hubs, as `samplesite.generator.build_site` builds it, with
    the scaling generator; the generator's pool feeds the nights' new citing papers."""
    from samplesite.generator import BASE_DAY
    from samplesite.model import Site

    if hubs < 1 or not 0 < density <= 100:
        raise ValueError(f"hubs must be >= 1 and density in (0, 100], not {hubs!r}, {density!r}")
    gen = _generator_class()(random.Random(seed))
    site_hubs = gen.hubs(hubs)
    counts = gen.citing_counts(site_hubs, hubs, density)
    gen.papers(max(sum(counts.values()) * 2 // 5, max(counts.values()) * 3 // 2, 60))
    gen.cite(site_hubs, counts)
    papers = [gen.pool[k] for k in gen.order if k in gen.cited]
    site = Site(
        seed=seed,
        day=1,
        hubs_requested=hubs,
        hubs=site_hubs,
        papers=papers,
        as_of=BASE_DAY.isoformat(),
        density=density,
    )
    return site, gen


def _change_hub(rng: random.Random, hub: Any, gen: Any, excluded: set[str]) -> None:
    """One night's change to `hub`, of the kinds `samplesite.evolution` makes, kept to those that leave its
    role mix (and so its label) alone: the publish guard stops a night that rewrites the label or tier of more
    than a fifth of the hubs it fetched, as a site fault. One to three new citing papers, listed first and not
    classified yet; then a third of the time an unclassified citation retired, a third of the time a
    classified one's polarity re-reviewed."""
    from samplesite import vocab
    from samplesite.model import SiteCitation

    cited = {c.paper_key for c in hub.citations}
    for _ in range(rng.randint(1, 3)):
        key = gen.order[rng.randrange(len(gen.order))]
        while key in cited or key in excluded:
            key = gen.order[rng.randrange(len(gen.order))]
        cited.add(key)
        paper = gen.pool[key]
        version = rng.randint(1, paper.versions) if paper.link_style in ("paper", "p") else None
        hub.citations.insert(0, SiteCitation(hub.uuid, key, None, None, False, version))
    # at most one of the hub's edges retired or relabelled: the guard refuses a night that retires or relabels
    # over 5% of a hub's edges (from 50 edges on), and a fuzzy merge the night's papers undo retires one more
    roll = rng.random()
    unclassified = [i for i, c in enumerate(hub.citations) if i >= 3 and c.role is None]
    classified = [c for c in hub.citations if c.role is not None]
    if roll < 1 / 3 and unclassified:
        hub.citations.pop(rng.choice(unclassified))
    elif roll < 2 / 3 and classified:
        citation = rng.choice(classified)
        citation.polarity = rng.choice([p for p in (None, *vocab.POLARITIES) if p != citation.polarity])


def change_site(site: Any, gen: Any, share: float, night: int) -> tuple[Any, list[str]]:
    """The site of night `night` (day night + 1) with `share` percent of its hubs changed (the seed hub never
    changes: it mirrors the one real page), and the changed hubs' uuids."""
    from samplesite import seed_hub
    from samplesite.generator import BASE_DAY
    from samplesite.model import Site

    rng = random.Random(f"{site.seed}:bench-scale:{night}")
    candidates = [h for h in site.hubs if h.uuid != seed_hub.UUID]
    changed = rng.sample(candidates, min(round(share / 100 * len(site.hubs)), len(candidates)))
    day = BASE_DAY + dt.timedelta(days=night)
    excluded = set(gen.seed_keys)
    for hub in changed:
        _change_hub(rng, hub, gen, excluded)
        hub.updated_at = f"{day.isoformat()}T00:00:00Z"
    cited = {c.paper_key for h in site.hubs for c in h.citations}
    new_site = Site(
        seed=site.seed,
        day=night + 1,
        hubs_requested=site.hubs_requested,
        hubs=site.hubs,
        papers=[gen.pool[k] for k in gen.order if k in cited],
        as_of=day.isoformat(),
        density=site.density,
    )
    return new_site, sorted(h.uuid for h in changed)


# --- the crawl-stage output, as the hub spider writes it ----------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class CrawlWriter:
    """Writes runs' items files (and stats.json) for a site, as `spiders/hub.py` would crawl it from `base_url`.

    `read` holds the paper refs whose page an earlier crawl read: the known-papers file the flow hands the
    crawl holds them, and their pages are not asked for again. `twin_etags` keeps each hub's twin ETag from
    the last time its twin was rendered (a 304 carries the current one)."""

    def __init__(self, base_url: str = BASE_URL) -> None:
        from spiders.crawl import allowed_hosts_for

        self.base_url = base_url
        self.hosts = allowed_hosts_for(base_url)
        self.read: set[str] = set()
        self.twin_etags: dict[str, str] = {}

    def write_run(self, site: Any, run_dir: Path, full: Iterable[str] | None, run_id: str = RUN_PLACEHOLDER) -> dict:
        """Write `run_dir`/items.jsonl and stats.json for a crawl of every hub of `site`: the hubs in `full`
        (every hub when None: a crawl without validators) answer 200 and are fetched whole, the others answer
        304. Returns the run's figures."""
        run_dir.mkdir(parents=True, exist_ok=True)
        self.site, self.run_id = site, run_id
        self.last_modified = format_datetime(datetime.fromisoformat(site.as_of).replace(tzinfo=UTC), usegmt=True)
        fetched = set(full) if full is not None else None
        stats: dict[str, int] = defaultdict(int)
        self.stats = stats
        new_refs: dict[str, None] = {}
        with open(run_dir / "items.jsonl", "w", encoding="utf-8") as out:
            self.out = out
            for hub in site.hubs:
                if fetched is None or hub.uuid in fetched:
                    for ref in self._hub(hub):
                        if ref not in self.read:
                            new_refs.setdefault(ref, None)
                else:
                    self._not_modified(hub)
            for ref in new_refs:
                self._paper(ref)
        self.read.update(new_refs)
        stats["downloader/request_count"] += 1  # robots.txt
        stats["downloader/response_status_count/200"] += 1
        (run_dir / "stats.json").write_text(json.dumps(dict(sorted(stats.items())), indent=1) + "\n")
        return {
            "hubs_full": len(site.hubs) if fetched is None else len(fetched),
            "paper_pages": len(new_refs),
            "items": sum(
                v for k, v in stats.items() if k.startswith("citehub/items/") and k != "citehub/items/stamped"
            ),
            "bytes": (run_dir / "items.jsonl").stat().st_size,
        }

    # one item a line, keys in the order the spider and its pipelines give them

    def _emit(self, item: dict[str, Any]) -> None:
        item["run_id"] = self.run_id
        item["parser_version"] = self.parser_version
        self.out.write(json.dumps(item, ensure_ascii=False) + "\n")
        kind = item["kind"]
        self.stats["citehub/items/stamped"] += 1
        self.stats[f"citehub/items/{kind}"] += 1
        if kind == "hub_page":
            page = item["page"]
            self.stats["citehub/entries"] += len(page["representative"]) + len(page["explorer"])
        elif kind == "fetch":
            self.stats[f"citehub/fetch/{item['outcome']}"] += 1
            self.stats["downloader/request_count"] += 1
            self.stats[f"downloader/response_status_count/{item['status']}"] += 1

    @property
    def parser_version(self) -> str:
        from spiders.parse.records import PARSER_VERSION

        return PARSER_VERSION

    def _fetch(self, url: str, uuid: str | None, status: int, body: bytes, outcome: str, when: str) -> dict[str, Any]:
        return {
            "kind": "fetch",
            "url": url,
            "hub_uuid": uuid,
            "status": status,
            "fetched_at": when,
            "sha256": hashlib.sha256(body).hexdigest(),
            "bytes": len(body),
            "warc_file": None,
            "warc_offset": None,
            "outcome": outcome,
            "error": None,
            "etag": '"' + hashlib.sha1(body).hexdigest() + '"' if status == 200 else None,
            "last_modified": self.last_modified,
        }

    def _not_modified(self, hub: Any) -> None:
        url = f"{self.base_url}/citations/{hub.uuid}.json"
        item = self._fetch(url, hub.uuid, 304, b"", "not_modified", _now())
        item["etag"] = self.twin_etags[hub.uuid]  # the server's 304 names the current ETag
        self._emit(item)

    def _hub(self, hub: Any) -> Iterator[str]:
        """A hub fetched whole: its twin, its pages and page 1's links; yields the paper refs its pages list."""
        from w3lib.url import add_or_replace_parameters

        from samplesite.render import markup_for, render_hub_html, render_hub_json
        from samplesite.view import expected_page
        from spiders.parse.hub_json import parse_hub_json
        from spiders.parse.links import hub_links
        from spiders.parse.paperref import paper_ref

        site, uuid = self.site, hub.uuid
        hub_url = f"{self.base_url}/citations/{uuid}"
        body = json.dumps(render_hub_json(site, uuid), ensure_ascii=False).encode()
        self.twin_etags[uuid] = '"' + hashlib.sha1(body).hexdigest() + '"'
        when = _now()
        twin = parse_hub_json(body, hub_url + ".json")
        self._emit(
            {
                "kind": "hub_json",
                "url": hub_url + ".json",
                "hub_uuid": uuid,
                "status": 200,
                "fetched_at": when,
                "json": twin.to_dict(),
            }
        )
        self._emit(self._fetch(hub_url + ".json", uuid, 200, body, "parsed", when))
        markup = markup_for(uuid)

        def page(filters: dict[str, str], number: int, links: bool = False) -> dict[str, Any]:
            params = {**filters, **({"page": str(number)} if number > 1 else {})}
            url = add_or_replace_parameters(hub_url, params) if params else hub_url
            view = expected_page(site, uuid, filters, number, self.base_url)
            html = render_hub_html(site, uuid, filters, number, markup, self.base_url).encode()
            when = _now()
            self._emit(
                {"kind": "hub_page", "url": url, "hub_uuid": uuid, "status": 200, "fetched_at": when, "page": view}
            )
            self._emit(self._fetch(url, uuid, 200, html, "parsed", when))
            if links:
                scan = hub_links(html, url, self.hosts).to_dict()
                self._emit({"kind": "links", "url": url, "hub_uuid": uuid, "fetched_at": _now(), **scan})
            return view

        def listed(view: dict[str, Any]) -> Iterator[str]:
            # spiders/hub.py _queue_papers: paper pages from the unfiltered explorer pages (every citing paper once)
            if view["filters"]:
                return
            for entry in view["explorer"]:
                ref = paper_ref(entry["arxiv_id"], entry["pith_id"])
                if ref is not None:
                    yield ref

        def rest_of_list(filters: dict[str, str], first: dict[str, Any], declared: int) -> Iterator[str]:
            # spiders/hub.py parse_page: the pages a list's declared count calls for, as many as page 1 links
            pages = -(-declared // len(first["explorer"])) if first["explorer"] else 1
            last = min(max(first["page_numbers"] + [first["next_page"] or 1]), pages)
            for number in range(2, last + 1):
                yield from listed(page(filters, number))

        first = page({}, 1, links=True)
        yield from listed(first)
        yield from rest_of_list({}, first, first["citing_count"])
        # spiders/hub.py _filtered_lists: page 1 (and the rest) of every role and polarity value
        for facet, param, summary in (
            ("roles", "role", "role_summary"),
            ("polarities", "polarity", "polarity_summary"),
        ):
            values = {**first["facets"].get(facet, {}), **first[summary]}
            for value in sorted(values):
                head = page({param: value}, 1)
                yield from listed(head)
                yield from rest_of_list({param: value}, head, values[value])

    def _paper(self, ref: str) -> None:
        from samplesite.render import render_paper_html
        from spiders.parse.links import hub_links
        from spiders.parse.paperref import paper_path

        url = self.base_url + paper_path(ref)
        html = render_paper_html(self.site, ref.partition(":")[2])
        if html is None:
            raise RuntimeError(f"the site has no paper page for {ref}")
        body = html.encode()
        scan = hub_links(body, url, self.hosts).to_dict()
        self._emit({"kind": "links", "url": url, "hub_uuid": None, "fetched_at": _now(), **scan})
        self._emit(self._fetch(url, None, 200, body, "parsed", _now()))


def generate(spec: dict[str, Any]) -> dict[str, Any]:
    """The `generate` process: the model at one size and every run's crawl-stage output, in `spec["dir"]`."""
    from spiders.peak_rss import peak_rss_bytes

    started = time.perf_counter()
    folder = Path(spec["dir"])
    site, gen = build_model(spec["hubs"], spec["seed"], spec["density"])
    built = time.perf_counter() - started
    writer = CrawlWriter(spec.get("base_url", BASE_URL))
    seeds = folder / "seeds.txt"
    seeds.parent.mkdir(parents=True, exist_ok=True)
    seeds.write_text("".join(f"{writer.base_url}/citations/{h.uuid}\n" for h in site.hubs), encoding="utf-8")
    runs = []
    for night, share in enumerate([None, *spec["changes"]]):
        t0 = time.perf_counter()
        if share is None:
            name, changed = "first", None
        else:
            site, changed = change_site(site, gen, share, night)
            name = f"night-{night}-change-{share:g}"
        figures = writer.write_run(site, folder / name, changed)
        runs.append(
            {
                "name": name,
                "dir": str(folder / name),
                "change": share,
                "changed_hubs": None if changed is None else len(changed),
                "hubs": len(site.hubs),
                "citations": sum(len(h.citations) for h in site.hubs),
                "papers": len(site.papers),
                "seconds": time.perf_counter() - t0,
                **figures,
            }
        )
        print(
            f"  wrote {name}: {figures['items']:,} items ({figures['bytes'] / 2**20:,.0f} MB), "
            f"{figures['hubs_full']:,} hubs fetched whole, {figures['paper_pages']:,} paper pages, "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    return {
        "seeds": str(seeds),
        "runs": runs,
        "build_seconds": built,
        "seconds": time.perf_counter() - started,
        "peak_rss_mb": (peak_rss_bytes() or 0) / 2**20,
    }


# --- one run of the nightly's database part -----------------------------------------------------------------


_TARGET = re.compile(r"\b(?:INSERT\s+INTO|DELETE\s+FROM|UPDATE|TRUNCATE(?:\s+TABLE)?)\s+\"?([A-Za-z_]\w*)", re.I)
_FROM = re.compile(r"\bFROM\s+\"?([A-Za-z_]\w*)", re.I)
_PARAMS = re.compile(r"%\(\w+\)s|:\w+|\$\d+|\?")


_PROFILE: StatementProfile | None = None


class StatementProfile:
    """Seconds of the statements run in each timed step, by what they do: a mart's, ANALYZE, a check's, or
    `<VERB> <table>` for the rest (SQLAlchemy's cursor events; COPY through psycopg bypasses them)."""

    def __init__(self) -> None:
        self.section: str | None = None
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._started: dict[int, float] = {}
        try:
            from warehouse.materialize import MARTS

            self.marts = {t.name.lower() for t in MARTS}
        except ImportError:
            self.marts = set()
        try:
            from warehouse.checks import CHECKS

            # a check's SQL over every row, and its SQL over the rows a run's change can reach (when it has one)
            self.checks = {
                _PARAMS.sub("?", sql).strip(): c.name
                for cs in CHECKS.values()
                for c in cs
                for sql in (c.sql, getattr(c, "changed", None))
                if sql
            }
        except ImportError:
            self.checks = {}

    @classmethod
    def installed(cls) -> StatementProfile:
        """The process's one profile, listening to every engine's statements from its first call."""
        global _PROFILE
        if _PROFILE is None:
            from sqlalchemy import event
            from sqlalchemy.engine import Engine

            _PROFILE = cls()
            event.listen(Engine, "before_cursor_execute", _PROFILE._before)
            event.listen(Engine, "after_cursor_execute", _PROFILE._after)
        return _PROFILE

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started = self._started.pop(id(cursor), None)
        if started is not None and self.section is not None:
            self.seconds[self.section][self.key(statement)] += time.perf_counter() - started

    def key(self, statement: str) -> str:
        head = statement.lstrip()[:4000]
        verb = head.split(None, 1)[0].upper() if head else "?"
        if verb == "ANALYZE":
            return "ANALYZE"
        target = _TARGET.search(head)
        if target and target.group(1).lower() in self.marts:
            return f"mart {target.group(1).lower()}"
        check = self.checks.get(_PARAMS.sub("?", statement).strip())
        if check:
            return f"check {check}"
        table = target or _FROM.search(head)
        return f"sql {verb} {table.group(1).lower() if table else ''}".rstrip()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.section = name
        try:
            yield
        finally:
            self.section = None


class StackSampler:
    """Where the process's main thread is, every `interval` seconds, while a step runs: the innermost frame of
    citehub's own code (warehouse, schema, flows, spiders), so time spent in a library or the database driver
    counts to the citehub function that called it. Seconds by step and function, from the samples' count."""

    ROOTS = tuple(
        str(Path(__file__).resolve().parents[1] / d) + os.sep for d in ("warehouse", "schema", "flows", "spiders")
    )

    def __init__(self, profile: StatementProfile, interval: float) -> None:
        import threading

        self.profile, self.interval = profile, interval
        self.samples: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.stopped = threading.Event()
        self.main = threading.main_thread().ident
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            step = self.profile.section
            frame = sys._current_frames().get(self.main) if step is not None else None
            if frame is None:
                continue
            where = "(outside citehub's code)"
            while frame is not None:
                code = frame.f_code
                if code.co_filename.startswith(self.ROOTS):
                    where = f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}"
                    break
                frame = frame.f_back
            self.samples[step][where] += 1

    def stop(self) -> dict[str, dict[str, float]]:
        self.stopped.set()
        self.thread.join()
        return {step: {k: n * self.interval for k, n in keys.items()} for step, keys in self.samples.items()}


def _stamp(items: Path, run_id: str) -> Path:
    """Put the run's id where the crawl's pipeline stamps it, in every item of `items`, in place: the written
    crawl serves each engine's run in turn, and a copy of the first crawl would double its disk. The id the
    file carries is in `<items>.run` (the placeholder at first)."""
    held = items.with_name(items.name + ".run")
    current = held.read_text() if held.exists() else RUN_PLACEHOLDER
    old, new = f'"run_id": "{current}"'.encode(), f'"run_id": "{run_id}"'.encode()
    if len(old) == len(new):
        with open(items, "r+b") as fh:
            offset = 0
            while chunk := fh.read(16 << 20):
                end = chunk.rfind(b"\n") + 1 or len(chunk)  # whole lines: no id split between two reads
                fh.seek(offset)
                fh.write(chunk[:end].replace(old, new))
                offset += end
                fh.seek(offset)
    else:
        rewritten = items.with_name(items.name + ".tmp")
        with open(items, "rb") as src, open(rewritten, "wb") as dst:
            for line in src:
                dst.write(line.replace(old, new, 1))
        os.replace(rewritten, items)
    held.write_text(run_id)
    return items


def night(spec: dict[str, Any]) -> dict[str, Any]:
    """The `night` process: one run of the nightly's database part on the crawl-stage output in spec["items"]."""
    from flows.nightly import crawl_limits, plan_hubs
    from flows.publish import check_task, load_task, stage_task
    from flows.settings import Settings
    from schema.engine import make_engine
    from schema.migrate import upgrade
    from spiders.peak_rss import peak_rss_bytes
    from warehouse import guard, history, outcome, plan, queries, runs
    from warehouse.lock import single_flight
    from warehouse.report import build_report

    profile = StatementProfile.installed()
    profile.seconds.clear()
    sampler = StackSampler(profile, spec["sample_ms"] / 1000) if spec.get("sample_ms") else None
    timings: dict[str, float] = {}
    memory: dict[str, float] = {"before the run": (peak_rss_bytes() or 0) / 2**20}  # MB: peak RSS by step

    def timed(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        _reset_peak_rss()  # each step's own peak: what it held at its start and what it added
        started = time.perf_counter()
        with profile.step(name):
            result = fn(*args)
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        memory[name] = max(memory.get(name, 0.0), (peak_rss_bytes() or 0) / 2**20)
        return result

    url = spec["url"]
    settings = Settings(base_url=spec["base_url"], data_dir=spec["data_dir"])
    engine = make_engine(url)
    timed("migrate", upgrade, engine)
    now = datetime.now(UTC)
    first = spec["seeds"] is not None
    hub_urls, chosen = timed(
        "plan", plan_hubs, settings, url, spec["seeds"], None, not first, None, "citehub", now, None
    )
    params = {"base_url": settings.base_url, "hubs": len(hub_urls), "seeds_file": spec["seeds"], "bench": "scale"}
    run_id = timed("plan", runs.start_run, engine, "nightly", params, now)
    timed("plan", plan.record, engine, run_id, chosen)
    with single_flight(engine, run_id):
        run_dir = settings.runs_dir / run_id
        timed("validators", history.write_validators, engine, run_dir / "validators.json")
        timed("known papers", crawl_limits, engine, settings, run_dir, None, 1, chosen)
        items = _stamp(Path(spec["items"]), run_id)  # the crawl, written for this night
        shutil.copy(items.with_name("stats.json"), run_dir / "stats.json")
        stats = json.loads((run_dir / "stats.json").read_text())
        staged = timed("stage", stage_task.fn, url, run_id, items)
        loaded = timed("load", load_task.fn, url, run_id, guard.Limits(), None)
        if isinstance(loaded, guard.Verdict):
            raise RuntimeError(f"the publish guard blocked run {run_id}: {loaded.message(run_id)}")
        checks = timed("checks", check_task.fn, url, run_id)
        report = timed("report", build_report, engine, run_id, stats, loaded, checks, dict(timings))
        verdict = outcome.judge(
            report.fetch_outcomes,
            outcome.incomplete_reasons(engine, run_id, report.incomplete_hubs),
            report.checks_failed,
        )
        timed(
            "report", runs.finish_run, engine, run_id, verdict.status, {**report.as_dict(), "reasons": verdict.reasons}
        )

        def artifact_reads() -> None:  # flows.publish.artifacts_task's reads (the Prefect artifacts themselves aside)
            changes = queries.hub_changes(engine, run_id)
            counts = queries.run_changes(engine, [run_id])[run_id]
            queries.change_markdown(run_id, counts, changes)
            queries.change_table_rows(changes)

        timed("artifacts", artifact_reads)
    engine.dispose()
    return {
        "run_id": run_id,
        "run_dir": str(run_dir),
        "planned_hubs": len(hub_urls),
        "staged": staged,
        "rows": sum(c.inserted + c.updated + c.unchanged for c in loaded.tables.values()),
        "loaded": loaded.as_dict(),
        "timings": timings,
        "profile": {step: dict(keys) for step, keys in profile.seconds.items()},
        "samples": sampler.stop() if sampler is not None else {},
        "status": verdict.status,
        "reasons": verdict.reasons,
        "checks": len(checks),
        "checks_failed": report.checks_failed,
        "hubs": report.hubs,
        "papers": report.papers,
        "citations": report.citations,
        "peak_rss_mb": max(memory.values()),
        "peak_rss_by_step_mb": memory,
    }


def _reset_peak_rss() -> None:
    """Start this process's peak RSS (VmHWM) over from what it holds now (Linux 4.0 and later; elsewhere the
    peak stays the process's whole life's)."""
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def verify_crawl_inputs(items: Path, run_dir: Path) -> dict[str, int]:
    """Check the written crawl against the files the run handed its crawl: each 304 twin's ETag is the
    validator the crawl sent, each 200 twin with a validator differs from it, and every paper page is of a
    paper the known-papers file does not hold. Raises AssertionError naming the first mismatch."""
    from spiders.parse.paperref import KnownPapers, paper_ref_of_url

    validators = json.loads((run_dir / "validators.json").read_text(encoding="utf-8"))
    known = KnownPapers.load(run_dir / "known-papers.bin")
    seen = {"not_modified": 0, "changed": 0, "paper_pages": 0}
    if not validators and not len(known):
        return seen  # a first crawl: nothing to send, nothing known (its items need no reading)
    with open(items, encoding="utf-8") as lines:
        for line in lines:
            if '"kind": "fetch"' not in line[:20]:
                continue
            item = json.loads(line)
            url = item["url"]
            if url.endswith(".json"):
                sent = validators.get(url, {}).get("etag")
                if item["outcome"] == "not_modified":
                    assert sent == item["etag"], f"{url}: 304 for ETag {item['etag']}, the crawl sent {sent}"
                    seen["not_modified"] += 1
                else:
                    assert sent != item["etag"], f"{url}: fetched whole, yet the crawl sent its current ETag"
                    seen["changed"] += bool(sent)
            elif (ref := paper_ref_of_url(url)) is not None:
                assert ref not in known, f"{url}: a paper page the warehouse already read"
                seen["paper_pages"] += 1
    return seen


# --- the harness --------------------------------------------------------------------------------------------


class ChildFailed(RuntimeError):
    """A `generate` or `night` process ended with an error; the message is its last line (the exception)."""


def _child(kind: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run `generate` or `night` in a process of its own (its peak RSS is its own); returns its result.
    Its stderr goes to ours as it comes; `ChildFailed` with its last line when it fails."""
    import collections

    spec_path = work / f"spec-{kind}-{os.getpid()}-{time.monotonic_ns()}.json"
    result_path = spec_path.with_suffix(".result.json")
    spec_path.write_text(json.dumps({**spec, "result": str(result_path)}))
    tail: collections.deque[str] = collections.deque(maxlen=400)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "--child", kind, str(spec_path)], stderr=subprocess.PIPE, text=True
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip("\n"))
        if proc.wait() != 0:
            raise ChildFailed(_exception_line(list(tail)) or f"{kind} process exited {proc.returncode}")
        return json.loads(result_path.read_text())
    finally:
        spec_path.unlink(missing_ok=True)
        result_path.unlink(missing_ok=True)


def _exception_line(lines: list[str]) -> str | None:
    """The exception a traceback in `lines` ends with: its first line, and a HINT line after it if any."""
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return None
    after = [line for line in lines[starts[-1] + 1 :] if line and not line.startswith(" ")]
    if not after:
        return None
    hint = [line for line in after[1:3] if line.startswith("HINT:")]
    return " ".join([after[0], *hint])


@contextmanager
def warehouse_url(engine: str, work: Path, size: int, grown: str | None = None) -> Iterator[str]:
    """A new warehouse on `engine` (a copy of the `grown` one: a database name or a SQLite file; none: empty),
    removed afterwards."""
    if engine == "postgresql":
        from bench.stages import PgDatabase

        with PgDatabase(template=grown) as db:
            yield db.url
        return
    if engine != "sqlite":
        raise ValueError(f"unknown engine {engine!r}")
    path = work / f"scale-{size}.sqlite"
    for old in work.glob(f"{path.name}*"):
        old.unlink()
    if grown:
        shutil.copy(grown, path)
    try:
        yield f"sqlite:///{path}"
    finally:
        for made in work.glob(f"{path.name}*"):
            made.unlink()


# --- grown warehouses kept for later runs of the bench (--grown) ----------------------------------------------


def _grown_record(grown: Path, engine: str, size: int) -> Path:
    return grown / f"grown-{engine}-{size}.json"


def grown_warehouse(grown: Path | None, engine: str, size: int) -> tuple[str | None, dict[str, Any] | None]:
    """The kept first load of `engine` at `size` in the `grown` folder: what to copy, and the first run's
    figures as measured when it was grown (none, none: not kept yet)."""
    if grown is None or not _grown_record(grown, engine, size).exists():
        return None, None
    kept = json.loads(_grown_record(grown, engine, size).read_text())
    return kept["copy"], kept["first"]


def keep_grown(grown: Path, engine: str, size: int, url: str, first: dict[str, Any]) -> None:
    """Keep the warehouse at `url`, just after its first load, for later runs of the bench."""
    from sqlalchemy.engine import make_url

    if engine == "postgresql":
        import psycopg
        from psycopg import sql

        from bench.stages import PgDatabase

        copy = f"citehub_scale_grown_{size}"
        with psycopg.connect(PgDatabase.admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(copy)))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(copy), sql.Identifier(str(make_url(url).database))
                )
            )
    else:
        copy = str(grown / f"grown-sqlite-{size}.sqlite")
        shutil.copy(str(make_url(url).database), copy)
    first = {**first, "grown_commit": _commit()}
    _grown_record(grown, engine, size).write_text(json.dumps({"copy": copy, "first": first}, indent=1) + "\n")


def _same_model(kept: dict[str, Any], spec: dict[str, Any]) -> bool:
    """The kept model and crawls are the ones `spec` asks for (wherever the folder holding them is now)."""
    return {k: v for k, v in kept.items() if k != "dir"} == {k: v for k, v in spec.items() if k != "dir"}


def run_size(size: int, args: argparse.Namespace, work: Path, record: dict[str, Any]) -> None:
    print(f"\n== {size:,} hubs (density {args.density:g}, seed {args.seed})", flush=True)
    site_dir = (args.grown or work) / f"site-{size}"
    spec = {"dir": str(site_dir), "hubs": size, "seed": args.seed, "density": args.density, "changes": args.changes}
    kept = site_dir / "generated.json"
    if args.grown and kept.exists() and _same_model(json.loads(kept.read_text())["spec"], spec):
        made = json.loads(kept.read_text())["made"]
        print(f"  model and crawls kept in {site_dir} (--grown)", flush=True)
    else:
        made = _child("generate", spec, work)
        if args.grown:
            kept.write_text(json.dumps({"spec": spec, "made": made}, indent=1) + "\n")
    record["sizes"][str(size)] = {"generate": made, "engines": {}}
    print(f"  model and crawls written in {made['seconds']:.0f} s, peak RSS {made['peak_rss_mb']:.0f} MB", flush=True)
    for engine in args.engines:
        runs: list[dict[str, Any]] = []
        record["sizes"][str(size)]["engines"][engine] = runs
        copy, first = grown_warehouse(args.grown, engine, size)
        with warehouse_url(engine, work, size, copy) as url:
            data_dir = work / f"data-{engine}-{size}"
            specs = [
                {
                    "url": url,
                    "base_url": BASE_URL,
                    "data_dir": str(data_dir),
                    "items": str(Path(written["dir"]) / "items.jsonl"),
                    "seeds": made["seeds"] if written["name"] == "first" else None,
                    "sample_ms": args.sample_ms,
                }
                for written in made["runs"]
            ]
            # a run that fails (or whose warehouse is not what the model says) is recorded with its error, and
            # the warehouse's later runs, which would start from it, are not run; the other engines still are
            failing = made["runs"][0]
            if first is not None:  # the first load is the kept one: its figures as measured when it was grown
                runs.append(first)
                print(f"  {engine} first load kept from commit {first['grown_commit']} (--grown)", flush=True)
                specs = specs[1:]
            try:
                if args.process_per == "run":
                    results: Iterator[dict[str, Any]] = (_child("night", spec, work) for spec in specs)
                else:
                    results = iter(_child("nights", {"specs": specs}, work)["runs"])
                for written, spec in zip(made["runs"][len(runs) :], specs, strict=True):
                    failing = written
                    result = next(results)
                    result["inputs"] = verify_crawl_inputs(Path(spec["items"]), Path(result["run_dir"]))
                    runs.append({"name": written["name"], "change": written["change"], "expected": written, **result})
                    print("  " + _run_line(engine, written, result), flush=True)
                    if args.json:  # what is measured so far survives a run that fails later
                        args.json.write_text(json.dumps(record, indent=1) + "\n")
                    _verify(result, written, engine, size)
                    if args.grown and args.keep_grown and first is None and written["name"] == "first":
                        keep_grown(args.grown, engine, size, url, runs[-1])
            except (ChildFailed, RunMismatch, AssertionError) as exc:
                error = str(exc) or type(exc).__name__
                if runs and runs[-1]["name"] == failing["name"]:  # measured, but not what the model says
                    runs[-1]["error"] = error
                else:
                    runs.append({"name": failing["name"], "change": failing["change"], "error": error})
                record.setdefault("failures", []).append(f"{engine} {failing['name']} at {size:,} hubs: {error}")
                print(f"  {engine} {failing['name']}: FAILED: {error}", flush=True)
                if args.json:
                    args.json.write_text(json.dumps(record, indent=1) + "\n")
            if not args.keep:
                shutil.rmtree(data_dir, ignore_errors=True)
    if not args.keep and not args.grown:
        shutil.rmtree(site_dir, ignore_errors=True)


class RunMismatch(RuntimeError):
    """A run that ended other than completed, or a warehouse that does not hold what the model says."""


def _verify(result: dict[str, Any], written: dict[str, Any], engine: str, size: int) -> None:
    where = f"{written['name']} at {size:,} hubs on {engine}"
    problems = []
    if result["status"] != "completed":
        problems.append(f"run ended {result['status']}: {'; '.join(result['reasons'])}")
    if result["checks_failed"]:
        problems.append(f"checks failed: {', '.join(result['checks_failed'])}")
    if (result["hubs"], result["citations"]) != (written["hubs"], written["citations"]):
        problems.append(
            f"warehouse holds {result['hubs']:,} hubs and {result['citations']:,} current citations, "
            f"the model {written['hubs']:,} and {written['citations']:,}"
        )
    if result["planned_hubs"] != written["hubs"]:
        problems.append(f"the run planned {result['planned_hubs']:,} hubs of {written['hubs']:,}")
    if (
        written["changed_hubs"] is not None
        and result["inputs"]["not_modified"] != written["hubs"] - written["hubs_full"]
    ):
        problems.append(f"{result['inputs']['not_modified']:,} twins answered 304 against validators")
    if problems:
        raise RunMismatch(f"{where}: " + "; ".join(problems))


def db_seconds(run: dict[str, Any]) -> float:
    """The database part of a night: load (marts included) + checks."""
    return run["timings"]["load"] + run["timings"]["checks"]


def steps(run: dict[str, Any]) -> dict[str, float]:
    """A run's seconds by step: the timed steps, the load split into its marts, ANALYZE, the checks it runs
    itself and the rest, the checks into each check."""
    t = run["timings"]
    load = run["profile"].get("load", {})
    parts = {k: v for k, v in load.items() if k.startswith(("mart ", "check ")) or k == "ANALYZE"}
    statements = {k: v for k, v in load.items() if k.startswith("sql ")}
    out = {k: t[k] for k in ("migrate", "plan", "validators", "known papers", "stage") if k in t}
    out["load"] = t["load"]
    out["load: rest (clean, history, upserts, frontier)"] = t["load"] - sum(parts.values())
    out |= {f"load: rest, of which {k}": v for k, v in sorted(statements.items(), key=lambda kv: -kv[1])}
    out |= {f"load: {k}": v for k, v in sorted(parts.items(), key=lambda kv: -kv[1])}
    out["checks"] = t["checks"]
    checks = {k: v for k, v in run["profile"].get("checks", {}).items() if k.startswith(("check ", "sql "))}
    out |= {f"checks: {k}": v for k, v in sorted(checks.items(), key=lambda kv: -kv[1])}
    for k in ("report", "artifacts"):
        if k in t:
            out[k] = t[k]
    return out


def _run_line(engine: str, written: dict[str, Any], result: dict[str, Any]) -> str:
    t = result["timings"]
    return (
        f"{engine} {written['name']}: database part {db_seconds(result):.2f} s (load {t['load']:.2f}, checks "
        f"{t['checks']:.2f}; stage {t['stage']:.2f}), {result['rows']:,} rows, {result['hubs']:,} hubs, "
        f"{result['citations']:,} citations, {result['status']}, peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def _runs(record: dict[str, Any], engine: str) -> dict[int, dict[str, dict[str, Any]]]:
    """size -> run name -> run (a failed one holds its `error`), for one engine."""
    return {
        int(size): {r["name"]: r for r in data["engines"].get(engine, [])}
        for size, data in record["sizes"].items()
        if engine in data["engines"]
    }


class _Grid:
    """One engine's runs by size and run name, every run the model wrote at each size: measured, failed (its
    error) or not run (its warehouse's earlier run failed)."""

    def __init__(self, record: dict[str, Any], engine: str) -> None:
        self.sizes = sorted(int(s) for s in record["sizes"])
        self.by_size = _runs(record, engine)
        written = record["sizes"][str(self.sizes[0])]["generate"]["runs"]
        self.names = [w["name"] for w in written]
        self.labels = {w["name"]: _label(w) for w in written}
        self.changes = {w["name"]: w["change"] for w in written}

    def run(self, size: int, name: str) -> dict[str, Any] | None:
        return self.by_size.get(size, {}).get(name)

    def ok(self, size: int, name: str) -> dict[str, Any] | None:
        run = self.run(size, name)
        return run if run is not None and "error" not in run else None

    def complete(self, name: str) -> bool:
        return all(self.ok(s, name) for s in self.sizes)

    def state(self, size: int, name: str) -> str:
        return "failed" if self.run(size, name) is not None else "not run"

    def values(self, name: str, figure: Callable[[dict[str, Any]], float]) -> list[float | None]:
        return [figure(run) if (run := self.ok(s, name)) else None for s in self.sizes]


def _ratio(values: list[float | None]) -> float | None:
    first, last = values[0], values[-1]
    return last / first if first and last is not None else None


def _first_rate(run: dict[str, Any]) -> float:
    return run["rows"] / run["timings"]["load"]


def summary_lines(record: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for engine in record["engines"]:
        grid = _Grid(record, engine)
        sizes, small, large = grid.sizes, grid.sizes[0], grid.sizes[-1]
        for name in grid.names[1:]:
            change = grid.changes[name]
            times = grid.values(name, db_seconds)
            target = f"target <= {GROWTH_TARGET:g}" if change in TARGETED_CHANGES else "no target"
            ratio = _ratio(times)
            lines.append(
                f"stage nightly-db-growth: change {change:g}%: "
                + ", ".join(
                    f"{s:,} hubs {t:.2f} s" if t is not None else f"{s:,} hubs {grid.state(s, name)}"
                    for s, t in zip(sizes, times, strict=True)
                )
                + (f", ratio {ratio:.2f}" if ratio is not None else ", ratio n/a")
                + f" ({target}) [{engine}]"
            )
        lines += _per_hub_lines(grid, engine)
        rates = grid.values("first", _first_rate)
        ratio = _ratio(rates)
        lines.append(
            "stage first-load-rows: "
            + ", ".join(
                f"{s:,} hubs {r:,.1f} rows/s" if r is not None else f"{s:,} hubs {grid.state(s, 'first')}"
                for s, r in zip(sizes, rates, strict=True)
            )
            + (f", ratio {ratio:.2f}" if ratio is not None else ", ratio n/a")
            + f" (target >= 1.00: the first load at {small:,} hubs is the baseline) [{engine}]"
        )
        for s in sizes:
            for name in grid.names:
                run = grid.run(s, name)
                if run is None:
                    continue
                if "error" in run:
                    lines.append(f"failed: {_process(name)} at {s:,} hubs: {run['error']} [{engine}]")
                    continue
                over = "ok" if run["peak_rss_mb"] < RSS_TARGET_MB else "OVER"
                lines.append(
                    f"peak RSS {_process(name)} at {s:,} hubs: {run['peak_rss_mb']:.0f} MB"
                    + (f" (target < {RSS_TARGET_MB:.0f} MB: {over})" if s == large else "")
                    + f" [{engine}]"
                )
    for size in sorted(int(s) for s in record["sizes"]):
        made = record["sizes"][str(size)]["generate"]
        lines.append(
            f"peak RSS site model and crawl writer (bench harness, no target) at {size:,} hubs: "
            f"{made['peak_rss_mb']:.0f} MB"
        )
    if "orchestrator_rss_mb" in record:
        lines.append(f"peak RSS bench orchestrator: {record['orchestrator_rss_mb']:.0f} MB")
    if record.get("process_per") == "warehouse":
        lines.append(
            "peak RSS note: one process ran each warehouse's runs in turn (--process-per warehouse); each run's "
            "figure counts from what that process held when the run began"
        )
    return lines


def _quiet_night(grid: _Grid) -> str | None:
    return next((n for n in grid.names[1:] if grid.changes[n] == 0), None)


def per_hub_ms(grid: _Grid, size: int, name: str) -> float | None:
    """What a night's database part costs a hub it asked for: the no-change night's seconds over the hubs it
    re-checked; a changed night's seconds beyond the no-change night's over the hubs it changed."""
    run, quiet_name = grid.ok(size, name), _quiet_night(grid)
    quiet = grid.ok(size, quiet_name) if quiet_name else None
    if run is None or quiet is None:
        return None
    if name == quiet_name:
        return 1000 * db_seconds(run) / run["planned_hubs"] if run["planned_hubs"] else None
    changed = run["expected"]["changed_hubs"]
    return 1000 * (db_seconds(run) - db_seconds(quiet)) / changed if changed else None


def _per_hub_lines(grid: _Grid, engine: str) -> list[str]:
    """The night's cost per hub it touched, at each size: flat when a night costs what it fetched and what
    changed, growing when it also pays for what the warehouse holds."""
    lines = []
    for name in grid.names[1:]:
        values = [per_hub_ms(grid, s, name) for s in grid.sizes]
        what = (
            "a re-checked hub (no-change night)"
            if grid.changes[name] == 0
            else (f"a changed hub (change {grid.changes[name]:g}%, beyond the no-change night)")
        )
        ratio = _ratio(values)
        lines.append(
            f"stage nightly-db-per-hub: {what}: "
            + ", ".join(
                f"{s:,} hubs {v:.3f} ms" if v is not None else f"{s:,} hubs n/a"
                for s, v in zip(grid.sizes, values, strict=True)
            )
            + (f", ratio {ratio:.2f}" if ratio is not None else ", ratio n/a")
            + f" (no target) [{engine}]"
        )
    return lines


def _label(run: dict[str, Any]) -> str:
    return "first load" if run["name"] == "first" else f"change {run['change']:g}%"


def _process(name: str) -> str:
    return "first load process" if name == "first" else f"nightly process ({name})"


_STEP_GROUPS = (
    "migrate",
    "plan",
    "validators",
    "known papers",
    "stage",
    "load",
    "load: rest (",
    "load: rest, of which ",
    "load: ",
    "checks",
    "checks: ",
    "report",
    "artifacts",
)


def _step_group(step: str) -> int:
    """Where a step goes in the per-step table: the night's order, a step's parts after it."""
    matches = [g for g in _STEP_GROUPS if step == g or (g.endswith((" ", "(")) and step.startswith(g))]
    return _STEP_GROUPS.index(max(matches, key=len)) if matches else len(_STEP_GROUPS)


def _span(values: list[float | None], digits: int = 2, sep: str = " -> ") -> str:
    """`a -> b (xg)`: each size's value ("—" where the run failed or did not run) and the growth."""
    text = sep.join(f"{v:.{digits}f}" if v is not None else "—" for v in values)
    ratio = _ratio(values)
    if ratio is not None:
        return text + f" (x{ratio:.2f})"
    return text + (" (new)" if values[0] == 0 and values[-1] else "")


def profile_lines(record: dict[str, Any], limit: float = 0.005) -> list[str]:
    """Per engine and run: each step's seconds at every size and its growth, in the order the night runs them."""
    lines: list[str] = []
    for engine in record["engines"]:
        grid = _Grid(record, engine)
        for name in grid.names:
            label = grid.labels[name]
            if not grid.complete(name):
                failed = [f"{s:,} hubs" for s in grid.sizes if not grid.ok(s, name)]
                lines.append(f"profile [{engine}] {label}: n/a (not measured at {', '.join(failed)})")
                continue
            runs = [grid.ok(s, name) or {} for s in grid.sizes]
            per = [steps(run) for run in runs]
            for key in dict.fromkeys(k for p in reversed(per) for k in p):
                values = [p.get(key, 0.0) for p in per]
                if max(values) < limit:
                    continue
                growth = f"x{values[-1] / values[0]:.2f}" if values[0] > 0 else "new"
                lines.append(
                    f"profile [{engine}] {label}: {key}: " + ", ".join(f"{v:.3f} s" for v in values) + f" ({growth})"
                )
            rss = [run.get("peak_rss_by_step_mb", {}) for run in runs]
            lines.append(
                f"profile [{engine}] {label}: peak RSS by step: "
                + "; ".join(
                    f"{step} " + ", ".join(f"{r.get(step, 0):.0f}" for r in rss) + " MB"
                    for step in dict.fromkeys(k for r in rss for k in r)
                )
            )
            sampled = [run.get("samples", {}).get("load", {}) for run in runs]
            for key in sorted(set().union(*sampled), key=lambda k: -sampled[-1].get(k, 0.0))[:8]:
                lines.append(
                    f"profile [{engine}] {label}: load sampled in {key}: "
                    + ", ".join(f"{p.get(key, 0.0):.2f} s" for p in sampled)
                )
            load_sql = [run["profile"].get("load", {}) for run in runs]
            grew = sorted(
                (k for k in set().union(*load_sql) if k.startswith("sql ")),
                key=lambda k: -(load_sql[-1].get(k, 0.0) - load_sql[0].get(k, 0.0)),
            )[:5]
            for key in grew:
                values = [p.get(key, 0.0) for p in load_sql]
                if max(values) >= limit:
                    lines.append(
                        f"profile [{engine}] {label}: load statements {key[4:]}: "
                        + ", ".join(f"{v:.3f} s" for v in values)
                    )
    return lines


def _grown_note(record: dict[str, Any]) -> str:
    """Which first loads were kept from an earlier run of the bench (--grown), and the commit that grew them."""
    kept = sorted(
        {
            f"{engine} at {int(size):,} hubs: {run['grown_commit']}"
            for size, one in record["sizes"].items()
            for engine, runs in one["engines"].items()
            for run in runs
            if run.get("grown_commit") and run["grown_commit"] != record["commit"]
        }
    )
    return f" (first loads kept from an earlier run, --grown: {'; '.join(kept)})" if kept else ""


def results_section(record: dict[str, Any], command: str) -> str:
    sizes = sorted(int(s) for s in record["sizes"])
    head = " | ".join(f"{s:,} hubs" for s in sizes)
    wall = f"; wall time {record['wall_seconds']:.0f} s" if "wall_seconds" in record else ""
    lines = [
        HEADING,
        "",
        f"- date: {record['date']}",
        f"- machine: {record['machine']}",
        f"- command: `{command}` (density {record['density']:g}, seed {record['seed']}){wall}",
        f"- commit measured: {record['commit']}" + _grown_note(record),
        "- what: a warehouse grown to each size from the sample site's model (crawl-stage output written as the "
        "hub spider writes it, loaded by the real stage and load), then nightlies with the share of hubs "
        "changed in order; database part = load (marts included) + checks, through the functions the nightly "
        "flow calls. First-load rows: hub, paper and citation rows over the load's seconds.",
        "",
        f"| engine | night | {head} | ratio | target |",
        "|---|---|" + "---|" * len(sizes) + "---|---|",
    ]
    failures = []

    def cells(grid: _Grid, name: str, values: list[float | None], fmt: str) -> str:
        return " | ".join(
            format(v, fmt) if v is not None else grid.state(s, name) for s, v in zip(sizes, values, strict=True)
        )

    for engine in record["engines"]:
        grid = _Grid(record, engine)
        for name in grid.names[1:]:
            change = grid.changes[name]
            times = grid.values(name, db_seconds)
            ratio = _ratio(times)
            target = f"<= {GROWTH_TARGET:g}" if change in TARGETED_CHANGES else "—"
            lines.append(
                f"| {engine} | change {change:g}%, database part (s) | {cells(grid, name, times, '.2f')} | "
                f"{f'{ratio:.2f}' if ratio is not None else '—'} | {target} |"
            )
        for name in grid.names[1:]:
            per_hub = [per_hub_ms(grid, s, name) for s in sizes]
            ratio = _ratio(per_hub)
            what = (
                "a re-checked hub, no change"
                if grid.changes[name] == 0
                else f"a changed hub, change {grid.changes[name]:g}%"
            )
            lines.append(
                f"| {engine} | {what} (ms a hub) | "
                + " | ".join(f"{v:.3f}" if v is not None else "—" for v in per_hub)
                + f" | {f'{ratio:.2f}' if ratio is not None else '—'} | — |"
            )
        rates = grid.values("first", _first_rate)
        ratio = _ratio(rates)
        lines.append(
            f"| {engine} | first load, rows/s | {cells(grid, 'first', rates, ',.0f')} | "
            f"{f'{ratio:.2f}' if ratio is not None else '—'} | >= 1.00 |"
        )
        peaks = [
            max((r["peak_rss_mb"] for r in grid.by_size.get(s, {}).values() if "error" not in r), default=None)
            for s in sizes
        ]
        lines.append(
            f"| {engine} | peak RSS of its load processes, largest (MB) | "
            + " | ".join(f"{p:.0f}" if p is not None else "—" for p in peaks)
            + f" | — | < {RSS_TARGET_MB:.0f} MB at the largest size |"
        )
        failures += [
            f"- {engine}, {grid.labels[name]} at {s:,} hubs: {run['error']}"
            for s in sizes
            for name in grid.names
            if (run := grid.run(s, name)) is not None and "error" in run
        ]
    gen = [record["sizes"][str(s)]["generate"] for s in sizes]
    lines.append(
        "| — | peak RSS, site model and crawl writer (bench harness, MB) | "
        + " | ".join(f"{g['peak_rss_mb']:.0f}" for g in gen)
        + " | — | — |"
    )
    lines += [
        "",
        "Sites: "
        + "; ".join(
            f"{s:,} hubs, {g['runs'][0]['citations']:,} citations, {g['runs'][0]['papers']:,} papers, first crawl "
            f"{g['runs'][0]['items']:,} items ({g['runs'][0]['paper_pages']:,} paper pages)"
            for s, g in zip(sizes, gen, strict=True)
        )
        + ".",
    ]
    if failures:
        lines += ["", "Runs that failed (the warehouse's later runs did not run):", "", *failures]
    for engine in record["engines"]:
        grid = _Grid(record, engine)
        per = {name: [steps(run) if (run := grid.ok(s, name)) else None for s in sizes] for name in grid.names}
        lines += [
            "",
            f"Per step, {engine}: seconds at {' -> '.join(f'{s:,}' for s in sizes)} hubs (growth); steps of "
            f"{STEP_FLOOR:g} s or more in some run, the load's own statements (by verb and table) of "
            f"{STATEMENT_FLOOR:g} s or more:",
            "",
            "| step | " + " | ".join(grid.labels[name] for name in grid.names) + " |",
            "|---|" + "---|" * len(grid.names),
        ]
        largest = {name: next((p for p in reversed(per[name]) if p), {}) for name in grid.names}
        keys = sorted(
            {k for name in grid.names for p in per[name] if p for k in p},
            key=lambda k: (_step_group(k), -max(largest[name].get(k, 0.0) for name in grid.names)),
        )
        for key in keys:
            row = {name: [p.get(key, 0.0) if p else None for p in per[name]] for name in grid.names}
            floor = STATEMENT_FLOOR if key.startswith("load: rest, of which") else STEP_FLOOR
            if max((v for values in row.values() for v in values if v is not None), default=0.0) < floor:
                continue
            lines.append(f"| {key} | " + " | ".join(_span(row[name]) for name in grid.names) + " |")
    sampled_any = any(
        run.get("samples") for size in record["sizes"].values() for runs in size["engines"].values() for run in runs
    )
    if sampled_any:
        lines += [
            "",
            f"Where the load's time goes (the main thread sampled every {record.get('sample_ms', 0):g} ms; each "
            "sample counts to the innermost citehub function; seconds at "
            + " -> ".join(f"{s:,}" for s in sizes)
            + " hubs):",
            "",
            "| engine | run | function | seconds |",
            "|---|---|---|---|",
        ]
        for engine in record["engines"]:
            grid = _Grid(record, engine)
            for name in grid.names:
                sampled = [run.get("samples", {}).get("load", {}) if (run := grid.ok(s, name)) else {} for s in sizes]
                for key in sorted(set().union(*sampled), key=lambda k: -sampled[-1].get(k, 0.0))[:6]:
                    lines.append(
                        f"| {engine} | {grid.labels[name]} | {key} | "
                        + " -> ".join(f"{p.get(key, 0.0):.2f}" for p in sampled)
                        + " |"
                    )
    lines += [
        "",
        "Peak RSS of each load process (MB), and the step holding it at the largest size (VmHWM started over at "
        "each step):",
        "",
        f"| engine | run | {head} | step |",
        "|---|---|" + "---|" * len(sizes) + "---|",
    ]
    for engine in record["engines"]:
        grid = _Grid(record, engine)
        for name in grid.names:
            largest = grid.ok(sizes[-1], name)
            by_step = largest.get("peak_rss_by_step_mb", {}) if largest else {}
            step = max(by_step, key=lambda k: by_step[k]) if by_step else "—"
            lines.append(
                f"| {engine} | {grid.labels[name]} | "
                + cells(grid, name, grid.values(name, lambda r: r["peak_rss_mb"]), ".0f")
                + f" | {step} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="hub counts, comma-separated")
    parser.add_argument("--density", type=float, default=None, help="citing papers a hub, x the sample site's default")
    parser.add_argument("--engines", default=",".join(ENGINES), help="sqlite,postgresql (or one of them)")
    parser.add_argument(
        "--changes", default=",".join(f"{c:g}" for c in DEFAULT_CHANGES), help="percent of hubs changed, per night"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a new /tmp/citehub-scale-*)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--out", type=Path, default=RESULTS, help="RESULTS.md to write the section in")
    parser.add_argument("--keep", action="store_true", help="keep the written crawls and the warehouses' run folders")
    parser.add_argument(
        "--process-per",
        choices=("run", "warehouse"),
        default="run",
        help="run: each run in a process of its own, as the nightly flow runs (peak RSS each its own); "
        "warehouse: one process runs a warehouse's runs in turn (fewer interpreter starts: the smoke test)",
    )
    parser.add_argument(
        "--grown",
        type=Path,
        default=None,
        help="a folder to keep each size's model, crawls and first-loaded warehouses in, and to take them from "
        "when there: later runs time the nights on a copy of the kept first load (its figures as measured then)",
    )
    parser.add_argument(
        "--no-keep-grown",
        dest="keep_grown",
        action="store_false",
        help="with --grown: take what the folder holds, but keep no new first load (a warehouse copy is the "
        "size of the warehouse)",
    )
    parser.add_argument(
        "--report", type=Path, default=None, help="print the lines and write the section of a run's --json record"
    )
    parser.add_argument(
        "--sample-ms",
        type=float,
        default=0.0,
        help="also sample where each run's main thread is every this many milliseconds (0: off), and show "
        "which of citehub's functions the load's time goes to",
    )
    args = parser.parse_args(argv)
    if args.report:
        record = json.loads(args.report.read_text())
        report(record, args.out)
        return record
    if args.density is None:
        from bench.__main__ import DEFAULT_DENSITY

        args.density = DEFAULT_DENSITY
    args.sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    args.changes = [float(c) for c in args.changes.split(",") if c.strip()]
    if len(args.sizes) < 2 or any(e not in ENGINES for e in args.engines) or not args.engines:
        parser.error("give at least two sizes and engines among sqlite,postgresql")
    if args.grown and args.process_per != "run":  # the first load is kept between its process and the next one
        parser.error("--grown takes --process-per run")
    work = args.work or Path(tempfile.mkdtemp(prefix="citehub-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.grown:
        args.grown.mkdir(parents=True, exist_ok=True)
    print(f"scratch folder: {work}", flush=True)
    started = time.perf_counter()
    given = argv if argv is not None else sys.argv[1:]
    record: dict[str, Any] = {
        "command": "python -m bench.scale" + (" " + " ".join(given) if given else ""),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}",
        "commit": _commit(),
        "density": args.density,
        "seed": args.seed,
        "engines": args.engines,
        "changes": args.changes,
        "process_per": args.process_per,
        "sample_ms": args.sample_ms,
        "sizes": {},
    }
    for size in args.sizes:
        run_size(size, args, work, record)
    from spiders.peak_rss import peak_rss_bytes

    record["orchestrator_rss_mb"] = (peak_rss_bytes() or 0) / 2**20
    record["wall_seconds"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    report(record, args.out)
    if record.get("failures"):
        raise SystemExit("bench.scale: runs failed:\n" + "\n".join(record["failures"]))
    return record


def report(record: dict[str, Any], out: Path) -> None:
    """Print a run's lines and profile, and write its section of `out`."""
    print()
    for line in summary_lines(record):
        print(line)
    print()
    for line in profile_lines(record):
        print(line)
    write_section(out, HEADING, results_section(record, record.get("command", "python -m bench.scale")))
    print(f"wrote {out}")


def nights(spec: dict[str, Any]) -> dict[str, Any]:
    """The `nights` process (--process-per warehouse): every run of one warehouse, one after the other, each
    run's peak RSS counted from what the process held when it began (Linux: VmHWM reset)."""
    out = []
    for one in spec["specs"]:
        _reset_peak_rss()
        out.append(night(one))
    return {"runs": out}


def _child_main(kind: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    result = {"generate": generate, "night": night, "nights": nights}[kind](spec)
    Path(spec["result"]).write_text(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child_main(sys.argv[2], sys.argv[3])
    else:
        main()
