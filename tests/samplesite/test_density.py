"""The bench's denser site (`density`): same generator, more citing papers a hub, carried across days."""

from __future__ import annotations

import heapq
import random

import pytest

from samplesite.generator import _Generator, build_site


def _reference_sample(rng: random.Random, order: list[str], k: int, exclude: set[str]) -> list[str]:
    """The sampler as first written: every candidate keyed r ** (rank + 20), the k largest."""
    candidates = [key for key in order if key not in exclude]
    keyed = ((rng.random() ** (rank + 20.0), key) for rank, key in enumerate(candidates))
    return [key for _, key in heapq.nlargest(min(k, len(candidates)), keyed)]


@pytest.mark.parametrize(("pool", "k"), [(10, 3), (300, 0), (300, 1), (300, 299), (300, 400), (5000, 40), (20000, 450)])
def test_pruned_sampler_draws_and_returns_what_the_reference_does(pool, k):
    order = [f"p{i:05d}" for i in range(pool)]
    exclude = set(order[3::97])
    for seed in range(5):
        gen = _Generator(random.Random(seed))
        gen.order = order
        ref_rng = random.Random(seed)
        assert gen.sample(k, exclude) == _reference_sample(ref_rng, order, k, exclude)
        # the generator goes on from the same state (later draws see the same stream)
        assert gen.rng.random() == ref_rng.random()


def test_density_multiplies_citations_and_default_is_unchanged():
    plain, dense = build_site(hubs=300, seed=7), build_site(hubs=300, seed=7, density=5)
    assert plain.density == 1.0 and dense.density == 5.0
    assert [h.uuid for h in plain.hubs] == [h.uuid for h in dense.hubs]
    assert sum(len(h.citations) for h in plain.hubs) == 5767
    assert sum(len(h.citations) for h in dense.hubs) == 17548
    assert max(len(h.citations) for h in dense.hubs) <= 1300  # the heavy hubs stay as they were


def test_density_survives_a_new_day():
    day3 = build_site(hubs=100, seed=7, day=3, density=3)
    assert day3.density == 3 and day3.day == 3
    assert sum(len(h.citations) for h in day3.hubs) != sum(
        len(h.citations) for h in build_site(hubs=100, seed=7, day=3).hubs
    )


@pytest.mark.parametrize("density", [0, -1, 101, float("nan")])
def test_bad_density_is_refused(density):
    with pytest.raises(ValueError, match="density must be > 0 and <= 100"):
        build_site(hubs=10, density=density)


def test_paper_titles_keep_coming_when_the_vocabulary_runs_out(monkeypatch):
    """A dense site needs more papers than the vocabulary has titles (~100,000): the generator used to draw
    forever; past 50 taken titles in a row it makes longer ones, every title key still unique."""
    from samplesite import vocab
    from samplesite.model import title_key

    monkeypatch.setattr(vocab, "PATTERNS", ("{adj} {noun} for {task}",))
    monkeypatch.setattr(vocab, "ADJECTIVES", ("Sparse", "Dense"))
    monkeypatch.setattr(vocab, "NOUNS", ("Transformers", "Graphs", "Kernels"))
    monkeypatch.setattr(vocab, "TASKS", ("Parsing", "Tagging"))  # 12 short titles, 72 longer ones
    gen = _Generator(random.Random(3))
    size = len(seed_hub_specs()) + 60
    gen.papers(size)
    titles = [gen.pool[k].title for k in gen.order]
    assert len(titles) == size
    assert len({title_key(t) for t in titles}) == size
    assert sum(" with " in t for t in titles) >= 60 - 12  # all but the 12 short ones are longer


def seed_hub_specs():
    from samplesite import seed_hub, vocab

    return [*seed_hub.EXPLORER, *vocab.HARD_PAPER_TITLES]
