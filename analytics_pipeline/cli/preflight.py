"""What a command that fetches checks before its first request or its first file: every shared place it
will use is reachable and usable, or the command stops in one line (exit code 2) with nothing written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from analytics_pipeline.cli.rebuild_command import upgrade_newer_warehouse
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.warehouse.connection import WarehouseFromNewerDuckDB

if TYPE_CHECKING:
    from analytics_pipeline.defs.resources.storage import StorageResource


def check_limiter_state(settings: Settings) -> None:
    """With ``ANALYTICS_STATE_URL``, connect to its PostgreSQL now (creating the limiter's table): an
    unreachable server or a wrong password stops the command in one line, before anything is fetched
    or written."""
    from analytics_pipeline.api.ratelimit_postgres import PostgresLimiterState

    if settings.state_url is not None:
        PostgresLimiterState(settings.state_url, settings.require_token()).verify()


def ready_to_fetch(settings: Settings) -> StorageResource:
    """The storage a fetching command loads into, once the limiter's state, the raw store and the
    warehouse have each been checked (a warehouse file from a newer DuckDB is loaded again from raw
    first: see ``upgrade_newer_warehouse``)."""
    from analytics_pipeline.defs.build import storage_resource

    check_limiter_state(settings)
    storage = storage_resource(settings)
    store = storage.raw_store()
    store.verify()
    warehouse = storage.warehouse()
    try:
        warehouse.verify()
    except WarehouseFromNewerDuckDB:  # opened once in the common case, not once per check
        upgrade_newer_warehouse(warehouse, store, settings.recheck_days)
    return storage
