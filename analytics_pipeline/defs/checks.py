"""Data checks on the warehouse tables: Dagster asset checks, one result per daily partition.

Every fact table gets its checks in one op (``<table>_checks``) that runs after the table's load, in
the same run:

- ``unique_keys``: no two rows share the table's grain. Severity ERROR and blocking: a duplicate fails
  the run and holds back ``dim_users``.
- ``no_negative_metrics``: no metric, count, credit or limit below zero (WARN). Landing refuses negative
  counts, metrics and credits already; this still covers budget limits and partitions landed before.
- ``accepted_within_completions``: ``completions_accepted <= completions_count`` on every row (WARN).
- Reconciliations, attached to the table loaded last so that a backfill's later runs still check them:
  ``fct_dau_users.matches_dau_count`` (the day's distinct users = ``fct_dau_count.user_count``),
  ``fct_user_activity.matches_daily_usage`` and ``fct_editor_language_activity.matches_user_activity``
  (every metric's daily sum equal). The real API may disagree with itself, so these WARN, with the
  differing numbers in the result's metadata. A day is compared only when both endpoints are in
  ``pipeline_partitions``; otherwise the result passes and says what is not loaded yet.

Partitioned checks: Dagster 1.13 accepts ``partitions_def`` on an ``AssetCheckSpec`` (a preview
feature) and records one evaluation per partition. A run over a range of partitions (a backfill runs up
to 90 days at once) executes each check op once, so the op evaluates every day of the run in one query
and yields one ``AssetCheckEvaluation`` per partition, then the op's outputs: the same two events Dagster
derives from an ``AssetCheckResult``, which cannot name a partition. ``dim_users`` is rebuilt in full,
so its ``unique_keys`` check is not partitioned.

The checks read through ``Warehouse.writer()`` rather than ``reader()``, an exception made for its
memory bound: a check aggregates every row of a run's days, in the loading process (the backfill's,
beside its fetching threads), where a reader, uncapped, would let DuckDB cache what it scans up to 80%
of RAM. Under the writers' cap, a check too big for it runs again with more memory
(``warehouse.headroom``). A writer waits its turn among the pipeline's writers, and like a load, it is
never held up by other processes reading the warehouse (it works on a staging copy then: see
``warehouse.connection``).
"""

import datetime as dt
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import duckdb

from analytics_pipeline.api.endpoints import METRICS
from analytics_pipeline.dates import lookback_floor, utc_today
from analytics_pipeline.defs.dagster_private import AssetCheckEvaluationTargetMaterializationData
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.defs.resources import StorageResource
from analytics_pipeline.warehouse.headroom import write_with_headroom
from analytics_pipeline.warehouse.load import DATE_COLUMN, GRAIN
from analytics_pipeline.warehouse.sql import identifier, identifiers, read_sql

UNIQUE_KEYS = "unique_keys"
NO_NEGATIVE_METRICS = "no_negative_metrics"
ACCEPTED_WITHIN_COMPLETIONS = "accepted_within_completions"
MATCHES_DAU_COUNT = "matches_dau_count"
MATCHES_DAILY_USAGE = "matches_daily_usage"
MATCHES_USER_ACTIVITY = "matches_user_activity"

EXAMPLES = 5
"""How many offending keys a failed result lists in its metadata."""


@dataclass(frozen=True)
class Reconciliation:
    """The table's daily numbers must equal another table's, for days where both endpoints are loaded."""

    name: str
    other_table: str
    endpoints: tuple[str, str]
    """(this table's endpoint, the other table's endpoint) as named in ``pipeline_partitions``."""
    description: str


@dataclass(frozen=True)
class Rules:
    """What the checks need to know about one warehouse table (identifiers are constants, never input)."""

    table: str
    non_negative: tuple[str, ...] = ()
    has_completions: bool = False
    reconciliation: Reconciliation | None = None

    @property
    def grain(self) -> tuple[str, ...]:
        return GRAIN[self.table]

    @property
    def day_column(self) -> str:
        return DATE_COLUMN[self.table]

    @property
    def monthly(self) -> bool:
        return self.day_column == "month"


@dataclass(frozen=True)
class Outcome:
    """One check's result for one partition."""

    passed: bool
    description: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


