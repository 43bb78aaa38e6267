"""The 16 metric columns in the warehouse's SQL, written once: the ``.sql`` files name them by placeholder.

Four fact tables hold a column per metric, with the same comment on each; the analysis layer lists
their names (``metric_names()``) and defines them (``analysis_glossary``). Each of these is a
placeholder in its file, expanded here from :data:`~analytics_pipeline.api.endpoints.METRICS` and
:data:`METRIC_DESCRIPTIONS` (see :func:`analytics_pipeline.warehouse.sql.read_sql`):

- ``{{ metric_columns }}``: the columns of a ``create table``;
- ``{{ metric_comments <table> }}``: a ``comment on column`` for each of the table's metrics;
- ``{{ metric_names }}``: the names as a list of string literals;
- ``{{ metric_glossary }}``: the rows of ``analysis_glossary`` that define them;
- ``{{ metric_sums }}``: ``sum(<metric>) as <metric>`` for each, for a ``group by``;
- ``{{ metrics_differ }}``: true when any metric of the rows aliased ``api`` and ``derived`` differs (NULL
  counted as a value: an omitted field equals only an omitted field).

Every name and text here is a constant of the package, never input. DuckDB's ``COMMENT ON`` takes a
string literal, never a bound parameter, so the descriptions are quoted here (:func:`sql_string`).
"""

from __future__ import annotations

from collections.abc import Callable

from analytics_pipeline.api.endpoints import METRICS

METRIC_DESCRIPTIONS: dict[str, str] = {
    "total_modified_lines_of_code": (
        "Total lines of code modified across all interactions (completions and agents)."
    ),
    "total_messages": "Total messages across all interaction types (chat and every agent surface).",
    "total_tool_calls": "Total tool calls across all agent types.",
    "completions_count": "Number of completions served (completion requests).",
    "completions_accepted": "Number of completions accepted by users.",
    "completions_lines_of_code": "Lines of code from accepted completions.",
    "completions_suggested_lines_of_code": (
        "Lines of code suggested by completions, before acceptance (the API reference lists it but its "
        "examples omit it: may be NULL, never read as zero)."
    ),
    "chat_messages": "Number of chat messages.",
    "remote_agent_messages": "Number of Remote Agent messages.",
    "remote_agent_lines_of_code": "Lines of code from the Remote Agent.",
    "ide_agent_messages": "Number of IDE Agent messages.",
    "ide_agent_lines_of_code": "Lines of code from the IDE Agent.",
    "cli_agent_interactive_messages": "Number of CLI Agent messages in interactive mode.",
    "cli_agent_interactive_lines_of_code": "Lines of code from the CLI Agent in interactive mode.",
    "cli_agent_non_interactive_messages": (
        "Number of CLI Agent messages in non-interactive mode (scripts, CI)."
    ),
    "cli_agent_non_interactive_lines_of_code": "Lines of code from the CLI Agent in non-interactive mode.",
}
"""What each metric counts, in the API's words; the column comments and the glossary add to it."""

METRIC_TABLES: dict[str, str] = {
    "fct_daily_usage": "",
    "fct_user_activity": "",
    "fct_user_activity_monthly": " Summed over the month.",
    "fct_editor_language_activity": "",
}
"""The tables with a column per metric, and what their metric comments say of the rows' span."""

COLUMN_NOTE = " NULL where the API omitted the field."
"""The end of every metric column's comment."""

GLOSSARY_NOTE = (
    " Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when "
    "nothing was done on loaded days."
)
"""The end of every metric's definition in ``analysis_glossary`` (the macros return sums)."""


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (for a constant of the package, never for input)."""
    return "'" + text.replace("'", "''") + "'"


def metric_columns() -> str:
    """The metric columns of a ``create table``, one per line, in the API's order."""
    return ",\n".join(f"{metric} bigint" for metric in METRICS)


def metric_comments(table: str) -> str:
    """A ``comment on column`` statement for each metric column of ``table`` (one of METRIC_TABLES)."""
    span = METRIC_TABLES[table]
    return "\n".join(
        f"comment on column {table}.{metric} is "
        f"{sql_string(METRIC_DESCRIPTIONS[metric] + span + COLUMN_NOTE)};"
        for metric in METRICS
    )


def metric_names() -> str:
    """The metric names as string literals, one per line, in the API's order."""
    return ",\n".join(sql_string(metric) for metric in METRICS)


def metric_glossary() -> str:
    """The ``(term, definition)`` rows of ``analysis_glossary`` for the metrics, one value per line."""
    return ",\n".join(
        f"(\n    {sql_string(metric)},\n    {sql_string(METRIC_DESCRIPTIONS[metric] + GLOSSARY_NOTE)}\n)"
        for metric in METRICS
    )


def metric_sums() -> str:
    """Each metric summed under its own name, one per line, in the API's order."""
    return ",\n".join(f"sum({metric}) as {metric}" for metric in METRICS)


def metrics_differ() -> str:
    """A condition: some metric of ``api`` is distinct from the same metric of ``derived``."""
    return "\nor ".join(f"api.{metric} is distinct from derived.{metric}" for metric in METRICS)


EXPANSIONS: dict[str, Callable[..., str]] = {
    "metric_columns": metric_columns,
    "metric_comments": metric_comments,
    "metric_names": metric_names,
    "metric_glossary": metric_glossary,
    "metric_sums": metric_sums,
    "metrics_differ": metrics_differ,
}
"""Placeholder name -> the function that writes its SQL (given the placeholder's argument, if any)."""
