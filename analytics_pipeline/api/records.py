"""The documented record shapes, as TypedDicts for the typed client methods.

These describe what the reference documents; the client hands back the dicts exactly as received, so a
record may carry fields not listed here (they are kept) and may lack a documented one
(``completions_suggested_lines_of_code`` is missing from every example: treat it as possibly absent).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Metrics(TypedDict, total=False):
    """The sixteen integer usage metrics (any may be absent)."""

    total_modified_lines_of_code: int
    total_messages: int
    total_tool_calls: int
    completions_count: int
    completions_accepted: int
    completions_lines_of_code: int
    completions_suggested_lines_of_code: int
    chat_messages: int
    remote_agent_messages: int
    remote_agent_lines_of_code: int
    ide_agent_messages: int
    ide_agent_lines_of_code: int
    cli_agent_interactive_messages: int
    cli_agent_interactive_lines_of_code: int
    cli_agent_non_interactive_messages: int
    cli_agent_non_interactive_lines_of_code: int


class DauCountRecord(TypedDict):
    """``GET /analytics/v0/dau-count``: one per day of the range."""

    date: str
    user_count: int


class DauUserRecord(TypedDict):
    """``GET /analytics/v0/dau``: exactly one of the two names is present."""

    user_email: NotRequired[str]
    service_account_name: NotRequired[str]


class DailyUsageRecord(TypedDict):
    """``GET /analytics/v0/daily-usage``: one per day with activity."""

    date: str
    metrics: Metrics


class UserActivityRecord(TypedDict):
    """``GET /analytics/v0/user-activity``: metrics summed over the queried range."""

    user_email: NotRequired[str]
    service_account_name: NotRequired[str]
    active_days: int
    metrics: Metrics


class EditorLanguageRecord(TypedDict):
    """``GET /analytics/v0/daily-user-activity-by-editor-language``."""

    user_email: NotRequired[str]
    service_account_name: NotRequired[str]
    language: str
    editor: str
    metrics: Metrics


class CreditUsageRecord(TypedDict):
    """``GET /analytics/v0/credit-usage-by-user`` (reported shape; ``date``/``model_name`` per breakdown)."""

    user_email: NotRequired[str]
    service_account_name: NotRequired[str]
    date: NotRequired[str]
    model_name: NotRequired[str]
    credits_consumed: float


class BudgetOverrideConfig(TypedDict):
    limit: str
    """A decimal string, e.g. ``"2500000"``."""


class BudgetOverrideRecord(TypedDict):
    """``POST /analytics/v0/get-user-budget-overrides`` (reported shape)."""

    user_email: str
    config: BudgetOverrideConfig
    resource: NotRequired[str]
    period: NotRequired[str]
