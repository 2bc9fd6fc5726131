"""Parser options side by side on the same archived hub pages (issue 6: record the choice and the figures).

    python -m bench.parsers RUN_DIR [--pages 2000]

RUN_DIR is a crawl's run folder (its warc/ holds the pages; `make bench` leaves one in its scratch folder,
and any nightly's data/runs/<run id> will do). Parse-only rows build the tree and nothing else; citehub's
row is the whole parse the crawl does per page (tree, text blocks, every field, normalization of titles
and summaries). Writes the "Parser options" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from bench.common import write_section
from bench.stages import archived_pages

SECTION = "## Parser options (python -m bench.parsers)"
RESULTS = Path(__file__).with_name("RESULTS.md")


def _options():
    import lxml.etree
    import lxml.html
    import parsel
    from bs4 import BeautifulSoup

    from spiders.parse.hub_html import parse_hub_page
    from spiders.parse.normalize import normalize_text, normalize_title

    def citehub(url, body):
        page = parse_hub_page(body, url)
        normalize_title(page.title_raw)
        for entry in (*page.representative, *page.explorer):
            normalize_title(entry.title_raw)
            normalize_text(entry.summary_raw)

    parser = lxml.etree.HTMLParser()
    return {
        "lxml.html.fromstring (parse only; the bench baseline)": lambda url, body: lxml.html.fromstring(body),
        "lxml.etree.fromstring, plain HTMLParser (parse only)": lambda url, body: lxml.etree.fromstring(body, parser),
        "parsel.Selector (parse only)": lambda url, body: parsel.Selector(body=body, type="html"),
        "BeautifulSoup + lxml builder (parse only)": lambda url, body: BeautifulSoup(body, "lxml"),
        "BeautifulSoup + html.parser (parse only)": lambda url, body: BeautifulSoup(body, "html.parser"),
        "citehub parse_hub_page + normalization (every field)": citehub,
    }


def measure(pages: list[tuple[str, bytes]], rounds: int = 3) -> list[tuple[str, float]]:
    """Best of `rounds` passes per option, the options interleaved, so a busy moment hits all alike."""
    best: dict[str, float] = {}
    options = _options()
    for _ in range(rounds):
        for name, fn in options.items():
            started = time.perf_counter()
            for url, body in pages:
                fn(url, body)
            best[name] = max(best.get(name, 0.0), len(pages) / (time.perf_counter() - started))
    return list(best.items())


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.parsers")
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    pages = list(itertools.islice(archived_pages(args.run_dir), args.pages))
    rows = measure(pages)
    base = rows[0][1]
    lines = [
        SECTION,
        "",
        f"`python -m bench.parsers RUN_DIR --pages {args.pages}`: {len(pages)} archived hub pages "
        f"of a `make bench` crawl, {sum(len(b) for _, b in pages) / len(pages) / 1024:.1f} KB on average.",
        "",
        "| option | pages/s | vs lxml.html.fromstring |",
        "|---|---|---|",
    ]
    for name, rate in rows:
        print(f"{name}: {rate:,.0f} pages/s ({rate / base:.2f})")
        lines.append(f"| {name} | {rate:,.0f} | {rate / base:.2f} |")
    lines += [
        "",
        "citehub parses with lxml directly (a plain etree parser and one iterwalk pass into text blocks); "
        "BeautifulSoup stays as the fallback for pages libxml2 gives up on.",
        "",
    ]
    write_section(args.out, SECTION, "\n".join(lines))


if __name__ == "__main__":
    main()
