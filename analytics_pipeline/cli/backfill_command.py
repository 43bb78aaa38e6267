"""``analytics-pipeline backfill``: load an inclusive range of days from the API; run again to resume."""

from __future__ import annotations

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import (
    date_option,
    day_range,
    endpoints,
    endpoints_option,
    load_settings,
)
from analytics_pipeline.cli.preflight import ready_to_fetch
from analytics_pipeline.cli.text import duration
from analytics_pipeline.config.datadir import claim_emails, claim_for_api


@click.command()
@date_option("start")
@date_option("end")
@endpoints_option()
@handle_errors
def backfill(value_start: str, value_end: str, endpoints_text: str | None) -> None:
    """Load every endpoint for an inclusive range of days; run again to resume."""
    from analytics_pipeline.backfill.in_process import instance_for_cli
    from analytics_pipeline.backfill.scheduler import Progress
    from analytics_pipeline.backfill.scheduler import backfill as run_backfill
    from analytics_pipeline.defs.build import build_definitions

    settings = load_settings()
    start, end = day_range(settings, value_start, value_end)
    selected = endpoints(endpoints_text)
    storage = ready_to_fetch(settings)
    claim_for_api(settings.data_dir, settings.api_base_url, settings.require_token())
    claim_emails(settings.data_dir, settings.pseudonymize_key)

    def report(p: Progress) -> None:
        click.echo(
            f"[{p.days_done}/{p.days_total} days] run {p.steps_done}/{p.steps_total} "
            f"({p.step.phase} {p.step.start}..{p.step.end}) done; {p.requests} requests sent, "
            f"{p.rate_per_minute:.1f}/min, ETA {duration(p.eta_seconds)}"
        )

    defs = build_definitions(settings)
    outcome = run_backfill(
        defs,
        storage.warehouse(),
        storage.raw_store(),
        start,
        end,
        instance=instance_for_cli(),
        on_progress=report,
        endpoints=selected,
    )
    expired = f", {outcome.days_expired} past the API's 2-year lookback" if outcome.days_expired else ""
    click.echo(
        f"Backfill {start}..{end}: {outcome.days_total} days, "
        f"{outcome.days_skipped} already loaded{expired}, "
        f"{outcome.runs} runs, {outcome.requests} requests in {duration(outcome.elapsed)}."
    )
