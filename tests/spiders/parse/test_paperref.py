"""Paper refs and the known-papers file (spiders/parse/paperref.py): refs and paths, the file's round trip and
its membership test."""

from __future__ import annotations

import sys
from array import array
from pathlib import Path

import pytest

from spiders.parse import paperref
from spiders.parse.paperref import KnownPapers, is_paper_url, paper_path, paper_ref, ref_hash, write_known_papers


def test_a_ref_names_the_arxiv_id_first_then_the_pith_id():
    assert paper_ref("2406.01234", None) == "arxiv:2406.01234"
    assert paper_ref("2406.01234", "ab12cd34") == "arxiv:2406.01234"
    assert paper_ref(None, "ab12cd34") == "pith:ab12cd34"
    assert paper_ref("hep-th/9901001", None) == "arxiv:hep-th/9901001"
    assert paper_ref(None, None) is None
    assert paper_ref("", "") is None


def test_a_paper_page_is_under_paper_whatever_the_id():
    assert paper_path("arxiv:2406.01234") == "/paper/2406.01234"
    assert paper_path("pith:ab12cd34") == "/paper/ab12cd34"
    assert paper_path("arxiv:hep-th/9901001") == "/paper/hep-th/9901001"
    for bad in ("2406.01234", "doi:10.1/x", "arxiv:", "title:abc"):
        with pytest.raises(ValueError, match="not a paper ref"):
            paper_path(bad)


def test_paper_urls_are_told_from_hub_urls():
    assert is_paper_url("https://pith.science/paper/2406.01234")
    assert is_paper_url("/paper/ab12cd34")
    assert not is_paper_url("https://pith.science/paper/")
    assert not is_paper_url("https://pith.science/citations/0426219a-789e-4964-adc8-a04538510818")
    assert not is_paper_url("https://pith.science/citations/0426219a-789e-4964-adc8-a04538510818.json")


def test_the_file_holds_the_sorted_unique_hashes_and_round_trips(tmp_path: Path):
    refs = ["arxiv:2406.01234", "pith:ab12cd34", "arxiv:hep-th/9901001", "arxiv:2406.01234", "pith:ab12cd34"]
    path = tmp_path / "sub" / "known.bin"
    assert write_known_papers(iter(refs), path) == 3
    assert path.stat().st_size == 3 * 8
    stored = array("Q", path.read_bytes())
    if sys.byteorder != "little":  # pragma: no cover
        stored.byteswap()
    assert list(stored) == sorted({ref_hash(r) for r in refs})
    known = KnownPapers.load(path)
    assert len(known) == 3
    assert [r in known for r in refs] == [True] * 5
    assert "arxiv:2406.01235" not in known
    assert "pith:ab12cd35" not in known
    assert "2406.01234" not in known  # a bare id is no ref
    assert None not in known
    assert list(tmp_path.joinpath("sub").iterdir()) == [path]  # no temporary file left behind


def test_membership_at_many_papers_sorting_in_runs(tmp_path: Path, monkeypatch):
    """Several sort runs merged (a run shrunk to 1000 hashes) give the same file as one sort."""
    monkeypatch.setattr(paperref, "SORT_RUN", 1000)
    refs = [f"arxiv:2401.{n:05d}" for n in range(5000)] + [f"pith:{n:08x}" for n in range(0, 5000, 2)]
    path = tmp_path / "known.bin"
    assert write_known_papers(refs + refs[::3], path) == 7500
    assert array("Q", path.read_bytes()).tolist() == sorted(ref_hash(r) for r in refs)
    known = KnownPapers.load(path)
    assert sum(r in known for r in refs) == 7500
    assert sum(f"arxiv:2402.{n:05d}" in known for n in range(5000)) == 0
    assert sum(f"pith:{n:08x}" in known for n in range(1, 5000, 2)) == 0


def test_no_file_an_empty_file_or_no_refs_know_nothing(tmp_path: Path):
    for known in (KnownPapers.load(None), KnownPapers.load(""), KnownPapers.load(tmp_path / "missing.bin")):
        assert len(known) == 0
        assert "arxiv:2406.01234" not in known
    empty = tmp_path / "empty.bin"
    assert write_known_papers([], empty) == 0
    assert empty.read_bytes() == b""
    assert "arxiv:2406.01234" not in KnownPapers.load(empty)
    assert "arxiv:2406.01234" not in KnownPapers.load(str(empty))


def test_a_file_that_is_no_known_papers_file_is_refused(tmp_path: Path):
    torn = tmp_path / "torn.bin"
    torn.write_bytes(b"\x00" * 12)
    with pytest.raises(ValueError, match="12 bytes, not a known-papers file"):
        KnownPapers.load(torn)
    unsorted = tmp_path / "unsorted.bin"
    unsorted.write_bytes(array("Q", [5, 3]).tobytes())
    with pytest.raises(ValueError, match="not sorted and unique"):
        KnownPapers.load(unsorted)


def test_a_paper_page_url_names_its_ref_the_way_paper_path_builds_it():
    from spiders.parse.paperref import paper_ref_of_url

    for ref in ("arxiv:2406.01234", "arxiv:hep-th/9901001", "arxiv:math/9907381", "pith:ab12cd34"):
        assert paper_ref_of_url("https://pith.science" + paper_path(ref)) == ref
        assert paper_ref_of_url(paper_path(ref)) == ref
    for url in ("https://pith.science/citations/x", "https://pith.science/paper/", "https://pith.science/p/2406.01234"):
        assert paper_ref_of_url(url) is None
