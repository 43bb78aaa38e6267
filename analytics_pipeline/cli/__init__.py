"""The ``analytics-pipeline`` command.

Configuration and input problems end with one line on stderr and exit code 2; a failure of the API
or the run ends with one line and exit code 1. Never a traceback for either, and never the token.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import logging
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, Endpoint
from analytics_pipeline.config.datadir import (
    check_emails,
    check_usable,
    claim_emails,
    claim_for_api,
    claim_for_sandbox,
    keep_files_private,
)
from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.settings import (
    DEFAULT_BURST,
    DEFAULT_REQUESTS_PER_MINUTE,
    ConfigError,
    Settings,
    load_dotenv_into_environ,
    pseudonymize_key_from_env,
)
from analytics_pipeline.dates import parse_date, utc_today, yesterday
from analytics_pipeline.errors import FIX_INPUT, RUN_FAILED, DataError, PipelineError
from analytics_pipeline.warehouse import Warehouse

if TYPE_CHECKING:
    from analytics_pipeline.sandbox import FaultPlan

F = TypeVar("F", bound=Callable[..., Any])

def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"analytics-pipeline: error: {message}", err=True)
    sys.exit(code)


def _interrupted() -> NoReturn:
    """Ctrl-C: one line, then leave at once.

    Not through the interpreter's shutdown: fetching threads still running would hold it up, and
    DuckDB's bindings print dozens of lines about objects those threads still hold. Leaving here is
    as safe as a kill: partitions are published by rename and loads are transactions.
    """
    click.echo(
        "analytics-pipeline: interrupted; landed data is intact: run the same command again to resume",
        err=True,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(130)


def _root_cause(exc: BaseException) -> BaseException:
    """The user's exception inside Dagster's step-failure wrapper, if any."""
    while isinstance(exc, dg.DagsterUserCodeExecutionError) and exc.user_exception is not None:
        exc = exc.user_exception
    return exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


INTACT = "landed data is intact"
RESUME = "run the same command again to resume"
_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def handle_errors(command: F) -> F:
    """Turn the pipeline's errors (and the system's: a read-only directory, a full disk) into one line
    and an exit code, also when a Dagster step raised them."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted()
        except (PipelineError, OSError, dg.DagsterUserCodeExecutionError) as exc:
            cause = _root_cause(exc)
            if isinstance(cause, PipelineError):
                _fail(error_line(cause), cause.exit_code)
            if isinstance(cause, OSError):
                _fail(f"{_one_line(cause)} ({_os_advice(cause)})", RUN_FAILED)
            raise

    return wrapper  # type: ignore[return-value]


def error_line(exc: PipelineError) -> str:
    """The one line that says what went wrong and what to do.

    Input to fix: the hint (if any) leads, the message follows. Data the pipeline cannot accept: the
    message, then the hint. A failed run: the message, then whether running again can help, and that
    landed data is intact (partitions are published by rename, loads are transactions).
    """
    message = _one_line(exc)
    if exc.exit_code == FIX_INPUT:
        return f"{exc.hint}. {message}" if exc.hint else message
    if isinstance(exc, DataError):
        return f"{message} ({exc.hint})" if exc.hint else message
    return f"{message} ({_advice(exc.transient, exc.hint)})"


def _advice(transient: bool, hint: str | None) -> str:
    """What to do after a run failed: run again only when that can help, else what to change first."""
    if transient:
        return f"{INTACT}; {RESUME}"
    return f"{hint}; {INTACT}" if hint else INTACT


def _os_advice(exc: OSError) -> str:
    """The advice for a failure of the system: a lock not granted in time, a read-only directory, a full
    disk."""
    if isinstance(exc, TimeoutError):
        return _advice(True, None)
    if exc.errno in _UNWRITABLE:
        return _advice(False, _writable_hint(exc.filename))
    if exc.errno == errno.ENOSPC:
        return _advice(False, "free some disk space")
    return _advice(False, None)


def _writable_hint(filename: object) -> str:
    """Which directory to make writable: the data directory, unless the file is elsewhere (``--out``)."""
    if filename is None:
        return "make ANALYTICS_DATA_DIR writable"
    path = Path(str(filename)).resolve()
    if path.is_relative_to(Path(_data_dir_from_env()).resolve()):
        return "make ANALYTICS_DATA_DIR writable"
    return f"make {path.parent} writable"


def _date_option(name: str) -> Callable[[F], F]:
    return click.option(f"--{name}", "value_" + name, required=True, metavar="YYYY-MM-DD")


