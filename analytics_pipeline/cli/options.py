"""What the commands read besides their own options: the settings, and the options several share
(a range of days, a list of endpoints), checked into one-line :class:`ConfigError`\\ s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import click

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, Endpoint
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import (
    ConfigError,
    LocalSettings,
    Settings,
    load_dotenv_into_environ,
)
from analytics_pipeline.dates import lookback_floor, parse_date, utc_today, yesterday
from analytics_pipeline.organization import NAME_PATTERN

F = TypeVar("F", bound=Callable[..., Any])


def load_settings() -> Settings:
    """Every setting, for a command that calls the API.

    ``.env`` is copied into the environment first: Dagster's ``EnvVar`` reads the token from there.
    """
    load_dotenv_into_environ()
    return Settings.from_env()


def load_local_settings(*, pseudonymize: bool = False, loads_partitions: bool = False) -> LocalSettings:
    """The settings of a command that does not call the API (see :class:`LocalSettings`)."""
    load_dotenv_into_environ()
    return LocalSettings.from_env(pseudonymize=pseudonymize, loads_partitions=loads_partitions)


def date_option(name: str) -> Callable[[F], F]:
    """A required ``--start`` or ``--end`` day, passed as text to the parameter ``value_<name>``."""
    return click.option(f"--{name}", "value_" + name, required=True, metavar="YYYY-MM-DD")


def endpoints_option() -> Callable[[F], F]:
    """``--endpoints``: a comma-separated list of endpoint names, passed as ``endpoints_text``."""
    names = ",".join(e.name for e in ASSET_ENDPOINTS)
    return click.option(
        "--endpoints",
        "endpoints_text",
        default=None,
        metavar="NAME[,NAME...]",
        help=f"Only these endpoints (default: every one): {names}.",
    )


def endpoints(text: str | None) -> tuple[Endpoint, ...]:
    """The endpoints a ``--endpoints`` list names, or every landed one; a one-line error otherwise."""
    if text is None:
        return ASSET_ENDPOINTS
    valid = {e.name: e for e in ASSET_ENDPOINTS}
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        raise ConfigError(
            f"--endpoints: unknown endpoint {', '.join(map(repr, unknown)) or repr(text)}; "
            f"use a comma-separated list of: {', '.join(valid)}"
        )
    return tuple(e for e in ASSET_ENDPOINTS if e.name in names)


def organizations_option() -> Callable[[F], F]:
    """``--organization NAME``, repeatable, passed as ``organization_names`` (empty: every one)."""
    return click.option(
        "--organization",
        "organization_names",
        multiple=True,
        metavar="NAME",
        help="Only this organisation (repeatable; default: every one ANALYTICS_ORGANIZATIONS names, "
        "or 'default' without it).",
    )


def derive_option() -> Callable[[F], F]:
    """``--derive/--no-derive``, passed as ``derive`` (on by default): how a backfill loads final days."""
    return click.option(
        "--derive/--no-derive",
        default=True,
        show_default=True,
        help="Derive final days' dau and user-activity from editor-language where dau-count, daily-usage "
        "and the monthly user-activity confirm them (the rest are fetched); --no-derive fetches every "
        "endpoint for every day.",
    )


def checked_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names ``--organization`` gives, once each; a one-line error for one that is no organisation's
    name (a name becomes a folder's: nothing else may pass)."""
    for name in names:
        if not NAME_PATTERN.fullmatch(name):
            raise ConfigError(
                f"--organization {name!r} is not an organisation's name: 1 to 64 of a-z, 0-9, _ and -"
            )
    return tuple(dict.fromkeys(names))


def chosen_names(names: tuple[str, ...], known: tuple[str, ...], where: str) -> tuple[str, ...]:
    """The names ``--organization`` gives, in ``known``'s order (every one when none is given); a
    one-line error for a name ``known`` lacks (``where`` says where the known ones come from)."""
    names = checked_names(names)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"--organization: no organisation {', '.join(map(repr, unknown))} in {where}; "
            f"use one of: {', '.join(known)}"
        )
    return tuple(name for name in known if not names or name in names)


def chosen_organizations(settings: Settings, names: tuple[str, ...]) -> tuple[Organization, ...]:
    """The configured organisations ``--organization`` chooses (every one when none is given)."""
    known = {org.name: org for org in settings.organizations}
    where = "ANALYTICS_ORGANIZATIONS" if settings.organizations_file else "this deployment (it has one)"
    return tuple(known[name] for name in chosen_names(names, tuple(known), where))


def day_range(
    settings: Settings,
    start_text: str,
    end_text: str,
    organizations: tuple[Organization, ...] = (),
) -> tuple[dt.date, dt.date]:
    """Validate a command-line range against the partitions of ``organizations`` (the settings' when
    none is given) and the API's rules."""
    start = option_date(start_text, "--start")
    end = option_date(end_text, "--end")
    last = yesterday(utc_today())
    if end < start:
        raise ConfigError(f"--end {end} is before --start {start}; swap them")
    if end > last:
        raise ConfigError(f"--end {end} is not a complete UTC day yet; the latest is {last}")
    floor = lookback_floor(utc_today())
    if start < floor:
        # Refused before any request: the API refuses every request that reaches past its lookback.
        raise ConfigError(
            f"--start {start} is beyond the API's 2-year lookback: it serves {floor} to {last}, and "
            f"older days can no longer be fetched; use --start {floor} or later (days loaded before "
            "stay in the warehouse)"
        )
    for org in organizations or settings.organizations:
        # Without a configured start, the first partition is the first day loaded or the lookback's floor,
        # whichever is earlier (defs/first_partition.py): the check above covers it.
        if org.start_configured and start < org.start_date:
            whose = "" if not settings.organizations_file else f" of organization {org.name!r}"
            setting = (
                "its start_date in ANALYTICS_ORGANIZATIONS"
                if settings.organizations_file
                else "ANALYTICS_START_DATE"
            )
            raise ConfigError(
                f"--start {start} is before the first partition{whose} {org.start_date}; use a later "
                f"--start or set {setting}"
            )
    return start, end


def option_date(text: str, option: str) -> dt.date:
    """The day an option gives, or a one-line error naming the option."""
    try:
        return parse_date(text, option)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def optional_date(text: str | None, option: str) -> dt.date | None:
    """The day an optional option gives, None when it is not given."""
    return None if text is None else option_date(text, option)
