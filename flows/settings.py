"""Run-time settings, from the environment (CITEHUB_*) or a `.env` file; defaults run the demo."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEHUB_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///data/citehub.sqlite",
        description="SQLAlchemy URL of the warehouse (postgresql+psycopg://... in production)",
    )
    data_dir: Path = Field(Path("data"), description="where runs keep their WARC, items and stats")
    base_url: str = Field("https://pith.science", description="the site to crawl")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["pith.science", "www.pith.science"],
        description="hosts the crawl may fetch from, checked on every redirect hop",
    )
    concurrency: int = Field(8, ge=1, le=64, description="concurrent requests per host, for the whole fleet")
    frontier_url: str | None = Field(
        None, description="redis://host:port/db of a crawl frontier shared by several crawl workers (scrapy-redis)"
    )
    workers: int = Field(1, ge=1, le=64, description="crawl processes on this machine sharing the frontier")
    replay_workers: int | None = Field(
        None,
        ge=1,
        le=64,
        description="processes parsing an archive replay (backfill --from-archive, reparse); "
        "default: every core of this machine",
    )
    # Publish guard (flows/guard.py): a run that would retire or relabel an abnormal share of the
    # warehouse's current edges is blocked from publishing until an operator accepts it.
    guard_hub_share: float = Field(
        0.05, ge=0, le=1, description="largest share of a hub's current edges one run may retire or relabel"
    )
    guard_hub_min_edges: int = Field(
        50,
        ge=1,
        description="hubs with fewer current edges are not judged alone (one retirement of a 10-edge hub is 10%)",
    )
    guard_overall_share: float = Field(
        0.005, ge=0, le=1, description="largest share of all current edges one run may retire"
    )
    guard_overall_min_retired: int = Field(
        10, ge=1, description="fewer retirements than this never trip the overall share (a small warehouse)"
    )

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"


def redacted(url: str) -> str:
    """A database URL fit for logs: the password never leaves the process."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