def _endpoints_option() -> Callable[[F], F]:
    names = ",".join(e.name for e in ASSET_ENDPOINTS)
    return click.option(
        "--endpoints",
        "endpoints_text",
        default=None,
        metavar="NAME[,NAME...]",
        help=f"Only these endpoints (default: every one): {names}.",
    )


def _endpoints(text: str | None) -> tuple[Endpoint, ...]:
    """The endpoints a ``--endpoints`` list names, or every landed one; a one-line error otherwise."""
    if text is None:
        return ASSET_ENDPOINTS
    valid = {e.name: e for e in ASSET_ENDPOINTS}
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        raise ConfigError(
            f"--endpoints: unknown endpoint {', '.join(map(repr, unknown)) or repr(text)}; "
            f"use a comma-separated list of: {', '.join(valid)}"
        )
    return tuple(e for e in ASSET_ENDPOINTS if e.name in names)


def _load_settings() -> Settings:
    load_dotenv_into_environ()
    return Settings.from_env()


def _day_range(settings: Settings, start_text: str, end_text: str) -> tuple[dt.date, dt.date]:
    """Validate a command-line range against the partitions and the API's rules."""
    try:
        start = parse_date(start_text, "--start")
        end = parse_date(end_text, "--end")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    last = yesterday(utc_today())
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}; swap them")
    if end > last:
        raise ConfigError(f"--end {end} is not a complete UTC day yet; the latest is {last}")
    if start < settings.start_date:
        raise ConfigError(
            f"--start {start} is before the first partition {settings.start_date}; "
            f"use a later --start or set ANALYTICS_START_DATE (no earlier than the API's 2-year lookback)"
        )
    return start, end


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "unknown"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@click.group()
@click.version_option(package_name="analytics-pipeline")
@click.option("-v", "--verbose", is_flag=True, help="Log requests and retries.")
def main(verbose: bool) -> None:
    """Augment Code's Analytics API into Parquet and DuckDB, through Dagster."""
    keep_files_private()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)


@main.command()
@handle_errors
def demo() -> None:
    """Load the last 14 days from the bundled sandbox API (no token needed)."""
    from analytics_pipeline.cli.demo import run_demo

    settings_dir = Path(_data_dir_from_env())
    pseudonymize_key = pseudonymize_key_from_env()
    claim_for_sandbox(settings_dir)
    claim_emails(settings_dir, pseudonymize_key)
    click.echo("Starting the sandbox API on loopback and loading the last 14 complete UTC days...")
    result = run_demo(settings_dir, pseudonymize_key=pseudonymize_key)
    click.echo(f"\nLoaded {result.start} .. {result.end} into {result.warehouse} "
               f"with {result.requests} API requests in {result.seconds:.1f}s.\n")
    click.echo("Rows per table:")
    for table, rows in result.row_counts.items():
        click.echo(f"  {table:<32} {rows:>8}")
    for title, sql, output in result.examples:
        click.echo(f"\n-- {title}\n{sql};\n{output}")
    click.echo(
        f"Next: `duckdb -readonly {result.warehouse}` to explore (read-only: loads go on meanwhile), "
        "`dagster dev` for the UI, or set AUGMENT_API_TOKEN and run `analytics-pipeline backfill` "
        "against the real API."
    )
    click.echo(f"\nReport: {result.report} (open it in a browser; it needs no network)")


def _data_dir_from_env() -> str:
    load_dotenv_into_environ()
    return os.environ.get("ANALYTICS_DATA_DIR", "").strip() or "data"


_RATE = click.FloatRange(0, 1)
_SECONDS = click.FloatRange(min=0)


