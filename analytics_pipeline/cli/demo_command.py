"""``analytics-pipeline demo``: the last 14 days from the bundled sandbox API, no token needed."""

from __future__ import annotations

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import load_local_settings
from analytics_pipeline.config.datadir import claim_emails, claim_for_sandbox


@click.command()
@handle_errors
def demo() -> None:
    """Load the last 14 days from the bundled sandbox API (no token needed)."""
    from analytics_pipeline.cli.demo import run_demo  # the sandbox, Dagster's run: loaded when run

    settings = load_local_settings(pseudonymize=True)
    claim_for_sandbox(settings.data_dir)
    claim_emails(settings.data_dir, settings.pseudonymize_key)
    click.echo("Starting the sandbox API on loopback and loading the last 14 complete UTC days...")
    result = run_demo(settings.data_dir, pseudonymize_key=settings.pseudonymize_key)
    click.echo(
        f"\nLoaded {result.start} .. {result.end} into {result.warehouse} "
        f"with {result.requests} API requests in {result.seconds:.1f}s.\n"
    )
    click.echo("Rows per table:")
    for table, rows in result.row_counts.items():
        click.echo(f"  {table:<32} {rows:>8}")
    for title, sql, output in result.examples:
        click.echo(f"\n-- {title}\n{sql};\n{output}")
    click.echo(
        f"Next: {result.read_only_shell} to explore (read-only: loads go on meanwhile), "
        "`dagster dev` for the UI, or set AUGMENT_API_TOKEN and run `analytics-pipeline backfill` "
        "against the real API."
    )
    click.echo(f"\nReport: {result.report} (open it in a browser; it needs no network)")
