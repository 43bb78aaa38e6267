"""``analytics-pipeline plan``: what a backfill of a range will cost, in requests and time, before it runs."""

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
from analytics_pipeline.cli.preflight import check_limiter_state
from analytics_pipeline.cli.text import duration, spans
from analytics_pipeline.config.datadir import check_emails, claim_for_api
from analytics_pipeline.warehouse import open_warehouse


@click.command()
@date_option("start")
@date_option("end")
@endpoints_option()
@handle_errors
def plan(value_start: str, value_end: str, endpoints_text: str | None) -> None:
    """Count the requests a backfill of a range will send, and how long it will take, before it runs."""
    from analytics_pipeline.backfill.estimate_live import live_plan
    from analytics_pipeline.defs.resources import AnalyticsApiResource

    settings = load_settings()
    start, end = day_range(settings, value_start, value_end)
    selected = endpoints(endpoints_text)
    token = settings.require_token()
    check_limiter_state(settings)
    claim_for_api(settings.data_dir, settings.api_base_url, token)
    check_emails(settings.data_dir, settings.pseudonymize_key)  # a plan lands nothing: check, record nothing
    # The same resource the assets use: the plan's calls spend the token's shared rate-limit budget.
    api = AnalyticsApiResource(
        base_url=settings.api_base_url,
        token=token.reveal(),
        requests_per_minute=settings.requests_per_minute,
        burst=settings.burst,
        data_dir=str(settings.data_dir),
        state_url=settings.state_url.reveal() if settings.state_url else None,
    )
    with api.client(record_source=False) as client:  # a plan lands nothing: it records no source
        live = live_plan(
            client, open_warehouse(settings.data_dir, settings.warehouse_url), start, end, endpoints=selected
        )
    result, ratios = live.plan, live.ratios
    click.echo(
        f"Plan for {start}..{end}: {result.days} days, {result.days_loaded} already loaded "
        f"({spans(result.loaded_spans)})."
    )
    click.echo(f"  {'endpoint':<24} {'requests':>9}  count")
    for name, requests in result.requests.items():
        click.echo(f"  {name:<24} {requests:>9}  {'exact' if result.exact[name] else 'estimated'}")
    click.echo(f"  {'total':<24} {result.total:>9}")
    eta = result.eta_seconds(settings.requests_per_minute, settings.burst)
    click.echo(
        f"ETA {duration(eta)} at {settings.requests_per_minute:g} requests/minute "
        f"after a burst of {settings.burst}."
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