@main.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Loopback port (0: any free port).")
@click.option("--people", type=click.IntRange(1, 100_000), default=40, show_default=True)
@click.option("--service-accounts", type=click.IntRange(0, 1_000), default=3, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--requests-per-minute",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_REQUESTS_PER_MINUTE,
    show_default=True,
)
@click.option("--burst", type=click.IntRange(1), default=DEFAULT_BURST, show_default=True)
@click.option("--token", default="sandbox-token", show_default=True, help="The bearer token it accepts.")
@click.option(
    "--late-days",
    type=click.IntRange(0, 30),
    default=0,
    show_default=True,
    help="Deliver some members' rows up to this many days late, so recent days' numbers still grow.",
)
@click.option("--error-rate", type=_RATE, default=0.0, help="Fault: fraction answered 500/502/503.")
@click.option("--drop-rate", type=_RATE, default=0.0, help="Fault: fraction closed without a response.")
@click.option("--slow-rate", type=_RATE, default=0.0, help="Fault: fraction answered after --slow-seconds.")
@click.option(
    "--slow-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=35.0,
    show_default=True,
    help="How long a slow response waits (the client gives up after 30 s).",
)
@click.option("--truncate-rate", type=_RATE, default=0.0, help="Fault: fraction of 200s with JSON cut short.")
@click.option(
    "--storm-every",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Fault: a 429 storm every N requests (0: none).",
)
@click.option("--storm-length", type=click.IntRange(1), default=3, show_default=True, help="429s in a row.")
@click.option(
    "--storm-retry-after",
    type=click.Choice(["always", "never", "alternate"]),
    default="alternate",
    show_default=True,
    help="Whether storms send Retry-After.",
)
@click.option(
    "--storm-retry-after-seconds",
    type=_SECONDS,
    default=1.0,
    show_default=True,
    help="The Retry-After a storm sends.",
)
@click.option(
    "--penalty-seconds",
    type=_SECONDS,
    default=0.0,
    show_default=True,
    help="Fault: after a storm starts, every request gets 429 for this long.",
)
@click.option("--drift-add-field", metavar="NAME", help="Drift: add this unknown field (metrics.x: nested).")
@click.option("--drift-drop-field", metavar="NAME", help="Drift: remove this documented field.")
@click.option("--drift-rate", type=_RATE, default=1.0, show_default=True, help="Drift: fraction of records.")
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of every fault decision.")
@handle_errors
def sandbox(
    port: int,
    people: int,
    service_accounts: int,
    seed: int,
    requests_per_minute: float,
    burst: int,
    token: str,
    late_days: int,
    **fault_options: Any,
) -> None:
    """Serve the synthetic organisation as the Analytics API on 127.0.0.1, optionally with faults.

    Faults are off by default; each is decided from --fault-seed and the order of requests, so a run
    with the same options and requests sees the same faults. See "When things go wrong" in the README.
    """
    from analytics_pipeline.sandbox import FaultInjector, FaultPlan, SandboxServer, SyntheticOrg

    # The options are the plan's fields by name (--fault-seed is its seed).
    options = {key.removeprefix("fault_"): value for key, value in fault_options.items()}
    try:
        plan = FaultPlan(**options)
    except ValueError as exc:
        message = str(exc)
        for name in options:  # name the command-line option, not the Python field
            option = "--fault-seed" if name == "seed" else "--" + name.replace("_", "-")
            message = re.sub(rf"\b{name}\b", option, message)
        raise ConfigError(message) from None
    injector = FaultInjector(plan) if plan.active else None
    org = SyntheticOrg(seed=seed, people=people, service_accounts=service_accounts, late_days=late_days)
    server = SandboxServer(
        org,
        port=port,
        tokens=(token,),
        requests_per_minute=requests_per_minute,
        burst=burst,
        faults=injector,
    )
    click.echo(f"Sandbox Analytics API on {server.url} (token: {token}); Ctrl-C stops it.")
    click.echo(f"  export AUGMENT_API_BASE_URL={server.url} AUGMENT_API_TOKEN={token}")
    if injector is not None:
        click.echo(f"  injecting faults: {_fault_summary(plan)}")
    server.serve_forever()
    if injector is not None:
        fired = ", ".join(f"{kind} {count}" for kind, count in injector.counts.items() if count)
        click.echo(f"Faults injected: {fired or 'none'}.")


def _fault_summary(plan: FaultPlan) -> str:
    parts = [
        f"{name} {getattr(plan, name + '_rate'):g}"
        for name in ("error", "drop", "slow", "truncate")
        if getattr(plan, name + "_rate")
    ]
    if plan.slow_rate:
        parts.append(f"slow-seconds {plan.slow_seconds:g}")
    if plan.storm_every:
        parts.append(
            f"429 storms of {plan.storm_length} every {plan.storm_every} requests "
            f"(Retry-After {plan.storm_retry_after})"
        )
    if plan.penalty_seconds:
        parts.append(f"penalty window {plan.penalty_seconds:g}s")
    if plan.drifts:
        changes = [f"+{plan.drift_add_field}"] if plan.drift_add_field else []
        changes += [f"-{plan.drift_drop_field}"] if plan.drift_drop_field else []
        parts.append(f"drift {' '.join(changes)} in {plan.drift_rate:g} of records")
    return f"{'; '.join(parts)} (seed {plan.seed})"


