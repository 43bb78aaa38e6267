"""What a command that fetches checks before its first request or its first file: every shared place it
will use is reachable and usable, or the command stops in one line (exit code 2) with nothing written."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from analytics_pipeline.cli.rebuild_command import upgrade_newer_warehouse
from analytics_pipeline.config.datadir import claim_emails, claim_for_api
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.warehouse.connection import WarehouseFromNewerDuckDB

if TYPE_CHECKING:
    from analytics_pipeline.defs.resources.storage import StorageResource


def check_limiter_state(settings: Settings, organizations: Sequence[Organization] = ()) -> None:
    """With ``ANALYTICS_STATE_URL``, connect to its PostgreSQL now (creating the limiter's table): an
    unreachable server or a wrong password stops the command in one line, before anything is fetched
    or written. ``organizations`` (the settings' when none is given) must each have a token."""
    from analytics_pipeline.api.ratelimit_postgres import PostgresLimiterState

    tokens = [org.require_token() for org in organizations or settings.organizations]
    if settings.state_url is not None:
        PostgresLimiterState(settings.state_url, tokens[0]).verify()


def ready_to_fetch(settings: Settings, organizations: Sequence[Organization] = ()) -> StorageResource:
    """The storage a fetching command loads into, once the limiter's state, the organisations' raw
    stores and the warehouse have each been checked (a warehouse file from a newer DuckDB is loaded
    again from raw first: see ``upgrade_newer_warehouse``)."""
    from analytics_pipeline.defs.build import storage_resource

    organizations = organizations or settings.organizations
    check_limiter_state(settings, organizations)
    storage = storage_resource(settings)
    for org in organizations:
        storage.raw_store(org.name).verify()
    warehouse = storage.warehouse()
    try:
        warehouse.verify()
    except WarehouseFromNewerDuckDB:  # opened once in the common case, not once per check
        upgrade_newer_warehouse(warehouse, storage, settings.recheck_days)
    return storage


def claim_for_organizations(settings: Settings, organizations: Sequence[Organization]) -> None:
    """The data directory may take each organisation's data (see ``claim_for_api``) and the settings'
    emails (``claim_emails``); checked before the first request."""
    for org in organizations:
        claim_for_api(settings.data_dir, org.base_url, org.require_token(), org.name)
    claim_emails(settings.data_dir, settings.pseudonymize_key)
