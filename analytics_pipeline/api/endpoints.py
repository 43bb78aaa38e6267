"""The one declarative table of the Analytics API's eight endpoints.

The client, the sandbox, the landing assets, the warehouse loads, the backfill, the nightly re-check
and the request planner all read this table, so adding an endpoint (or a field) touches one obvious
place. Every role a landed endpoint plays is a field of its row (:class:`BackfillPhase`,
:class:`Recheck`, :class:`PlanCount`, ``date_column``, ``grain``); the lists the other modules keep
are derived from it. See ``docs/adding-an-endpoint.md``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

METRICS: tuple[str, ...] = (
    "total_modified_lines_of_code",
    "total_messages",
    "total_tool_calls",
    "completions_count",
    "completions_accepted",
    "completions_lines_of_code",
    "completions_suggested_lines_of_code",
    "chat_messages",
    "remote_agent_messages",
    "remote_agent_lines_of_code",
    "ide_agent_messages",
    "ide_agent_lines_of_code",
    "cli_agent_interactive_messages",
    "cli_agent_interactive_lines_of_code",
    "cli_agent_non_interactive_messages",
    "cli_agent_non_interactive_lines_of_code",
)
"""Metric names exactly as the API sends them (all integers)."""

BUDGET_RESOURCES: tuple[str, ...] = ("BUDGET_RESOURCE_CREDITS_CONSUMED", "BUDGET_RESOURCE_USD_COST")
BUDGET_PERIODS: tuple[str, ...] = ("BUDGET_PERIOD_MONTHLY",)


class Shape(enum.Enum):
    """How an endpoint is addressed in time."""

    RANGE = "range"  # GET with start_date/end_date, at most 90 days
    DAY = "day"  # GET with a single date
    SNAPSHOT = "snapshot"  # POST, real-time configuration, no date
    WRITE = "write"  # POST that changes configuration


class BackfillPhase(enum.StrEnum):
    """Which runs of a backfill fetch an endpoint (see :mod:`analytics_pipeline.backfill.steps`)."""

    COARSE = "coarse"  # first, over the whole range: a few requests per 90 days or per month
    CREDIT = "credit"  # then newest 90-day window first: credit usage for the window
    DETAIL = "detail"  # beside it, in runs of 30 days: the per-day endpoints


class Recheck(enum.Enum):
    """How the nightly re-check of provisional days treats an endpoint (see
    :mod:`analytics_pipeline.late_data.recheck`)."""

    BY_DIGEST = "by_digest"  # fetched again over the whole window; a day whose digest differs changed
    IF_CHANGED = "if_changed"  # fetched again for a changed, missing or damaged day, else confirmed
    IF_MISSING = "if_missing"  # a snapshot: fetched again only for a day that has none loaded
    MONTHS_OF_DAILY = "months_of_daily"  # the months of the days re-fetched for its daily view


class PlanCount(enum.Enum):
    """What the request plan counts to price an endpoint (see :mod:`analytics_pipeline.backfill.estimate`)."""

    FIXED = "fixed"  # costs the same whatever the days hold: a request per window, or per snapshot
    ACTIVE_USERS = "active_users"  # a record per active user per day
    EDITOR_LANGUAGE_RECORDS = "editor_language_records"  # (user, language, editor) rows per day
    CREDIT_RECORDS = "credit_records"  # (user, model) pairs with credits per day
    MONTHLY_USERS = "monthly_users"  # a calendar month's active users


class Kind(enum.Enum):
    """Logical type of a landed column (mapped to Arrow in the landing layer)."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    DATE = "date"


@dataclass(frozen=True)
class Field:
    """One typed column taken from an API record; ``path`` walks nested objects."""

    name: str
    kind: Kind
    path: tuple[str, ...] = ()
    non_negative: bool = False
    """A count, metric or amount: the API never sends one below zero, so landing refuses a negative one."""

    @property
    def source(self) -> tuple[str, ...]:
        return self.path or (self.name,)


IDENTITY_FIELDS = (Field("user_email", Kind.STRING), Field("service_account_name", Kind.STRING))
IDENTITY = tuple(f.name for f in IDENTITY_FIELDS)
METRIC_FIELDS = tuple(Field(m, Kind.INT, ("metrics", m), non_negative=True) for m in METRICS)


