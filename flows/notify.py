"""A failure alert without Prefect Cloud: one JSON message per run that did not end `completed`, POSTed to
`CITEHUB_NOTIFY_URL` (a webhook; the body carries Slack's `text`, so a Slack or Mattermost incoming webhook
takes it as is, plus the fields for any other receiver). A receiver that is down, slow or refuses never
changes the run's outcome: the failure to notify is logged and the run goes on."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)
TIMEOUT_S = 5.0


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEHUB_", extra="ignore")

    notify_url: str | None = None


def message(run_id: str, kind: str, outcome: str, reasons: list[str], counts: Mapping[str, Any]) -> dict[str, Any]:
    shown = "; ".join(reasons[:5]) + (f"; ... {len(reasons) - 5} more" if len(reasons) > 5 else "")
    return {
        "text": f"citehub {kind} run {run_id}: {outcome}" + (f" - {shown}" if shown else ""),
        "run_id": run_id,
        "kind": kind,
        "outcome": outcome,
        "reasons": reasons,
        "counts": dict(counts),
    }


def notify(run_id: str, kind: str, outcome: str, reasons: list[str], counts: Mapping[str, Any]) -> bool:
    """Send the run's alert when a webhook is configured and the outcome is not `completed`; True if sent."""
    url = NotifySettings().notify_url
    if not url or outcome == "completed":
        return False
    if not url.startswith(("http://", "https://")):
        logger.warning("run %s: CITEHUB_NOTIFY_URL must be an http(s) URL; not notified", run_id)
        return False
    body = json.dumps(message(run_id, kind, outcome, reasons, counts), default=str).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # the URL may carry a token (Slack's do): only its scheme and host are logged
        logger.warning("run %s: could not notify %s (%s)", run_id, _where(url), type(exc).__name__)
        return False
    return True


def _where(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"
