"""One generated site per test session: building is deterministic and takes a fraction of a second."""

from __future__ import annotations

import pytest

from samplesite.generator import build_site
from samplesite.model import Site
from samplesite.truth import truth


@pytest.fixture(scope="session")
def site() -> Site:
    return build_site(hubs=200, seed=7, day=1)


@pytest.fixture(scope="session")
def site_truth(site: Site) -> dict:
    return truth(site)
