"""``analytics-pipeline nightly``: what the 02:30 UTC schedule runs, from the command line."""

from __future__ import annotations

from typing import Any

import click
import dagster as dg

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.cli.options import chosen_organizations, load_settings, organizations_option
from analytics_pipeline.cli.preflight import claim_for_organizations, ready_to_fetch
from analytics_pipeline.config.datadir import check_usable
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.organization_names import OrgNames


@click.command()
@organizations_option()
@handle_errors
def nightly(organization_names: tuple[str, ...]) -> None:
    """What the 02:30 UTC schedule runs: the previous UTC day, and a re-check of provisional days
    (every organisation's at once)."""
    from analytics_pipeline.backfill.in_process import execute_range, instance_for_cli, instance_for_thread
    from analytics_pipeline.defs.build import build_definitions
    from analytics_pipeline.runtime.parallel import each_at_once

    settings = load_settings()
    organizations = chosen_organizations(settings, organization_names)
    ready_to_fetch(settings, organizations)
    check_usable(settings.data_dir)
    claim_for_organizations(settings, organizations)
    day = yesterday(utc_today())
    defs, instance = build_definitions(settings), instance_for_cli()

    def run(name: str) -> dg.ExecuteInProcessResult:
        with instance_for_thread(instance) as run_in:
            return execute_range(defs, day, day, run_in, job_name=OrgNames(name).job)

    results = each_at_once([org.name for org in organizations], run)
    lines = [
        f"Loaded {day}{_for(name, settings)}.{_recheck_summary(result, OrgNames(name))}"
        for name, result in results.items()
    ]
    click.echo("\n".join(lines) + f" Report: {settings.paths.report}")


def _for(name: str, settings: Settings) -> str:
    """Whose day a line is about, when the deployment has several organisations."""
    return f" for {name}" if len(settings.organizations) > 1 else ""


def _recheck_summary(result: dg.ExecuteInProcessResult, names: OrgNames) -> str:
    """What the run's re-check of provisional days found, as a sentence (or nothing)."""
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        if materialization.asset_key != names.rechecks or materialization.metadata["days_checked"].value == 0:
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