@dataclass(frozen=True)
class Endpoint:
    """Everything the pipeline needs to know about one endpoint."""

    name: str
    """Short name: the raw folder under ``data/raw/`` and the key used everywhere else."""
    path: str
    method: str
    shape: Shape
    records_key: str
    """Key of the record list in the response body."""
    max_page_size: int | None
    """The documented maximum ``page_size``; None when the endpoint does not paginate."""
    fields: tuple[Field, ...]
    fact_table: str | None
    extra_params: dict[str, str] = field(default_factory=dict)
    """Fixed query parameters the pipeline always sends (breakdown switches)."""
    record_date_field: str | None = None
    """For range endpoints: the record field that names its day (None: the query is one day)."""
    description: str = ""
    monthly: bool = False
    """Queried one calendar month at a time and landed per month (``month=YYYY-MM-01``)."""
    grain: tuple[str, ...] = ()
    """The fields that tell one record of a partition from another: the API sends each once. A page
    that repeats one (offset pagination, when data changes between pages) has its copies collapsed;
    two that differ are refused. The fact table's grain is derived from it
    (:func:`analytics_pipeline.warehouse.load.fact_grain`)."""
    date_column: str | None = None
    """The fact table's column holding the partition's day (or month)."""
    backfill_phase: BackfillPhase | None = None
    """Which backfill runs fetch it."""
    recheck: Recheck | None = None
    """How the nightly re-check treats it."""
    plan_count: PlanCount | None = None
    """What the request plan counts to price it."""

    @property
    def partition_column(self) -> str:
        """The hive-style key of the endpoint's raw folders."""
        return "month" if self.monthly else "date"

    @property
    def paginated(self) -> bool:
        return self.max_page_size is not None

    @property
    def known_keys(self) -> frozenset[tuple[str, ...]]:
        """Every key path the pipeline understands (parents of nested paths included)."""
        keys: set[tuple[str, ...]] = set()
        for f in self.fields:
            for i in range(1, len(f.source) + 1):
                keys.add(f.source[:i])
        return frozenset(keys)


DAU_COUNT = Endpoint(
    name="dau_count",
    path="/analytics/v0/dau-count",
    method="GET",
    shape=Shape.RANGE,
    records_key="daily_active_user_counts",
    max_page_size=None,
    fields=(Field("date", Kind.DATE), Field("user_count", Kind.INT, non_negative=True)),
    fact_table="fct_dau_count",
    record_date_field="date",
    grain=("date",),
    date_column="date",
    backfill_phase=BackfillPhase.COARSE,
    recheck=Recheck.BY_DIGEST,
    plan_count=PlanCount.FIXED,
    description="Daily active user counts, one record per day of the range (0 included).",
)

DAU = Endpoint(
    name="dau",
    path="/analytics/v0/dau",
    method="GET",
    shape=Shape.DAY,
    records_key="users",
    max_page_size=250,
    fields=IDENTITY_FIELDS,
    fact_table="fct_dau_users",
    grain=IDENTITY,
    date_column="date",
    backfill_phase=BackfillPhase.DETAIL,
    recheck=Recheck.IF_CHANGED,
    plan_count=PlanCount.ACTIVE_USERS,
    description="The users active on one day.",
)

DAILY_USAGE = Endpoint(
    name="daily_usage",
    path="/analytics/v0/daily-usage",
    method="GET",
    shape=Shape.RANGE,
    records_key="daily_usage",
    max_page_size=None,
    fields=(Field("date", Kind.DATE), *METRIC_FIELDS),
    fact_table="fct_daily_usage",
    record_date_field="date",
    grain=("date",),
    date_column="date",
    backfill_phase=BackfillPhase.COARSE,
    recheck=Recheck.BY_DIGEST,
    plan_count=PlanCount.FIXED,
    description="Organisation-wide usage metrics per day; days with no activity are omitted.",
)

USER_ACTIVITY = Endpoint(
    name="user_activity",
    path="/analytics/v0/user-activity",
    method="GET",
    shape=Shape.RANGE,
    records_key="users",
    max_page_size=100,
    fields=(*IDENTITY_FIELDS, Field("active_days", Kind.INT, non_negative=True), *METRIC_FIELDS),
    fact_table="fct_user_activity",
    grain=IDENTITY,
    date_column="date",
    backfill_phase=BackfillPhase.DETAIL,
    recheck=Recheck.IF_CHANGED,
    plan_count=PlanCount.ACTIVE_USERS,
    description="Per-user metrics summed over the queried range (queried one day at a time).",
)

EDITOR_LANGUAGE = Endpoint(
    name="editor_language",
    path="/analytics/v0/daily-user-activity-by-editor-language",
    method="GET",
    shape=Shape.DAY,
    records_key="records",
    max_page_size=100,
    fields=(*IDENTITY_FIELDS, Field("language", Kind.STRING), Field("editor", Kind.STRING), *METRIC_FIELDS),
    fact_table="fct_editor_language_activity",
    grain=(*IDENTITY, "language", "editor"),
    date_column="date",
    backfill_phase=BackfillPhase.DETAIL,
    recheck=Recheck.IF_CHANGED,
    plan_count=PlanCount.EDITOR_LANGUAGE_RECORDS,
    description="Per-user metrics for one day, by language and editor.",
)

