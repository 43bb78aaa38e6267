"""``analytics-pipeline export``: a table or a query's result to CSV or Parquet, read-only."""

from __future__ import annotations

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import checked_names, load_local_settings, organizations_option
from analytics_pipeline.config.settings import ConfigError


@click.command("export")
@click.option("--table", help="A table or view of the warehouse, e.g. fct_dau_count.")
@click.option(
    "--query", help="A SQL query over the warehouse, e.g. \"from usage_by_user('2026-10-01', '2026-10-31')\"."
)
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), required=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="The file to write.")
@organizations_option()
@handle_errors
def export_command(
    table: str | None, query: str | None, fmt: str, out: str, organization_names: tuple[str, ...]
) -> None:
    """Write a table or a query's result to CSV or Parquet (read-only), for BI tools; ``--organization``
    keeps a table's rows of those organisations only."""
    from analytics_pipeline.warehouse import open_warehouse
    from analytics_pipeline.warehouse.export import export

    settings = load_local_settings()
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url)
    try:
        rows = export(
            warehouse,
            settings.data_dir,
            table=table,
            query=query,
            fmt=fmt,
            out=out,
            organizations=checked_names(organization_names),
        )
    except ValueError as exc:  # the export's one-line refusals of its input
        raise ConfigError(str(exc)) from None
    click.echo(f"Wrote {rows} rows to {out}.")