RULES: tuple[Rules, ...] = (
    Rules("fct_dau_count", non_negative=("user_count",)),
    Rules(
        "fct_dau_users",
        reconciliation=Reconciliation(
            MATCHES_DAU_COUNT,
            "fct_dau_count",
            ("dau", "dau_count"),
            "The day's distinct user_key in fct_dau_users equals fct_dau_count.user_count (WARN).",
        ),
    ),
    Rules("fct_daily_usage", non_negative=METRICS, has_completions=True),
    Rules(
        "fct_user_activity",
        non_negative=METRICS,
        has_completions=True,
        reconciliation=Reconciliation(
            MATCHES_DAILY_USAGE,
            "fct_daily_usage",
            ("user_activity", "daily_usage"),
            "Every metric summed over the day's members equals fct_daily_usage for the day (WARN).",
        ),
    ),
    Rules(
        "fct_editor_language_activity",
        non_negative=METRICS,
        has_completions=True,
        reconciliation=Reconciliation(
            MATCHES_USER_ACTIVITY,
            "fct_user_activity",
            ("editor_language", "user_activity"),
            "Every metric summed over the day's members, editors and languages equals the sum of "
            "fct_user_activity for the day (WARN).",
        ),
    ),
    Rules("fct_credit_usage", non_negative=("credits_consumed",)),
    Rules("fct_budget_overrides", non_negative=("limit_value",)),
    Rules(
        "fct_user_activity_monthly",
        non_negative=("active_days", *METRICS),
        has_completions=True,
    ),
)
"""Every partitioned warehouse table and its rules."""

BY_TABLE: dict[str, Rules] = {r.table: r for r in RULES}

Connection = duckdb.DuckDBPyConnection
Days = Sequence[dt.date]
PerDay = dict[dt.date, Outcome]


# -- the queries: each evaluates every day of a run at once ---------------------------------------------


def _params(days: Days, organization: str) -> dict[str, Any]:
    return {"days": list(days), "first": min(days), "last": max(days), "organization": organization}


def _table_of(rules: Rules) -> dict[str, str]:
    """The identifiers of a query on the rules' table (``checks/*.sql``): constants, never input."""
    return {"table": identifiers(rules.table), "day_column": identifiers(rules.day_column)}


def _duplicates(con: Connection, rules: Rules, days: Days, organization: str) -> PerDay:
    grain = ", ".join(rules.grain)
    sql = read_sql("checks/duplicates", **_table_of(rules), grain=identifiers(*rules.grain))
    params = {**_params(days, organization), "examples": EXAMPLES}
    found = {row[0]: row[1:] for row in con.execute(sql, params).fetchall()}
    outcomes = {}
    for day in days:
        if day not in found:
            outcomes[day] = Outcome(True, f"every ({grain}) is unique", {"duplicated_keys": 0})
            continue
        keys, rows, examples = found[day]
        outcomes[day] = Outcome(
            False,
            f"{keys} ({grain}) keys appear more than once, in {rows} rows",
            {"duplicated_keys": keys, "rows_involved": rows, "examples": examples},
        )
    return outcomes


def _negatives(con: Connection, rules: Rules, days: Days, organization: str) -> PerDay:
    sql = read_sql(
        "checks/negatives",
        **_table_of(rules),
        negative_rows=", ".join(f"count(*) filter (where {identifier(c)} < 0)" for c in rules.non_negative),
        lowest=", ".join(f"min({identifier(c)})::double" for c in rules.non_negative),
    )
    found = {row[0]: row[1:] for row in con.execute(sql, _params(days, organization)).fetchall()}
    outcomes = {}
    for day in days:
        rows, negatives, minima_ = found.get(day, (0, [0] * len(rules.non_negative), []))
        bad = {
            column: {"rows": n, "min": minima_[i]}
            for i, (column, n) in enumerate(zip(rules.non_negative, negatives, strict=True))
            if n
        }
        if bad:
            outcomes[day] = Outcome(
                False,
                f"negative values in {', '.join(bad)}",
                {"rows_checked": rows, "negative": dg.MetadataValue.json(bad)},
            )
        else:
            outcomes[day] = Outcome(True, f"no negative value in {rows} rows", {"rows_checked": rows})
    return outcomes


