"""Warehouse assets: each landed endpoint's DuckDB fact table, and ``dim_users``."""

import time
from typing import Any

import dagster as dg
import duckdb

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, Endpoint
from analytics_pipeline.dates import month_start
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.defs.partitions import partition_days
from analytics_pipeline.defs.resources import StorageResource
from analytics_pipeline.landing import DamagedPartition, partition_keys
from analytics_pipeline.warehouse import LoadResult, load_partition, refresh_dim_users
from analytics_pipeline.warehouse.headroom import write_with_headroom
from analytics_pipeline.warehouse.table_schemas import table_columns

DIM_USERS_KEY = OrgNames().dim_users
"""The default organisation's ``dim_users`` asset (see :class:`OrgNames` for the others)."""
DIM_USERS_MEMORY_LIMIT = "8MiB"
"""DuckDB's cap for the ``dim_users`` rebuild. Its scan of every fact table needs little but fills
whatever cap it has with cached blocks: +26 MB at the writers' 24 MB, +8 MB at 8 MiB, no slower
(measured on 2 years at 2,000 people). Between 10,000 and 20,000 users it needs more, and gets it (see
:mod:`analytics_pipeline.warehouse.headroom`)."""


def fact_asset_key(endpoint: Endpoint) -> dg.AssetKey:
    """The default organisation's fact asset of ``endpoint`` (see :class:`OrgNames` for the others)."""
    return OrgNames().fact(endpoint)


def table_metadata(table: str) -> dict[str, Any]:
    """The table's name and columns (types and documentation, as ``duckdb_columns()`` gives them), under
    Dagster's own metadata keys, so the UI shows the table's schema on its asset."""
    columns = [
        dg.TableColumn(name, data_type.lower(), description=comment)
        for name, data_type, comment in table_columns()[table]
    ]
    return {
        "dagster/table_name": f"main.{table}",
        "dagster/column_schema": dg.TableSchema(columns=columns),
    }


def build_fact_asset(
    endpoint: Endpoint,
    partitions_def: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy,
    names: OrgNames,
) -> dg.AssetsDefinition:
    """The fact table loaded from one endpoint's landed partitions of one organisation."""
    if endpoint.fact_table is None:
        raise ValueError(f"{endpoint.name} has no fact table")
    organization = names.organization

    @dg.asset(
        key=names.fact(endpoint),
        deps=[names.raw(endpoint)],
        group_name=names.group("warehouse"),
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        kinds={"duckdb"},
        tags=names.tags,
        metadata=table_metadata(endpoint.fact_table),
        description=f"DuckDB table {endpoint.fact_table}, loaded from raw_{endpoint.name}: "
        + (
            "a day's partition replaces the rows of the calendar month holding it"
            if endpoint.monthly
            else "a day's partition replaces that day's rows"
        )
        + f", in one transaction{_of(names)}.",
    )
    def _fact(context: dg.AssetExecutionContext, storage: StorageResource) -> dg.MaterializeResult:
        started = time.monotonic()
        store = storage.raw_store(organization)
        days = partition_days(context)
        keys = partition_keys(endpoint, days)
        recheck_days = storage.recheck_days

        def load(con: duckdb.DuckDBPyConnection) -> tuple[list[LoadResult], list[DamagedPartition]]:
            # A damaged partition (quarantined by now) holds back only itself: the rest of the run loads.
            loads, damaged = [], []
            for key in keys:
                try:
                    loads.append(
                        load_partition(
                            con, store, endpoint, key, organization=organization, recheck_days=recheck_days
                        )
                    )
                except DamagedPartition as exc:
                    damaged.append(exc)
            return loads, damaged

        loads, damaged = write_with_headroom(storage.warehouse(), load, f"loading {endpoint.fact_table}")
        for exc in damaged:
            context.log.warning(str(exc))
        if damaged:
            raise _one_error(damaged, len(loads))
        loaded = {load.date: load.rows for load in loads}
        for day in days:
            key = month_start(day) if endpoint.monthly else day
            name = "month_rows" if endpoint.monthly else "rows"
            context.add_asset_metadata(
                # The landed API answer; a backfill's derived days say "derived" (backfill/derivation.py).
                {name: dg.MetadataValue.int(loaded[key]), "source": dg.MetadataValue.text("api")},
                partition_key=day.isoformat(),
            )
        return dg.MaterializeResult(
            metadata={
                "run_rows": dg.MetadataValue.int(sum(loaded.values())),
                "run_partitions": dg.MetadataValue.int(len(loads)),
                "table": dg.MetadataValue.text(f"main.{endpoint.fact_table}"),
                "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            }
        )

    return _fact


def _one_error(damaged: list[DamagedPartition], loaded: int) -> DamagedPartition:
    """One line for the step's failure, however many partitions were damaged."""
    others = f" (the run's {loaded} other partitions were loaded)" if loaded else ""
    if len(damaged) == 1:
        return DamagedPartition(f"{damaged[0]}{others}", damaged[0].path, damaged[0].moved_to)
    names = ", ".join(str(exc.path) for exc in damaged)
    return DamagedPartition(
        f"{len(damaged)} landed partitions are damaged: {names}; moved them to the quarantine{others}, "
        "and running again fetches them anew"
    )


def build_dim_users(
    partitions_def: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy, names: OrgNames
) -> dg.AssetsDefinition:
    organization = names.organization

    @dg.asset(
        key=names.dim_users,
        # After the re-check too: it may load days (and users) this run's partitions do not hold.
        deps=[*(names.fact(e) for e in ASSET_ENDPOINTS), names.rechecks],
        group_name=names.group("warehouse"),
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        kinds={"duckdb"},
        tags=names.tags,
        metadata=table_metadata("dim_users"),
        description="Every user and service account seen, with first and last active date (the "
        f"organisation's rows rebuilt in full){_of(names)}.",
    )
    def dim_users(storage: StorageResource) -> dg.MaterializeResult:
        rows = write_with_headroom(
            storage.warehouse(),
            lambda con: refresh_dim_users(con, organization=organization),
            "rebuilding dim_users",
            memory_limit=DIM_USERS_MEMORY_LIMIT,
        )
        return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.int(rows)})

    return dim_users


def _of(names: OrgNames) -> str:
    """For a description: whose rows an asset holds, when the organisation is not the default."""
    return "" if names.is_default else f" (organization {names.organization!r} only)"


def build_warehouse_assets(
    partitions_def: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy, names: OrgNames
) -> list[dg.AssetsDefinition]:
    facts = [build_fact_asset(e, partitions_def, backfill_policy, names) for e in ASSET_ENDPOINTS]
    return [*facts, build_dim_users(partitions_def, backfill_policy, names)]
