"""The warehouse loaded again from the landed raw partitions, without a request to the API.

Every landed partition in the range goes through the same :func:`~.load.load_partition` as a run's
loads (the day's rows replaced and the partition recorded, in one transaction each), then ``dim_users``
is rebuilt. Re-running it changes nothing. A damaged partition is quarantined by the load and reported;
the others load.

It is also how a warehouse file that this release's DuckDB cannot open (written by a newer DuckDB)
keeps working: :func:`replace_newer_warehouse` moves the file aside, never deleting it, and the
warehouse is rebuilt from the raw partitions, which any DuckDB reads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, Endpoint
from analytics_pipeline.landing.store import DamagedPartition, RawStore
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.warehouse.connection import Warehouse, WarehouseFromNewerDuckDB
from analytics_pipeline.warehouse.headroom import write_with_headroom
from analytics_pipeline.warehouse.load import load_partition, refresh_dim_users
from analytics_pipeline.warehouse.location import WarehouseDoors

log = logging.getLogger(__name__)

BATCH_PARTITIONS = 60
"""Partitions loaded per writer: a writer's checkpoint at close bounds what a long rebuild holds, and a
file warehouse with readers is published (and readable) in steps rather than at the end."""


@dataclass
class RebuildResult:
    """What a rebuild loaded: partitions and rows per fact table, and the partitions it could not."""

    partitions: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    damaged: list[DamagedPartition] = field(default_factory=list)
    users: int = 0

    @property
    def total_partitions(self) -> int:
        return sum(self.partitions.values())


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
    (``store``: that organisation's raw partitions); then its ``dim_users``.

    ``progress(table, done, total)`` is called after each batch of a table's partitions.
    """
    result = RebuildResult()
    for endpoint in endpoints:
        table = endpoint.fact_table
        if table is None:
            continue
        keys = landed_keys(store, endpoint, start, end)
        result.partitions[table] = 0
        result.rows[table] = 0
        for first in range(0, len(keys), BATCH_PARTITIONS):
            batch = keys[first : first + BATCH_PARTITIONS]

            def load(
                con: duckdb.DuckDBPyConnection, batch: list[dt.date] = batch, endpoint: Endpoint = endpoint
            ) -> tuple[int, int, list[DamagedPartition]]:
                loaded, rows, damaged = 0, 0, []
                for key in batch:
                    try:
                        rows += load_partition(
                            con, store, endpoint, key, organization=organization, recheck_days=recheck_days
                        ).rows
                        loaded += 1
                    except DamagedPartition as exc:
                        damaged.append(exc)
                return loaded, rows, damaged

            loaded, rows, damaged = write_with_headroom(warehouse, load, f"rebuilding {table}")
            result.partitions[table] += loaded
            result.rows[table] += rows
            result.damaged.extend(damaged)
            if progress is not None:
                progress(table, first + len(batch), len(keys))
    result.users = write_with_headroom(
        warehouse, partial(refresh_dim_users, organization=organization), "rebuilding dim_users"
    )
    return result


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