@main.command()
@_date_option("start")
@_date_option("end")
@_endpoints_option()
@handle_errors
def backfill(value_start: str, value_end: str, endpoints_text: str | None) -> None:
    """Load every endpoint for an inclusive range of days; run again to resume."""
    from analytics_pipeline.backfill.runs import Progress, instance_for_cli
    from analytics_pipeline.backfill.runs import backfill as run_backfill
    from analytics_pipeline.defs.build import build_definitions

    settings = _load_settings()
    start, end = _day_range(settings, value_start, value_end)
    endpoints = _endpoints(endpoints_text)
    claim_for_api(settings.data_dir, settings.api_base_url, settings.require_token())
    claim_emails(settings.data_dir, settings.pseudonymize_key)

    def report(p: Progress) -> None:
        click.echo(
            f"[{p.days_done}/{p.days_total} days] run {p.steps_done}/{p.steps_total} "
            f"({p.step.phase} {p.step.start}..{p.step.end}) done; {p.requests} requests sent, "
            f"{p.rate_per_minute:.1f}/min, ETA {_duration(p.eta_seconds)}"
        )

    defs = build_definitions(settings)
    storage = defs.resources["storage"]
    outcome = run_backfill(
        defs,
        storage.warehouse(),
        storage.raw_store(),
        start,
        end,
        instance=instance_for_cli(),
        on_progress=report,
        endpoints=endpoints,
    )
    expired = f", {outcome.days_expired} past the API's 2-year lookback" if outcome.days_expired else ""
    click.echo(
        f"Backfill {start}..{end}: {outcome.days_total} days, "
        f"{outcome.days_skipped} already loaded{expired}, "
        f"{outcome.runs} runs, {outcome.requests} requests in {_duration(outcome.elapsed)}."
    )


def _spans_text(spans: tuple[tuple[dt.date, dt.date], ...]) -> str:
    return ", ".join(f"{lo}..{hi}" for lo, hi in spans) if spans else "none"


@main.command()
@_date_option("start")
@_date_option("end")
@_endpoints_option()
@handle_errors
def plan(value_start: str, value_end: str, endpoints_text: str | None) -> None:
    """Count the requests a backfill of a range will send, and how long it will take, before it runs."""
    from analytics_pipeline.backfill.estimate_live import live_plan
    from analytics_pipeline.defs.resources import AnalyticsApiResource

    settings = _load_settings()
    start, end = _day_range(settings, value_start, value_end)
    endpoints = _endpoints(endpoints_text)
    token = settings.require_token()
    claim_for_api(settings.data_dir, settings.api_base_url, token)
    check_emails(settings.data_dir, settings.pseudonymize_key)  # a plan lands nothing: check, record nothing
    # The same resource the assets use: the plan's calls spend the token's shared rate-limit budget.
    api = AnalyticsApiResource(
        base_url=settings.api_base_url,
        token=token.reveal(),
        requests_per_minute=settings.requests_per_minute,
        burst=settings.burst,
        data_dir=str(settings.data_dir),
    )
    with api.client(record_source=False) as client:  # a plan lands nothing: it records no source
        live = live_plan(
            client, Warehouse(settings.paths.warehouse), start, end, endpoints=endpoints
        )
    result, ratios = live.plan, live.ratios
    click.echo(
        f"Plan for {start}..{end}: {result.days} days, {result.days_loaded} already loaded "
        f"({_spans_text(result.loaded_spans)})."
    )
    click.echo(f"  {'endpoint':<24} {'requests':>9}  count")
    for name, requests in result.requests.items():
        click.echo(f"  {name:<24} {requests:>9}  {'exact' if result.exact[name] else 'estimated'}")
    click.echo(f"  {'total':<24} {result.total:>9}")
    eta = result.eta_seconds(settings.requests_per_minute, settings.burst)
    click.echo(
        f"ETA {_duration(eta)} at {settings.requests_per_minute:g} requests/minute "
        f"after a burst of {settings.burst}."
    )
    learned = ", ".join(sorted(ratios.learned))
    source = f"learned from the warehouse: {learned}" if learned else "defaults"
    click.echo(
        f"Estimates: {ratios.editor_language:.2f} editor-language rows and "
        f"{ratios.credit:.2f} credit records per active user a day; "
        f"monthly users = peak DAU x {ratios.monthly:.2f} ({source})."
    )
    plural = "" if live.requests_used == 1 else "s"
    click.echo(f"The plan itself sent {live.requests_used} request{plural} (dau-count).")


