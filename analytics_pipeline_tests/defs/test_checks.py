"""The warehouse's asset checks: one result per partition; they pass on the sandbox's consistent data,
warn (with the differing numbers) on data made inconsistent, and fail the run on a duplicated key."""

import datetime as dt
import logging
import shutil
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from analytics_pipeline.dates import days_between
from analytics_pipeline.defs.checks import (
    ACCEPTED_WITHIN_COMPLETIONS,
    CHECKS_JOB,
    MATCHES_DAILY_USAGE,
    MATCHES_DAU_COUNT,
    MATCHES_USER_ACTIVITY,
    NO_NEGATIVE_METRICS,
    RULES,
    UNIQUE_KEYS,
    evaluate,
)
from analytics_pipeline.defs.dagster_private import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.connection import WRITER_CONFIG
from analytics_pipeline_tests.warehouse.test_analysis import (
    NEW_YEAR,
    load_window,
    pipeline_defs,
    pipeline_env,
)

START, END = NEW_YEAR - dt.timedelta(days=1), NEW_YEAR + dt.timedelta(days=1)  # 31 Dec, 1 Jan (empty), 2 Jan
DAY = END  # the day made inconsistent
KEYS = [d.isoformat() for d in days_between(START, END)]

Evaluations = dict[tuple[str, str, str | None], dg.AssetCheckEvaluation]


def _evaluations(result: dg.ExecuteInProcessResult) -> Evaluations:
    found: Evaluations = {}
    for evaluation in result.get_asset_check_evaluations():
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.partition)
        assert key not in found, key
        found[key] = evaluation
    return found


@pytest.fixture(scope="module")
def loaded(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Evaluations]:
    data_dir = tmp_path_factory.mktemp("checks") / "data"
    result = load_window(sandbox, data_dir, START, END, checks=True)
    return data_dir / "warehouse.duckdb", _evaluations(result)


@pytest.fixture
def env(loaded: tuple[Path, Evaluations], sandbox: SandboxServer, tmp_path: Path) -> dict[str, str]:
    """A private copy of the loaded warehouse to make inconsistent, and the environment pointing at it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(loaded[0], data_dir / "warehouse.duckdb")
    return pipeline_env(sandbox, data_dir)


def _warehouse(env: dict[str, str]) -> Warehouse:
    return Warehouse(Path(env["ANALYTICS_DATA_DIR"]) / "warehouse.duckdb")


def _run_checks(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[dg.ExecuteInProcessResult, Evaluations]:
    """The checks alone, over START..END in one run (as a backfill runs them)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    job = pipeline_defs(env, checks=True).resolve_job_def(CHECKS_JOB)
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            ASSET_PARTITION_RANGE_START_TAG: START.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: END.isoformat(),
        },
        raise_on_error=False,
    )
    return result, _evaluations(result)


def _value(evaluation: dg.AssetCheckEvaluation, name: str) -> object:
    return evaluation.metadata[name].value


def _expected_checks() -> set[tuple[str, str]]:
    expected = set()
    for rules in RULES:
        expected.add((rules.table, UNIQUE_KEYS))
        if rules.non_negative:
            expected.add((rules.table, NO_NEGATIVE_METRICS))
        if rules.has_completions:
            expected.add((rules.table, ACCEPTED_WITHIN_COMPLETIONS))
        if rules.reconciliation:
            expected.add((rules.table, rules.reconciliation.name))
    return expected


def test_every_check_passes_on_consistent_data_once_per_partition(loaded: tuple[Path, Evaluations]) -> None:
    _, evaluations = loaded
    partitioned = {(table, name) for table, name, partition in evaluations if partition is not None}
    assert partitioned == _expected_checks()
    for table, name in partitioned:
        assert {p for t, n, p in evaluations if (t, n) == (table, name)} == set(KEYS), (table, name)
    assert {key for key in evaluations if key[2] is None} == {("dim_users", UNIQUE_KEYS, None)}
    failed = [key for key, evaluation in evaluations.items() if not evaluation.passed]
    assert failed == []
    reconciled = evaluations[("fct_dau_users", MATCHES_DAU_COUNT, DAY.isoformat())]
    counted = _value(reconciled, "fct_dau_count.user_count")
    assert counted == _value(reconciled, "fct_dau_users.distinct_users") > 0
    # The holiday is loaded and empty: compared, and equal (no rows on either side).
    holiday = evaluations[("fct_user_activity", MATCHES_DAILY_USAGE, NEW_YEAR.isoformat())]
    assert _value(holiday, "compared") is True


