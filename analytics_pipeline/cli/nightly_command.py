"""``analytics-pipeline nightly``: what the 02:30 UTC schedule runs, from the command line."""

from __future__ import annotations

from typing import Any

import click
import dagster as dg

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import load_settings
from analytics_pipeline.cli.preflight import ready_to_fetch
from analytics_pipeline.config.datadir import check_usable, claim_emails, claim_for_api
from analytics_pipeline.dates import utc_today, yesterday


@click.command()
@handle_errors
def nightly() -> None:
    """What the 02:30 UTC schedule runs: the previous UTC day, and a re-check of provisional days."""
    from analytics_pipeline.backfill.in_process import execute_range, instance_for_cli
    from analytics_pipeline.defs.build import build_definitions

    settings = load_settings()
    token = settings.require_token()
    ready_to_fetch(settings)
    check_usable(settings.data_dir)
    claim_for_api(settings.data_dir, settings.api_base_url, token)
    claim_emails(settings.data_dir, settings.pseudonymize_key)
    day = yesterday(utc_today())
    result = execute_range(build_definitions(settings), day, day, instance_for_cli())
    click.echo(f"Loaded {day}.{_recheck_summary(result)} Report: {settings.paths.report}")


def _recheck_summary(result: dg.ExecuteInProcessResult) -> str:
    """What the run's re-check of provisional days found, as a sentence (or nothing)."""
    from analytics_pipeline.defs.assets.rechecks import RECHECKS_KEY

    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key != RECHECKS_KEY or materialization.metadata["days_checked"].value == 0:
            continue
        meta: dict[str, Any] = {key: value.value for key, value in materialization.metadata.items()}
        changed, missing = meta["changed_days"], meta["missing_days"]
        parts = [f"{meta['unchanged_days']} unchanged"]
        if changed:
            parts.append(f"{len(changed)} changed and re-loaded ({', '.join(changed)})")
        if missing:
            parts.append(f"{len(missing)} not loaded before, now loaded ({', '.join(missing)})")
        return (
            f" Re-checked {meta['days_checked']} provisional days {meta['first_day']}..{meta['last_day']}: "
            + "; ".join(parts)
            + "."
        )
    return ""
