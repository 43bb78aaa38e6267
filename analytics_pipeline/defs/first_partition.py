"""Each organisation's first daily partition: fixed, so no partition ever loaded drops out of Dagster.

A configured start (``ANALYTICS_START_DATE``, or an organisation's ``start_date``) is the first
partition, for as long as the deployment runs, however far it falls behind the API's 2-year lookback.
Without one, the first partition is the first day the organisation ever loaded, as the warehouse
records it (:func:`~analytics_pipeline.warehouse.first_day.first_loaded_days`), or the lookback's floor
today when that is earlier: every day loaded stays a partition, and so does every day the API still
serves, to backfill. Before the first load the start moves with the lookback, as nothing is lost by it.

Why read ``pipeline_partitions`` rather than keep a date of our own: it is the warehouse's own record of
what is loaded, written in the same transaction as the rows, rebuilt from the raw partitions by
``rebuild``, and the same on a DuckLake; a separate record could disagree with it. The read is made as
the code location loads, so it must never stop the loading: it goes through the warehouse's reader,
which takes no writer's turn and waits, within a bound, for a load holding the file; if the warehouse
still cannot be read (a DuckLake's catalog down, a damaged file), the code location loads anyway, from
the lookback's floor, with a warning saying the older partitions are hidden until it loads again.
"""

from __future__ import annotations

import datetime as dt
import logging

from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.errors import PipelineError
from analytics_pipeline.warehouse.first_day import first_loaded_days
from analytics_pipeline.warehouse.location import open_warehouse

log = logging.getLogger("dagster")


def first_partition(org: Organization, first_loaded: dt.date | None) -> dt.date:
    """``org``'s first partition: its configured start, else the earlier of its first loaded day and
    the lookback's floor (``org.start_date`` when none is configured)."""
    if org.start_configured or first_loaded is None:
        return org.start_date
    return min(org.start_date, first_loaded)


def first_partitions(settings: Settings) -> dict[str, dt.date]:
    """Every organisation's first partition, by name (see the module's docstring)."""
    organizations = settings.organizations
    loaded: dict[str, dt.date] = {}
    if not all(org.start_configured for org in organizations):
        loaded = _first_loaded_days(settings)
    return {org.name: first_partition(org, loaded.get(org.name)) for org in organizations}


def _first_loaded_days(settings: Settings) -> dict[str, dt.date]:
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url)
    try:
        return first_loaded_days(warehouse)
    except Exception as exc:
        # Whatever stops the read (a busy or damaged file, DuckDB, the DuckLake catalog's PostgreSQL) must
        # not stop the code location: the schedule would stop with it. Our errors' text is written to be
        # shown; another's may quote a DuckLake's connection string, so only its kind is.
        reason = str(exc) if isinstance(exc, PipelineError) else type(exc).__name__
        log.warning(
            f"could not read the first day loaded from {warehouse.description} ({reason}); the daily "
            "partitions start at the API's lookback floor until the code location loads again"
        )
        return {}
