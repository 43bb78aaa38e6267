"""The warehouse loaded again from the landed raw partitions, without a request to the API.

In bulk: each fact table's landed partitions in the range go in a few statements, not one each
(:data:`BULK_PARTITIONS` a statement: every file read at once by ``read_parquet``, its day and fetch
facts joined from a table of the partitions' footers), with the same load SQL a run's loads use
(``load/<endpoint>.sql`` over ``rebuild/landed_partitions.sql``) and recorded in ``pipeline_partitions``
as they would record each. Then the days whose dau and user-activity were derived from editor-language
(they have no raw partition of their own) are derived again, under the same checks
(:mod:`~analytics_pipeline.warehouse.derive`), and ``dim_users`` is rebuilt. Re-running it changes nothing.

A damaged partition is quarantined and reported, the others load: a footer that does not read is found
before any load; a batch whose pages do not decode, or whose rows repeat a key, is loaded again one
partition at a time (:func:`~.load.load_partition` quarantines exactly the bad one).

It is also how a warehouse file that this release's DuckDB cannot open (written by a newer DuckDB)
keeps working: :func:`replace_newer_warehouse` moves the file aside, never deleting it, and the
warehouse is rebuilt from the raw partitions, which any DuckDB reads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, DAU, USER_ACTIVITY, Endpoint
from analytics_pipeline.landing.check_answers import window_answer
from analytics_pipeline.landing.store import DamagedPartition, PartitionInfo, RawStore
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.runtime.memory import release_unused_memory
from analytics_pipeline.warehouse.connection import Warehouse, WarehouseFromNewerDuckDB
from analytics_pipeline.warehouse.derive import DERIVE_MEMORY_LIMIT, Verdict, by_month, derive_days
from analytics_pipeline.warehouse.headroom import is_out_of_memory, write_with_headroom
from analytics_pipeline.warehouse.load import (
    DATE_COLUMN,
    GRAIN,
    load_partition,
    load_sql,
    provisional,
    refresh_dim_users,
)
from analytics_pipeline.warehouse.location import WarehouseDoors
from analytics_pipeline.warehouse.sql import identifiers, read_sql, scalar, transaction

log = logging.getLogger(__name__)

BULK_PARTITIONS = 120
"""Partitions loaded per statement and transaction: a table's two years in a handful, while what one
transaction holds (and a writer's checkpoint at close writes) stays bounded."""
BULK_MEMORY_LIMIT = "96MB"
"""DuckDB's cap for a bulk load: a batch of editor-language or credit partitions runs out of the writers'
24 MB (and would then run again with four times it: see ``headroom``), so it starts with this."""
FOOTER_THREADS = 2
"""Footers read at once: each is a small read (a request on S3), so they overlap."""
DERIVED_FROM = frozenset(e.name for e in (DAU, USER_ACTIVITY))


@dataclass
class RebuildResult:
    """What a rebuild loaded: partitions and rows per fact table, the days derived again, and what it
    could not load."""

    partitions: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    damaged: list[DamagedPartition] = field(default_factory=list)
    users: int = 0
    derived: int = 0
    """Days whose dau and user-activity were derived again from their editor-language rows."""
    underived: list[dt.date] = field(default_factory=list)
    """Days with editor-language landed but no dau or user-activity, that could not be derived without a
    request (a check failed, or their month's other days are not loaded): a backfill loads them."""

    @property
    def total_partitions(self) -> int:
        return sum(self.partitions.values())


class _RepeatedKeys(Exception):
    """Days of a batch whose rows repeat a key of the table's grain (the batch's transaction undone)."""

    def __init__(self, days: list[dt.date]) -> None:
        super().__init__(", ".join(str(d) for d in days))
        self.days = days


def landed_keys(
    store: RawStore, endpoint: Endpoint, start: dt.date | None, end: dt.date | None
) -> list[dt.date]:
    """The endpoint's landed partition keys within ``start``..``end`` (inclusive; None: unbounded).

    A monthly partition (keyed by its month's first day) is in the range when its month overlaps it.
    """
    keys = store.landed_days(endpoint)
    first = start.replace(day=1) if start and endpoint.monthly else start
    return [key for key in keys if (first is None or key >= first) and (end is None or key <= end)]


def rebuild(
    warehouse: WarehouseDoors,
    store: RawStore,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    endpoints: Iterable[Endpoint] = ASSET_ENDPOINTS,
    organization: str,
    recheck_days: int = DEFAULT_RECHECK_DAYS,
    progress: Callable[[str, int, int], None] | None = None,
) -> RebuildResult:
    """Load every landed partition of ``endpoints`` in the range into the warehouse as ``organization``'s
    (``store``: that organisation's raw partitions); then the derived days again; then its ``dim_users``.

    ``progress(table, done, total)`` is called after each batch of a table's partitions.
    """
    result = RebuildResult()
    chosen = list(endpoints)
    span: list[dt.date] = []
    for endpoint in chosen:
        table = endpoint.fact_table
        if table is None:
            continue
        keys = landed_keys(store, endpoint, start, end)
        if not endpoint.monthly:
            span.extend(keys[:1] + keys[-1:])
        result.partitions[table] = 0
        result.rows[table] = 0
        # A writer a batch: one writer a table is faster, but holds more the longer it stays open (+45 MB
        # a batch of editor-language, measured) where a writer's close returns it.
        for first in range(0, len(keys), BULK_PARTITIONS):
            batch = keys[first : first + BULK_PARTITIONS]
            load = partial(
                _load_keys,
                keys=batch,
                store=store,
                endpoint=endpoint,
                organization=organization,
                recheck_days=recheck_days,
            )
            loaded, rows, damaged = write_with_headroom(
                warehouse, load, f"rebuilding {table}", memory_limit=BULK_MEMORY_LIMIT
            )
            result.partitions[table] += loaded
            result.rows[table] += rows
            result.damaged.extend(damaged)
            if progress is not None:
                progress(table, first + len(batch), len(keys))
    if {e.name for e in chosen} >= DERIVED_FROM and span:
        _derive_again(warehouse, store, result, (start or min(span), end or max(span)), organization)
    result.users = write_with_headroom(
        warehouse, partial(refresh_dim_users, organization=organization), "rebuilding dim_users"
    )
    return result


def _footers(
    store: RawStore, endpoint: Endpoint, keys: Sequence[dt.date]
) -> tuple[list[PartitionInfo], list[DamagedPartition]]:
    """The batch's partitions' fetch facts, read at once; a damaged one is quarantined and reported."""

    def footer(key: dt.date) -> PartitionInfo | DamagedPartition:
        try:
            return store.info(endpoint, key)
        except DamagedPartition as exc:
            return exc

    with ThreadPoolExecutor(FOOTER_THREADS) as pool:
        found = list(pool.map(footer, keys))
    infos = [f for f in found if isinstance(f, PartitionInfo)]
    return infos, [f for f in found if isinstance(f, DamagedPartition)]


def _partitions_table(
    store: RawStore, endpoint: Endpoint, infos: Sequence[PartitionInfo], recheck_days: int
) -> pa.Table:
    """One row per partition of the batch: where its file is, the day it holds, and what the load records."""

    def day(text: str | None) -> dt.date | None:
        return dt.date.fromisoformat(text) if text else None

    fetched = [dt.datetime.fromisoformat(i.fetched_at) for i in infos]
    return pa.table(
        {
            "path": pa.array([store.partition_url(endpoint, dt.date.fromisoformat(i.date)) for i in infos]),
            "date": pa.array([dt.date.fromisoformat(i.date) for i in infos], pa.date32()),
            "rows": pa.array([i.rows for i in infos], pa.int64()),
            "requests": pa.array([i.requests for i in infos], pa.int64()),
            "pages": pa.array([i.pages for i in infos], pa.int64()),
            "fetched_at": pa.array(fetched, pa.timestamp("us", tz="UTC")),
            "window_start": pa.array([day(i.window_start) for i in infos], pa.date32()),
            "window_end": pa.array([day(i.window_end) for i in infos], pa.date32()),
            "unknown_fields": pa.array([i.unknown_fields for i in infos], pa.list_(pa.string())),
            "provisional": pa.array(
                [provisional(endpoint, i, f, recheck_days) for i, f in zip(infos, fetched, strict=True)],
                pa.bool_(),
            ),
            "content_digest": pa.array([i.content_digest for i in infos], pa.string()),
        }
    )


def _load_keys(
    con: duckdb.DuckDBPyConnection,
    keys: list[dt.date],
    *,
    store: RawStore,
    endpoint: Endpoint,
    organization: str,
    recheck_days: int,
) -> tuple[int, int, list[DamagedPartition]]:
    """A batch of the endpoint's partitions: their footers, then :func:`_load_batch`."""
    infos, unreadable = _footers(store, endpoint, keys)
    # Reading footers leaves freed Arrow and C buffers mapped (120 files: tens of MB): returned first.
    release_unused_memory()
    loaded, rows, damaged = _load_batch(
        con, infos, store=store, endpoint=endpoint, organization=organization, recheck_days=recheck_days
    )
    return loaded, rows, unreadable + damaged


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    infos: list[PartitionInfo],
    *,
    store: RawStore,
    endpoint: Endpoint,
    organization: str,
    recheck_days: int,
) -> tuple[int, int, list[DamagedPartition]]:
    """The batch in one statement and transaction: (partitions loaded, rows, partitions damaged).

    A batch with pages that do not decode, or with rows that repeat a key, is loaded one partition at a
    time instead, so that exactly the bad partitions are quarantined.
    """
    if not infos:
        return 0, 0, []
    try:
        return len(infos), _bulk(con, store, endpoint, infos, organization, recheck_days), []
    except (duckdb.Error, _RepeatedKeys) as exc:
        if isinstance(exc, duckdb.Error) and is_out_of_memory(exc):
            raise
        log.info("loading %s one partition at a time: %s", endpoint.name, exc)
    loaded, rows, damaged = 0, 0, []
    for info in infos:
        key = dt.date.fromisoformat(info.date)
        try:
            rows += load_partition(
                con, store, endpoint, key, organization=organization, recheck_days=recheck_days
            ).rows
            loaded += 1
        except DamagedPartition as exc:
            damaged.append(exc)
    return loaded, rows, damaged


