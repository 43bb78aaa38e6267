"""ANALYTICS_OWNERS and an organisation's ``owners``: its assets' owners in Dagster, or one line why not."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.defs.build import build_definitions

TODAY = dt.date(2026, 12, 4)
TOKENS = {"ACME_TOKEN": "acme-secret-token-1", "GLOBEX_TOKEN": "globex-secret-token-2"}
FILE = """
[organizations.acme]
token_env = "ACME_TOKEN"
owners = ["team:acme-data", "alice@example.com"]

[organizations.globex]
token_env = "GLOBEX_TOKEN"
"""


def settings(tmp_path: Path, env: dict[str, str], file: str | None = None) -> Settings:
    if file is not None:
        path = tmp_path / "organizations.toml"
        path.write_text(file, encoding="utf-8")
        env = {"ANALYTICS_ORGANIZATIONS": str(path), **TOKENS, **env}
    return Settings.from_env(env, today=TODAY, env_file=tmp_path / "none.env")


def owners_by_asset(s: Settings) -> dict[str, tuple[str, ...]]:
    graph = build_definitions(s).resolve_asset_graph()
    return {key.to_user_string(): tuple(graph.get(key).owners) for key in graph.get_all_asset_keys()}


def test_analytics_owners_own_every_asset_of_the_single_organisation(tmp_path: Path) -> None:
    s = settings(
        tmp_path, {"AUGMENT_API_TOKEN": "t", "ANALYTICS_OWNERS": "team:data, bob@example.com,team:data"}
    )
    assert s.organizations[0].owners == ("team:data", "bob@example.com")
    owners = owners_by_asset(s)
    assert len(owners) == 19 and set(owners.values()) == {("team:data", "bob@example.com")}


def test_without_owners_no_asset_has_one(tmp_path: Path) -> None:
    assert set(owners_by_asset(settings(tmp_path, {"AUGMENT_API_TOKEN": "t"})).values()) == {()}


def test_an_organisation_names_its_own_owners_or_takes_analytics_owners(tmp_path: Path) -> None:
    owners = owners_by_asset(settings(tmp_path, {"ANALYTICS_OWNERS": "team:platform"}, FILE))
    assert owners["acme/fct_dau_users"] == ("team:acme-data", "alice@example.com")
    assert owners["globex/raw_dau"] == ("team:platform",)
    assert {v for k, v in owners.items() if k.startswith("acme/")} == {
        ("team:acme-data", "alice@example.com")
    }


@pytest.mark.parametrize(
    ("env", "file", "fragment"),
    [
        ({"ANALYTICS_OWNERS": "data-team"}, None, "ANALYTICS_OWNERS: owner 'data-team' is neither"),
        ({"ANALYTICS_OWNERS": "team:"}, None, "owner 'team:' is neither"),
        ({}, FILE.replace('"team:acme-data"', '"bob@"'), "organization 'acme': owners: owner 'bob@'"),
        ({}, FILE.replace('["team:acme-data", "alice@example.com"]', '"team:x"'), "owners must be a list"),
        ({}, FILE.replace('"alice@example.com"', "3"), "owners must be a list"),
    ],
)
def test_a_bad_owner_is_one_line_naming_the_setting(
    tmp_path: Path, env: dict[str, str], file: str | None, fragment: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, {"AUGMENT_API_TOKEN": "t", **env}, file)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert "team:data-platform" in str(caught.value) and "alice@example.com" in str(caught.value)


def test_every_owner_accepted_is_one_dagster_accepts(tmp_path: Path) -> None:
    s = settings(
        tmp_path, {"AUGMENT_API_TOKEN": "t", "ANALYTICS_OWNERS": "a.b+c@mail.example.org,team:x_y-z"}
    )
    dg.Definitions.validate_loadable(build_definitions(s))
