"""The reconciliation checks once more, after a backfill's last load.

A reconciliation check compares a table with another one (``fct_dau_users`` with ``fct_dau_count``,
``fct_user_activity`` with ``fct_daily_usage``: see ``defs/checks.py``) and runs with its own table's
load. A backfill loads the two in different runs (the coarse pass and the detail pass, in threads), so a
day's check may have run before the other table held the day, and said "not compared". One checks-only
run over the backfill's range, after every load, evaluates them against the warehouse as it stands:
each partition's latest result in Dagster is then the true comparison. It sends no request.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from analytics_pipeline.backfill.in_process import QUIET_RUN_CONFIG, instance_for_thread
from analytics_pipeline.defs.checks import RULES
from analytics_pipeline.defs.dagster_private import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from analytics_pipeline.defs.organization_names import OrgNames


def reconciliation_checks(names: OrgNames) -> set[dg.AssetCheckKey]:
    """The organisation's checks that compare one table with another."""
    return {
        dg.AssetCheckKey(names.key(rules.table), rules.reconciliation.name)
        for rules in RULES
        if rules.reconciliation is not None
    }


def reconcile(
    defs: dg.Definitions, instance: dg.DagsterInstance, names: OrgNames, start: dt.date, end: dt.date
) -> dg.ExecuteInProcessResult:
    """One run of the organisation's reconciliation checks over ``start..end``; raises if it fails."""
    job = defs.resolve_job_def(names.checks_job).get_subset(
        asset_check_selection=reconciliation_checks(names)
    )
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
        **names.tags,
    }
    with instance_for_thread(instance) as run_in:
        return job.execute_in_process(run_config=QUIET_RUN_CONFIG, instance=run_in, tags=tags)