def _bulk(
    con: duckdb.DuckDBPyConnection,
    store: RawStore,
    endpoint: Endpoint,
    infos: list[PartitionInfo],
    organization: str,
    recheck_days: int,
) -> int:
    table = endpoint.fact_table
    assert table is not None
    parts = {"table": identifiers(table), "day_column": identifiers(DATE_COLUMN[table])}
    partitions = _partitions_table(store, endpoint, infos, recheck_days)
    org = {"organization": organization}
    con.register("rebuild_partitions", partitions)
    try:
        with transaction(con):
            con.execute(read_sql("rebuild/delete_days", **parts), org)
            paths = partitions.column("path").to_pylist()
            con.execute(load_sql(endpoint, read_sql("rebuild/landed_partitions")), {**org, "paths": paths})
            grain = identifiers(*GRAIN[table])
            repeated = con.execute(read_sql("rebuild/duplicate_days", **parts, grain=grain), org).fetchall()
            if repeated:
                raise _RepeatedKeys([d for (d,) in repeated])
            con.execute(read_sql("rebuild/forget_partitions"), {**org, "endpoint": endpoint.name})
            con.execute(read_sql("rebuild/record_partitions"), {**org, "endpoint": endpoint.name})
            return int(scalar(con, read_sql("rebuild/rows_loaded", **parts), org))
    finally:
        con.unregister("rebuild_partitions")


