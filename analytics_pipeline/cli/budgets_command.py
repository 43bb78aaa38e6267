"""``analytics-pipeline budgets plan|apply|export``: per-user budget overrides as a reviewed file.

``plan`` exits 0 when nothing would change and 1 when something would (for CI); ``apply`` exits 0 when
every change was applied, 1 otherwise (run it again: it sends only what is still to do); bad input is
one line and exit code 2, before any request.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import click

from analytics_pipeline.api.endpoints import BUDGET_OVERRIDES
from analytics_pipeline.budgets.apply import ApplyResult, Outcome, Sent, apply_changes
from analytics_pipeline.budgets.audit import AuditTrail, operator
from analytics_pipeline.budgets.current import read_overrides
from analytics_pipeline.budgets.limits import limit_text
from analytics_pipeline.budgets.plan import BudgetPlan
from analytics_pipeline.budgets.table import plan_summary, plan_table
from analytics_pipeline.budgets.toml_out import budgets_toml
from analytics_pipeline.cli.budgets_session import (
    Members,
    api_client,
    checked_file,
    members,
    month_label,
    one_organization,
    plan_against,
)
from analytics_pipeline.cli.errors import error_line, handle_errors, root_cause
from analytics_pipeline.cli.options import load_settings
from analytics_pipeline.cli.preflight import check_limiter_state, claim_for_organizations, ready_to_fetch
from analytics_pipeline.config.datadir import check_emails, check_usable, claim_for_api
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.errors import PipelineError

CHANGES_PENDING = 1
"""``plan``'s exit code when applying would change something; ``apply``'s when something is left to do."""

_file = click.option(
    "--file", "file", required=True, type=click.Path(dir_okay=False), help="The budgets file (TOML)."
)
_organization = click.option(
    "--organization",
    "organization_name",
    metavar="NAME",
    help="The organisation (needed when ANALYTICS_ORGANIZATIONS names several).",
)
_allow_unknown = click.option(
    "--allow-unknown-members",
    is_flag=True,
    help="Accept members the warehouse has not seen (not in dim_users).",
)


@click.group()
def budgets() -> None:
    """Per-user budget overrides as code: plan a file against the API, apply it, export a start."""


@budgets.command("plan")
@_file
@_organization
@_allow_unknown
@handle_errors
def plan_command(file: str, organization_name: str | None, allow_unknown_members: bool) -> None:
    """Show what applying the file would change (exit 1 when something would, 0 when nothing)."""
    settings = load_settings()
    org = one_organization(settings, organization_name)
    check_emails(settings.data_dir, settings.pseudonymize_key)  # members are matched in the data's form
    known = members(settings, org.name)
    wanted = checked_file(file, known, org.name, allow_unknown=allow_unknown_members)
    check_limiter_state(settings, [org])
    claim_for_api(settings.data_dir, org.base_url, org.require_token(), org.name)
    with api_client(settings, org, record_source=False) as client:  # a plan lands nothing
        plan = plan_against(wanted, known, read_overrides(client))
    _show(plan, known, org, settings)
    if plan.differs:
        click.get_current_context().exit(CHANGES_PENDING)


@budgets.command("apply")
@_file
@_organization
@_allow_unknown
@click.option("--yes", is_flag=True, help="Apply without asking.")
@handle_errors
def apply_command(file: str, organization_name: str | None, allow_unknown_members: bool, yes: bool) -> None:
    """Plan, then send the changes (after confirmation), record each in fct_budget_changes, and load the
    new snapshot of the overrides."""
    settings = load_settings()
    org = one_organization(settings, organization_name)
    check_emails(settings.data_dir, settings.pseudonymize_key)  # members are matched in the data's form
    known = members(settings, org.name)
    wanted = checked_file(file, known, org.name, allow_unknown=allow_unknown_members)
    storage = ready_to_fetch(settings, [org])
    check_usable(settings.data_dir)
    claim_for_organizations(settings, [org])
    trail = AuditTrail(uuid.uuid4().hex, org.name, operator(), known.pseudonymizer)
    warehouse = storage.warehouse()

    def record(sent: Sent) -> None:
        with warehouse.writer() as con:  # at once: a run cut short still says what it applied
            trail.record(con, sent)
        click.echo(_sent_line(sent))

    with api_client(settings, org, record_source=True) as client:
        plan = plan_against(wanted, known, read_overrides(client))
        _show(plan, known, org, settings)
        if not plan.to_send:
            _removals_left(plan)
            click.echo("Nothing to apply.")
            click.get_current_context().exit(CHANGES_PENDING if plan.removals else 0)
        count = len(plan.to_send)
        if not yes:
            click.confirm(f"Apply {count} change{'s' if count != 1 else ''} to {org.name}?", abort=True)
        result = apply_changes(client, plan.to_send, record=record)
    loaded = _load_snapshot(settings, org)
    _report(result, plan, loaded)
    if not (result.complete and loaded is None and not plan.removals):
        click.get_current_context().exit(CHANGES_PENDING)


@budgets.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The budgets file to write.")
@_organization
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@handle_errors
def export_command(out: str, organization_name: str | None, force: bool) -> None:
    """Write today's overrides as a budgets file to start from."""
    settings = load_settings()
    org = one_organization(settings, organization_name)
    target = Path(out)
    if target.exists() and not force:
        raise ConfigError(f"--out {out} exists; choose another name, or pass --force to replace it")
    if not target.absolute().parent.is_dir():
        raise ConfigError(f"--out {out}: no directory {target.absolute().parent}; create it first")
    check_limiter_state(settings, [org])
    claim_for_api(settings.data_dir, org.base_url, org.require_token(), org.name)
    with api_client(settings, org, record_source=False) as client:
        current = read_overrides(client)
    _write_atomically(target, budgets_toml(current, target.name))
    click.echo(f"Wrote {len(current)} override{'s' if len(current) != 1 else ''} of {org.name} to {out}.")