def _accepted(con: Connection, rules: Rules, days: Days, organization: str) -> PerDay:
    sql = read_sql("checks/accepted", **_table_of(rules), grain=identifiers(*rules.grain))
    params = {**_params(days, organization), "examples": EXAMPLES}
    found = {row[0]: row[1:] for row in con.execute(sql, params).fetchall()}
    outcomes = {}
    for day in days:
        rows, over, examples = found.get(day, (0, 0, None))
        if over:
            outcomes[day] = Outcome(
                False,
                f"{over} rows accept more completions than were served",
                {"rows_checked": rows, "rows_over": over, "examples": examples or []},
            )
        else:
            outcomes[day] = Outcome(True, f"accepted <= completions in {rows} rows", {"rows_checked": rows})
    return outcomes


def _both_loaded(
    con: Connection, endpoints: tuple[str, str], days: Days, organization: str
) -> dict[dt.date, list[str]]:
    """For each day, the endpoints of the pair that are not in ``pipeline_partitions`` yet."""
    sql = read_sql("checks/both_loaded")
    params = {"endpoints": list(endpoints), "days": days, "organization": organization}
    present = dict(con.execute(sql, params).fetchall())
    return {day: [e for e in endpoints if e not in present.get(day, [])] for day in days}


def _not_loaded(missing: list[str], day: dt.date) -> Outcome:
    """A day not compared: what is not loaded, and whether it still can be (the API serves 2 years)."""
    what = " and ".join(missing)
    if day < lookback_floor(utc_today()):
        return Outcome(
            True,
            f"not compared: {what} not loaded for this day, which is beyond the API's reach (older than its "
            "2-year lookback): it can no longer be loaded",
            {"compared": False, "not_loaded": missing, "beyond_reach": True},
        )
    return Outcome(
        True,
        f"not compared: {what} not loaded for this day yet",
        {"compared": False, "not_loaded": missing, "beyond_reach": False},
    )


def _dau_matches(con: Connection, rules: Rules, days: Days, organization: str) -> PerDay:
    rec = rules.reconciliation
    assert rec is not None
    missing = _both_loaded(con, rec.endpoints, days, organization)
    sql = read_sql("checks/dau_matches")
    rows = con.execute(sql, _params(days, organization)).fetchall()
    found = {day: (count, users) for day, count, users in rows}
    outcomes = {}
    for day in days:
        if missing[day]:
            outcomes[day] = _not_loaded(missing[day], day)
            continue
        count, users = found[day]
        numbers = {"compared": True, "fct_dau_count.user_count": count, "fct_dau_users.distinct_users": users}
        if count == users:
            outcomes[day] = Outcome(True, f"{users} active users in both tables", numbers)
        else:
            outcomes[day] = Outcome(
                False,
                f"fct_dau_count says {count} active users, fct_dau_users lists {users}",
                {**numbers, "difference": users - (count or 0)},
            )
    return outcomes


def _daily_sums(con: Connection, table: str, days: Days, organization: str) -> dict[dt.date, tuple]:
    sums = ", ".join(f"sum({identifier(m)})::bigint" for m in METRICS)
    sql = read_sql("checks/daily_sums", table=identifiers(table), metric_sums=sums)
    return {row[0]: tuple(row[1:]) for row in con.execute(sql, _params(days, organization)).fetchall()}


def _sums_match(con: Connection, rules: Rules, days: Days, organization: str) -> PerDay:
    rec = rules.reconciliation
    assert rec is not None
    missing = _both_loaded(con, rec.endpoints, days, organization)
    ours = _daily_sums(con, rules.table, days, organization)
    theirs = _daily_sums(con, rec.other_table, days, organization)
    nothing = (0,) * len(METRICS)  # a loaded day without rows: no activity
    outcomes = {}
    for day in days:
        if missing[day]:
            outcomes[day] = _not_loaded(missing[day], day)
            continue
        mine, other = ours.get(day, nothing), theirs.get(day, nothing)
        differences = {
            metric: {rec.other_table: b, rules.table: a, "difference": None if None in (a, b) else a - b}
            for metric, a, b in zip(METRICS, mine, other, strict=True)
            if a != b
        }
        if differences:
            outcomes[day] = Outcome(
                False,
                f"{len(differences)} of {len(METRICS)} metrics differ from {rec.other_table}: "
                + ", ".join(differences),
                {
                    "compared": True,
                    "metrics_differing": len(differences),
                    "differences": dg.MetadataValue.json(differences),
                },
            )
        else:
            outcomes[day] = Outcome(
                True,
                f"all {len(METRICS)} metrics equal {rec.other_table}",
                {"compared": True, "total_messages": mine[METRICS.index("total_messages")]},
            )
    return outcomes


