"""``ANALYTICS_STATE_URL``: accepted forms, one-line refusals that never quote it, a masked password."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.config.state_url import StateUrl, parse_state_url

PASSWORD = "pw-canary.Q7x+9zVb=41"


@pytest.mark.parametrize("value", [None, "", "  \n"])
def test_unset_or_blank_keeps_the_state_file(value: str | None) -> None:
    assert parse_state_url(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://user:secret@db.internal:5432/analytics",
        "postgres://user:secret@db.internal/analytics?sslmode=require",
        "postgresql://db.internal/analytics",
        "  postgresql://user:secret@db.internal:5432/analytics\n",
    ],
)
def test_postgresql_urls_are_accepted(value: str) -> None:
    url = parse_state_url(value)
    assert url is not None and url.reveal() == value.strip()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"mysql://user:{PASSWORD}@host/db", "its scheme is 'mysql'"),
        (f"https://user:{PASSWORD}@host/db", "its scheme is 'https'"),
        (f"host=db user=u password={PASSWORD} dbname=x", "it has no scheme"),
        (f"/var/lib/{PASSWORD}", "it has no scheme"),
        (f"ducklake:postgres:password={PASSWORD}", "its scheme is 'ducklake'"),
    ],
)
def test_other_kinds_are_refused_in_one_line_naming_the_variable_and_the_form(
    value: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_state_url(value)
    message = str(refused.value)
    assert message == (
        "ANALYTICS_STATE_URL must be a PostgreSQL URL of the form postgresql://user:password@host:5432/db "
        f"(or postgres://...); {problem}"
    )
    assert refused.value.exit_code == 2


@pytest.mark.parametrize(
    "value",
    [
        f"postgresql://user:{PASSWORD}@host:notaport/db",  # urlsplit refuses the port
        "postgresql://user:pw%zzcanary@host:5432/db",  # libpq refuses the escape, and quotes it
        f"postgresql://user@host:5432/db?password={PASSWORD}&nonsense=1",  # an unknown parameter
    ],
)
def test_malformed_urls_are_refused_without_the_password(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_state_url(value)
    message = str(refused.value)
    assert message.startswith("ANALYTICS_STATE_URL is not a ")
    assert "\n" not in message
    for secret in (PASSWORD, "pw%zzcanary", "zzcanary"):
        assert secret not in message


def test_the_password_is_masked_in_every_spelling() -> None:
    encoded = "p%40ss%2Fw0rd"  # p@ss/w0rd
    url = StateUrl(f"postgresql://user:{encoded}@host:5432/db")
    assert repr(url) == "StateUrl('postgresql://user:**********@host:5432/db')"
    assert str(url) == repr(url)
    assert url.redact(f"failed for {encoded} and p@ss/w0rd") == "failed for ********** and **********"
    query = StateUrl(f"postgresql://user@host/db?password={PASSWORD}")
    assert PASSWORD not in query.redact(f"echo {PASSWORD}")
    with pytest.raises(TypeError):
        pickle.dumps(url)


def test_settings_read_the_variable(tmp_path: Path) -> None:
    env = {"ANALYTICS_STATE_URL": f"postgresql://user:{PASSWORD}@host:5432/db"}
    settings = Settings.from_env(env, env_file=tmp_path / "none.env")
    assert settings.state_url == StateUrl(env["ANALYTICS_STATE_URL"])
    assert PASSWORD not in repr(settings)
    assert Settings.from_env({}, env_file=tmp_path / "none.env").state_url is None
    with pytest.raises(ConfigError, match="ANALYTICS_STATE_URL must be a PostgreSQL URL"):
        Settings.from_env({"ANALYTICS_STATE_URL": "sqlite:///state.db"}, env_file=tmp_path / "none.env")
