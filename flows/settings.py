"""Everything a run is configured by: the crawl's settings and the warehouse's, from the environment
(CITEHUB_*) or a `.env` file. Each stage declares its own (`spiders.config`, `warehouse.config`, and the
publish guard's `warehouse.guard.Limits`); a flow sees them as one."""

from __future__ import annotations

from spiders.config import CrawlSettings
from warehouse.config import WarehouseSettings


class Settings(CrawlSettings, WarehouseSettings):
    pass
