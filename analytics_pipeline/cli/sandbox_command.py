"""``analytics-pipeline sandbox``: the synthetic organisation served as the Analytics API, with faults."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import click

from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.config.settings import DEFAULT_BURST, DEFAULT_REQUESTS_PER_MINUTE, ConfigError

if TYPE_CHECKING:
    from analytics_pipeline.sandbox import FaultPlan

_RATE = click.FloatRange(0, 1)
_SECONDS = click.FloatRange(min=0)


@click.command()
@click.option("--port", type=int, default=8765, show_default=True, help="Loopback port (0: any free port).")
@click.option("--people", type=click.IntRange(1, 100_000), default=40, show_default=True)
@click.option("--service-accounts", type=click.IntRange(0, 1_000), default=3, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option(
    "--requests-per-minute",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_REQUESTS_PER_MINUTE,
    show_default=True,
)
@click.option("--burst", type=click.IntRange(1), default=DEFAULT_BURST, show_default=True)
@click.option("--token", default="sandbox-token", show_default=True, help="The bearer token it accepts.")
@click.option(
    "--late-days",
    type=click.IntRange(0, 30),
    default=0,
    show_default=True,
    help="Deliver some members' rows up to this many days late, so recent days' numbers still grow.",
)
@click.option(
    "--unattributed-share",
    type=_RATE,
    default=0.0,
    show_default=True,
    help="Fault: this share of activity rows carries no editor (left out of editor-language only).",
)
@click.option("--error-rate", type=_RATE, default=0.0, help="Fault: fraction answered 500/502/503.")
@click.option("--drop-rate", type=_RATE, default=0.0, help="Fault: fraction closed without a response.")
@click.option("--slow-rate", type=_RATE, default=0.0, help="Fault: fraction answered after --slow-seconds.")
@click.option(
    "--slow-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=35.0,
    show_default=True,
    help="How long a slow response waits (the client gives up after 30 s).",
)
@click.option("--truncate-rate", type=_RATE, default=0.0, help="Fault: fraction of 200s with JSON cut short.")
@click.option(
    "--storm-every",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Fault: a 429 storm every N requests (0: none).",
)
@click.option("--storm-length", type=click.IntRange(1), default=3, show_default=True, help="429s in a row.")
@click.option(
    "--storm-retry-after",
    type=click.Choice(["always", "never", "alternate"]),
    default="alternate",
    show_default=True,
    help="Whether storms send Retry-After.",
)
@click.option(
    "--storm-retry-after-seconds",
    type=_SECONDS,
    default=1.0,
    show_default=True,
    help="The Retry-After a storm sends.",
)
@click.option(
    "--penalty-seconds",
    type=_SECONDS,
    default=0.0,
    show_default=True,
    help="Fault: after a storm starts, every request gets 429 for this long.",
)
@click.option("--drift-add-field", metavar="NAME", help="Drift: add this unknown field (metrics.x: nested).")
@click.option("--drift-drop-field", metavar="NAME", help="Drift: remove this documented field.")
@click.option("--drift-rate", type=_RATE, default=1.0, show_default=True, help="Drift: fraction of records.")
@click.option(
    "--write-errors-after",
    type=click.IntRange(0),
    default=None,
    help="Fault: every budget write after the first N is answered 503 and not applied.",
)
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of every fault decision.")
@handle_errors
def sandbox(
    port: int,
    people: int,
    service_accounts: int,
    seed: int,
    requests_per_minute: float,
    burst: int,
    token: str,
    late_days: int,
    unattributed_share: float,
    **fault_options: Any,
) -> None:
    """Serve the synthetic organisation as the Analytics API on 127.0.0.1, optionally with faults.

    Faults are off by default; each is decided from --fault-seed and the order of requests, so a run
    with the same options and requests sees the same faults. See docs/sandbox.md.
    """
    from analytics_pipeline.sandbox import FaultInjector, SandboxServer, SyntheticOrg

    plan = _fault_plan(fault_options)
    injector = FaultInjector(plan) if plan.active else None
    org = SyntheticOrg(
        seed=seed,
        people=people,
        service_accounts=service_accounts,
        late_days=late_days,
        unattributed_share=unattributed_share,
    )
    server = SandboxServer(
        org,
        port=port,
        tokens=(token,),
        requests_per_minute=requests_per_minute,
        burst=burst,
        faults=injector,
    )
    click.echo(f"Sandbox Analytics API on {server.url} (token: {token}); Ctrl-C stops it.")
    click.echo(f"  export AUGMENT_API_BASE_URL={server.url} AUGMENT_API_TOKEN={token}")
    if injector is not None:
        click.echo(f"  injecting faults: {_fault_summary(plan)}")
    server.serve_forever()
    if injector is not None:
        fired = ", ".join(f"{kind} {count}" for kind, count in injector.counts.items() if count)
        click.echo(f"Faults injected: {fired or 'none'}.")


def _fault_plan(fault_options: dict[str, Any]) -> FaultPlan:
    """The fault options as a plan, or a one-line error naming the command-line options at fault."""
    from analytics_pipeline.sandbox import FaultPlan

    # The options are the plan's fields by name (--fault-seed is its seed).
    options = {key.removeprefix("fault_"): value for key, value in fault_options.items()}
    try:
        return FaultPlan(**options)
    except ValueError as exc:
        message = str(exc)
        for name in options:  # name the command-line option, not the Python field
            option = "--fault-seed" if name == "seed" else "--" + name.replace("_", "-")
            message = re.sub(rf"\b{name}\b", option, message)
        raise ConfigError(message) from None


def _fault_summary(plan: FaultPlan) -> str:
    """The faults a plan injects, in one line."""
    parts = [
        f"{name} {getattr(plan, name + '_rate'):g}"
        for name in ("error", "drop", "slow", "truncate")
        if getattr(plan, name + "_rate")
    ]
    if plan.slow_rate:
        parts.append(f"slow-seconds {plan.slow_seconds:g}")
    if plan.storm_every:
        parts.append(
            f"429 storms of {plan.storm_length} every {plan.storm_every} requests "
            f"(Retry-After {plan.storm_retry_after})"
        )
    if plan.penalty_seconds:
        parts.append(f"penalty window {plan.penalty_seconds:g}s")
    if plan.drifts:
        changes = [f"+{plan.drift_add_field}"] if plan.drift_add_field else []
        changes += [f"-{plan.drift_drop_field}"] if plan.drift_drop_field else []
        parts.append(f"drift {' '.join(changes)} in {plan.drift_rate:g} of records")
    if plan.write_errors_after is not None:
        parts.append(f"budget writes refused (503) after {plan.write_errors_after}")
    return f"{'; '.join(parts)} (seed {plan.seed})"
