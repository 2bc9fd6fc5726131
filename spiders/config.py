"""The crawl stage's settings, from the environment (CITEHUB_*) or a `.env` file; defaults run the demo."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# pith.science serves hubs on both hosts; the crawl may fetch from either (checked on every redirect hop).
PITH_HOSTS = ["pith.science", "www.pith.science"]


class CrawlSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEHUB_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="where runs keep their WARC, items and stats")
    base_url: str = Field("https://pith.science", description="the site to crawl")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: list(PITH_HOSTS),
        description="hosts the crawl may fetch from, checked on every redirect hop",
    )
    concurrency: int = Field(8, ge=1, le=64, description="concurrent requests per host, for the whole fleet")
    frontier_url: str | None = Field(
        None, description="redis://host:port/db of a crawl frontier shared by several crawl workers (scrapy-redis)"
    )
    workers: int = Field(1, ge=1, le=64, description="crawl processes on this machine sharing the frontier")
    request_budget: int | None = Field(
        None,
        ge=1,
        description="requests a nightly may send (robots.txt, retries and paper pages included); the run plans "
        "which hubs to revisit within it (warehouse.plan); unset: every known hub every night",
    )
    max_staleness_days: float = Field(
        7.0, gt=0, description="a known hub not fetched completely for this many days is revisited first"
    )
    paper_pages: bool = Field(
        True, description="fetch the paper page of each citing paper first seen in a run (hub discovery)"
    )
    replay_workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="processes parsing an archive replay (backfill --from-archive, reparse); "
        "default: every core of this machine",
    )

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"
