import datetime as dt
from pathlib import Path

import pytest

from analytics_pipeline.config.settings import ConfigError, LocalSettings, Settings
from analytics_pipeline.privacy.secret import Secret

TODAY = dt.date(2026, 11, 20)
NO_FILE = Path("/nonexistent/.env")


def settings(**env: str) -> Settings:
    return Settings.from_env(env, today=TODAY, env_file=NO_FILE)


def test_defaults() -> None:
    s = settings()
    assert s.api_token is None
    assert s.api_base_url == "https://api.augmentcode.com"
    assert s.data_dir == Path("data")
    assert s.start_date == dt.date(2024, 11, 20)
    assert not s.start_configured
    assert (s.requests_per_minute, s.burst) == (10.0, 20)


def test_values_are_parsed() -> None:
    s = settings(
        AUGMENT_API_TOKEN="tok-123",
        AUGMENT_API_BASE_URL="http://127.0.0.1:8765/",
        ANALYTICS_DATA_DIR="/srv/usage",
        ANALYTICS_START_DATE="2025-01-01",
        AUGMENT_API_REQUESTS_PER_MINUTE="600",
        AUGMENT_API_BURST="5",
    )
    assert s.api_token == Secret("tok-123")
    assert s.api_base_url == "http://127.0.0.1:8765"
    assert s.start_date == dt.date(2025, 1, 1)
    assert s.start_configured
    assert (s.requests_per_minute, s.burst) == (600.0, 5)


def test_a_start_valid_once_stays_valid_years_later() -> None:
    """Set up on 2025-01-01 (2023-01-02 was in the lookback then), it still loads its settings in 2029."""
    s = Settings.from_env({"ANALYTICS_START_DATE": "2023-01-02"}, today=dt.date(2029, 6, 1), env_file=NO_FILE)
    assert (s.start_date, s.start_configured) == (dt.date(2023, 1, 2), True)
    assert s.organizations[0].start_configured


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"AUGMENT_API_BASE_URL": "http://api.example.com"}, "plain http:// for the non-loopback host"),
        ({"AUGMENT_API_BASE_URL": "ftp://x"}, "must be an http(s) URL"),
        ({"AUGMENT_API_BASE_URL": "https://user:pw@api.augmentcode.com"}, "credentials"),
        ({"ANALYTICS_START_DATE": "2026-11-20"}, "not a complete UTC day"),
        ({"ANALYTICS_START_DATE": "11/20/2026"}, "YYYY-MM-DD"),
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "0"}, "greater than 0"),
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "nan"}, "must be finite and at least 0.01 (0.01 is one request"),
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "inf"}, "must be finite and at least 0.01"),
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "1e-9"}, "must be finite and at least 0.01"),
        ({"AUGMENT_API_BURST": "1" + "0" * 400}, "AUGMENT_API_BURST must be from 1 to 1000000"),
        ({"AUGMENT_API_BURST": "2.5"}, "whole number"),
        ({"ANALYTICS_RECHECK_DAYS": "-1"}, "ANALYTICS_RECHECK_DAYS must be a whole number from 0"),
        ({"ANALYTICS_RECHECK_DAYS": "31"}, "to 30"),
        ({"ANALYTICS_RECHECK_DAYS": "three"}, "got 'three'"),
    ],
)
def test_bad_values_give_one_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(**env)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("url", ["http://localhost:1", "http://127.0.0.2:9", "http://[::1]:80"])
def test_loopback_http_is_accepted(url: str) -> None:
    assert settings(AUGMENT_API_BASE_URL=url).api_base_url == url


@pytest.mark.parametrize(("text", "days"), [("", 3), ("0", 0), ("7", 7), (" 30 ", 30)])
def test_recheck_days(text: str, days: int) -> None:
    assert settings(ANALYTICS_RECHECK_DAYS=text).recheck_days == days


