"""`citehub`: a thin command line over the flows, and the top of the stack: nothing imports it.

It lives in `flows/` because the repository's top level is fixed and the CLI sits above the flows it starts.
Commands parse options, call one flow or one plain function, and print; every error citehub raises on
purpose (`schema.errors.CitehubError`) becomes one line and that error's exit code, here and nowhere else.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from flows.cli.render import print_report
from flows.settings import Settings
from schema.engine import redacted
from schema.errors import CitehubError

if TYPE_CHECKING:
    from pydantic import SecretStr
    from sqlalchemy import Engine

    # Typer vendors click as typer._click: TyperGroup.invoke takes that package's Context.
    from typer._click import Context as ClickContext


class _Commands(TyperGroup):
    """Every `CitehubError` a command raises: one line, and the error's own exit code."""

    def invoke(self, ctx: ClickContext) -> object:
        try:
            return super().invoke(ctx)
        except CitehubError as exc:
            if _debug():
                raise
            console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)  # paths stay whole
            raise typer.Exit(exc.exit_code) from exc
        except Exception as exc:
            if _debug() or type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise  # Typer's own exits and usage errors, or a traceback asked for
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            console.print(
                f"[red]error:[/red] {type(exc).__name__}: {first} (--debug or CITEHUB_DEBUG=1 shows the traceback)",
                highlight=False,
                markup=True,
                soft_wrap=True,
            )
            raise typer.Exit(1) from exc


def _debug() -> bool:
    return os.environ.get("CITEHUB_DEBUG", "").lower() in ("1", "true", "yes")


class Policy(StrEnum):
    """warehouse.plan.POLICIES"""

    citehub = "citehub"
    round_robin = "round_robin"


