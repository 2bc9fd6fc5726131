"""urls.Resolver is a faster urljoin for one page's links: its results must be exactly urljoin's."""

import random
from urllib.parse import urljoin

import pytest

from spiders.parse.urls import Resolver

BASES = [
    "http://127.0.0.1:8000/citations/abc",
    "http://h/citations/abc?cat=cs.LG&page=2",
    "https://pith.science/citations/x/",
    "HTTP://H/a/b?q#f",  # a base urlsplit rewrites: everything goes through urljoin
    "http://h",
    "http://h/a;p?q",  # path parameters in the base
    "http://h/a/./b?x",
    "http://h/a?",
    "http://u@h:1/a#",
    "ftp://h/a",  # not http(s)
]

HREFS = [
    # root-relative: the concatenation shortcut
    "/paper/2406.01234",
    "/paper/2406.01234v2/",
    "/citations/abc?cat=cs.LG&page=3",
    "/",
    # root-relative that urljoin rewrites
    "/x/../paper/1",
    "/./paper/1",
    "/a/.",
    "/a/..",
    "/p;x/1",
    "/p#frag",
    "/p?",
    "/\tpaper/1",
    "/pa\nper",
    "//127.0.0.1:1/paper/1",
    "//h",
    # query-only
    "?page=2",
    "?cat=cs.LG&page=2",
    "?",
    "?a#b",
    "?a;b",
    # absolute
    "http://h/paper/1",
    "https://x.y/p?q=1",
    "HTTP://H/p",
    "http://h",
    "https://x.y",
    "http://",
    "ftp://h/p",
    # relative and odd
    "paper/1",
    "./p",
    "../p",
    "#frag",
    "",
    " ",
    ".",
    "..",
    ";p",
    "mailto:a@b",
    "javascript:void(0)",
    "http:p",
    "%2Fpaper",
    "/é",
    "\\paper",
    "?\t",
]


@pytest.mark.parametrize("base", BASES)
def test_resolver_joins_like_urljoin(base: str) -> None:
    resolve = Resolver(base)
    assert [resolve(href) for href in HREFS] == [urljoin(base, href) for href in HREFS]


def test_resolver_shortcuts_give_the_expected_urls() -> None:
    resolve = Resolver("http://127.0.0.1:8000/citations/abc?cat=cs.LG")
    assert resolve("/paper/2406.01234") == "http://127.0.0.1:8000/paper/2406.01234"
    assert resolve("?page=2") == "http://127.0.0.1:8000/citations/abc?page=2"
    assert resolve("https://pith.science/paper/x") == "https://pith.science/paper/x"
    assert resolve("/x/../paper/1") == "http://127.0.0.1:8000/paper/1"


def test_resolver_raises_where_urljoin_raises() -> None:
    base = "http://h/citations/abc"
    with pytest.raises(ValueError) as want:  # noqa: PT011
        urljoin(base, "//[bad/p")
    with pytest.raises(ValueError) as got:  # noqa: PT011
        Resolver(base)("//[bad/p")
    assert str(got.value) == str(want.value)


def test_resolver_matches_urljoin_on_fuzzed_links() -> None:
    # A fixed seed: the same 20,000 base/href pairs each run.
    rnd = random.Random(1)
    alphabet = [
        "http://h",
        "https://x.y",
        "http://",
        "/",
        "?",
        "#",
        ".",
        "..",
        ";",
        ":",
        "\t",
        "\n",
        " ",
        "a",
        "x",
        "%2F",
        "é",
        "=",
        "&",
        "//",
        "\x01",
        "[",
        "]",
        "@",
        "http:",
        "HTTP://",
        "v2",
        "\\",
    ]
    mismatches = []
    for _ in range(20_000):
        base = rnd.choice(BASES)
        href = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 8)))
        if rnd.random() < 0.5:
            href = rnd.choice(["/", "?", "http://", "https://"]) + href
        try:
            want = ("ok", urljoin(base, href))
        except ValueError as err:
            want = ("err", str(err))
        try:
            got = ("ok", Resolver(base)(href))
        except ValueError as err:
            got = ("err", str(err))
        if got != want:
            mismatches.append((base, href, want, got))
    assert mismatches == []
