"""Landed Parquet partitions -> DuckDB fact tables, one partition per transaction.

Every write and read here is one organisation's, named by the caller (keyword ``organization``, never a
default): its rows carry it, and nothing touches another organisation's rows. A load deletes the
organisation's day and inserts it again from the landed file, and records the partition in
``pipeline_partitions``, all in one transaction: re-running a partition changes nothing,
and a failure leaves the previous rows in place. A partition whose rows would repeat a key of the
table's grain (landed before repeated records were collapsed) is not loaded: it is quarantined, to be
fetched anew.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, IDENTITY, Endpoint, Shape
from analytics_pipeline.errors import PipelineError
from analytics_pipeline.landing.store import PartitionInfo, RawStore
from analytics_pipeline.provisional import (
    DEFAULT_RECHECK_DAYS,
    is_provisional,
    is_provisional_month,
)
from analytics_pipeline.warehouse.headroom import is_out_of_memory
from analytics_pipeline.warehouse.schema import ORGANIZATION
from analytics_pipeline.warehouse.sql import identifiers, read_sql, scalar, transaction

USER_KEY = "user_key"
"""The fact tables' one column for a record's identity fields (a member's email or a service account)."""


def fact_grain(endpoint: Endpoint) -> tuple[str, ...]:
    """The columns no two rows of the endpoint's fact table share, from the grain of its records.

    The partition's day (the table's date column) comes first; the identity fields are the one
    ``user_key`` they are loaded as.
    """
    if endpoint.date_column is None:
        raise ValueError(f"{endpoint.name} has no fact table date column")
    columns = [endpoint.date_column]
    for name in endpoint.grain:
        column = USER_KEY if name in IDENTITY else name
        if name == endpoint.record_date_field:
            column = endpoint.date_column
        if column not in columns:
            columns.append(column)
    return tuple(columns)


DATE_COLUMN: dict[str, str] = {
    e.fact_table: e.date_column for e in ASSET_ENDPOINTS if e.fact_table and e.date_column
}
"""The column holding the partition's day in each fact table."""

GRAIN: dict[str, tuple[str, ...]] = {
    e.fact_table: (ORGANIZATION, *fact_grain(e)) for e in ASSET_ENDPOINTS if e.fact_table
}
"""The columns no two rows of each fact table share: the organisation, then the records' grain (a load
refuses a day that breaks it; the ``unique_keys`` check reports any that got in before)."""


def load_sql(endpoint: Endpoint, landed: str) -> str:
    """The endpoint's load statement (``load/<endpoint>.sql``) over ``landed``: one partition
    (``load/landed_partition.sql``) or many (``rebuild/landed_partitions.sql``). Its snapshot's date is
    the day it was read, and the moment is kept too (``partition_fetched_at``)."""
    return read_sql(f"load/{endpoint.name}", landed=landed)


class MissingPartition(PipelineError, FileNotFoundError):
    """The raw partition a load needs has not been landed."""

    transient = True  # running again lands it before loading it


@dataclass(frozen=True)
class LoadResult:
    endpoint: str
    date: dt.date
    rows: int


def _day_of(table: str) -> dict[str, str]:
    """The identifiers of a statement about one day of ``table`` (``load/*_day.sql``, ``duplicate_keys``):
    from the constant tables above, never from input; the day itself is bound (``$date``)."""
    return {"table": identifiers(table), "day_column": identifiers(DATE_COLUMN[table])}


def provisional(endpoint: Endpoint, info: PartitionInfo, checked_at: dt.datetime, recheck_days: int) -> bool:
    """Whether a partition's numbers may still change, as of the moment they were checked."""
    day = dt.date.fromisoformat(info.date)
    checked_on = checked_at.astimezone(dt.UTC).date()
    if endpoint.shape is Shape.SNAPSHOT:
        return False  # a snapshot is true of the moment it was read, by definition
    if endpoint.monthly:
        window_end = dt.date.fromisoformat(info.window_end) if info.window_end else None
        return is_provisional_month(day, window_end, checked_on, recheck_days)
    return is_provisional(day, checked_on, recheck_days)


def load_partition(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    endpoint: Endpoint,
    day: dt.date,
    *,
    organization: str,
    recheck_days: int = DEFAULT_RECHECK_DAYS,
) -> LoadResult:
    """Replace ``organization``'s rows of ``day`` in the endpoint's fact table with the landed partition.

    ``recheck_days`` decides whether the partition is recorded as provisional (see
    :mod:`analytics_pipeline.provisional`).
    """
    table = endpoint.fact_table
    if table is None:
        raise ValueError(f"{endpoint.name} has no fact table")
    if not store.has_file(endpoint, day):
        raise MissingPartition(
            f"{endpoint.name} has no landed partition for {day}; materialize raw_{endpoint.name} first"
        )
    info = store.info(endpoint, day)  # a damaged partition is quarantined here: DamagedPartition
    path = store.partition_url(endpoint, day)

    with transaction(con):
        day_params = {"organization": organization, "date": day}
        con.execute(read_sql("load/delete_day", **_day_of(table)), day_params)
        load_params = {"path": path, "fetched_at": info.fetched_at, **day_params}
        try:
            con.execute(load_sql(endpoint, read_sql("load/landed_partition")), load_params)
        except duckdb.Error as exc:
            if not is_out_of_memory(exc):
                store.read(endpoint, day)  # pages that cannot be decoded: quarantined, DamagedPartition
            raise
        rows = scalar(con, read_sql("load/count_day", **_day_of(table)), day_params)
        duplicate_keys = read_sql("load/duplicate_keys", **_day_of(table), grain=identifiers(*GRAIN[table]))
        duplicated = scalar(con, duplicate_keys, day_params)
        if duplicated:  # landed before repeated records were collapsed: fetched anew, it lands once
            grain = ", ".join(GRAIN[table])
            raise store.quarantine(endpoint, day, f"{duplicated} ({grain}) keys are in more than one row")
        con.execute(read_sql("pipeline/forget_partition"), {"endpoint": endpoint.name, **day_params})
        con.execute(
            read_sql("pipeline/record_partition"),
            {
                "endpoint": endpoint.name,
                "date": day,
                "rows": info.rows,
                "requests": info.requests,
                "pages": info.pages,
                "status": "loaded" if info.rows else "empty",
                "fetched_at": info.fetched_at,
                "window_start": info.window_start,
                "window_end": info.window_end,
                "unknown_fields": info.unknown_fields,
                "provisional": provisional(
                    endpoint, info, dt.datetime.fromisoformat(info.fetched_at), recheck_days
                ),
                "content_digest": info.content_digest or None,
                "organization": organization,
            },
        )
    return LoadResult(endpoint.name, day, rows)


def confirm_partition(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    endpoint: Endpoint,
    day: dt.date,
    checked_at: dt.datetime,
    *,
    organization: str,
    recheck_days: int = DEFAULT_RECHECK_DAYS,
) -> None:
    """Record that ``organization``'s loaded partition was re-checked at ``checked_at`` and found
    unchanged."""
    info = store.info(endpoint, day)
    con.execute(
        read_sql("pipeline/confirm_partition"),
        {
            "endpoint": endpoint.name,
            "date": day,
            "checked_at": checked_at,
            "provisional": provisional(endpoint, info, checked_at, recheck_days),
            "organization": organization,
        },
    )


def record_recheck(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    checked_at: dt.datetime,
    outcome: str,
    changed_endpoints: list[str],
    missing_endpoints: list[str],
    *,
    organization: str,
) -> None:
    """Add a re-check's outcome for ``organization``'s ``day`` to ``pipeline_rechecks``."""
    con.execute(
        read_sql("pipeline/record_recheck"),
        {
            "checked_at": checked_at,
            "date": day,
            "outcome": outcome,
            "changed_endpoints": changed_endpoints,
            "missing_endpoints": missing_endpoints,
            "organization": organization,
        },
    )


def loaded_digests(
    con: duckdb.DuckDBPyConnection, days: list[dt.date], *, organization: str
) -> dict[tuple[str, dt.date], str | None]:
    """(endpoint, day) -> the content digest of what is loaded, for every partition of ``organization``
    loaded on ``days``."""
    params = {"days": days, "organization": organization}
    rows = con.execute(read_sql("pipeline/loaded_digests"), params).fetchall()
    return {(name, day): digest for name, day, digest in rows}


def derived_partitions(
    con: duckdb.DuckDBPyConnection, days: list[dt.date], *, organization: str
) -> set[tuple[str, dt.date]]:
    """(endpoint, day) of ``organization``'s partitions on ``days`` that were derived, not landed."""
    params = {"days": days, "organization": organization}
    return set(con.execute(read_sql("pipeline/derived_partitions"), params).fetchall())


def refresh_dim_users(con: duckdb.DuckDBPyConnection, *, organization: str) -> int:
    """Rebuild ``organization``'s rows of ``dim_users`` from its rows of every fact table, in one
    transaction (other organisations' rows stay as they are); returns its row count."""
    params = {"organization": organization}
    with transaction(con):
        con.execute(read_sql("load/delete_dim_users"), params)
        con.execute(read_sql("load/dim_users"), params)
    return scalar(con, read_sql("load/count_dim_users"), params)