def test_checks_carry_severity_and_blocking(loaded: tuple[Path, Evaluations]) -> None:
    _, evaluations = loaded
    for (_, name, _), evaluation in evaluations.items():
        if name == UNIQUE_KEYS:
            assert evaluation.severity == dg.AssetCheckSeverity.ERROR
        else:
            assert evaluation.severity == dg.AssetCheckSeverity.WARN
            assert not evaluation.blocking


def test_dau_count_mismatch_warns_with_both_numbers(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _warehouse(env).writer() as con:
        con.execute("update fct_dau_count set user_count = user_count + 2 where date = ?", [DAY])
        sql = "select count(distinct user_key) from fct_dau_users where date = ?"
        listed = con.execute(sql, [DAY]).fetchall()[0][0]
    result, evaluations = _run_checks(env, monkeypatch)
    assert result.success  # a mismatch warns; the run goes on
    warned = evaluations[("fct_dau_users", MATCHES_DAU_COUNT, DAY.isoformat())]
    assert (warned.passed, warned.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert _value(warned, "fct_dau_count.user_count") == listed + 2
    assert _value(warned, "fct_dau_users.distinct_users") == listed
    assert _value(warned, "difference") == -2
    others = [evaluations[("fct_dau_users", MATCHES_DAU_COUNT, k)] for k in KEYS if k != DAY.isoformat()]
    assert all(e.passed for e in others)


def test_metric_sum_mismatch_warns_with_the_differing_metrics(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _warehouse(env).writer() as con:
        user = con.execute(
            "select user_key from fct_user_activity where date = ? order by user_key limit 1", [DAY]
        ).fetchall()[0][0]
        con.execute(
            "update fct_user_activity set total_messages = total_messages + 5 "
            "where date = ? and user_key = ?",
            [DAY, user],
        )
        sql = "select total_messages from fct_daily_usage where date = ?"
        org_total = con.execute(sql, [DAY]).fetchall()[0][0]
    result, evaluations = _run_checks(env, monkeypatch)
    assert result.success
    daily = evaluations[("fct_user_activity", MATCHES_DAILY_USAGE, DAY.isoformat())]
    assert (daily.passed, daily.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert _value(daily, "metrics_differing") == 1
    assert _value(daily, "differences") == {
        "total_messages": {"fct_daily_usage": org_total, "fct_user_activity": org_total + 5, "difference": 5}
    }
    by_editor = evaluations[("fct_editor_language_activity", MATCHES_USER_ACTIVITY, DAY.isoformat())]
    assert not by_editor.passed
    assert _value(by_editor, "differences")["total_messages"]["difference"] == -5
    others = [k for k in KEYS if k != DAY.isoformat()]
    assert all(evaluations[("fct_user_activity", MATCHES_DAILY_USAGE, k)].passed for k in others)


def test_negative_metric_and_over_acceptance_warn(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _warehouse(env).writer() as con:
        con.execute(
            "update fct_credit_usage set credits_consumed = -3 "
            "where date = $day and (user_key, model_name) = "
            "(select (user_key, model_name) from fct_credit_usage where date = $day order by all limit 1)",
            {"day": DAY},
        )
        con.execute(
            "update fct_editor_language_activity set completions_accepted = completions_count + 1 "
            "where date = $day and (user_key, language, editor) = ("
            " select (user_key, language, editor) from fct_editor_language_activity"
            " where date = $day and completions_count > 0 order by all limit 1)",
            {"day": DAY},
        )
    result, evaluations = _run_checks(env, monkeypatch)
    assert result.success
    negative = evaluations[("fct_credit_usage", NO_NEGATIVE_METRICS, DAY.isoformat())]
    assert (negative.passed, negative.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert _value(negative, "negative") == {"credits_consumed": {"rows": 1, "min": -3.0}}
    over = evaluations[("fct_editor_language_activity", ACCEPTED_WITHIN_COMPLETIONS, DAY.isoformat())]
    assert (over.passed, over.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert _value(over, "rows_over") == 1
    assert "accepted >" in _value(over, "examples")[0]


def test_a_duplicated_key_fails_the_check_and_the_run(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _warehouse(env).writer() as con:
        con.execute(
            "insert into fct_dau_users select * from fct_dau_users where date = ? order by all limit 1", [DAY]
        )
    result, evaluations = _run_checks(env, monkeypatch)
    assert not result.success
    duplicated = evaluations[("fct_dau_users", UNIQUE_KEYS, DAY.isoformat())]
    assert (duplicated.passed, duplicated.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert _value(duplicated, "duplicated_keys") == 1
    assert _value(duplicated, "rows_involved") == 2
    assert all(evaluations[("fct_dau_users", UNIQUE_KEYS, k)].passed for k in KEYS if k != DAY.isoformat())
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["fct_dau_users_checks"]


def test_a_day_is_reconciled_only_once_both_endpoints_are_loaded(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with _warehouse(env).writer() as con:
        con.execute("delete from pipeline_partitions where endpoint = 'daily_usage' and date = ?", [DAY])
        con.execute("delete from fct_daily_usage where date = ?", [DAY])
    result, evaluations = _run_checks(env, monkeypatch)
    assert result.success
    skipped = evaluations[("fct_user_activity", MATCHES_DAILY_USAGE, DAY.isoformat())]
    assert skipped.passed
    assert (_value(skipped, "compared"), _value(skipped, "not_loaded")) == (False, ["daily_usage"])


def test_a_day_not_loaded_that_left_the_lookback_is_beyond_reach_not_pending(env: dict[str, str]) -> None:
    """Two years on, a day never reconciled can no longer be: the result says so rather than "yet"."""
    with _warehouse(env).writer() as con:
        con.execute("delete from pipeline_partitions where endpoint = 'daily_usage' and date = ?", [DAY])
        now = evaluate(
            con, "fct_user_activity", MATCHES_DAILY_USAGE, [DAY], organization=DEFAULT_ORGANIZATION
        )
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2 * 365 + 40), tick=True):
            later = evaluate(
                con, "fct_user_activity", MATCHES_DAILY_USAGE, [DAY], organization=DEFAULT_ORGANIZATION
            )
    assert now[DAY].description == "not compared: daily_usage not loaded for this day yet"
    assert later[DAY].passed and later[DAY].metadata["beyond_reach"] is True
    assert later[DAY].description.startswith(
        "not compared: daily_usage not loaded for this day, which is beyond the API's reach"
    )


def test_monthly_table_is_checked_per_month(loaded: tuple[Path, Evaluations]) -> None:
    with Warehouse(loaded[0]).reader() as con:
        months = con.execute("select count(distinct month) from fct_user_activity_monthly").fetchall()[0][0]
        outcomes = evaluate(
            con, "fct_user_activity_monthly", UNIQUE_KEYS, [START, END], organization=DEFAULT_ORGANIZATION
        )
    assert months == 2  # the run spans December and January: each day is judged on its month
    assert set(outcomes) == {START, END} and all(o.passed for o in outcomes.values())
    december = loaded[1][("fct_user_activity_monthly", UNIQUE_KEYS, START.isoformat())]
    assert _value(december, "duplicated_keys") == 0


def test_checks_too_big_for_the_writers_cap_run_again_with_more(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    at_the_writers_cap = {key: e.passed for key, e in _run_checks(env, monkeypatch)[1].items()}
    monkeypatch.setitem(WRITER_CONFIG, "memory_limit", "1MiB")
    with caplog.at_level(logging.WARNING):
        result, evaluations = _run_checks(env, monkeypatch)
    assert result.success
    retried = "checking fct_editor_language_activity needed more than the writer's 1 MiB; running it again"
    assert retried in caplog.text
    assert {key: e.passed for key, e in evaluations.items()} == at_the_writers_cap
