"""Pure rendering of the sample site's pages: two markups of the same content (PAGES.md).

Markup "a" is semantic HTML; markup "b" is div/table/span soup with meaningless class names and a
different order inside entries. Both are rendered from `view.expected_page`, the parser's expectation.
"""

from __future__ import annotations

import hashlib
import re
from html import escape
from typing import Any
from urllib.parse import urlencode

from samplesite.model import Site
from samplesite.view import co_cited, expected_page, hub_figures, hub_url, meta_line

__all__ = [
    "ROBOTS_TXT",
    "expected_page",
    "markup_for",
    "render_hub_html",
    "render_hub_json",
    "render_paper_html",
    "resolve_paper",
]

ROBOTS_TXT = "User-agent: *\nDisallow: /pith/\nAllow: /\n"
TIER_WORDS = {"hub": "hub", "super_hub": "super hub", None: ""}


def markup_for(hub_uuid: str) -> str:
    """The markup a hub gets when the server runs with markup="mixed": stable per hub, about half each."""
    return "ab"[hashlib.sha1(hub_uuid.encode()).digest()[0] % 2]


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def _count_sentence(view: dict[str, Any]) -> str:
    n = view["citing_count"]
    if view["template"] == "legacy":
        verb = "paper cites" if n == 1 else "papers cite"
        return f"{n:,} Pith {verb} this work. Polarity classification is still indexing."
    return f"{n:,} Pith {'paper' if n == 1 else 'papers'} citing it"


def _stat_line(view: dict[str, Any]) -> str | None:
    if view["headline_role"] is None:
        return None
    return f"{view['headline_role'].capitalize()} {int(view['headline_share'])}% of classified citations"


FACET_FILTER = {"fields": "cat", "years": "year", "verdicts": "verdict", "roles": "role", "polarities": "polarity"}


def render_hub_html(
    site: Site, hub_uuid: str, filters: dict[str, str] | None, page: int, markup: str, base_url: str
) -> str:
    view = expected_page(site, hub_uuid, filters, page, base_url)
    cocited = co_cited(site, hub_uuid)
    if markup == "a":
        return _hub_a(view, base_url, cocited)
    if markup == "b":
        return _hub_b(view, base_url, cocited)
    raise ValueError(f"unknown markup {markup!r}")


def _head(title: str, description: str | None) -> str:
    desc = f'<meta name="description" content="{_e(description)}">\n' if description else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)} | Pith</title>\n{desc}</head>\n"
    )


def _description(view: dict[str, Any]) -> str | None:
    first = next(iter(view["explorer"] + view["representative"]), None)
    return first["summary_raw"] if first else None


# -- markup a: semantic ------------------------------------------------------------------------------
def _entry_a(item: dict[str, Any], base_url: str) -> str:
    title = _e(item["title_raw"])
    if item["href"]:
        title = f'<a href="{_e(item["href"][len(base_url) :])}">{title}</a>'
    parts = [f'<li>\n<h3 class="entry-title">{title}</h3>']
    meta = _meta_of(item)
    if meta:
        parts.append(f'<p class="entry-meta">{_e(meta)}</p>')
    if item["summary_raw"]:
        parts.append(f'<p class="entry-summary">{_e(item["summary_raw"])}</p>')
    parts.append("</li>")
    return "\n".join(parts)


def _meta_of(item: dict[str, Any]) -> str | None:
    if item["category"] is None:
        return None
    novelty = "none" if item["novelty"] is None else f"{item['novelty']:.1f}"
    parts = [item["category"], item["date"], item["verdict"], f"novelty {novelty}"]
    if item["refs"] is not None:
        parts.append(f"{item['refs']} ref" if item["refs"] == 1 else f"{item['refs']} refs")
    return " · ".join(parts)


