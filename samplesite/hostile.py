"""Hostile text for the sample site (`build_site(..., hostile=True)`): titles and summaries that try to
break whatever handles them as anything but text.

SQL fragments, quotes, backslashes, DB-API and SQLAlchemy placeholders (`%s`, `%(x)s`, `:name`, `?`,
`$1`), format braces, markup-looking text (served escaped, so it reads as text), right-to-left and
zero-width characters, C0 controls, a NUL byte, and 1 MB long values. Each is a (served, clean) pair:
`served` is what the page shows, `clean` what the normalizer must make of it (the same text: none of
them carries an artefact the normalizer undoes, except NFKC composing a combining accent: `CLEAN`).

NUL (U+0000): HTML cannot carry it as text (a parse error; parsers drop it or read U+FFFD) and
PostgreSQL text cannot hold it. citehub reads it as U+FFFD (PAGES.md "Raw values"), so the ground
truth of a value served with a NUL names U+FFFD in its place (`samplesite.truth.visible`).

Only papers with an arXiv or pith id get hostile titles (their identity does not depend on the title,
so the corpus keeps its keys); hub titles other than the seed hub's and stubs' get the short ones.
"""

from __future__ import annotations

from samplesite.model import Site

ONE_MB = 1024 * 1024
_UNIT = "x'\\%s:n{} "  # quote, backslash, placeholder, brace: 11 chars, single spaces only


def _long(prefix: str) -> str:
    """Exactly ONE_MB characters (ASCII, so as many bytes), no run of spaces, no space at the end."""
    body = (prefix + _UNIT * (ONE_MB // len(_UNIT) + 1))[: ONE_MB - 1].rstrip()
    return body + "!" * (ONE_MB - len(body))


# name -> text served (and expected back, except NUL: see the module docstring)
HOSTILE: dict[str, str] = {
    "sql": "Robert'); DROP TABLE citation; -- \"quoted\" O'Neil's `ticks` ' OR '1'='1",
    "placeholders": "%s %(name)s %% :name :1 ? $1 @p {} {0} {name} ${x} %d",
    "backslashes": "back\\slash C:\\temp\\new \\n \\x00 \\\\ trailing\\",
    "markup": "&amp; &lt;b&gt; <script>alert(1)</script> <!-- not a comment --> ]]> </html>",
    "bidi": "RTL \u202eevil\u202c \u200fmark\u200e zero\u200bwidth\u200djoiner \ufeffbom \u2066iso\u2069",
    "controls": "bell\x07 escape\x1b[31m stx\x02 sep\x01",
    "nul": "nul\x00byte in\x00 the middle",
    "emoji": "\U0001f600 \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u4e2d\u6587 e\u0301",
}
# What the normalizer makes of a served value, where that differs (NFKC composes e + U+0301 into é).
CLEAN: dict[str, str] = {"emoji": HOSTILE["emoji"].replace("e\u0301", "\u00e9")}
NUL_DOI = "10.1234/nul\x00doi"
LONG_TITLE = _long("Long title ")
LONG_SUMMARY = _long("Long summary ")
# Hub titles: the short ones (a hub page shows its title twice, in <title> and in the page).
HUB_TITLES = ("sql", "placeholders", "backslashes", "bidi", "nul", "markup")


def make_hostile(site: Site) -> Site:
    """Swap hostile titles and summaries into `site` (in place; returns it). Deterministic."""
    names = list(HOSTILE)
    papers = [p for p in site.papers if p.arxiv_id or p.pith_id]
    for i, paper in enumerate(papers[: len(names)]):
        title, summary = names[i], names[(i + 1) % len(names)]
        paper.title_raw, paper.title = HOSTILE[title], CLEAN.get(title, HOSTILE[title])
        paper.summary_raw, paper.summary = HOSTILE[summary], CLEAN.get(summary, HOSTILE[summary])
    if len(papers) > len(names):
        long_one = papers[len(names)]
        long_one.title = long_one.title_raw = LONG_TITLE
        long_one.summary = long_one.summary_raw = LONG_SUMMARY
    hubs = [h for h in site.hubs[1:] if h.title is not None]
    for hub, name in zip(hubs, HUB_TITLES, strict=False):
        hub.title_raw, hub.title = HOSTILE[name], CLEAN.get(name, HOSTILE[name])
        if name == "nul":  # JSON can carry a NUL where HTML cannot: the JSON twin's doi does
            hub.doi = NUL_DOI
    return site


def hostile_papers(site: Site) -> list[str]:
    """Keys of the papers `make_hostile` changed (the long one last)."""
    papers = [p for p in site.papers if p.arxiv_id or p.pith_id]
    return [p.key for p in papers[: len(HOSTILE) + 1]]
