"""``analytics-pipeline report``: the usage report, one HTML page that opens offline."""

from __future__ import annotations

from pathlib import Path

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import (
    checked_names,
    load_local_settings,
    optional_date,
    organizations_option,
)
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.warehouse import open_warehouse


@click.command("report")
@click.option("--start", "value_start", metavar="YYYY-MM-DD", help="First day of the period.")
@click.option("--end", "value_end", metavar="YYYY-MM-DD", help="Last day of the period.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="The HTML file to write [default: reports/usage.html in the data directory, or "
    "reports/<organization>/usage.html for --organization].",
)
@organizations_option()
@handle_errors
def report_command(
    value_start: str | None, value_end: str | None, out: str | None, organization_names: tuple[str, ...]
) -> None:
    """Write the usage report: one HTML dashboard that opens offline (read-only on the warehouse), of
    every organisation, or one per organisation ``--organization`` names.

    \b
    The period, compared with the one of equal length before it:
      neither option   the 28 days ending on the latest loaded day (from the first
                       loaded day, if that is later)
      --end only       the 28 days ending on --end
      --start only     from --start to the latest loaded day
    """
    from analytics_pipeline.config.outputs import check_output_path
    from analytics_pipeline.report import publish_report

    settings = load_local_settings()
    paths = settings.paths
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url)
    start = optional_date(value_start, "--start")
    end = optional_date(value_end, "--end")
    last = yesterday(utc_today())
    if end is not None and end > last:
        raise ConfigError(f"--end {end} is not a complete UTC day yet; the latest is {last}")
    if start is not None and end is not None and end < start:
        raise ConfigError(f"--end {end} is before --start {start}; swap them")
    names: list[str | None] = [*checked_names(organization_names)] or [None]
    if out is not None and len(names) > 1:
        raise ConfigError("--out names one file: give one --organization with it, or leave --out out")
    for name in names:
        if out is None:
            target = paths.report if name is None else paths.organization_report(name)
            if warehouse.exists():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            target = check_output_path(Path(out), paths.root, example="usage.html")
        try:
            report = publish_report(warehouse, target, start=start, end=end, organization=name)
        except (FileNotFoundError, ValueError) as exc:  # no warehouse yet; a period or name it lacks
            raise ConfigError(str(exc)) from None
        period = report.period
        whose = "" if name is None else f" of {name}"
        click.echo(
            f"Wrote the report{whose} for {period.start}..{period.end} "
            f"({report.days_loaded} of {period.days} days loaded) "
            f"to {report.path} ({report.bytes / 1024:.0f} KB)."
        )
