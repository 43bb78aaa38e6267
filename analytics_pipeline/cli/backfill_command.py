"""``analytics-pipeline backfill``: load an inclusive range of days from the API; run again to resume.

With several organisations, each one's backfill runs at once in a thread of its own (each within its
own token's limit), and every progress line names its organisation.
"""

from __future__ import annotations

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import (
    chosen_organizations,
    date_option,
    day_range,
    derive_option,
    endpoints,
    endpoints_option,
    load_settings,
    organizations_option,
)
from analytics_pipeline.cli.preflight import claim_for_organizations, ready_to_fetch
from analytics_pipeline.cli.text import duration


@click.command()
@date_option("start")
@date_option("end")
@endpoints_option()
@organizations_option()
@derive_option()
@handle_errors
def backfill(
    value_start: str,
    value_end: str,
    endpoints_text: str | None,
    organization_names: tuple[str, ...],
    derive: bool,
) -> None:
    """Load every endpoint for an inclusive range of days; run again to resume."""
    from analytics_pipeline.backfill.in_process import instance_for_cli
    from analytics_pipeline.backfill.scheduler import BackfillOutcome, Progress
    from analytics_pipeline.backfill.scheduler import backfill as run_backfill
    from analytics_pipeline.backfill.window_answer import window_answer
    from analytics_pipeline.defs.build import build_definitions
    from analytics_pipeline.runtime.parallel import each_at_once

    settings = load_settings()
    organizations = chosen_organizations(settings, organization_names)
    start, end = day_range(settings, value_start, value_end, organizations)
    selected = endpoints(endpoints_text)
    storage = ready_to_fetch(settings, organizations)
    claim_for_organizations(settings, organizations)
    several = len(settings.organizations) > 1

    def label(name: str) -> str:
        return f"[{name}] " if several else ""

    def report(p: Progress) -> None:
        click.echo(
            f"{label(p.step.names.organization)}[{p.days_done}/{p.days_total} days] run "
            f"{p.steps_done}/{p.steps_total} ({p.step.phase} {p.step.start}..{p.step.end}) done; "
            f"{p.requests} requests sent, {p.rate_per_minute:.1f}/min, ETA {duration(p.eta_seconds)}"
        )

    defs = build_definitions(settings)
    warehouse = storage.warehouse()
    instance = instance_for_cli()

    by_name = {org.name: org for org in organizations}

    def run_one(name: str) -> BackfillOutcome:
        return run_backfill(
            defs,
            warehouse,
            storage.raw_store(name),
            start,
            end,
            instance=instance,
            on_progress=report,
            endpoints=selected,
            organization=name,
            derive=derive,
            window_answer=window_answer(settings, by_name[name]),
            recheck_days=settings.recheck_days,
        )

    outcomes = each_at_once([org.name for org in organizations], run_one)
    for name, outcome in outcomes.items():
        expired = f", {outcome.days_expired} past the API's 2-year lookback" if outcome.days_expired else ""
        derived = outcome.derivation
        click.echo(
            f"{label(name)}Backfill {start}..{end}: {outcome.days_total} days, "
            f"{outcome.days_skipped} already loaded{expired}, "
            f"{outcome.runs} runs, {outcome.requests} requests in {duration(outcome.elapsed)}."
        )
        if derived.derived or derived.fetched:
            click.echo(
                f"{label(name)}dau and user-activity derived from editor-language for {derived.derived} "
                f"days ({derived.empty} empty by dau-count, no per-day request); {derived.fetched} days "
                "failed a check and were fetched."
            )
