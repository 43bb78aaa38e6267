"""Which warehouse the settings name: ``<data dir>/warehouse.duckdb``, or a DuckLake.

:func:`open_warehouse` is the one place that chooses; every command, asset and check asks it, and then
only uses the doors both kinds share (:class:`WarehouseDoors`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import duckdb

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.warehouse_url import LakeUrl
from analytics_pipeline.warehouse.connection import Warehouse
from analytics_pipeline.warehouse.lake import LakeWarehouse


class WarehouseDoors(Protocol):
    """What every warehouse offers: a reader, a writer, and the checks around them."""

    @property
    def description(self) -> str:
        """Where the warehouse is, for messages (never a password)."""
        ...

    @property
    def read_only_shell(self) -> str:
        """How to read it at a SQL prompt while loads go on."""
        ...

    def exists(self) -> bool:
        """Whether there is a warehouse to read yet."""
        ...

    def verify(self) -> None:
        """Raise a one-line error now if the warehouse cannot be used (before a command fetches)."""
        ...

    def recover(self) -> None:
        """Finish or clean up what killed writers left."""
        ...

    def reader(self, *, wait: bool = False) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-only connection that never holds up a load."""
        ...

    def writer(self, *, memory_limit: str | None = None) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema in place, during this process's turn among writers."""
        ...


def open_warehouse(
    data_dir: Path,
    lake: LakeUrl | None,
    *,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
) -> WarehouseDoors:
    """The DuckLake ``lake`` names (``ANALYTICS_WAREHOUSE_URL``), else the data directory's file.

    ``prepare`` is called on every writer's connection before it is used: the raw store's
    ``prepare_duckdb``, so loads can read raw partitions wherever they landed (S3 included).
    """
    if lake is not None:
        return LakeWarehouse(lake, prepare=prepare)
    return Warehouse(DataPaths(data_dir).warehouse, prepare=prepare)
