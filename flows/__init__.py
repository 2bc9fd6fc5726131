"""Prefect orchestration: the nightly, backfill/reparse and schedule flows, the one publish sequence they
share, and the CLI on top (`flows.cli`). Every step they wire is a plain function of `spiders/` or
`warehouse/`.

Set once, before any Prefect import of this package: a temporary Prefect server started for a flow does not
phone home (an explicit PREFECT_SERVER_ANALYTICS_ENABLED in the environment wins).
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
