"""The warehouse's settings, from the environment (CITEHUB_*) or a `.env` file; defaults run the demo.

The publish guard's limits are settings of their own (`warehouse.guard.Limits`, CITEHUB_GUARD_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WarehouseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEHUB_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///data/citehub.sqlite",
        description="SQLAlchemy URL of the warehouse (postgresql+psycopg://... in production)",
    )
    full_rebuild_weekday: int = Field(
        6,
        ge=-1,
        le=6,
        description="UTC weekday (0 Monday ... 6 Sunday) on which a run (the nightly; a replay of that day's crawl "
        "too) rebuilds every mart in full after its load and reports the drift it corrected "
        "(warehouse.rebuild); -1: never",
    )
