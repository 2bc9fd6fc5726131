"""Clean and deduplicate a run's crawl items into warehouse rows: pure functions, no database.

Identity (DESIGN.md step 5, samplesite/PAGES.md): a hub is its uuid; a citing paper is
`spiders.parse.normalize.paper_key` (arXiv id without version, else pith id, else title fingerprint); a
citation is (hub, paper). One paper listed in the representative list and the explorer, on several pages,
under several filters and under several hubs is one paper, with one citation per hub. A citation's role is
the `role` filter of the pages listing it, its polarity the `polarity` filter.

When the same field is seen several times, the value of the best-ranked listing wins (unfiltered before
filtered, explorer before representative, then hub, page, position), so the output does not depend on the
order the crawl wrote its items in.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from rapidfuzz import fuzz, process

from spiders.parse.items import LINK_KINDS
from spiders.parse.normalize import (
    clear_normalizer_caches,
    normalize_text,
    normalize_title,
    paper_key,
    split_arxiv,
)
from spiders.parse.records import PARSER_VERSION
from warehouse import drift

PENDING_TITLE = "Title resolution pending"
FUZZY_MIN_SCORE = 95.0
# A skipped URL (refused by robots.txt or the allowlist) leaves its hub as incomplete as a failed one.
BAD_FETCH_OUTCOMES = frozenset({"quarantined", "failed", "skipped"})

PAPER_FIELDS = ("arxiv_id", "pith_id", "title_raw", "title", "category", "date", "summary_raw", "summary")
_CITATION_FIELDS = ("verdict", "novelty", "refs")
_LIST_RANK = {"explorer": 0, "representative": 1}

# A listing's rank (unfiltered?, list, hub, filters, page, position): the lowest wins (`_Best`, `rank_text`).
Rank = tuple[int, int, str, str, int, int]
# Which of several items for one URL wins: (fetched_at, order in the file), the largest; () for the quarantine
# of a drifted hub's page that has no fetch (`_Accumulator._quarantine_drift`).
Recency = tuple[str, int] | tuple[()]


@dataclass
class CleanBatch:
    """Rows for the warehouse, without run bookkeeping (load adds run ids). Every list sorted by its key."""

    hubs: list[dict[str, Any]] = field(default_factory=list)
    papers: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    facet_counts: list[dict[str, Any]] = field(default_factory=list)
    fetches: list[dict[str, Any]] = field(default_factory=list)
    quarantines: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    # hub_uuid -> True when its facts and citations may replace the warehouse's (see _is_complete)
    complete: dict[str, bool] = field(default_factory=dict)
    # hubs whose JSON twin answered 304 to a conditional request: unchanged since the last complete fetch
    unchanged: list[str] = field(default_factory=list)
    # a paper listed under two roles (or polarities) of one hub: {hub_uuid, paper_key, field, values, kept}
    conflicts: list[dict[str, Any]] = field(default_factory=list)


class _Best:
    """Per field, the non-null value of the best-ranked (lowest) observation."""

    __slots__ = ("ranks", "values", "worst")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.ranks: dict[str, Rank] = {}
        self.worst: Rank | None = None  # the largest rank kept, None while nothing is

    def offer(self, rank: Rank, values: dict[str, Any], names: frozenset[str] | None = None) -> None:
        """`names`, when given, are the fields of `values` that are not None: an observation ranked below
        every kept value that brings no new field changes nothing (most repeats: filtered pages, more hubs),
        and is dismissed without walking its fields."""
        if names is not None and self.worst is not None and rank > self.worst and names <= self.ranks.keys():
            return
        changed = False
        for name, value in values.items():
            if value is not None and (name not in self.ranks or rank < self.ranks[name]):
                self.values[name] = value
                self.ranks[name] = rank
                changed = True
        if changed:
            self.worst = max(self.ranks.values())

    def absorb(self, other: _Best) -> None:
        """Fill fields still missing from another accumulator (a paper merged into this one)."""
        for name, value in other.values.items():
            self.values.setdefault(name, value)


@dataclass(slots=True)
class _CitationAcc:
    attrs: _Best = field(default_factory=_Best)
    roles: set[str] = field(default_factory=set)
    polarities: set[str] = field(default_factory=set)
    representative: bool = False


@dataclass
class HubPart:
    """One hub batch of a run, cleaned (`_Accumulator.finish_part`): `batch` holds its hub, snapshot, facet,
    fetch and quarantine rows and its hubs' completeness; `citations` its edges before the fuzzy merge (one
    row per hub and paper key: values, role and polarity sets, whether the hub's unfiltered explorer lists
    it, whether the hub drifted); `papers` its papers' best values per rank (`rank_text`)."""

    batch: CleanBatch
    drifted: set[str] = field(default_factory=set)
    citations: list[dict[str, Any]] = field(default_factory=list)
    papers: list[dict[str, Any]] = field(default_factory=list)


