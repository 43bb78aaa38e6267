"""``analytics-pipeline plan``: what a backfill of a range will cost, in requests and time, before it runs."""

from __future__ import annotations

import datetime as dt

import click

from analytics_pipeline.api.endpoints import Endpoint
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
from analytics_pipeline.cli.preflight import check_limiter_state
from analytics_pipeline.cli.text import duration, spans
from analytics_pipeline.config.datadir import check_emails, claim_for_api
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.warehouse import open_warehouse


@click.command()
@date_option("start")
@date_option("end")
@endpoints_option()
@organizations_option()
@derive_option()
@handle_errors
def plan(
    value_start: str,
    value_end: str,
    endpoints_text: str | None,
    organization_names: tuple[str, ...],
    derive: bool,
) -> None:
    """Count the requests a backfill of a range will send, and how long it will take, before it runs."""
    settings = load_settings()
    organizations = chosen_organizations(settings, organization_names)
    start, end = day_range(settings, value_start, value_end, organizations)
    selected = endpoints(endpoints_text)
    check_limiter_state(settings, organizations)
    for org in organizations:
        claim_for_api(settings.data_dir, org.base_url, org.require_token(), org.name)
    check_emails(settings.data_dir, settings.pseudonymize_key)  # a plan lands nothing: check, record nothing
    several = len(settings.organizations) > 1
    etas = [_plan_one(settings, org, start, end, selected, several, derive) for org in organizations]
    if several:
        click.echo(
            f"All {len(etas)} organisations at once: ETA {duration(max(etas))} (each within its own "
            "token's limit)."
        )


def _plan_one(
    settings: Settings,
    org: Organization,
    start: dt.date,
    end: dt.date,
    selected: tuple[Endpoint, ...],
    several: bool,
    derive: bool,
) -> float:
    """Print the plan of one organisation; its ETA in seconds."""
    from analytics_pipeline.backfill.estimate_live import live_plan
    from analytics_pipeline.defs.build import api_resource

    # The same resource the assets use: the plan's calls spend the token's shared rate-limit budget.
    api = api_resource(settings, org).model_copy(
        update={
            "token": org.require_token().reveal(),
            "state_url": settings.state_url.reveal() if settings.state_url else None,
        }
    )
    with api.client(record_source=False) as client:  # a plan lands nothing: it records no source
        live = live_plan(
            client,
            open_warehouse(settings.data_dir, settings.warehouse_url),
            start,
            end,
            endpoints=selected,
            organization=org.name,
            derive=derive,
            recheck_days=settings.recheck_days,
        )
    result, ratios = live.plan, live.ratios
    whose = f" of {org.name}" if several else ""
    click.echo(
        f"Plan{whose} for {start}..{end}: {result.days} days, {result.days_loaded} already loaded "
        f"({spans(result.loaded_spans)})."
    )
    click.echo(f"  {'endpoint':<24} {'requests':>9}  count")
    for name, requests in result.requests.items():
        click.echo(f"  {name:<24} {requests:>9}  {'exact' if result.exact[name] else 'estimated'}")
    click.echo(f"  {'total':<24} {result.total:>9}")
    if result.derived_days:
        share = result.fallback_days / max(1, result.derived_days - result.empty_days)
        source = "learned from the warehouse's days" if live.fallback_learned else "a default"
        click.echo(
            f"Derived: dau and user-activity of {result.derived_days} final days from editor-language "
            f"({result.empty_days} empty by dau-count: no per-day request); about "
            f"{result.fallback_days:.0f} of them ({share:.0%}, {source}) expected to fail a check and be "
            "fetched (counted above)."
        )
    eta = result.eta_seconds(org.requests_per_minute, org.burst)
    click.echo(
        f"ETA {duration(eta)} at {org.requests_per_minute:g} requests/minute after a burst of {org.burst}."
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
    return eta