def _pairs_a(pairs: dict[str, int], link_key: str | None) -> str:
    items = []
    for value, count in pairs.items():
        text = f"{_e(value)} {count:,}"
        if link_key:
            text = f'<a href="?{_e(urlencode({link_key: value}))}">{text}</a>'
        items.append(f"<li>{text}</li>")
    return "<ul>\n" + "\n".join(items) + "\n</ul>"


def _pagination(view: dict[str, Any], base_url: str, absolute: bool) -> list[tuple[str, str]]:
    """(text, href) links after the explorer; '…' between gaps has no href."""
    prefix = base_url if absolute else ""
    links: list[tuple[str, str]] = []
    previous = 0
    for n in view["page_numbers"]:
        if n > previous + 1:
            links.append(("…", ""))
        links.append((str(n), prefix + hub_url(view["hub_uuid"], view["filters"], n)))
        previous = n
    if view["next_page"] and view["page_numbers"]:
        links.append(("next", prefix + hub_url(view["hub_uuid"], view["filters"], view["next_page"])))
    return links


def _hub_a(view: dict[str, Any], base_url: str, cocited: list[dict[str, str]] | None = None) -> str:
    out = [
        _head(view["title_raw"], _description(view)),
        '<body>\n<header><nav><a href="/">Pith</a></nav></header>',
        "<main>",
        '<section class="hub-head">',
    ]
    tier_label = " ".join(x for x in (TIER_WORDS[view["tier"]], view["label"] or "") if x)
    if tier_label:
        out.append(
            f'<p class="tier"><span>{_e(TIER_WORDS[view["tier"]])}</span> '
            f'<span class="label">{_e(view["label"] or "")}</span></p>'
        )
    out.append(f"<h1>{_e(view['title_raw'])}</h1>")
    if view["headline"]:
        out.append(f'<p class="headline">{_e(view["headline"])}</p>')
    out.append(f'<p class="count">{_e(_count_sentence(view))}</p>')
    stat = _stat_line(view)
    if stat:
        out.append(f'<p class="stat">{_e(stat)}</p>')
    out.append("</section>")
    if view["abstract_raw"]:
        out.append(f'<section class="abstract">\n<h2>abstract</h2>\n<p>{_e(view["abstract_raw"])}</p>\n</section>')
    if view["template"] == "current":
        out += [
            '<section class="tools">',
            "<h2>hub tools</h2>",
            "<h3>citation-role summary</h3>",
            _pairs_a(view["role_summary"], None),
            "<h3>citation-polarity summary</h3>",
            _pairs_a(view["polarity_summary"], None),
            "</section>",
        ]
        for name, pairs in view["facets"].items():
            out.append(f'<section class="facet">\n<h2>{name}</h2>\n{_pairs_a(pairs, FACET_FILTER[name])}\n</section>')
        if view["filters"]:
            out.append(f'<p><a href="/citations/{view["hub_uuid"]}">clear filters</a></p>')
    if view["claims"]:
        out.append(
            '<section class="claims">\n<h2>claims ledger</h2>\n<ul>\n'
            + "\n".join(f"<li>{_e(c)}</li>" for c in view["claims"])
            + "\n</ul>\n</section>"
        )
    if cocited:
        out.append(
            '<section class="cocited">\n<h2>co-cited works</h2>\n<ul>\n'
            + "\n".join(f'<li><a href="{_e(w["path"])}">{_e(w["title_raw"])}</a></li>' for w in cocited)
            + "\n</ul>\n</section>"
        )
    out += ['<section class="representative">', "<h2>representative citing papers</h2>", "<ol>"]
    out += [_entry_a(item, base_url) for item in view["representative"]]
    out += ["</ol>", "</section>", '<section class="explorer">', "<h2>citing papers explorer</h2>", "<ul>"]
    out += [_entry_a(item, base_url) for item in view["explorer"]]
    out.append("</ul>")
    links = _pagination(view, base_url, absolute=False)
    if links:
        out.append(
            '<nav class="pagination">'
            + " ".join(f'<a href="{_e(href)}">{text}</a>' if href else f"<span>{text}</span>" for text, href in links)
            + "</nav>"
        )
    out += ["</section>", "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# -- markup b: soup ----------------------------------------------------------------------------------
def _heading_b(text: str, level: int) -> str:
    # Headings alternate between <div><b> and <h3> so nothing can rely on either.
    if level:
        return f'<h3 class="qq{level}">{_e(text)}</h3>'
    return f'<div class="x7f"><b>{_e(text)}</b></div>'


def _row_b(item: dict[str, Any]) -> str:
    title = _e(item["title_raw"])
    title = f'<a class="lk" href="{_e(item["href"])}">{title}</a>' if item["href"] else f"<span>{title}</span>"
    cells = [f'<td class="c0">{title}</td>']
    if item["summary_raw"]:
        cells.append(f'<td class="c2"><span>{_e(item["summary_raw"])}</span></td>')
    meta = _meta_of(item)
    if meta:
        # The meta line comes after the summary here (before it in markup a).
        cells.append(f'<td class="c1"><small>{_e(meta)}</small></td>')
    return '<tr class="r">\n' + "\n".join(cells) + "\n</tr>"


def _pairs_b(pairs: dict[str, int], link_key: str | None, hub_uuid: str) -> str:
    rows = []
    for value, count in pairs.items():
        cell = f"<span>{_e(value)}</span> <span>{count:,}</span>"
        if link_key:
            cell = f'<a href="{_e(hub_url(hub_uuid, {link_key: value}))}">{cell}</a>'
        rows.append(f'<div class="p9">{cell}</div>')
    return '<div class="pp">\n' + "\n".join(rows) + "\n</div>"


def _hub_b(view: dict[str, Any], base_url: str, cocited: list[dict[str, str]] | None = None) -> str:
    uuid = view["hub_uuid"]
    out = [_head(view["title_raw"], None), '<body>\n<div id="app" class="w1">', '<div class="k3">']
    if view["tier"] or view["label"]:
        out.append(
            '<div class="z1">'
            + " ".join(f"<span>{_e(x)}</span>" for x in (TIER_WORDS[view["tier"]], view["label"]) if x)
            + "</div>"
        )
    out.append(f'<h1 class="t0">{_e(view["title_raw"])}</h1>')
    if view["headline"]:
        out.append(f'<div class="z2">{_e(view["headline"])}</div>')
    count = _count_sentence(view)
    number, rest = count.split(" ", 1)
    out.append(f'<div class="z3"><span class="n">{number}</span> {_e(rest)}</div>')
    stat = _stat_line(view)
    if stat:
        out.append(f'<div class="z4">{_e(stat)}</div>')
    out.append("</div>")
    if view["abstract_raw"]:
        out.append(f'<div class="k4">{_heading_b("abstract", 0)}\n<div>{_e(view["abstract_raw"])}</div></div>')
    if view["template"] == "current":
        out += [
            '<div class="k5">',
            _heading_b("hub tools", 0),
            _heading_b("citation-role summary", 1),
            _pairs_b(view["role_summary"], None, uuid),
            _heading_b("citation-polarity summary", 1),
            _pairs_b(view["polarity_summary"], None, uuid),
            "</div>",
        ]
        for name, pairs in view["facets"].items():
            out.append(f'<div class="k6">{_heading_b(name, 0)}\n{_pairs_b(pairs, FACET_FILTER[name], uuid)}</div>')
        if view["filters"]:
            out.append(f'<div class="k7"><a href="{_e(base_url)}/citations/{uuid}">clear filters</a></div>')
    if view["claims"]:
        out.append(
            '<div class="k8">'
            + _heading_b("claims ledger", 2)
            + "\n"
            + "\n".join(f'<div class="cl">{_e(c)}</div>' for c in view["claims"])
            + "</div>"
        )
    if cocited:
        out.append(
            '<div class="k11">'
            + _heading_b("co-cited works", 0)
            + "\n"
            + "\n".join(
                f'<div class="cw"><a href="{_e(base_url + w["path"])}">{_e(w["title_raw"])}</a></div>' for w in cocited
            )
            + "</div>"
        )
    out += ['<div class="k9">', _heading_b("representative citing papers", 0), '<table class="tb"><tbody>']
    out += [_row_b(item) for item in view["representative"]]
    out += [
        "</tbody></table>",
        "</div>",
        '<div class="k10">',
        _heading_b("citing papers explorer", 2),
        '<table class="tb2"><tbody>',
    ]
    out += [_row_b(item) for item in view["explorer"]]
    out.append("</tbody></table>")
    links = _pagination(view, base_url, absolute=True)
    if links:
        out.append(
            '<div class="pg">'
            + " ".join(f'<a href="{_e(href)}">{text}</a>' if href else f"<i>{text}</i>" for text, href in links)
            + "</div>"
        )
    out += ["</div>", "</div>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


# -- JSON twin and paper pages -----------------------------------------------------------------------
def render_hub_json(site: Site, hub_uuid: str) -> dict[str, Any]:
    hub = site.hub(hub_uuid)
    figures = hub_figures(site, hub)
    dates = sorted(d for d in (site.paper(c.paper_key).date for c in hub.citations) if d)
    categories = {site.paper(c.paper_key).category for c in hub.citations} - {None}
    return {
        "work": {
            "id": hub.uuid,
            "arxiv_id": hub.arxiv_id,
            "doi": hub.doi,
            "openalex_id": f"W{int(hashlib.sha1(hub.uuid.encode()).hexdigest()[:8], 16)}",
            "title": hub.title,
            "display_title": hub.title_raw,
            "render_title": hub.title_raw,
            "title_quality_ok": hub.title is not None and hub.title == hub.title_raw,
            "authors": list(hub.authors),
            "authors_text": ", ".join(hub.authors),
            "year": hub.year,
            "venue": hub.venue,
            "abstract": hub.abstract,
            "external_url": f"https://arxiv.org/abs/{hub.arxiv_id}" if hub.arxiv_id else None,
            "cited_by_count": hub.external_cited_by_count,
            "created_at": hub.created_at,
            "updated_at": hub.updated_at,
        },
        "hub": {
            "state": {
                "tier": figures["tier"],
                "tier_reason": figures["tier_reason"],
                "pith_inbound_count": figures["citing_count"],
                "external_cited_by_count": hub.external_cited_by_count,
                "distinct_field_count": len(categories),
                "first_pith_cited_at": f"{dates[0]}T00:00:00Z" if dates else None,
                "last_pith_cited_at": f"{dates[-1]}T00:00:00Z" if dates else None,
            }
        },
    }


_VERSION = re.compile(r"v\d+$")


def resolve_paper(site: Site, paper_ref: str) -> str | None:
    """Paper key for the id in a /paper/, /p/ or /ref/arxiv/ path, or None when the site has no such paper."""
    for key in (f"arxiv:{_VERSION.sub('', paper_ref)}", f"pith:{paper_ref}"):
        if site.has_paper(key):
            return key
    return None


def render_paper_html(site: Site, paper_ref: str) -> str | None:
    key = resolve_paper(site, paper_ref)
    if key is None:
        return None
    paper = site.paper(key)
    hubs = [site.hub(c.hub_uuid) for c in site.citations_of_paper(key)]
    out = [_head(paper.title_raw, paper.summary_raw), "<body>\n<main>", f"<h1>{_e(paper.title_raw)}</h1>"]
    meta = meta_line(paper)
    if meta:
        out.append(f'<p class="meta">{_e(meta)}</p>')
    if paper.summary_raw:
        out.append(f'<p class="summary">{_e(paper.summary_raw)}</p>')
    out += ['<section class="references">', "<h2>references</h2>", "<ol>"]
    out += [f'<li><a href="/citations/{h.uuid}">{_e(h.title_raw)}</a></li>' for h in hubs]
    out += ["</ol>", "</section>", "</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"