Evaluator = Callable[[Connection, Rules, Days, str], PerDay]
"""A check of one table for the partition days of one organisation."""


@dataclass(frozen=True)
class Kind:
    name: str
    evaluate: Evaluator
    severity: dg.AssetCheckSeverity
    blocking: bool
    description: Callable[[Rules], str]


def _kinds(rules: Rules) -> list[Kind]:
    kinds = [
        Kind(
            UNIQUE_KEYS,
            _duplicates,
            dg.AssetCheckSeverity.ERROR,
            True,
            lambda r: (
                f"No two rows share ({', '.join(r.grain)}). ERROR, blocking: a duplicate fails the run."
            ),
        )
    ]
    if rules.non_negative:
        kinds.append(
            Kind(
                NO_NEGATIVE_METRICS,
                _negatives,
                dg.AssetCheckSeverity.WARN,
                False,
                lambda r: (
                    f"No negative value in {', '.join(r.non_negative[:3])}"
                    + (f" or the other {len(r.non_negative) - 3} metrics" if len(r.non_negative) > 3 else "")
                    + " (WARN)."
                ),
            )
        )
    if rules.has_completions:
        kinds.append(
            Kind(
                ACCEPTED_WITHIN_COMPLETIONS,
                _accepted,
                dg.AssetCheckSeverity.WARN,
                False,
                lambda r: "completions_accepted <= completions_count on every row (WARN).",
            )
        )
    if rules.reconciliation is not None:
        rec = rules.reconciliation
        kinds.append(
            Kind(
                rec.name,
                _dau_matches if rec.name == MATCHES_DAU_COUNT else _sums_match,
                dg.AssetCheckSeverity.WARN,
                False,
                lambda r: r.reconciliation.description if r.reconciliation else "",
            )
        )
    return kinds


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def evaluate(con: Connection, table: str, check_name: str, days: Days, *, organization: str) -> PerDay:
    """One check of one table for ``organization``'s given partition days (what the op runs; handy in
    tests and shells)."""
    rules = BY_TABLE[table]
    kind = next(k for k in _kinds(rules) if k.name == check_name)
    if not rules.monthly:
        return kind.evaluate(con, rules, days, organization)
    by_month = kind.evaluate(con, rules, sorted({_month(d) for d in days}), organization)
    return {day: by_month[_month(day)] for day in days}


# -- the Dagster definitions -----------------------------------------------------------------------------