CREDIT_USAGE = Endpoint(
    name="credit_usage",
    path="/analytics/v0/credit-usage-by-user",
    method="GET",
    shape=Shape.RANGE,
    records_key="records",
    max_page_size=500,
    fields=(
        Field("date", Kind.DATE),
        *IDENTITY_FIELDS,
        Field("model_name", Kind.STRING),
        Field("credits_consumed", Kind.FLOAT, non_negative=True),
    ),
    fact_table="fct_credit_usage",
    extra_params={"by_date": "true", "by_model": "true"},
    record_date_field="date",
    grain=("date", *IDENTITY, "model_name"),
    date_column="date",
    backfill_phase=BackfillPhase.CREDIT,
    recheck=Recheck.BY_DIGEST,
    plan_count=PlanCount.CREDIT_RECORDS,
    description="Credits consumed per user, broken down by day and model.",
)

BUDGET_OVERRIDES = Endpoint(
    name="budget_overrides",
    path="/analytics/v0/get-user-budget-overrides",
    method="POST",
    shape=Shape.SNAPSHOT,
    records_key="overrides",
    max_page_size=None,
    fields=(
        Field("user_email", Kind.STRING),
        Field("resource", Kind.STRING),
        Field("period", Kind.STRING),
        # The API sends the limit as a decimal string; it lands as sent and is cast in the warehouse.
        Field("limit", Kind.STRING, ("config", "limit")),
    ),
    fact_table="fct_budget_overrides",
    grain=("user_email", "resource", "period"),
    date_column="snapshot_date",
    backfill_phase=BackfillPhase.COARSE,
    recheck=Recheck.IF_MISSING,
    plan_count=PlanCount.FIXED,
    description="Explicit per-user budget overrides, read in real time (a snapshot).",
)

SET_BUDGET_OVERRIDES = Endpoint(
    name="set_budget_overrides",
    path="/analytics/v0/set-user-budget-overrides",
    method="POST",
    shape=Shape.WRITE,
    records_key="overrides",
    max_page_size=None,
    fields=BUDGET_OVERRIDES.fields,
    fact_table=None,
    description="Create or update per-user budget overrides (write-only; never landed).",
)

ENDPOINTS: tuple[Endpoint, ...] = (
    DAU_COUNT,
    DAU,
    DAILY_USAGE,
    USER_ACTIVITY,
    EDITOR_LANGUAGE,
    CREDIT_USAGE,
    BUDGET_OVERRIDES,
    SET_BUDGET_OVERRIDES,
)

USER_ACTIVITY_MONTHLY = Endpoint(
    name="user_activity_monthly",
    path=USER_ACTIVITY.path,
    method="GET",
    shape=Shape.RANGE,
    records_key="users",
    max_page_size=100,
    fields=USER_ACTIVITY.fields,
    fact_table="fct_user_activity_monthly",
    monthly=True,
    grain=IDENTITY,
    date_column="month",
    backfill_phase=BackfillPhase.COARSE,
    recheck=Recheck.MONTHS_OF_DAILY,
    plan_count=PlanCount.MONTHLY_USERS,
    description="Per-user metrics and active days summed over one calendar month (a coarse pass: "
    "two years of per-user history in a few requests a month).",
)
"""Not a separate API endpoint: user-activity queried one calendar month at a time."""

LANDED: tuple[Endpoint, ...] = tuple(e for e in ENDPOINTS if e.fact_table is not None)
"""The seven endpoints landed per UTC day under ``data/raw/`` (the write endpoint is not landed)."""

MONTHLY_LANDED: tuple[Endpoint, ...] = (USER_ACTIVITY_MONTHLY,)
"""Views of an endpoint landed per calendar month."""

ASSET_ENDPOINTS: tuple[Endpoint, ...] = (*LANDED, *MONTHLY_LANDED)
"""Everything with a raw landing asset and a fact table."""

BY_NAME: dict[str, Endpoint] = {e.name: e for e in (*ENDPOINTS, *MONTHLY_LANDED)}
BY_PATH: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS}


def endpoint(name: str) -> Endpoint:
    """Look an endpoint up by its short name, with an error that lists the valid names."""
    try:
        return BY_NAME[name]
    except KeyError:
        valid = ", ".join(BY_NAME)
        raise ValueError(f"unknown endpoint {name!r}; expected one of: {valid}") from None


def daily_view(monthly: Endpoint) -> Endpoint:
    """The per-day endpoint a monthly view queries one calendar month at a time (the same API path)."""
    return BY_PATH[monthly.path]
