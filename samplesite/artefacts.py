"""Raw text from clean text: the PDF and reference-string artefacts the normalizer must undo.

Each function adds exactly one artefact and keeps the clean text recoverable, so the ground truth can
pair every raw value with its clean value.
"""

from __future__ import annotations

import random
import re

from samplesite.vocab import LATEX_ESCAPES, MONTHS

_SPLITTABLE = re.compile(r"\b[A-Za-z]{8,}\b")


def hyphen_break(rng: random.Random, text: str) -> str | None:
    """'Predictions' -> 'Predic- tions' in one long word; None when no word qualifies."""
    words = list(_SPLITTABLE.finditer(text))
    if not words:
        return None
    m = rng.choice(words)
    # Split after at least 3 letters and before at least 3, where the next letter is lower case.
    cuts = [i for i in range(m.start() + 3, m.end() - 2) if text[i].islower()]
    if not cuts:
        return None
    cut = rng.choice(cuts)
    return f"{text[:cut]}- {text[cut:]}"


def trailing_date(rng: random.Random, text: str) -> str:
    """Reference strings end with a date: 'Title, November 2017'."""
    return f"{text}, {rng.choice(MONTHS)} {rng.randint(1995, 2024)}"


def latex_accents(text: str) -> str | None:
    """'Schlögl' -> 'Schl\\"ogl'; None when the text has no letter we know an escape for."""
    if not any(ch in LATEX_ESCAPES for ch in text):
        return None
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in text)


def title_artefact(rng: random.Random, text: str, p_hyphen: float, p_date: float, p_latex: float) -> str:
    """At most one artefact, chosen by the given probabilities (LaTeX only where an accent exists)."""
    roll = rng.random()
    if roll < p_latex:
        raw = latex_accents(text)
        if raw is not None:
            return raw
    elif roll < p_latex + p_hyphen:
        raw = hyphen_break(rng, text)
        if raw is not None:
            return raw
    elif roll < p_latex + p_hyphen + p_date:
        return trailing_date(rng, text)
    return text
