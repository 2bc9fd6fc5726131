"""`citehub samplesite ...` (also `python -m samplesite ...`): serve the site, write its truth, list seeds."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="The offline, deterministic stand-in for pith.science."
)

Hubs = Annotated[int, typer.Option(min=1, help="number of hubs")]
Seed = Annotated[int, typer.Option(help="random seed")]
Day = Annotated[int, typer.Option(min=1, help="site day (1 = baseline)")]
Density = Annotated[
    float, typer.Option(min=0.01, max=100, help="citing papers a hub, x (5: ~100,000 citations at 2,000 hubs)")
]
Growth = Annotated[
    bool,
    typer.Option(
        "--growth/--no-growth",
        help="grow the hub graph (samplesite/growth.py GrowthModel defaults; PAGES.md 'Growing hub graph')",
    ),
]


def _growth(on: bool):
    from samplesite.growth import GrowthModel

    return GrowthModel() if on else None


@app.command()
def serve(
    hubs: Hubs = 200,
    seed: Seed = 7,
    day: Day = 1,
    density: Density = 1.0,
    growth: Growth = False,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port (0: a free one)")] = 0,
    markup: Annotated[str, typer.Option(help="a, b or mixed (per hub)")] = "mixed",
    port_file: Annotated[Path | None, typer.Option(help="write the bound port number here")] = None,
    faults: Annotated[
        str | None,
        typer.Option(help="fault injection spec, e.g. 5xx=0.02,429=0.01,slow=0.01,seed=3 (samplesite/faults.py)"),
    ] = None,
) -> None:
    """Serve the site until SIGTERM/SIGINT; prints one line `serving http://HOST:PORT` when ready."""
    from samplesite.faults import BadFaultSpec, parse_spec
    from samplesite.generator import build_site
    from samplesite.server import make_server

    try:
        plan = parse_spec(faults)
    except BadFaultSpec as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    site = build_site(hubs=hubs, seed=seed, day=day, density=density, growth=_growth(growth))
    server = make_server(site, host, port, markup, faults=plan)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    if port_file:
        port_file.write_text(f"{server.server_address[1]}\n")
    print(f"serving {server.base_url}", flush=True)
    # The main thread only waits, so the signal handler runs promptly and shutdown cannot deadlock.
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()


@app.command()
def truth(
    hubs: Hubs = 200,
    seed: Seed = 7,
    day: Day = 1,
    density: Density = 1.0,
    growth: Growth = False,
    out: Annotated[Path, typer.Option(help="JSON file to write")] = Path("truth.json"),
) -> None:
    """Write the ground truth of the site (PAGES.md) as JSON.

    With --growth every hub also carries first_day (the day it appeared: the hubs listed are those of
    --day), changed_days, change_rate and co_cited, and a top-level "growth" holds the model's parameters."""
    from samplesite.generator import build_site
    from samplesite.truth import truth as site_truth

    data = site_truth(build_site(hubs=hubs, seed=seed, day=day, density=density, growth=_growth(growth)))
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


@app.command()
def seeds(
    hubs: Hubs = 200,
    seed: Seed = 7,
    day: Day = 1,
    density: Density = 1.0,
    growth: Growth = False,
    share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="print only this fraction of the day-1 hubs (deterministic; hubs born later are never seeds)",
        ),
    ] = None,
    base_url: Annotated[str, typer.Option(help="site base URL")] = "http://127.0.0.1:8000",
) -> None:
    """Print the URL of every hub of the day, one per line (a seed list for a crawl), or of a --share of them."""
    from samplesite.generator import build_site
    from samplesite.growth import site_seeds

    if share == 0:
        raise typer.BadParameter("must be > 0", param_hint="--share")
    base = base_url.rstrip("/")
    site = build_site(hubs=hubs, seed=seed, day=day, density=density, growth=_growth(growth))
    uuids = [h.uuid for h in site.hubs] if share is None else site_seeds(site, share)
    for hub_uuid in uuids:
        typer.echo(f"{base}/citations/{hub_uuid}")