def _show(plan: BudgetPlan, known: Members, org: Organization, settings: Settings) -> None:
    whose = f" of {org.name}" if len(settings.organizations) > 1 else ""
    click.echo(f"Budget overrides{whose}: the API now against the file (use in {month_label()}):")
    for line in plan_table(plan, known.use, known.stored):
        click.echo(f"  {line}")
    click.echo(plan_summary(plan))


def _removals_left(plan: BudgetPlan) -> None:
    if plan.removals:
        click.echo(
            f"{len(plan.removals)} override{'s' if len(plan.removals) != 1 else ''} to remove: the API can "
            "only create and update overrides; remove them in Augment's console, or keep them in the file."
        )


def _sent_line(sent: Sent) -> str:
    key, change = sent.change.key, sent.change
    old = "-" if change.old is None else limit_text(change.old)
    new = "-" if change.new is None else limit_text(change.new)
    line = f"  {sent.outcome.value:<11} {change.action.value:<6} {key.describe()}: {old} -> {new}"
    return f"{line} ({sent.error})" if sent.error else line


def _load_snapshot(settings: Settings, org: Organization) -> str | None:
    """Land and load the overrides as they are now (the latest partition's snapshot, as the nightly run
    would take it); None when done, else why not (the changes are made and recorded either way, so a
    failure here must not hide their report)."""
    import dagster as dg

    from analytics_pipeline.backfill.in_process import execute_range, instance_for_cli
    from analytics_pipeline.defs.build import build_definitions
    from analytics_pipeline.defs.organization_names import OrgNames

    names = OrgNames(org.name)
    day = yesterday(utc_today())
    selection = [names.raw(BUDGET_OVERRIDES), names.fact(BUDGET_OVERRIDES), names.dim_users]
    try:
        with instance_for_cli() as instance:
            defs = build_definitions(settings)
            execute_range(
                defs, day, day, instance, asset_selection=selection, refetch=True, job_name=names.job
            )
    except (PipelineError, OSError, dg.DagsterUserCodeExecutionError) as exc:
        cause = root_cause(exc)
        return error_line(cause) if isinstance(cause, PipelineError) else " ".join(str(cause).split())
    return None


def _report(result: ApplyResult, plan: BudgetPlan, snapshot_problem: str | None) -> None:
    applied, failed = result.count(Outcome.APPLIED), result.count(Outcome.FAILED)
    unconfirmed = result.count(Outcome.UNCONFIRMED)
    total = len(plan.to_send)
    parts = [f"Applied {applied} of {total} change{'s' if total != 1 else ''}"]
    if failed:
        parts.append(f"{failed} failed")
    if unconfirmed:
        parts.append(f"{unconfirmed} unconfirmed (may have been applied)")
    if result.not_sent:
        parts.append(f"{len(result.not_sent)} not sent")
    click.echo("; ".join(parts) + "; each sent change is recorded in fct_budget_changes.")
    _removals_left(plan)
    if snapshot_problem is not None:
        click.echo(f"The new snapshot was not loaded ({snapshot_problem}); the nightly run will load it.")
    else:
        click.echo("Loaded the new snapshot into fct_budget_overrides.")
    if not result.complete:
        click.echo("Run the same command again to finish: it sends only what is still to do.")


def _write_atomically(target: Path, text: str) -> None:
    """``text`` in ``target``, whole or not at all."""
    fd, name = tempfile.mkstemp(dir=target.absolute().parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(name, target)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