def _derive_again(
    warehouse: WarehouseDoors,
    store: RawStore,
    result: RebuildResult,
    span: tuple[dt.date, dt.date],
    organization: str,
) -> None:
    """Derive the range's days that have no dau or user-activity loaded, where the checks accept them
    (with the answers the backfill's checks asked for, kept beside the raw partitions)."""

    def candidates(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
        params = {
            "organization": organization,
            "start": span[0],
            "end": span[1],
            "dau": DAU.name,
            "user_activity": USER_ACTIVITY.name,
        }
        return [d for (d,) in con.execute(read_sql("rebuild/derivable_days"), params).fetchall()]

    def derive(con: duckdb.DuckDBPyConnection, days: list[dt.date]) -> Verdict:
        verdict = derive_days(con, days, span=span, answers={}, organization=organization)
        if verdict.need_answers:
            asking = verdict.asking(days)
            kept = {w: window_answer(store, w.month, w.start, w.end) for w in verdict.need_answers.values()}
            answers = {w: answer for w, answer in kept.items() if answer is not None}
            again = derive_days(con, sorted(asking), span=span, answers=answers, organization=organization)
            verdict.add(again, asking)
        return verdict

    def derive_all(con: duckdb.DuckDBPyConnection) -> Verdict:
        verdict = Verdict()
        for month_days in by_month(candidates(con)).values():  # a month a pass: what it stages stays small
            verdict.merge(derive(con, month_days))
        return verdict

    verdict = write_with_headroom(
        warehouse, derive_all, "deriving dau and user_activity", memory_limit=DERIVE_MEMORY_LIMIT
    )
    result.derived = len(verdict.accepted)
    result.underived = sorted(verdict.failed | verdict.waiting)


def replace_newer_warehouse(warehouse: WarehouseDoors) -> Path | None:
    """Move a warehouse file written by a newer DuckDB aside; the path it was moved to, or None.

    The file is kept (``warehouse.duckdb.from-duckdb-<storage version>``), never deleted: a user can
    still read it with the newer DuckDB. Nothing is moved when the file opens, or is not there, or the
    warehouse is a DuckLake (its files are Parquet, which every DuckDB reads).
    """
    if not isinstance(warehouse, Warehouse):
        return None
    try:
        warehouse.verify()
    except WarehouseFromNewerDuckDB as exc:
        return warehouse.move_aside(exc.storage_version)
    return None