def clean(items: Iterable[dict[str, Any]], known_templates: Mapping[str, str] | None = None) -> CleanBatch:
    """Turn one run's items (hub_page, hub_json, quarantine, fetch) into deduplicated warehouse rows.

    `known_templates` (hub -> template of its last complete load, `warehouse.drift.known_templates`) lets a
    legacy page of a current hub be told from the hub: such a hub is quarantined as `layout_drift`."""
    acc = _Accumulator(known_templates or {})
    for item in items:
        acc.add(item)
    return acc.finish()


def clean_hub_batch(items: Iterable[dict[str, Any]], known_templates: Mapping[str, str] | None = None) -> HubPart:
    """Clean the items of one batch of hubs (every item of each hub in it) for the hub-batched load.

    The normalizers' process-wide caches are emptied afterwards: over a whole run they would fill with every
    title and summary, memory growing with the site (the accumulator caches what recurs within a batch)."""
    acc = _Accumulator(known_templates or {})
    for item in items:
        acc.add(item)
    part = acc.finish_part()
    clear_normalizer_caches()
    return part


def strip_arxiv_version(arxiv_id: str | None) -> str | None:
    if not arxiv_id:
        return None
    split = split_arxiv(arxiv_id)
    return split[0] if split else arxiv_id


def _parse_time(value: str | None) -> datetime | None:
    """ISO 8601 to an aware UTC datetime (a naive time is taken as UTC)."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class _Accumulator:
    def __init__(self, known_templates: Mapping[str, str] | None = None) -> None:
        self.known_templates = known_templates or {}
        self.page_templates: dict[str, dict[str, str]] = defaultdict(dict)  # hub -> page URL -> template
        # hub -> (rank, HubPage dict of page 1 unfiltered)
        self.first_pages: dict[str, tuple[Recency, dict[str, Any]]] = {}
        self.twins: dict[str, tuple[Recency, dict[str, Any]]] = {}  # hub -> (rank, HubJson dict)
        self.hub_uuids: set[str] = set()
        self.bad_hubs: set[str] = set()  # hubs with a quarantined or failed fetch in this run
        self.unchanged_hubs: set[str] = set()  # hubs whose JSON twin answered 304
        self.fetches: dict[str, tuple[Recency, dict[str, Any]]] = {}
        self.quarantines: dict[str, tuple[Recency, dict[str, Any]]] = {}
        self.papers: dict[str, _Best] = {}
        self.citations: dict[tuple[str, str], _CitationAcc] = {}
        self.explorer_keys: dict[str, set[str]] = defaultdict(set)  # hub -> papers of its unfiltered explorer
        self._titles: dict[str, str | None] = {}
        self._texts: dict[str, str | None] = {}
        self._entries: dict[tuple[Any, ...], tuple[str, dict[str, Any], frozenset[str]]] = {}
        self._seq = 0

    # --- reading items ----------------------------------------------------------------------------------

    def add(self, item: dict[str, Any]) -> None:
        kind = item.get("kind")
        if kind in LINK_KINDS:
            return  # the frontier's (warehouse.frontier), not the hubs'
        self._seq += 1
        uuid = item.get("hub_uuid")
        # a twin whose change the budget deferred leaves its hub out of the run (as it was), not incomplete
        if uuid and not (kind == "fetch" and item.get("outcome") == "deferred"):
            self.hub_uuids.add(uuid)
        # Among repeated items for one URL the latest fetch wins (file order breaks ties).
        recency = (item.get("fetched_at") or "", self._seq)
        if kind == "hub_page":
            self._add_page(item["page"], recency)
            self.page_templates[item["page"]["hub_uuid"]][item.get("url", "")] = item["page"]["template"]
        elif kind == "hub_json":
            twin = _nul_free(item["json"])
            self._keep_latest(self.twins, twin["hub_uuid"], recency, twin)
            self.hub_uuids.add(twin["hub_uuid"])
        elif kind == "quarantine":
            self._keep_latest(self.quarantines, item["url"], recency, _quarantine_row(item))
            if uuid:
                self.bad_hubs.add(uuid)
        elif kind == "fetch":
            self._keep_latest(self.fetches, item["url"], recency, _fetch_row(item))
            if uuid and item.get("outcome") in BAD_FETCH_OUTCOMES:
                self.bad_hubs.add(uuid)
            if uuid and item.get("outcome") == "not_modified" and item["url"].endswith(".json"):
                self.unchanged_hubs.add(uuid)
        else:
            raise ValueError(f"unknown item kind {kind!r} (url {item.get('url')!r})")

    @staticmethod
    def _keep_latest(
        store: dict[str, tuple[Recency, dict[str, Any]]], key: str, recency: Recency, value: dict[str, Any]
    ) -> None:
        if key not in store or recency >= store[key][0]:
            store[key] = (recency, value)

    def _add_page(self, page: dict[str, Any], recency: Recency) -> None:
        uuid = page["hub_uuid"]
        self.hub_uuids.add(uuid)
        filters: dict[str, str] = page.get("filters") or {}
        number = page.get("page", 1)
        if not filters and number == 1:
            self._keep_latest(self.first_pages, uuid, recency, page)
        filter_rank = "&".join(f"{k}={v}" for k, v in sorted(filters.items()))
        role = filters.get("role")
        polarity = filters.get("polarity")
        unfiltered = 1 if filters else 0
        for list_name in ("explorer", "representative"):
            list_rank = _LIST_RANK[list_name]
            representative = list_name == "representative"
            explorer = None if representative or filters else self.explorer_keys[uuid]
            for entry in page.get(list_name) or ():
                key, paper_values, names = self._entry_paper(entry)
                rank = (unfiltered, list_rank, uuid, filter_rank, number, entry.get("position", 0))
                paper = self.papers.get(key)
                if paper is None:
                    paper = self.papers[key] = _Best()
                paper.offer(rank, paper_values, names)
                cite = self.citations.get((uuid, key))
                if cite is None:
                    cite = self.citations[(uuid, key)] = _CitationAcc()
                attrs = {f: entry.get(f) for f in _CITATION_FIELDS}
                cite.attrs.offer(rank, attrs, frozenset(f for f, v in attrs.items() if v is not None))
                if role:
                    cite.roles.add(role)
                if polarity:
                    cite.polarities.add(polarity)
                if representative:
                    cite.representative = True
                elif explorer is not None:
                    explorer.add(key)

    def _entry_paper(self, entry: dict[str, Any]) -> tuple[str, dict[str, Any], frozenset[str]]:
        """`_paper_values` of a listing, with the names of its non-null fields; a paper listed again (on its
        filtered pages, under other hubs) with the same fields is worked out once per batch."""
        signature = (
            entry["title_raw"],
            entry.get("arxiv_id"),
            entry.get("pith_id"),
            entry.get("summary_raw"),
            entry.get("category"),
            entry.get("date"),
        )
        found = self._entries.get(signature)
        if found is None:
            key, values = self._paper_values(entry)
            found = self._entries[signature] = (key, values, frozenset(n for n, v in values.items() if v is not None))
        return found

    def _paper_values(self, entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        title_raw = entry["title_raw"]
        title = self._titles.get(title_raw, _MISSING)
        if title is _MISSING:
            title = self._titles[title_raw] = normalize_title(title_raw)
        summary_raw = entry.get("summary_raw")
        summary = self._texts.get(summary_raw, _MISSING) if summary_raw is not None else None
        if summary is _MISSING and summary_raw is not None:  # _MISSING only when there is a raw summary
            summary = self._texts[summary_raw] = normalize_text(summary_raw)
        arxiv_id = strip_arxiv_version(entry.get("arxiv_id"))
        pith_id = entry.get("pith_id") or None
        values = {
            "arxiv_id": arxiv_id,
            "pith_id": pith_id,
            "title_raw": title_raw,
            "title": title,
            "category": entry.get("category"),
            "date": entry.get("date"),
            "summary_raw": summary_raw,
            "summary": summary,
        }
        return paper_key(arxiv_id, pith_id, title), values

    # --- building rows ----------------------------------------------------------------------------------

    def finish(self) -> CleanBatch:
        batch = CleanBatch()
        drifted = drift.drifted_hubs(self.page_templates, self.known_templates)
        self._quarantine_drift(drifted)
        merge_into, batch.merges = _fuzzy_merges(self.papers, self.explorer_keys)
        batch.papers = self._paper_rows(merge_into)
        batch.citations, batch.conflicts = citation_rows(self.citations, merge_into)
        if drifted:
            # A drifted hub's listings say nothing reliable (no roles): none of them is loaded, nor a paper
            # only they list; the warehouse keeps the hub's last good edges.
            batch.citations = [c for c in batch.citations if c["hub_uuid"] not in drifted]
            batch.conflicts = [c for c in batch.conflicts if c["hub_uuid"] not in drifted]
            kept = {c["paper_key"] for c in batch.citations}
            batch.papers = [p for p in batch.papers if p["paper_key"] in kept]
            batch.merges = [m for m in batch.merges if m["into_key"] in kept]
        self._hub_rows(batch, drifted)
        return batch

    def finish_part(self) -> HubPart:
        """This accumulator's hubs as one part of a hub-batched run (`warehouse.load.load_staged`): everything
        that depends on these hubs alone, finished; their papers and edges before the run-wide paper
        dedupe and fuzzy merge, as rows for the load's scratch tables."""
        part = HubPart(CleanBatch())
        drifted = drift.drifted_hubs(self.page_templates, self.known_templates)
        self._quarantine_drift(drifted)
        part.drifted = set(drifted)
        self._hub_rows(part.batch, part.drifted)
        for (uuid, key), cite in self.citations.items():
            part.citations.append(
                {
                    "hub_uuid": uuid,
                    "paper_key": key,
                    **{f: cite.attrs.values.get(f) for f in _CITATION_FIELDS},
                    "roles": _SEP.join(sorted(cite.roles)),
                    "polarities": _SEP.join(sorted(cite.polarities)),
                    "representative": cite.representative,
                    "explorer": key in self.explorer_keys.get(uuid, ()),
                    "drifted": uuid in part.drifted,
                }
            )
        for key, best in self.papers.items():
            by_rank: dict[Rank, dict[str, Any]] = defaultdict(dict)
            for name, value in best.values.items():
                by_rank[best.ranks[name]][name] = value
            for rank, values in by_rank.items():
                part.papers.append(
                    {"paper_key": key, "rank": rank_text(rank), **{f: values.get(f) for f in PAPER_FIELDS}}
                )
        return part

    def _hub_rows(self, batch: CleanBatch, drifted: Mapping[str, str] | set[str]) -> None:
        for uuid in sorted(self.hub_uuids):
            page = self.first_pages.get(uuid, (None, None))[1]
            twin = self.twins.get(uuid, (None, None))[1]
            parsed_count = len(self.explorer_keys.get(uuid, ()))
            complete = page is not None and parsed_count == page["citing_count"] and uuid not in self.bad_hubs
            batch.complete[uuid] = complete
            batch.hubs.append(_hub_row(uuid, page, twin))
            if page is not None and uuid not in drifted:
                batch.snapshots.append(_snapshot_row(page, parsed_count, complete))
                batch.facet_counts.extend(_facet_rows(page))
        # A 304 twin means the spider skipped the pages; a page seen anyway (a retry) makes it a normal hub.
        batch.unchanged = sorted(u for u in self.unchanged_hubs if u not in self.first_pages)
        batch.fetches = [row for _, (_, row) in sorted(self.fetches.items())]
        batch.quarantines = [row for _, (_, row) in sorted(self.quarantines.items())]

    def _quarantine_drift(self, drifted: dict[str, str]) -> None:
        """Quarantine each legacy page of a drifted hub (its fetch becomes `quarantined`); the hub is bad."""
        for uuid, detail in drifted.items():
            self.bad_hubs.add(uuid)
            for url, template in sorted(self.page_templates[uuid].items()):
                if template != "legacy":
                    continue
                recency, fetched = self.fetches.get(url, ((), None))
                if fetched is not None:
                    self.fetches[url] = (recency, {**fetched, "outcome": "quarantined", "error": drift.REASON})
                self.quarantines[url] = (
                    recency,
                    {
                        "url": url,
                        "hub_uuid": uuid,
                        "status": 200,
                        "fetched_at": fetched["fetched_at"] if fetched else None,
                        "parser_version": PARSER_VERSION,
                        "reason": drift.REASON,
                        "detail": detail[:500],
                    },
                )

    def _paper_rows(self, merge_into: dict[str, str]) -> list[dict[str, Any]]:
        merged: dict[str, _Best] = {}
        for key in sorted(self.papers, key=lambda k: (k in merge_into, k)):
            target = merge_into.get(key, key)
            if target in merged:
                merged[target].absorb(self.papers[key])
            else:
                merged[target] = self.papers[key]
        rows = []
        for key in sorted(merged):
            values = merged[key].values
            rows.append({"paper_key": key, **{f: values.get(f) for f in PAPER_FIELDS}})
        return rows