def test_env_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("AUGMENT_API_BURST=7\nANALYTICS_DATA_DIR=/from/file\n")
    s = Settings.from_env({"ANALYTICS_DATA_DIR": "/from/env"}, today=TODAY, env_file=env_file)
    assert s.burst == 7
    assert s.data_dir == Path("/from/env")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"AUGMENT_API_TOKEN=tok-\xe9t\xe9\n", "is not UTF-8 text; save it as UTF-8"),
        (b"AUGMENT_API_TOKEN=tok-\x00x\n", "holds a NUL character; remove it"),
    ],
)
def test_an_env_file_that_cannot_be_read_is_one_line_naming_it(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        Settings.from_env({}, today=TODAY, env_file=env_file)
    assert str(info.value).startswith(f"{env_file} ") and fragment in str(info.value)
    assert "\n" not in str(info.value) and "tok-" not in str(info.value)


def test_minimum_request_rate_is_accepted() -> None:
    assert settings(AUGMENT_API_REQUESTS_PER_MINUTE="0.01").requests_per_minute == 0.01


def test_missing_token_is_one_line() -> None:
    with pytest.raises(ConfigError, match="AUGMENT_API_TOKEN is not set"):
        settings().require_token()


@pytest.mark.parametrize("raw", ["tok-123\n", " tok-123", "\ttok-123\r\n"])
def test_whitespace_around_the_token_is_not_part_of_it(raw: str) -> None:
    assert settings(AUGMENT_API_TOKEN=raw).api_token == Secret("tok-123")
    assert settings(AUGMENT_API_TOKEN=" \n").api_token is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("tok-12\n3456", "has a space or a line break inside it"),
        ("tok-12 3456", "has a space or a line break inside it"),
        ("tok-12\u00a03456", "has a space or a line break inside it"),
        ("tok-12\x003456", "has a control character inside it"),
        ("tok-12\u20133456", "has a non-ASCII character in it"),
    ],
)
def test_a_token_that_cannot_be_sent_is_refused_without_quoting_it(raw: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(AUGMENT_API_TOKEN=raw)
    message = str(info.value)
    assert message.startswith(f"AUGMENT_API_TOKEN {problem}") and "\n" not in message
    assert "tok-12" not in message and "3456" not in message


def test_token_never_in_repr() -> None:
    s = settings(AUGMENT_API_TOKEN="super-secret-value")
    assert "super-secret-value" not in repr(s)
    assert "super-secret-value" not in str(s.api_token)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(s.api_token)


KEY = "k" * 32
PSEUDONYMISATION = [
    ({}, None),
    ({"ANALYTICS_PSEUDONYMIZE": "0"}, None),
    ({"ANALYTICS_PSEUDONYMIZE": "0", "ANALYTICS_PSEUDONYMIZE_KEY": KEY}, None),  # said off: off
    ({"ANALYTICS_PSEUDONYMIZE": " 1 ", "ANALYTICS_PSEUDONYMIZE_KEY": f" {KEY} "}, Secret(KEY)),
]
BAD_PSEUDONYMISATION = [
    ({"ANALYTICS_PSEUDONYMIZE": "true"}, "must be 1 (pseudonymise emails) or 0 (keep them)"),
    ({"ANALYTICS_PSEUDONYMIZE": "1"}, "needs ANALYTICS_PSEUDONYMIZE_KEY; generate one with `python -c"),
    ({"ANALYTICS_PSEUDONYMIZE": "1", "ANALYTICS_PSEUDONYMIZE_KEY": "k" * 31}, "at least 32 characters"),
    ({"ANALYTICS_PSEUDONYMIZE_KEY": KEY}, "set ANALYTICS_PSEUDONYMIZE=1 to pseudonymise"),
]


@pytest.mark.parametrize(("env", "key"), PSEUDONYMISATION)
def test_pseudonymisation_is_on_exactly_when_asked(env: dict[str, str], key: Secret | None) -> None:
    assert settings(**env).pseudonymize_key == key


@pytest.mark.parametrize(("env", "fragment"), BAD_PSEUDONYMISATION)
def test_bad_pseudonymisation_settings_give_one_line(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings(**env)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert "k" * 31 not in str(info.value)


@pytest.mark.parametrize("url", ["tok-pasted-here", "ftp://me:tok-pasted-here@host", "https://"])
def test_a_bad_base_url_is_not_quoted(url: str) -> None:
    with pytest.raises(ConfigError, match="must be an http\\(s\\) URL") as info:
        settings(AUGMENT_API_BASE_URL=url)
    assert "tok-pasted" not in str(info.value)


def test_the_key_never_in_repr() -> None:
    s = settings(ANALYTICS_PSEUDONYMIZE="1", ANALYTICS_PSEUDONYMIZE_KEY="a-very-secret-key-" + "x" * 20)
    assert "a-very-secret-key" not in repr(s)


# -- the settings of the commands that do not call the API (demo, export, report) ---------------------


def local(*, pseudonymize: bool = False, **env: str) -> LocalSettings:
    return LocalSettings.from_env(env, env_file=NO_FILE, pseudonymize=pseudonymize)


def test_local_settings_default_as_settings_do() -> None:
    assert local() == LocalSettings(data_dir=settings().data_dir, pseudonymize_key=None)
    assert local(ANALYTICS_DATA_DIR=" /srv/usage ").paths == settings(ANALYTICS_DATA_DIR="/srv/usage").paths


def test_local_settings_read_nothing_of_the_api() -> None:
    unused = {
        "AUGMENT_API_TOKEN": "tok with spaces",
        "AUGMENT_API_BASE_URL": "http://api.example.com",
        "AUGMENT_API_REQUESTS_PER_MINUTE": "fast",
        "AUGMENT_API_BURST": "0",
        "ANALYTICS_START_DATE": "yesterday",
        "ANALYTICS_RECHECK_DAYS": "99",
    }
    assert local(ANALYTICS_DATA_DIR="/srv/usage", **unused).data_dir == Path("/srv/usage")


@pytest.mark.parametrize(("env", "key"), PSEUDONYMISATION)
def test_local_settings_read_pseudonymisation_when_asked(env: dict[str, str], key: Secret | None) -> None:
    assert local(pseudonymize=True, **env).pseudonymize_key == key == settings(**env).pseudonymize_key
    assert local(**env).pseudonymize_key is None


@pytest.mark.parametrize(("env", "fragment"), BAD_PSEUDONYMISATION)
def test_local_settings_refuse_bad_pseudonymisation_alike(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        local(pseudonymize=True, **env)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert local(**env).pseudonymize_key is None  # export and report land nothing: not read


def test_local_settings_read_the_env_file_as_settings_do(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("ANALYTICS_DATA_DIR=/from/file\n")
    assert LocalSettings.from_env({}, env_file=env_file).data_dir == Path("/from/file")
    env_file.write_bytes(b"AUGMENT_API_TOKEN=tok-\xe9t\xe9\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text; save it as UTF-8"):
        LocalSettings.from_env({}, env_file=env_file)