@main.command()
@handle_errors
def nightly() -> None:
    """What the 02:30 UTC schedule runs: the previous UTC day, and a re-check of provisional days."""
    from analytics_pipeline.backfill.runs import execute_range, instance_for_cli
    from analytics_pipeline.defs.build import build_definitions

    settings = _load_settings()
    token = settings.require_token()
    check_usable(settings.data_dir)
    claim_for_api(settings.data_dir, settings.api_base_url, token)
    claim_emails(settings.data_dir, settings.pseudonymize_key)
    Warehouse(settings.paths.warehouse).verify()  # before fetching, not after
    day = yesterday(utc_today())
    result = execute_range(build_definitions(settings), day, day, instance_for_cli())
    click.echo(f"Loaded {day}.{_recheck_summary(result)} Report: {settings.paths.report}")


def _recheck_summary(result: dg.ExecuteInProcessResult) -> str:
    """What the run's re-check of provisional days found, as a sentence (or nothing)."""
    from analytics_pipeline.defs.assets.rechecks import RECHECKS_KEY

    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key != RECHECKS_KEY or materialization.metadata["days_checked"].value == 0:
            continue
        meta = {key: value.value for key, value in materialization.metadata.items()}
        changed, missing = meta["changed_days"], meta["missing_days"]
        parts = [f"{meta['unchanged_days']} unchanged"]
        if changed:
            parts.append(f"{len(changed)} changed and re-loaded ({', '.join(changed)})")
        if missing:
            parts.append(f"{len(missing)} not loaded before, now loaded ({', '.join(missing)})")
        return (
            f" Re-checked {meta['days_checked']} provisional days {meta['first_day']}..{meta['last_day']}: "
            + "; ".join(parts) + "."
        )
    return ""


@main.command("export")
@click.option("--table", help="A table or view of the warehouse, e.g. fct_dau_count.")
@click.option(
    "--query", help="A SQL query over the warehouse, e.g. \"from usage_by_user('2026-10-01', '2026-10-31')\"."
)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@handle_errors
def export_command(table: str | None, query: str | None, fmt: str, out: str) -> None:
    """Write a table or a query's result to CSV or Parquet (read-only), for BI tools."""
    from analytics_pipeline.warehouse.export import export

    paths = DataPaths(Path(_data_dir_from_env()))
    try:
        rows = export(paths.warehouse, table=table, query=query, fmt=fmt, out=out)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    click.echo(f"Wrote {rows} rows to {out}.")


def _optional_date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return parse_date(text, option)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


@main.command("report")
@click.option("--start", "value_start", metavar="YYYY-MM-DD", help="First day of the period.")
@click.option("--end", "value_end", metavar="YYYY-MM-DD", help="Last day of the period.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="The HTML file to write [default: reports/usage.html in the data directory].",
)
@handle_errors
def report_command(value_start: str | None, value_end: str | None, out: str | None) -> None:
    """Write the usage report: one HTML dashboard that opens offline (read-only on the warehouse).

    \b
    The period, compared with the one of equal length before it:
      neither option   the 28 days ending on the latest loaded day (from the first
                       loaded day, if that is later)
      --end only       the 28 days ending on --end
      --start only     from --start to the latest loaded day
    """
    from analytics_pipeline.config.outputs import check_output_path
    from analytics_pipeline.report import NoLoadedDays, publish_report

    paths = DataPaths(Path(_data_dir_from_env()))
    start = _optional_date(value_start, "--start")
    end = _optional_date(value_end, "--end")
    last = yesterday(utc_today())
    if end is not None and end > last:
        raise ConfigError(f"--end {end} is not a complete UTC day yet; the latest is {last}")
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--end {end} is before --start {start}; swap them")
    if out is None:
        target = paths.report
        if paths.warehouse.is_file():
            paths.reports.mkdir(mode=0o700, exist_ok=True)
    else:
        target = check_output_path(Path(out), paths.root, example="usage.html")
    try:
        report = publish_report(Warehouse(paths.warehouse), target, start=start, end=end)
    except (FileNotFoundError, NoLoadedDays, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    period = report.period
    click.echo(
        f"Wrote the report for {period.start}..{period.end} "
        f"({report.days_loaded} of {period.days} days loaded) "
        f"to {report.path} ({report.bytes / 1024:.0f} KB)."
    )

