"""``analytics-pipeline rebuild``: the warehouse loaded again from the landed raw partitions, no request."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import (
    chosen_names,
    load_local_settings,
    optional_date,
    organizations_option,
)
from analytics_pipeline.cli.text import spans
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.dates import contiguous_windows
from analytics_pipeline.landing.store import RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse.location import WarehouseDoors, open_warehouse
from analytics_pipeline.warehouse.rebuild import replace_newer_warehouse

if TYPE_CHECKING:
    from analytics_pipeline.defs.resources.storage import StorageResource


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
@organizations_option()
@handle_errors
def rebuild(value_start: str | None, value_end: str | None, organization_names: tuple[str, ...]) -> None:
    """Load the warehouse again from the landed raw partitions, without a request to the API (every
    organisation landed under the raw root, or those ``--organization`` names)."""
    from analytics_pipeline.warehouse.rebuild import rebuild as run_rebuild

    settings = load_local_settings(loads_partitions=True)
    start, end = optional_date(value_start, "--start"), optional_date(value_end, "--end")
    if start and end and end < start:
        raise ConfigError(f"--end {end} is before --start {start}; swap them")
    root = RawStore.at(settings.raw) if settings.raw else RawStore(settings.paths.raw)
    root.verify()
    landed = tuple(root.landed_organizations())
    chosen = chosen_names(organization_names, landed, f"the raw store {root.url}") if landed else ()
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url, prepare=root.prepare_duckdb)
    moved = replace_newer_warehouse(warehouse)
    if moved is not None:
        click.echo(f"Moved {warehouse.description}, written by a newer DuckDB, to {moved} (kept).")
    damaged = False
    for name in chosen or (DEFAULT_ORGANIZATION,):
        store = root.of_organization(name)
        whose = f"[{name}] " if len(landed) > 1 else ""

        def progress(table: str, done: int, total: int, whose: str = whose) -> None:
            click.echo(f"{whose}{table}: {done}/{total} partitions")

        result = run_rebuild(
            warehouse,
            store,
            start=start,
            end=end,
            recheck_days=settings.recheck_days,
            progress=progress,
            organization=name,
        )
        for exc in result.damaged:
            click.echo(str(exc), err=True)
        damaged = damaged or bool(result.damaged)
        click.echo(
            f"{whose}Rebuilt {result.total_partitions} partitions ({sum(result.rows.values())} rows, "
            f"{result.users} users) from {store.url}, without a request; dau and user-activity derived "
            f"again for {result.derived} days."
        )
        if result.underived:
            windows = tuple(sorted(contiguous_windows(result.underived, len(result.underived))))
            click.echo(
                f"{whose}{len(result.underived)} days ({spans(windows)}) have editor-language landed "
                "but neither dau nor user-activity, and their checks need a request (their month's other "
                "days are not loaded): `analytics-pipeline backfill` over them loads them.",
                err=True,
            )
    if damaged:
        raise SystemExit(1)


def upgrade_newer_warehouse(warehouse: WarehouseDoors, storage: StorageResource, recheck_days: int) -> None:
    """Before a run loads: a warehouse file written by a newer DuckDB is moved aside (kept) and loaded
    again from every organisation's landed raw partitions, so an existing data directory keeps working
    without a fetch."""
    from analytics_pipeline.warehouse.rebuild import rebuild as run_rebuild

    moved = replace_newer_warehouse(warehouse)
    if moved is None:
        return
    root = storage.raw_store()
    click.echo(
        f"{warehouse.description} was written by a newer DuckDB than this release's; moved it to {moved} "
        f"(kept) and loading the warehouse again from {root.url}, without a request."
    )
    partitions = 0
    for name in root.landed_organizations():
        result = run_rebuild(warehouse, storage.raw_store(name), recheck_days=recheck_days, organization=name)
        for exc in result.damaged:
            click.echo(str(exc), err=True)
        partitions += result.total_partitions
    click.echo(f"Loaded {partitions} landed partitions again.")
