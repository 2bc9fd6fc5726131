"""Regenerate docs/report.png: the report of a 5-day sample-site run, as headless Chromium shows it.

.venv/bin/python -m tests.flows.cli.screenshot docs/report.png [--hubs 40] [--days 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("png", type=Path)
    parser.add_argument("--hubs", type=int, default=40)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from prefect.testing.utilities import prefect_test_harness

    from flows.cli.report_html import write_report
    from flows.nightly import nightly_refresh
    from samplesite.generator import build_site
    from samplesite.server import serving
    from schema.engine import make_engine
    from tests.flows.cli import chromium as cr

    binary = shutil.which("chromium")
    if binary is None:
        raise SystemExit("chromium not found: apt-get install -y chromium")
    root = Path(tempfile.mkdtemp(prefix="citehub-report-"))
    url = f"sqlite:///{root / 'warehouse.sqlite'}"
    with prefect_test_harness(server_startup_timeout=90):
        for day in range(1, args.days + 1):
            site = build_site(hubs=args.hubs, seed=args.seed, day=day)
            with serving(site) as base_url:
                nightly_refresh(
                    base_url=base_url,
                    hubs=[h.uuid for h in site.hubs] if day == 1 else None,
                    database_url=url,
                    data_dir=str(root / "data"),
                    include_known=day > 1,
                )
    html = write_report(make_engine(url), root / "report.html")
    errors = cr.console_errors(cr.screenshot(binary, html, args.png, height=4300))
    if errors:
        raise SystemExit(f"console errors: {errors}")
    print(f"wrote {args.png} from {html}")


if __name__ == "__main__":
    main()
