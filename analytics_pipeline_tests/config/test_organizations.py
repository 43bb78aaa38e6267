"""ANALYTICS_ORGANIZATIONS: the organisations file, read into one Organization each, or one line why not."""

import datetime as dt
from pathlib import Path

import pytest

from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.organization import DEFAULT_ORGANIZATION

TODAY = dt.date(2026, 12, 4)
TOKEN_A = "tok-acme-0123456789abcdef"
TOKEN_B = "tok-globex-0123456789abcdef"


def settings(tmp_path: Path, text: str, **env: str) -> Settings:
    path = tmp_path / "organizations.toml"
    path.write_text(text, encoding="utf-8")
    environ = {"ANALYTICS_ORGANIZATIONS": str(path), "ACME_TOKEN": TOKEN_A, "GLOBEX_TOKEN": TOKEN_B, **env}
    return Settings.from_env(environ, today=TODAY, env_file=tmp_path / "none.env")


def refusal(tmp_path: Path, text: str, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, text, **env)
    message = str(caught.value)
    assert "\n" not in message
    assert TOKEN_A not in message and TOKEN_B not in message
    return message


TWO = """
[organizations.acme]
token_env = "ACME_TOKEN"
base_url = "http://127.0.0.1:8001"
requests_per_minute = 120
burst = 20
start_date = "2026-01-01"

[organizations.globex-eu]
token_env = "GLOBEX_TOKEN"
"""


def test_without_a_file_one_default_organisation_from_the_usual_variables(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "AUGMENT_API_TOKEN": TOKEN_A,
            "AUGMENT_API_REQUESTS_PER_MINUTE": "30",
            "ANALYTICS_START_DATE": "2026-02-01",
        },
        today=TODAY,
        env_file=tmp_path / "none.env",
    )
    (org,) = s.organizations
    assert org.name == DEFAULT_ORGANIZATION
    assert org.require_token().reveal() == TOKEN_A
    assert (org.requests_per_minute, org.burst, org.start_date) == (30.0, 20, dt.date(2026, 2, 1))
    assert org.base_url == "https://api.augmentcode.com"


def test_a_file_gives_each_organisation_its_token_api_limits_and_start(tmp_path: Path) -> None:
    acme, globex = settings(tmp_path, TWO, ANALYTICS_START_DATE="2026-03-01").organizations
    assert (acme.name, acme.token_env, acme.base_url) == ("acme", "ACME_TOKEN", "http://127.0.0.1:8001")
    assert (acme.requests_per_minute, acme.burst, acme.start_date) == (120, 20, dt.date(2026, 1, 1))
    assert acme.require_token().reveal() == TOKEN_A
    # Defaults: the API's own limits, and the deployment's start date.
    assert (globex.name, globex.dagster_name) == ("globex-eu", "globex_eu")
    assert (globex.requests_per_minute, globex.burst, globex.start_date) == (10, 20, dt.date(2026, 3, 1))
    assert globex.base_url == "https://api.augmentcode.com"
    assert TOKEN_A not in repr(acme) and TOKEN_B not in repr(globex)
    assert acme.start_configured and globex.start_configured


def test_a_start_is_configured_only_where_a_date_is_given(tmp_path: Path) -> None:
    """Without a start of its own or ANALYTICS_START_DATE, an organisation's first partition will be its
    first loaded day (defs/first_partition.py), so its start_date is not taken as configured."""
    acme, globex = settings(tmp_path, TWO).organizations
    assert acme.start_configured and not globex.start_configured


def test_the_file_is_only_read(tmp_path: Path) -> None:
    path = tmp_path / "organizations.toml"
    path.write_text(TWO, encoding="utf-8")
    path.chmod(0o444)
    before = path.stat()
    environ = {"ANALYTICS_ORGANIZATIONS": str(path), "ACME_TOKEN": TOKEN_A, "GLOBEX_TOKEN": TOKEN_B}
    assert len(Settings.from_env(environ, today=TODAY, env_file=tmp_path / "none.env").organizations) == 2
    assert path.read_text(encoding="utf-8") == TWO
    assert path.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[organizations.acme\ntoken_env = 1", "is not valid TOML"),
        ("[organizations]\n", "at least one"),
        ("title = 'x'\n[organizations.acme]\ntoken_env = 'ACME_TOKEN'", "found 'title'"),
        ("[organizations.Acme]\ntoken_env = 'ACME_TOKEN'", "organization name 'Acme' must be"),
        ("[organizations.all]\ntoken_env = 'ACME_TOKEN'", "not 'all'"),
        (
            "[organizations.acme]\ntoken_env = 'ACME_TOKEN'\n[organizations.acme]\ntoken_env = 'X'",
            "not valid TOML",
        ),
        (
            "[organizations.a-b]\ntoken_env = 'ACME_TOKEN'\n[organizations.a_b]\ntoken_env = 'GLOBEX_TOKEN'",
            "one name to Dagster",
        ),
        ("[organizations.acme]\nbase_url = 'https://x'", "has no token_env"),
        ("[organizations.acme]\ntoken_env = 'MISSING_TOKEN'", "MISSING_TOKEN is not set"),
        ("[organizations.acme]\ntoken_env = 'ACME_TOKEN'\ntoken = 'x'", "unknown key 'token'"),
        ("[organizations.acme]\ntoken_env = 'ACME_TOKEN'\nburst = 0", "burst must be greater than 0"),
        ("[organizations.acme]\ntoken_env = 'ACME_TOKEN'\nburst = 'ten'", "burst must be a number"),
        ("[organizations.acme]\ntoken_env = 'ACME_TOKEN'\nrequests_per_minute = true", "must be a number"),
        ("[organizations.acme]\ntoken_env = 'ACME_TOKEN'\nbase_url = 'http://example.com'", "plain http://"),
        (
            "[organizations.acme]\ntoken_env = 'ACME_TOKEN'\nstart_date = '2099-01-01'",
            "not a complete UTC day",
        ),
        ("[organizations.acme]\ntoken_env = 'ACME_TOKEN'\nstart_date = '01/02/2026'", "YYYY-MM-DD"),
        (
            "[organizations.acme]\ntoken_env = 'ACME_TOKEN'\n[organizations.b]\ntoken_env = 'SAME'",
            "have the same token",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    message = refusal(tmp_path, text, SAME=TOKEN_A)
    assert expected in message
    assert "ANALYTICS_ORGANIZATIONS" in message


@pytest.mark.parametrize("pasted", [TOKEN_A, "sk_live_3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "Bearer abc"])
def test_a_token_where_the_variable_name_belongs_is_refused_unquoted(tmp_path: Path, pasted: str) -> None:
    message = refusal(tmp_path, f"[organizations.acme]\ntoken_env = '{pasted}'")
    assert "NAME of the variable" in message
    assert pasted not in message


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    environ = {"ANALYTICS_ORGANIZATIONS": str(tmp_path / "nope.toml")}
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.from_env(environ, today=TODAY, env_file=tmp_path / "none.env")
