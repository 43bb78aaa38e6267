"""The Dagster names of one organisation's definitions: its asset keys, groups, pool, jobs and resource.

Each organisation gets its own set of assets rather than one set with a multi-partition of organisation
and day. Dagster's pools are per step, not per partition: one set of assets would put every
organisation's API steps in one pool, where each organisation needs its own (``augment_api/<name>``,
limit 1) so that organisations fetch in parallel while each stays within its token's limit. A set per
organisation also keeps the backfill policy's ranges (one request serves 90 days), which Dagster does not
offer over a multi-partition, and lets each organisation start on its own day. In the UI each
organisation is a group of assets with its own partitions.

The organisation ``default`` keeps the names a single-organisation deployment always had (``raw_dau``,
``analytics_job``, ``nightly``...), so its history in Dagster carries on; another's are prefixed with its
name (``acme/raw_dau``, ``acme_analytics_job``...).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from analytics_pipeline.api.endpoints import Endpoint
from analytics_pipeline.organization import DEFAULT_ORGANIZATION, dagster_name

API_POOL_PREFIX = "augment_api"
ORGANIZATION_TAG = "analytics_pipeline/organization"
"""Every asset's tag (and every run's) naming its organisation, to filter the UI by."""


@dataclass(frozen=True)
class OrgNames:
    """The names of ``organization``'s assets, groups, pool, jobs, schedule and API resource."""

    organization: str = DEFAULT_ORGANIZATION

    @property
    def is_default(self) -> bool:
        return self.organization == DEFAULT_ORGANIZATION

    def _name(self, name: str) -> str:
        """``name``, after the organisation's name unless it is ``default``."""
        return name if self.is_default else f"{dagster_name(self.organization)}_{name}"

    def key(self, name: str) -> dg.AssetKey:
        """The asset key ``name`` of this organisation."""
        if self.is_default:
            return dg.AssetKey(name)
        return dg.AssetKey([dagster_name(self.organization), name])

    def raw(self, endpoint: Endpoint) -> dg.AssetKey:
        """The raw landing asset of ``endpoint``."""
        return self.key(f"raw_{endpoint.name}")

    def fact(self, endpoint: Endpoint) -> dg.AssetKey:
        """The fact table asset loaded from ``endpoint``."""
        if endpoint.fact_table is None:
            raise ValueError(f"{endpoint.name} has no fact table")
        return self.key(endpoint.fact_table)

    @property
    def dim_users(self) -> dg.AssetKey:
        return self.key("dim_users")

    @property
    def rechecks(self) -> dg.AssetKey:
        return self.key("pipeline_rechecks")

    @property
    def report(self) -> dg.AssetKey:
        return self.key("usage_report")

    def group(self, layer: str) -> str:
        """The asset group of a layer (``raw``, ``warehouse``, ``reports``)."""
        return self._name(layer)

    @property
    def pool(self) -> str:
        """The concurrency pool of the organisation's API steps: one at a time per token."""
        return f"{API_POOL_PREFIX}/{self.organization}"

    @property
    def job(self) -> str:
        """The job that lands and loads every asset of the organisation."""
        return self._name("analytics_job")

    @property
    def checks_job(self) -> str:
        """The job that runs the organisation's data checks alone."""
        return self._name("warehouse_checks")

    def check_op(self, name: str) -> str:
        """The name of a check's op (op names are global in a code location)."""
        return self._name(name)

    @property
    def schedule(self) -> str:
        return self._name("nightly")

    @property
    def api_resource(self) -> str:
        """The resource key of the organisation's API (its token, URL and limits)."""
        return self._name("api")

    @property
    def tags(self) -> dict[str, str]:
        return {ORGANIZATION_TAG: self.organization}