EXIT_CODES_HELP = (
    "Exit codes: 0 completed; 1 failed (an error, or nothing useful fetched, or a quality check failed); "
    "2 bad usage or configuration; 3 blocked by the publish guard; 4 degraded (published, some hubs "
    "incomplete); 5 skipped (another run holds the warehouse); 130 interrupted."
)
app = typer.Typer(
    cls=_Commands,
    help="citehub: a SQL warehouse of who cites whom on pith.science.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
)
db_app = typer.Typer(help="Warehouse schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()

# The options every command shares, declared once.
DatabaseUrl = Annotated[
    str | None,
    typer.Option(envvar="CITEHUB_DATABASE_URL", help="SQLAlchemy URL of the warehouse (default: the setting)"),
]
DataDir = Annotated[Path | None, typer.Option(help="runs folder parent (WARC, items, stats)")]
ArchiveOf = Annotated[
    str | None,
    typer.Option(
        metavar="URL|any",
        help="replay the crawls made for this warehouse (default: the target's own, else the archive's only one)",
    ),
]


def _hub_urls(seeds: Path | None, hubs: list[str] | None, base_url: str) -> list[str]:
    """The hubs a command names by --seeds and --hub, as canonical URLs (bad input: one line, exit 2)."""
    from spiders.parse.hubref import BadHubRef, hub_url, read_seeds

    if seeds is not None and not seeds.is_file():
        raise typer.BadParameter(f"seed file not found: {seeds}", param_hint="--seeds")
    try:
        refs = (read_seeds(seeds) if seeds else []) + list(hubs or [])
        return list(dict.fromkeys(hub_url(ref, base_url) for ref in refs))
    except (BadHubRef, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--seeds/--hub") from exc


@app.command(
    "samplesite",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def samplesite_cmd(ctx: typer.Context) -> None:
    """The offline stand-in for pith.science: serve | truth | seeds (`citehub samplesite --help`)."""
    # Imported here alone: the product's commands never load the sample site.
    from samplesite.cli import app as samplesite_app

    samplesite_app(ctx.args, prog_name="citehub samplesite")


def _preflight(
    database_url: str | None, data_dir: Path | None = None, base_url: str | None = None, crawls: bool = False
) -> str:
    """Before a command that runs a flow does anything: the warehouse answers at a migration this citehub
    knows, the data directory takes files, the site is an http(s) URL and, for a command that `crawls` it, one
    the crawl's host guard lets through. One line and exit 2 otherwise. Returns the warehouse URL."""
    from schema.preflight import check_base_url, check_data_dir, check_database

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    url = database_url or settings.database_url
    check_database(url, "--database-url/CITEHUB_DATABASE_URL")
    check_data_dir(settings.data_dir, "--data-dir/CITEHUB_DATA_DIR")
    check_base_url(_base(base_url), "--base-url/CITEHUB_BASE_URL", _crawl_refusal(settings) if crawls else None)
    return url


def _crawl_refusal(settings: Settings) -> Callable[[str], str | None]:
    """Why the crawl would refuse a request for a base URL, with the allowlist a run gives it (the URL's host
    plus CITEHUB_ALLOWED_HOSTS), or None."""
    from spiders.crawl import allowed_hosts_for
    from spiders.middlewares import refusal

    return lambda base_url: refusal(base_url, allowed_hosts_for(base_url, settings.allowed_hosts))


def _base(base_url: str | None) -> str:
    """The site a command crawls: --base-url, else CITEHUB_BASE_URL, else https://pith.science."""
    return base_url or Settings().base_url


def _seed_hosts(urls: list[str], base_url: str, option: str) -> None:
    """A seed URL on another host than the site being crawled would be refused by the crawl (it fetches one
    site): say so now, naming the seed and what to do, instead of a run that fetches nothing."""
    from urllib.parse import urlsplit

    site = urlsplit(base_url).netloc
    for url in urls:
        host = urlsplit(url).netloc
        if host != site:
            raise typer.BadParameter(
                f"seed {url} is on {host}, but the crawl fetches {base_url}: pass --base-url "
                f"{urlsplit(url).scheme}://{host} (or set CITEHUB_BASE_URL), or give the seed as a bare hub uuid",
                param_hint=option,
            )


def _flow_server() -> None:
    """Before a flow: the temporary Prefect server, tied to this process, when no PREFECT_API_URL is set.
    Only commands that run a flow call this; the others never start a server."""
    from flows.server import tethered_server

    tethered_server()


def _secret(database_url: str | None) -> SecretStr | None:
    """The URL as a flow parameter Prefect masks (it stores and shows parameters; the password stays here)."""
    from pydantic import SecretStr

    return SecretStr(database_url) if database_url else None


@app.command(epilog=EXIT_CODES_HELP)
def refresh(
    base_url: Annotated[str | None, typer.Option(help="site to crawl")] = None,
    seeds: Annotated[Path | None, typer.Option(help="file of hub URLs or uuids, one a line")] = None,
    hub: Annotated[list[str] | None, typer.Option(help="a hub URL or uuid (repeatable)")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    known: Annotated[bool, typer.Option(help="also refresh every hub already in the warehouse")] = True,
    allow_abnormal_change: Annotated[
        str | None,
        typer.Option(
            help="publish even if the run retires or relabels an abnormal share of edges; the reason is recorded"
        ),
    ] = None,
    accept_changes: Annotated[
        str | None,
        typer.Option(metavar="RUN_ID", help="publish a run the guard blocked, from its staged items (no crawl)"),
    ] = None,
    frontier: Annotated[
        str | None,
        typer.Option(
            envvar="CITEHUB_FRONTIER_URL", help="redis://HOST:6379/0: crawl with several workers on a shared frontier"
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="crawl processes on this machine (with --frontier)")] = 1,
    budget: Annotated[
        int | None,
        typer.Option(
            min=1,
            envvar="CITEHUB_REQUEST_BUDGET",
            help="requests this run may send (robots.txt, retries and paper pages included); it plans which hubs "
            "to revisit within them (table run_plan). Default: every known hub",
        ),
    ] = None,
    policy: Annotated[
        Policy, typer.Option(help="how a budget picks re-checks: by learned change rate, or oldest first")
    ] = Policy.citehub,
    as_of: Annotated[
        datetime | None,
        typer.Option(hidden=True, help="the run's start time (simulating nights: bench/freshness.py)"),
    ] = None,
) -> None:
    """Run the nightly refresh now: crawl, load, materialize, check, report."""
    _preflight(database_url, data_dir, base_url, crawls=accept_changes is None)
    if accept_changes is not None:
        from flows.nightly import accept_changes as accept_flow
        from schema.engine import make_engine
        from schema.migrate import upgrade
        from warehouse.guard import NotAcceptable, blocked_run

        engine = make_engine(database_url or Settings().database_url)
        upgrade(engine)
        try:
            blocked_run(engine, accept_changes)  # refuse before starting a flow
        except NotAcceptable as exc:  # a usage error of this option: Typer's own message shape
            raise typer.BadParameter(str(exc), param_hint="--accept-changes") from exc
        _flow_server()
        report = accept_flow(
            accept_changes,
            database_url=_secret(database_url),
            data_dir=str(data_dir) if data_dir else None,
            reason=allow_abnormal_change,
        )
        print_report(console, report)
        _exit_with(report)
        return

    # every bad seed line, and every seed on a host the crawl would refuse, named before a flow starts
    _seed_hosts(_hub_urls(seeds, hub, _base(base_url)), _base(base_url), "--seeds/--hub")
    from flows.nightly import nightly_refresh

    _flow_server()
    report = nightly_refresh(
        base_url=base_url,
        seeds_file=str(seeds) if seeds else None,
        hubs=hub,
        database_url=_secret(database_url),
        data_dir=str(data_dir) if data_dir else None,
        include_known=known,
        allow_abnormal_change=allow_abnormal_change,
        frontier_url=frontier,
        workers=workers,
        budget=budget,
        policy=policy.value,
        as_of=as_of.replace(tzinfo=as_of.tzinfo or UTC) if as_of else None,
    )
    print_report(console, report)
    _exit_with(report)


@app.command(epilog=EXIT_CODES_HELP)
def discover(
    seeds: Annotated[Path, typer.Option(help="file of hub URLs or uuids to start from, one a line")],
    max_hubs: Annotated[int | None, typer.Option(min=1, help="stop once the warehouse knows this many hubs")] = None,
    slice_hubs: Annotated[
        int, typer.Option("--slice", min=1, help="new hubs a slice fetches (each slice is one published run)")
    ] = 200,
    base_url: Annotated[str | None, typer.Option(help="site to crawl")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Grow the warehouse from a few seeds to every hub reachable by links, a slice (one run) at a time;
    rerun to resume: the frontier is kept in the warehouse."""
    _preflight(database_url, data_dir, base_url, crawls=True)
    _seed_hosts(_hub_urls(seeds, None, _base(base_url)), _base(base_url), "--seeds")
    from flows.discover import discover as discover_flow

    _flow_server()
    report = discover_flow(
        seeds_file=str(seeds),
        max_hubs=max_hubs,
        slice_hubs=slice_hubs,
        base_url=base_url,
        database_url=_secret(database_url),
        data_dir=str(data_dir) if data_dir else None,
    )
    print_report(console, report)
    console.print(f"discovery: {len(report.get('slices', []))} slices")
    _exit_with(report)


def _exit_with(result: dict[str, Any]) -> None:
    """The outcome's line (unless `completed`) and its exit code (warehouse/outcome.py)."""
    from warehouse.outcome import EXIT_CODES

    status = result.get("status", "completed")
    if status in ("degraded", "failed"):
        reasons = result.get("reasons") or []
        console.print(
            f"[yellow]outcome: {status}[/yellow] - " + "; ".join(reasons[:6]), highlight=False, soft_wrap=True
        )
    if status != "completed":
        raise typer.Exit(EXIT_CODES[status])


@contextmanager
def _sample_site(hubs: int, seed: int, day: int) -> Iterator[str]:
    """Run the sample site in its own process on a free loopback port; yield its base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "samplesite",
            "serve",
            "--hubs",
            str(hubs),
            "--seed",
            str(seed),
            "--day",
            str(day),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None  # stdout=PIPE
        line = proc.stdout.readline().strip()
        if not line.startswith("serving "):
            raise RuntimeError(f"sample site did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@app.command(epilog=EXIT_CODES_HELP)
def demo(
    hubs: Annotated[int, typer.Option(help="hubs in the sample site")] = 200,
    seed: Annotated[int, typer.Option(help="sample-site seed")] = 7,
    day: Annotated[int, typer.Option(help="sample-site day")] = 1,
    database_url: DatabaseUrl = None,
) -> None:
    """Crawl the offline sample site into the warehouse and print a summary (the embedded default)."""
    from flows.nightly import nightly_refresh
    from samplesite.generator import build_site

    database_url = _preflight(database_url)
    site = build_site(hubs=hubs, seed=seed, day=day)
    with _sample_site(hubs, seed, day) as base_url:
        console.print(
            f"sample site ({hubs} hubs, seed {seed}, day {day}) at {base_url}; warehouse {redacted(database_url)}"
        )
        refs = [h.uuid for h in site.hubs]
        _flow_server()
        report = nightly_refresh(
            base_url=base_url, hubs=refs, database_url=_secret(database_url), include_known=False, kind="nightly"
        )
    print_report(console, report)
    _exit_with(report)


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """The migration the warehouse is at, and whether it is the newest (Alembic's version table)."""
    from schema.migrate import current_revision, head_revision
    from schema.preflight import check_database

    url = database_url or Settings().database_url
    check_database(url, "--database-url/CITEHUB_DATABASE_URL")
    revision, head = current_revision(url), head_revision()
    state = "no migration applied" if revision is None else ("head" if revision == head else f"behind head {head}")
    console.print(f"{redacted(url)}: {revision or '-'} ({state})", highlight=False, soft_wrap=True)


@db_app.command("history")
def db_history() -> None:
    """Every migration, newest first."""
    from schema.migrate import history

    for revision, doc in history():
        console.print(f"{revision}  {doc}", highlight=False, markup=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        console.print(f"citehub {version('citehub')}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version and exit")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of an error (or CITEHUB_DEBUG=1)")] = False,
) -> None:
    """citehub: a SQL warehouse of who cites whom on pith.science."""
    # The terminal as it is when the command starts (a console made at import keeps the COLUMNS of then).
    global console
    console = Console()
    if debug:
        os.environ["CITEHUB_DEBUG"] = "1"
    # SIGTERM (systemd, docker stop, kill) stops a run as Ctrl-C does: the run is marked failed, its lock
    # released, its crawl and temporary Prefect server stopped, instead of vanishing mid-run.
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@db_app.command("upgrade")
def db_upgrade(
    database_url: DatabaseUrl = None,
    revision: str = "head",
) -> None:
    """Apply Alembic migrations up to REVISION."""
    from schema.migrate import upgrade

    url = database_url or Settings().database_url
    upgrade(url, revision)
    console.print(f"upgraded {redacted(url)} to {revision}")


@app.command()
def status(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    stale_days: Annotated[float, typer.Option(min=0, help="a hub not refreshed for more days is stale")] = 2.0,
    runs: Annotated[int, typer.Option(min=1, help="how many recent runs to list")] = 10,
) -> None:
    """Last runs, warehouse freshness, next scheduled run, where the data lives and its size."""
    from flows.cli.render import print_status

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    url = database_url or settings.database_url
    print_status(console, _existing_warehouse(url), url, settings.data_dir, stale_days, runs)


@app.command("hub")
def hub_cmd(
    ref: Annotated[str, typer.Argument(help="hub uuid, hub URL, or (part of) its title")],
    database_url: DatabaseUrl = None,
) -> None:
    """One hub: tier, label, counts, role and polarity mix, and its history across runs."""
    from flows.cli.render import print_hub
    from warehouse import queries as ops

    engine = _existing_warehouse(database_url or Settings().database_url)
    try:
        uuid = ops.resolve_hub(engine, ref)
    except ops.AmbiguousHub as exc:
        console.print(f"[red]{exc}[/red]; candidates:", highlight=False)
        for u, title in exc.candidates:
            console.print(f"  {u}  {title or '(title pending)'}", highlight=False)
        raise typer.Exit(2) from exc
    print_hub(console, ops.hub_info(engine, uuid))


@app.command("report")
def report_cmd(
    out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("report.html"),
    database_url: DatabaseUrl = None,
    top: Annotated[int, typer.Option(min=1, max=40, help="hubs in the charts")] = 8,
) -> None:
    """Write one self-contained HTML report with charts (opens offline)."""
    from flows.cli.report_html import write_report

    path = write_report(_existing_warehouse(database_url or Settings().database_url), out, top=top)
    console.print(f"wrote {path} ({path.stat().st_size} bytes)", highlight=False)


@app.command("marts")
def marts_cmd(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="rebuild every mart in full and keep it (default: compare, roll back)")
    ] = False,
    database_url: DatabaseUrl = None,
    lock_wait_seconds: Annotated[float, typer.Option(min=0, help="wait this long for a run holding the lock")] = 0.0,
) -> None:
    """Rebuild every published mart in full, in one transaction, and report the drift: per mart, the rows in
    which the incrementally maintained mart and the rebuild differed (run_id bookkeeping aside). --rebuild
    keeps the rebuild and records it in the summary of the run the marts were built for; without it the
    rebuild is rolled back and the command exits 1 when a mart drifted. Takes the run lock like a run."""
    from warehouse.rebuild import rebuild_marts

    engine = _existing_warehouse(database_url or Settings().database_url)
    result = rebuild_marts(engine, apply=rebuild, wait_seconds=lock_wait_seconds)
    verb = "rebuilt" if rebuild else "compared with a full rebuild (rolled back)"
    console.print(f"marts of run {result.run_id} {verb} in {result.seconds:.1f} s", highlight=False)
    if rebuild:
        failed = ", ".join(result.checks_failed) or "none"
        console.print(f"full check set over every row: failed {failed}", highlight=False)
        if result.checks_failed:
            raise typer.Exit(1)
    if not result.drift:
        console.print("no drift: every mart equals its full rebuild")
        return
    table = Table("mart", "missing", "extra", "e.g. (key)")
    for name, drift in sorted(result.drift.items()):
        table.add_row(name, str(drift.missing), str(drift.extra), "; ".join(map(str, drift.examples)))
    console.print(table)
    console.print(
        f"{result.rows} rows differed (missing: in the rebuild, absent or other values in the mart; extra: in the "
        + ("mart, not the rebuild); corrected" if rebuild else "mart, not the rebuild); nothing changed"),
        highlight=False,
    )
    if not rebuild:
        raise typer.Exit(1)


def _existing_warehouse(url: str) -> Engine:
    """An engine on a warehouse that exists: a status query never creates an empty database."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from schema.engine import make_engine
    from schema.preflight import check_database

    try:
        parsed = make_url(url)
    except ArgumentError:  # a malformed URL: the configuration check says it in one line
        check_database(url, "--database-url/CITEHUB_DATABASE_URL", must_exist=True)
        raise
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        console.print(f"[red]no warehouse at {redacted(url)}[/red]: run `citehub refresh` or `citehub demo` first")
        raise typer.Exit(1)
    check_database(url, "--database-url/CITEHUB_DATABASE_URL", must_exist=True)
    engine = make_engine(url)
    inspector = inspect(engine)
    # A reader role (`citehub db grant-reader`) sees no core table: the published `runs` view is its run table.
    if not (inspector.has_table("run") or inspector.has_table("runs")):
        console.print(
            f"[red]{redacted(url)} is not a citehub warehouse (no run table)[/red]; "
            "`citehub db upgrade` creates the tables"
        )
        raise typer.Exit(1)
    return engine


@db_app.command("grant-reader")
def db_grant_reader(
    role: Annotated[str, typer.Argument(help="PostgreSQL role to make a read-only analyst of the marts")],
    database_url: DatabaseUrl = None,
    create: Annotated[bool, typer.Option(help="create the role (NOLOGIN) when it does not exist")] = True,
) -> None:
    """Let ROLE read every published table (now and later) and nothing else (PostgreSQL)."""
    from schema.engine import make_engine
    from warehouse.grants import grant_reader

    done = grant_reader(make_engine(database_url or Settings().database_url), role, create=create)
    console.print(
        f"{done['role']} reads {done['readable']} published tables and views of {done['database']} "
        f"(schema marts; future tables of {done['owner']} included)"
        + (" - role created NOLOGIN: ALTER ROLE ... LOGIN PASSWORD to let it in" if done["created"] else "")
    )


@app.command("sql")
def sql_cmd(
    command: Annotated[str | None, typer.Option("-c", "--command", help="run one query and exit")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A read-only SQL prompt on the warehouse (SQLite opened with mode=ro; PostgreSQL read-only transactions)."""
    from schema.preflight import check_database
    from warehouse.grants import open_readonly, run_query

    url = database_url or Settings().database_url
    check_database(url, "--database-url/CITEHUB_DATABASE_URL", must_exist=True)
    conn = open_readonly(url)

    def show(query: str) -> bool:
        try:
            columns, rows = run_query(conn, query)
        except Exception as exc:  # the database's own message is the useful one (e.g. read-only refusal)
            console.print(f"[red]error:[/red] {type(exc).__name__}: {exc}", markup=True, highlight=False)
            if hasattr(conn, "rollback"):
                conn.rollback()
            return False
        if columns:
            out = Table(*columns)
            for row in rows:
                out.add_row(*["NULL" if v is None else str(v) for v in row])
            console.print(out)
            console.print(f"({len(rows)} rows)")
        return True

    try:
        if command is not None:
            if not show(command):
                raise typer.Exit(1)
            return
        console.print(f"read-only SQL on {redacted(url)}; end a statement with ';', quit with Ctrl-D")
        buffer: list[str] = []
        while True:
            try:
                line = input("citehub> " if not buffer else "   ...> ")
            except EOFError:
                break
            buffer.append(line)
            if line.rstrip().endswith(";"):
                show("\n".join(buffer))
                buffer = []
    finally:
        conn.close()


@app.command("docs")
def docs_cmd(
    out: Annotated[Path | None, typer.Option(help="where to write the page")] = None,
    database_url: DatabaseUrl = None,
    comments: Annotated[bool, typer.Option(help="write COMMENT ON (PostgreSQL)")] = True,
) -> None:
    """Write docs/warehouse.md from the table definitions (and COMMENT ON the marts on PostgreSQL)."""
    from schema.engine import make_engine
    from warehouse import docs

    missing = docs.undocumented()
    if missing:
        console.print(f"[red]error:[/red] published columns without a description: {', '.join(missing)}")
        raise typer.Exit(2)
    path = docs.write(out or docs.DOCS_PATH)
    console.print(f"wrote {path}")
    url = database_url or Settings().database_url
    if comments and url.startswith("postgresql"):
        console.print(f"COMMENT ON: {docs.apply_comments(make_engine(url))} tables and columns")


@app.command(epilog=EXIT_CODES_HELP)
def backfill(
    hubs: Annotated[
        list[str] | None, typer.Option(help="seed file or hub uuid/URL (repeatable): fetch these now")
    ] = None,
    from_archive: Annotated[bool, typer.Option(help="replay archived crawls (WARC files), no network")] = False,
    since: Annotated[str | None, typer.Option(help="with --from-archive: first UTC date, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="with --from-archive: last UTC date, YYYY-MM-DD")] = None,
    base_url: Annotated[str | None, typer.Option(help="site to crawl")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    replay_workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="with --from-archive: processes that parse (default: every core)")
    ] = None,
    archive_of: ArchiveOf = None,
    dry_run: Annotated[
        bool, typer.Option(help="with --from-archive: list the crawls it would replay and those it leaves out")
    ] = False,
    run: Annotated[
        list[str] | None,
        typer.Option(
            help="with --from-archive: replay only this archived crawl (repeatable; a `citehub crawl` run too)"
        ),
    ] = None,
) -> None:
    """Backfill hubs by hand (fetched now, unconditionally), or replay archived crawls of a date range.

    A replay takes only crawls whose run published, made for one warehouse (--archive-of), and never crawls
    older than the warehouse's newest run (history would run backward): older ones go into an empty warehouse.
    A crawl-only run (`citehub crawl`) was published by no run: it is replayed only when named with --run.
    """
    from flows.backfill import backfill as backfill_flow
    from spiders.parse.hubref import hub_url, resolve_hub_refs
    from spiders.replay import ArchiveError

    # every bad input is named before a flow starts
    _preflight(database_url, data_dir, base_url, crawls=not from_archive)
    if from_archive:
        if hubs:
            raise ArchiveError("--hubs and --from-archive exclude each other")
        if _archive_plan(database_url, data_dir, since, until, archive_of, dry_run, run):
            return
    elif since or until or dry_run or run:
        raise ArchiveError("--since/--until/--dry-run/--run select archived crawls: add --from-archive")
    else:
        base = _base(base_url)
        _seed_hosts([hub_url(ref, base) for ref in resolve_hub_refs(hubs or [])], base, "--hubs")
    _flow_server()
    result = backfill_flow(
        hubs=hubs,
        from_archive=from_archive,
        since=since,
        until=until,
        base_url=base_url,
        database_url=_secret(database_url),
        data_dir=str(data_dir) if data_dir else None,
        replay_workers=replay_workers,
        archive_of=_archive_owner(archive_of),
        run_ids=run,
    )
    for report in result["runs"]:
        print_report(console, report)
    if result.get("message") and not result["runs"]:
        console.print(f"[yellow]{result['message']}[/yellow]", highlight=False)
    _exit_with(result)


def _archive_owner(archive_of: str | None) -> str | None:
    """--archive-of as a flow parameter: the warehouse's identity (no password: Prefect stores parameters)."""
    from schema.engine import warehouse_identity
    from spiders.replay import ANY_WAREHOUSE

    return archive_of if archive_of in (None, ANY_WAREHOUSE) else warehouse_identity(archive_of)


def _archive_plan(
    database_url: str | None,
    data_dir: Path | None,
    since: str | None,
    until: str | None,
    archive_of: str | None,
    dry_run: bool,
    named: list[str] | None = None,
) -> bool:
    """Check what a replay would take before a flow starts (every bad input named); with `dry_run`, list it
    and return True (nothing else to do). `named`: only these archived crawls (--run)."""
    from flows.backfill import replay_selection
    from spiders.replay import fetch_plan, parse_day

    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    settings = Settings(**overrides)
    url = database_url or settings.database_url
    selection = replay_selection(
        settings.runs_dir,
        url,
        parse_day(since, "--since"),
        parse_day(until, "--until"),
        _archive_owner(archive_of),
        named,
    )
    plans = [(a, len(fetch_plan(a))) for a in selection.chosen]
    if not dry_run:
        return False
    console.print(
        f"would replay {len(plans)} archived crawls of {selection.warehouse or 'any warehouse'} into {redacted(url)}:",
        highlight=False,
        soft_wrap=True,
    )
    for archived, fetches in plans:
        console.print(f"  {archived.run_id}  crawled {archived.crawl_started:%Y-%m-%d %H:%M:%S}  {fetches} fetches")
    for archived, why in selection.left_out:
        console.print(f"  left out {archived.run_id}: {why}", highlight=False, soft_wrap=True)
    return True


@app.command(epilog=EXIT_CODES_HELP)
def reparse(
    parser_version: Annotated[str, typer.Option(help="the installed parsers' version, recorded on every run")],
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    replay_workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="processes that parse (default: every core)")
    ] = None,
    archive_of: ArchiveOf = None,
) -> None:
    """Re-derive an empty warehouse from every published crawl of one warehouse's archive, with the installed
    parsers (after a parser fix)."""
    from flows.backfill import reparse as reparse_flow

    _preflight(database_url, data_dir)
    _archive_plan(database_url, data_dir, None, None, archive_of, dry_run=False)

    _flow_server()
    result = reparse_flow(
        parser_version=parser_version,
        database_url=_secret(database_url),
        data_dir=str(data_dir) if data_dir else None,
        replay_workers=replay_workers,
        archive_of=_archive_owner(archive_of),
    )
    for report in result["runs"]:
        print_report(console, report)
    console.print(f"reparsed {len(result['runs'])} archived crawls with parser version {parser_version}")
    _exit_with(result)


@app.command()
def schedule(
    cron: Annotated[str, typer.Option(help='five-field cron, e.g. "0 3 * * *"')],
    name: Annotated[str, typer.Option(help="name of the nightly deployment")] = "citehub-nightly",
    timezone: Annotated[str, typer.Option(help="time zone of the cron")] = "UTC",
    base_url: Annotated[str | None, typer.Option(help="site the scheduled runs crawl")] = None,
    seeds: Annotated[Path | None, typer.Option(help="seed file every nightly adds to the known hubs")] = None,
) -> None:
    """Serve the nightly deployment on CRON (and a `backfill` deployment) to the Prefect server at
    PREFECT_API_URL, running what it schedules until interrupted. Watch runs in the Prefect UI."""
    from flows.schedule import BadSchedule, check_cron, serve_schedule

    try:
        check_cron(cron)
    except BadSchedule as exc:  # a usage error of this option: Typer's own message shape
        raise typer.BadParameter(str(exc), param_hint="--cron") from exc
    if seeds is not None and not seeds.is_file():
        raise typer.BadParameter(f"seed file not found: {seeds}", param_hint="--seeds")
    common = {"base_url": base_url} if base_url else {}
    nightly = {**common, **({"seeds_file": str(seeds.resolve())} if seeds else {})}
    console.print(
        f"serving nightly-refresh/{name} on '{cron}' ({timezone}) and backfill/backfill; Ctrl-C stops", highlight=False
    )
    serve_schedule(cron, name, timezone, nightly_parameters=nightly, backfill_parameters=common)


@app.command("crawl")
def crawl_cmd(
    frontier: Annotated[str, typer.Option(envvar="CITEHUB_FRONTIER_URL", help="redis://HOST:6379/0, shared by all")],
    base_url: Annotated[str | None, typer.Option(help="site to crawl")] = None,
    seeds: Annotated[Path | None, typer.Option(help="file of hub URLs or uuids, one a line")] = None,
    hub: Annotated[list[str] | None, typer.Option(help="a hub URL or uuid (repeatable)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="crawl processes on this machine")] = 2,
    run_id: Annotated[str | None, typer.Option(help="join this run's frontier (from another machine)")] = None,
    first_worker: Annotated[int, typer.Option(min=0, help="index of this machine's first worker")] = 0,
    data_dir: DataDir = None,
) -> None:
    """Crawl only, with WORKERS processes sharing one Redis frontier: each URL is fetched once fleet-wide.

    On one machine: `citehub crawl --frontier redis://h:6379/0 --workers 4`. Across machines: start the same
    command with the same --run-id on each machine, each with its own --first-worker; every machine gets the
    items of the URLs it fetched, and the union is the single-process crawl. `citehub refresh --frontier ...`
    crawls this way and loads the result. The run folder's manifest says `kind: crawl` (no run published it):
    `citehub backfill --from-archive --run RUN_ID` loads it; a replay by dates leaves it out.
    """
    joined = run_id is not None
    import logging

    from flows.progress import ProgressReporter
    from spiders.crawl import allowed_hosts_for
    from spiders.fleet import run_fleet_crawl
    from spiders.replay import CRAWL_ONLY, record_run
    from warehouse.runs import new_run_id

    overrides: dict[str, Any] = {k: v for k, v in {"base_url": base_url, "data_dir": data_dir}.items() if v}
    settings = Settings(**overrides)
    urls = _hub_urls(seeds, hub, settings.base_url)
    if not urls:
        raise typer.BadParameter("no hubs to crawl: give --seeds FILE or --hub", param_hint="--seeds/--hub")
    run_id = run_id or new_run_id()
    log = logging.getLogger("citehub.crawl")
    if not log.handlers:  # the progress lines a one-process crawl prints, on stderr
        log.addHandler(logging.StreamHandler())
        log.setLevel(logging.INFO)
    record_run(settings.runs_dir / run_id, run_id=run_id, kind=CRAWL_ONLY)  # replayed only when named (--run)
    with ProgressReporter(log) as progress:
        merged = run_fleet_crawl(
            run_id,
            settings.runs_dir / run_id,
            settings.base_url,
            urls,
            allowed_hosts_for(settings.base_url, settings.allowed_hosts),
            frontier,
            workers,
            settings.concurrency,
            first_worker=first_worker,
            owns_frontier=not joined,  # the machine that started the run clears its frontier
            on_progress=progress,
        )
    console.print(
        f"run {run_id}: {workers} workers fetched {merged.stats.get('downloader/request_count', 0)} "
        f"URLs; items in {merged.items_path}, WARC in {merged.items_path.parent / 'warc'}"
    )
