"""Several organisations in one code location: a set of assets each, its own pool, jobs and schedule."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.defs.organization_names import ORGANIZATION_TAG, OrgNames
from analytics_pipeline.organization import dagster_name

TODAY = dt.date(2026, 11, 20)
TOKENS = {"ACME_TOKEN": "acme-secret-token-1", "GLOBEX_TOKEN": "globex-secret-token-2"}
FILE = """
[organizations.acme]
token_env = "ACME_TOKEN"
base_url = "http://127.0.0.1:8001"
requests_per_minute = 120

[organizations.globex-eu]
token_env = "GLOBEX_TOKEN"
start_date = "2026-06-01"
"""


@pytest.fixture
def defs(tmp_path: Path) -> dg.Definitions:
    path = tmp_path / "organizations.toml"
    path.write_text(FILE, encoding="utf-8")
    env = {"ANALYTICS_ORGANIZATIONS": str(path), "ANALYTICS_START_DATE": "2025-01-01", **TOKENS}
    return build_definitions(Settings.from_env(env, today=TODAY, env_file=tmp_path / "none.env"))


def test_each_organisation_has_its_own_set_of_assets(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    per_org = {"dim_users", "pipeline_rechecks", "usage_report"}
    per_org |= {f"raw_{e.name}" for e in ASSET_ENDPOINTS} | {str(e.fact_table) for e in ASSET_ENDPOINTS}
    assert keys == {f"{org}/{name}" for org in ("acme", "globex_eu") for name in per_org}
    raw = graph.get(dg.AssetKey(["globex_eu", "raw_dau"]))
    assert raw.group_name == "globex_eu_raw"
    assert raw.tags[ORGANIZATION_TAG] == "globex-eu"
    # Every dependency stays within its organisation.
    for key in graph.get_all_asset_keys():
        assert {parent.path[0] for parent in graph.get(key).parent_keys} <= {key.path[0]}


def test_each_organisation_calls_the_api_in_its_own_pool(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for org, prefix in (("acme", "acme"), ("globex-eu", "globex_eu")):
        for name in ["pipeline_rechecks", *(f"raw_{e.name}" for e in ASSET_ENDPOINTS)]:
            assert graph.get(dg.AssetKey([prefix, name])).pools == {f"augment_api/{org}"}
        assert graph.get(dg.AssetKey([prefix, "dim_users"])).pools == set()


def test_each_organisation_has_its_partitions_job_schedule_and_api(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    acme = graph.get(dg.AssetKey(["acme", "raw_dau"])).partitions_def
    globex = graph.get(dg.AssetKey(["globex_eu", "raw_dau"])).partitions_def
    assert isinstance(acme, dg.DailyPartitionsDefinition) and isinstance(globex, dg.DailyPartitionsDefinition)
    assert acme.get_first_partition_key() == "2025-01-01"
    assert globex.get_first_partition_key() == "2026-06-01"
    for org in ("acme", "globex-eu"):
        names = OrgNames(org)
        job = defs.resolve_job_def(names.job)
        selected = job.asset_layer.asset_graph.get_all_asset_keys()
        assert {key.path[0] for key in selected} == {dagster_name(org)}
        assert job.tags[ORGANIZATION_TAG] == org
        assert defs.resolve_job_def(names.checks_job) is not None
    assert {s.name for s in defs.schedules or []} == {"acme_nightly", "globex_eu_nightly"}
    resources = defs.resources or {}
    assert resources["acme_api"].base_url == "http://127.0.0.1:8001"
    assert resources["acme_api"].requests_per_minute == 120
    assert resources["globex_eu_api"].base_url == "https://api.augmentcode.com"


def test_no_token_is_in_the_definitions(defs: dg.Definitions) -> None:
    for resource in (defs.resources or {}).values():
        text = repr(resource) + str(getattr(resource, "__dict__", ""))
        assert not any(token in text for token in TOKENS.values())
    assert isinstance((defs.resources or {})["acme_api"].token, dg.EnvVar)


def test_without_a_file_the_single_organisation_keeps_its_names(tmp_path: Path) -> None:
    env = {"AUGMENT_API_TOKEN": "t", "ANALYTICS_START_DATE": "2025-01-01"}
    defs = build_definitions(Settings.from_env(env, today=TODAY, env_file=tmp_path / "none.env"))
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("raw_dau") in graph.get_all_asset_keys()
    assert graph.get(dg.AssetKey("raw_dau")).group_name == "raw"
    assert graph.get(dg.AssetKey("raw_dau")).pools == {"augment_api/default"}
    assert defs.resolve_job_def("analytics_job") is not None
    assert {s.name for s in defs.schedules or []} == {"nightly"}
    assert set(defs.resources or {}) == {"api", "storage", "privacy"}
