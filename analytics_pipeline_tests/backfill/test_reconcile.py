"""After a backfill's last load, its reconciliation checks run once more: a day whose check ran before the
other table held it ("not compared") ends with the true comparison as its latest result in Dagster."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.backfill.reconcile import reconcile, reconciliation_checks
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.warehouse.test_analysis import pipeline_defs, pipeline_env

END = yesterday(utc_today()) - dt.timedelta(days=10)
START = END - dt.timedelta(days=2)
DETAIL = ("raw_dau", "fct_dau_users", "raw_user_activity", "fct_user_activity")
COARSE = ("raw_dau_count", "fct_dau_count", "raw_daily_usage", "fct_daily_usage")


def latest_results(instance: dg.DagsterInstance) -> dict[tuple[str, str | None], dg.AssetCheckEvaluation]:
    """Each (check, partition)'s latest evaluation across every run of ``instance``."""
    latest: dict[tuple[str, str | None], dg.AssetCheckEvaluation] = {}
    for run in reversed(instance.get_runs()):  # oldest first
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.asset_check_evaluation_data
            latest[(evaluation.check_name, evaluation.partition)] = evaluation
    return latest


def test_the_checks_run_before_the_other_table_loaded_end_compared(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = pipeline_env(sandbox, tmp_path / "data")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    defs, names = pipeline_defs(env), OrgNames()
    checks = {key.name for key in reconciliation_checks(names)}
    # A persistent instance, as with DAGSTER_HOME: every run's results in one place, as the UI reads them.
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        # The detail pass loads first, as a backfill's threads may: nothing to compare with yet.
        for keys in (DETAIL, COARSE):
            execute_range(defs, START, END, instance, asset_selection=[dg.AssetKey(k) for k in keys])
        before = latest_results(instance)
        not_compared = {k for k, e in before.items() if k[0] in checks and not e.metadata["compared"].value}
        assert {check for check, _ in not_compared} == {"matches_dau_count", "matches_daily_usage"}

        reconcile(defs, instance, names, START, END)
        after = latest_results(instance)
    days = {d.isoformat() for d in (START, START + dt.timedelta(days=1), END)}
    for check in ("matches_dau_count", "matches_daily_usage"):
        for day in days:
            evaluation = after[(check, day)]
            assert evaluation.passed and evaluation.metadata["compared"].value, (check, day)
