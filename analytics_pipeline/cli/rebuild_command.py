"""``analytics-pipeline rebuild``: the warehouse loaded again from the landed raw partitions, no request."""

from __future__ import annotations

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import load_local_settings, optional_date
from analytics_pipeline.config.organizations import DEFAULT_ORGANIZATION
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.landing.store import RawStore
from analytics_pipeline.warehouse.location import WarehouseDoors, open_warehouse
from analytics_pipeline.warehouse.rebuild import replace_newer_warehouse


@click.command()
@click.option(
    "--start",
    "value_start",
    default=None,
    metavar="YYYY-MM-DD",
    help="First day (default: the first landed).",
)
@click.option(
    "--end", "value_end", default=None, metavar="YYYY-MM-DD", help="Last day (default: the last landed)."
)
@handle_errors
def rebuild(value_start: str | None, value_end: str | None) -> None:
    """Load the warehouse again from the landed raw partitions, without a request to the API."""
    from analytics_pipeline.warehouse.rebuild import rebuild as run_rebuild

    settings = load_local_settings(loads_partitions=True)
    start, end = optional_date(value_start, "--start"), optional_date(value_end, "--end")
    if start and end and end < start:
        raise ConfigError(f"--end {end} is before --start {start}; swap them")
    store = RawStore.at(settings.raw) if settings.raw else RawStore(settings.paths.raw)
    store.verify()
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url, prepare=store.prepare_duckdb)
    moved = replace_newer_warehouse(warehouse)
    if moved is not None:
        click.echo(f"Moved {warehouse.description}, written by a newer DuckDB, to {moved} (kept).")

    def progress(table: str, done: int, total: int) -> None:
        click.echo(f"{table}: {done}/{total} partitions")

    result = run_rebuild(
        warehouse,
        store,
        start=start,
        end=end,
        organization=DEFAULT_ORGANIZATION,
        recheck_days=settings.recheck_days,
        progress=progress,
    )
    for exc in result.damaged:
        click.echo(str(exc), err=True)
    click.echo(
        f"Rebuilt {result.total_partitions} partitions ({sum(result.rows.values())} rows, "
        f"{result.users} users) from {store.url}, without a request."
    )
    if result.damaged:
        raise SystemExit(1)


def upgrade_newer_warehouse(warehouse: WarehouseDoors, store: RawStore, recheck_days: int) -> None:
    """Before a run loads: a warehouse file written by a newer DuckDB is moved aside (kept) and loaded
    again from the landed raw partitions, so an existing data directory keeps working without a fetch."""
    from analytics_pipeline.warehouse.rebuild import rebuild as run_rebuild

    moved = replace_newer_warehouse(warehouse)
    if moved is None:
        return
    click.echo(
        f"{warehouse.description} was written by a newer DuckDB than this release's; moved it to {moved} "
        "(kept) "
        f"and loading the warehouse again from {store.root}, without a request."
    )
    result = run_rebuild(warehouse, store, organization=DEFAULT_ORGANIZATION, recheck_days=recheck_days)
    for exc in result.damaged:
        click.echo(str(exc), err=True)
    click.echo(f"Loaded {result.total_partitions} landed partitions again.")