def citation_rows(
    citations: Mapping[tuple[str, str], _CitationAcc], merge_into: Mapping[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Edge rows (and role / polarity conflicts) from per-(hub, paper) accumulators, papers merged away by
    the fuzzy merge folded into their target's edge of the same hub."""
    merged: dict[tuple[str, str], _CitationAcc] = {}
    for uuid, key in sorted(citations, key=lambda hk: (hk[1] in merge_into, hk)):
        cite = citations[(uuid, key)]
        target = (uuid, merge_into.get(key, key))
        into = merged.get(target)
        if into is None:
            merged[target] = cite
        else:
            into.attrs.absorb(cite.attrs)
            into.roles |= cite.roles
            into.polarities |= cite.polarities
            into.representative |= cite.representative
    rows: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    for uuid, key in sorted(merged):
        cite = merged[(uuid, key)]
        row: dict[str, Any] = {"hub_uuid": uuid, "paper_key": key}
        for name, values in (("role", cite.roles), ("polarity", cite.polarities)):
            row[name] = min(values) if values else None
            if len(values) > 1:
                conflicts.append(
                    {"hub_uuid": uuid, "paper_key": key, "field": name, "values": sorted(values), "kept": row[name]}
                )
        row.update({f: cite.attrs.values.get(f) for f in _CITATION_FIELDS})
        row["representative"] = cite.representative
        rows.append(row)
    return rows, conflicts


STAGED_CITATION = ("hub_uuid", "paper_key", *_CITATION_FIELDS, "roles", "polarities", "representative")


def staged_citation(row: Sequence[Any]) -> _CitationAcc:
    """A scratch-table edge row (`HubPart.citations`, columns `STAGED_CITATION`) back as an accumulator,
    for `citation_rows`."""
    _, _, verdict, novelty, refs, roles, polarities, representative = row
    attrs = _Best()
    attrs.values = {f: v for f, v in (("verdict", verdict), ("novelty", novelty), ("refs", refs)) if v is not None}
    return _CitationAcc(
        attrs,
        set(roles.split(_SEP)) if roles else set(),
        set(polarities.split(_SEP)) if polarities else set(),
        bool(representative),
    )


class Observation(Protocol):
    """A paper observation read by field name: a scratch-table row (`RowMapping`) or a plain dict."""

    def __getitem__(self, key: str, /) -> Any: ...


def best_values(observations: Iterable[Observation]) -> dict[str, Any]:
    """A paper's fields from its scratch-table observations (`HubPart.papers`, from several hub batches):
    per field the non-null value of the best-ranked observation, as `_Best` would have kept it."""
    values: dict[str, Any] = {}
    ranks: dict[str, str] = {}
    for obs in observations:
        for name in PAPER_FIELDS:
            value = obs[name]
            if value is not None and (name not in ranks or obs["rank"] < ranks[name]):
                values[name], ranks[name] = value, obs["rank"]
    return values


def paper_row(key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {"paper_key": key, **{f: values.get(f) for f in PAPER_FIELDS}}


def rank_text(rank: Rank) -> str:
    """A listing's rank (unfiltered?, list, hub, filters, page, position) as text that sorts, by code point,
    exactly as the tuple does: the separator sorts below any character of a hub id or filter string, and
    the numbers are offset and zero-padded."""
    filtered, listed, uuid, filters, page, position = rank
    return _SEP.join(
        (str(filtered), str(listed), uuid, filters, f"{page + _OFFSET:013d}", f"{position + _OFFSET:013d}")
    )


_SEP = "\x01"
_OFFSET = 2**40


_MISSING: Any = object()


def _nul_free(value: Any) -> Any:
    """U+0000 reads as U+FFFD in a JSON twin as in a page (PAGES.md "Raw values"): PostgreSQL text cannot
    hold it, and JSON can carry it (`\\u0000`) where HTML cannot."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {key: _nul_free(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_nul_free(v) for v in value]
    return value


def _hub_row(uuid: str, page: dict[str, Any] | None, twin: dict[str, Any] | None) -> dict[str, Any]:
    page = page or {}
    twin = twin or {}
    title_raw = page.get("title_raw")
    title = normalize_title(title_raw)
    if title == PENDING_TITLE:
        title = None
    role_summary = page.get("role_summary")
    return {
        "hub_uuid": uuid,
        "title_raw": title_raw,
        "title": title,
        "abstract_raw": page.get("abstract_raw"),
        "abstract": normalize_text(page.get("abstract_raw")),
        "tier": page.get("tier") or twin.get("tier"),
        "label": page.get("label"),
        "template": page.get("template"),
        "citing_count": page.get("citing_count"),
        "classified_count": sum(role_summary.values()) if role_summary is not None else None,
        "headline": page.get("headline"),
        "headline_role": page.get("headline_role"),
        "headline_share": page.get("headline_share"),
        "external_cited_by_count": twin.get("external_cited_by_count"),
        "year": twin.get("year"),
        "arxiv_id": twin.get("arxiv_id"),
        "doi": twin.get("doi"),
    }


def _snapshot_row(page: dict[str, Any], parsed_count: int, complete: bool) -> dict[str, Any]:
    return {
        "hub_uuid": page["hub_uuid"],
        "tier": page.get("tier"),
        "label": page.get("label"),
        "template": page.get("template"),
        "headline": page.get("headline"),
        "headline_role": page.get("headline_role"),
        "headline_share": page.get("headline_share"),
        "citing_count": page["citing_count"],
        "classified_count": sum((page.get("role_summary") or {}).values()),
        "parsed_count": parsed_count,
        "complete": complete,
    }


def _facet_rows(page: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = dict(page.get("facets") or {})
    blocks["role_summary"] = page.get("role_summary") or {}
    blocks["polarity_summary"] = page.get("polarity_summary") or {}
    return [
        {"hub_uuid": page["hub_uuid"], "facet": facet, "value": str(value), "count": count}
        for facet in sorted(blocks)
        for value, count in sorted(blocks[facet].items())
    ]


def _fetch_row(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": item["url"],
        "hub_uuid": item.get("hub_uuid"),
        "status": item.get("status"),
        "fetched_at": _parse_time(item.get("fetched_at")),
        "sha256": item.get("sha256"),
        "bytes": item.get("bytes"),
        "warc_file": item.get("warc_file"),
        "warc_offset": item.get("warc_offset"),
        "outcome": item["outcome"],
        "error": item.get("error"),
        "etag": item.get("etag"),
        "last_modified": item.get("last_modified"),
    }


def _quarantine_row(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": item["url"],
        "hub_uuid": item.get("hub_uuid"),
        "status": item.get("status"),
        "fetched_at": _parse_time(item.get("fetched_at")),
        "parser_version": item.get("parser_version"),
        "reason": item["reason"],
        "detail": item.get("detail"),
    }


# --- fuzzy merge ----------------------------------------------------------------------------------------


def _fuzzy_merges(
    papers: dict[str, _Best],
    explorer_keys: dict[str, set[str]],
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Merge title-identity papers into a near-identical paper (fuzz.ratio >= 95 on casefolded titles).

    Guards: same year (from the meta-line date); no conflicting ids (a paper with an arXiv or pith id is
    never merged away, and two id papers never merge); never two papers that one hub's explorer lists as
    separate entries. Candidates are blocked by (year, first word) and (year, last word), so the cost
    grows with block sizes, not with the square of the paper count. A title paper merges into an id paper
    or into a title paper with a smaller key, never into one that merged away: no chains, same result for
    any input order.
    """
    title_keys = sorted(k for k in papers if k.startswith("title:"))
    if not title_keys:
        return {}, []
    blocks: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for key, best in papers.items():
        for block, folded in fuzzy_blocks(best.values.get("title"), best.values.get("date")):
            blocks[block].append((key, folded))
    scored: dict[str, dict[str, float]] = defaultdict(dict)
    years: dict[str, str] = {}
    for (year, _), members in blocks.items():
        score_block(year, members, scored, years)

    hubs_of: dict[str, list[str]] = defaultdict(list)
    for uuid, keys in explorer_keys.items():
        for key in keys:
            hubs_of[key].append(uuid)
    return choose_merges(scored, years, lambda key, other: any(other in explorer_keys[h] for h in hubs_of.get(key, ())))


def fuzzy_blocks(title: str | None, date: str | None) -> list[tuple[tuple[str, str], str]]:
    """The candidate blocks of a paper, (year, first word) and (year, last word) of its casefolded title,
    each with that folded title; none without a title or a year."""
    if not title or not date or len(date) < 4:
        return []
    words = title.casefold().split()
    if not words:
        return []
    folded = " ".join(words)
    return [((date[:4], token), folded) for token in {words[0], words[-1]}]


def score_block(
    year: str, members: list[tuple[str, str]], scored: dict[str, dict[str, float]], years: dict[str, str]
) -> None:
    """Score each title paper of one block against the block: `scored[key][other]` for ratios >= 95.

    fuzz.ratio is 100 * (1 - indel distance / (len a + len b)), and the distance is at least the length
    difference, so a title reaches the cutoff only against titles of nearly its length. Each title is scored
    against that length window of the block (members sorted by length; the window one character wider on
    each side, so no pair at the boundary is lost to rounding): the same scores as against the whole block,
    at a cost that grows with the titles of similar length instead of the block (a block such as a year's
    titles starting with "a" grows with the site).
    """
    ordered = sorted(members, key=lambda member: len(member[1]))
    lengths = [len(folded) for _, folded in ordered]
    choices = [folded for _, folded in ordered]
    slack = 1 - FUZZY_MIN_SCORE / 100
    for key, folded in members:
        if not key.startswith("title:"):
            continue
        years[key] = year
        # |n - m| <= slack * (n + m)  <=>  n (1 - slack) / (1 + slack) <= m <= n (1 + slack) / (1 - slack)
        n = len(folded)
        lo = bisect_left(lengths, n * (1 - slack) / (1 + slack) - 1)
        hi = bisect_right(lengths, n * (1 + slack) / (1 - slack) + 1)
        matches = process.extract(folded, choices[lo:hi], scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_SCORE, limit=None)
        for _, score, index in matches:
            other = ordered[lo + index][0]
            if other != key:
                scored[key][other] = score


def choose_merges(
    scored: Mapping[str, Mapping[str, float]], years: Mapping[str, str], colisted: Callable[[str, str], bool]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Pick each title paper's target among its scored candidates, in key order (see `_fuzzy_merges`);
    `colisted(key, other)` is true when one hub's unfiltered explorer lists both."""
    merge_into: dict[str, str] = {}
    merges: list[dict[str, Any]] = []
    for key in sorted(scored):
        candidates = [
            (-score, other.startswith("title:"), other)
            for other, score in scored[key].items()
            if other not in merge_into and (not other.startswith("title:") or other < key) and not colisted(key, other)
        ]
        if not candidates:
            continue
        neg_score, _, target = min(candidates)
        merge_into[key] = target
        merges.append(
            {
                "from_key": key,
                "into_key": target,
                "score": round(-neg_score, 2),
                "reason": f"title ratio >= {FUZZY_MIN_SCORE:g}, same year {years[key]}, no conflicting ids",
            }
        )
    return merge_into, merges
