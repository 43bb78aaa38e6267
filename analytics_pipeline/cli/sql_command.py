"""``analytics-pipeline sql``: the warehouse read-only at a SQL prompt, with the analysis macros."""

from __future__ import annotations

import sys

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import load_local_settings
from analytics_pipeline.config.settings import ConfigError


@click.command("sql")
@click.option(
    "-c",
    "--command",
    "commands",
    multiple=True,
    metavar="SQL",
    help="Run this SQL, print its result and exit (repeatable). Without it, statements are read from "
    "standard input: a prompt when it is a terminal.",
)
@handle_errors
def sql_command(commands: tuple[str, ...]) -> None:
    """Query the warehouse read-only: a SQL prompt with the analysis macros and views (loads go on
    meanwhile). Statements end with ';'; .quit or Ctrl-D leaves.

    \b
    Try:  select * from analysis_macros;
          select * from usage_summary('2026-10-01', '2026-10-31');
    """
    import duckdb

    from analytics_pipeline.cli.sql_shell import interact, prompt_lines, run
    from analytics_pipeline.warehouse import open_warehouse
    from analytics_pipeline.warehouse.analysis import ensure_current_layer

    settings = load_local_settings()
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url)
    if not warehouse.exists():
        raise ConfigError(
            f"no warehouse yet in {warehouse.description}; run `analytics-pipeline demo` or a backfill first"
        )
    ensure_current_layer(warehouse)
    stdin = sys.stdin
    with warehouse.reader(wait=True) as con:
        if commands:
            for text in commands:
                try:
                    run(con, text)
                except duckdb.Error as exc:
                    raise ConfigError(f"-c failed: {str(exc).splitlines()[0]}; fix the SQL") from None
        elif stdin.isatty():
            import readline  # noqa: F401  (line editing and history for input())

            click.echo(f"{warehouse.description}, read-only. End statements with ';', leave with .quit.")
            interact(con, prompt_lines(input))
        else:
            failed = interact(con, (line.rstrip("\n") for line in stdin))
            if failed:
                raise ConfigError(f"{failed} of the statements read from standard input failed; fix the SQL")