def _targets(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition_keys: Sequence[str]
) -> dict[str, AssetCheckEvaluationTargetMaterializationData]:
    """The latest materialization of each partition, which each evaluation is about."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(partition_keys)),
        limit=len(partition_keys),
    ).records
    targets: dict[str, AssetCheckEvaluationTargetMaterializationData] = {}
    for record in records:  # newest first
        partition = record.partition_key
        if partition is not None and partition not in targets:
            targets[partition] = AssetCheckEvaluationTargetMaterializationData(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
            )
    return targets


def evaluations(
    instance: dg.DagsterInstance,
    storage: StorageResource,
    table: str,
    names: OrgNames,
    days: Sequence[dt.date],
    check_names: Sequence[str] | None = None,
) -> list[dg.AssetCheckEvaluation]:
    """The results of ``table``'s checks (those named, or every one) for each of ``days``, as Dagster
    events about each partition's latest materialization: what the check op yields, and what the re-check
    logs for the days it re-loads."""
    rules = BY_TABLE[table]
    kinds = {k.name: k for k in _kinds(rules)}
    selected = sorted(check_names if check_names is not None else kinds)
    asset_key = names.key(table)
    # A writer, not a reader, for the writers' memory cap and headroom: see the module docstring.
    results = write_with_headroom(
        storage.warehouse(),
        lambda con: {
            name: evaluate(con, table, name, days, organization=names.organization) for name in selected
        },
        f"checking {table}",
    )
    keys = [day.isoformat() for day in days]
    targets = _targets(instance, asset_key, keys)
    return [
        dg.AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=name,
            passed=results[name][day].passed,
            metadata=dict(results[name][day].metadata),
            target_materialization_data=targets.get(key),
            severity=kinds[name].severity,
            description=results[name][day].description,
            blocking=kinds[name].blocking,
            partition=key,
        )
        for name in selected
        for key, day in zip(keys, days, strict=True)
    ]


def _build_fact_checks(
    rules: Rules, partitions_def: dg.PartitionsDefinition, names: OrgNames
) -> dg.AssetChecksDefinition:
    asset_key = names.key(rules.table)
    kinds = {k.name: k for k in _kinds(rules)}
    specs = [
        dg.AssetCheckSpec(
            name,
            asset=asset_key,
            description=kind.description(rules),
            blocking=kind.blocking,
            partitions_def=partitions_def,
            additional_deps=(
                [names.key(rules.reconciliation.other_table)]
                if rules.reconciliation is not None and name == rules.reconciliation.name
                else []
            ),
        )
        for name, kind in kinds.items()
    ]

    @dg.multi_asset_check(
        name=names.check_op(f"{rules.table}_checks"),
        specs=specs,
        can_subset=True,
        description=f"Data checks on {rules.table}, one result per partition day.",
    )
    def _checks(context: dg.AssetCheckExecutionContext, storage: StorageResource) -> Iterator[Any]:
        days = [dt.date.fromisoformat(k) for k in context.partition_keys]
        selected = [k.name for k in context.selected_asset_check_keys if k.asset_key == asset_key]
        yield from evaluations(context.instance, storage, rules.table, names, days, selected)
        for output_name in sorted(context.op_execution_context.selected_output_names):
            yield dg.Output(None, output_name=output_name)

    return _checks


def _build_dim_users_check(names: OrgNames) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=names.dim_users,
        name=UNIQUE_KEYS,
        description="No two rows share user_key (dim_users is rebuilt in full: one result per run).",
    )
    def _dim_users_unique(storage: StorageResource) -> dg.AssetCheckResult:
        sql = read_sql("checks/dim_users_duplicates")
        # A writer, not a reader, for the writers' memory cap and headroom: see the module docstring.
        duplicated, examples = write_with_headroom(
            storage.warehouse(),
            lambda con: con.execute(
                sql, {"examples": EXAMPLES, "organization": names.organization}
            ).fetchall()[0],
            "checking dim_users",
        )
        return dg.AssetCheckResult(
            passed=duplicated == 0,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{duplicated} user_key values repeat" if duplicated else "every user_key is unique",
            metadata={"duplicated_keys": duplicated, "examples": examples or []},
        )

    return _dim_users_unique


def build_checks(
    partitions_def: dg.PartitionsDefinition, names: OrgNames | None = None
) -> list[dg.AssetChecksDefinition]:
    """Every warehouse check of an organisation: one op per fact table (partitioned like the assets) and
    dim_users'."""
    names = names or OrgNames()
    with warnings.catch_warnings():
        # partitions_def on an AssetCheckSpec is a preview in Dagster 1.13; we rely on it knowingly.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        facts = [_build_fact_checks(rules, partitions_def, names) for rules in RULES]
    return [*facts, _build_dim_users_check(names)]


CHECKS_JOB = OrgNames().checks_job
"""The default organisation's checks job."""


def build_checks_job(
    checks: Sequence[dg.AssetChecksDefinition], names: OrgNames | None = None
) -> "dg.UnresolvedAssetJobDefinition":
    """An organisation's warehouse checks and nothing else: re-checks partitions without fetching or
    loading them. (The freshness checks are left to their sensor: they are about today, not about a
    partition.)"""
    names = names or OrgNames()
    return dg.define_asset_job(
        names.checks_job,
        selection=dg.AssetSelection.checks(*checks),
        executor_def=dg.in_process_executor,
        description="Run the warehouse's data checks for the partition(s), without loading anything.",
    )
