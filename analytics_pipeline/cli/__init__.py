"""The ``analytics-pipeline`` command: the group, and its commands from one module each.

Configuration and input problems end with one line on stderr and exit code 2; a failure of the API
or the run ends with one line and exit code 1 (see :mod:`analytics_pipeline.cli.errors`). Never a
traceback for either, and never the token.
"""

from __future__ import annotations

import logging

import click

from analytics_pipeline.cli.backfill_command import backfill
from analytics_pipeline.cli.budgets_command import budgets
from analytics_pipeline.cli.demo_command import demo
from analytics_pipeline.cli.export_command import export_command
from analytics_pipeline.cli.nightly_command import nightly
from analytics_pipeline.cli.plan_command import plan
from analytics_pipeline.cli.rebuild_command import rebuild
from analytics_pipeline.cli.report_command import report_command
from analytics_pipeline.cli.sandbox_command import sandbox
from analytics_pipeline.cli.sql_command import sql_command
from analytics_pipeline.config.datadir import keep_files_private

__all__ = ["main"]


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


for _command in (
    demo,
    sandbox,
    backfill,
    plan,
    nightly,
    rebuild,
    export_command,
    report_command,
    sql_command,
    budgets,
):
    main.add_command(_command)
