"""The contract's environment variables, parsed and validated once.

Values come from the environment, then from a ``.env`` file in the working directory for names the
environment does not set (the environment wins). Every problem is a :class:`ConfigError` whose text
is one line naming the variable and the fix.

:class:`Settings` holds every variable, for what calls the API (``backfill``, ``plan``, ``nightly``, the
Dagster code location); :class:`LocalSettings` the few that the commands that do not call it read
(``demo``, ``export``, ``report``). Both read the variables through the same functions.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dotenv import dotenv_values

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.dates import lookback_floor, parse_date, utc_today
from analytics_pipeline.errors import FIX_INPUT, PipelineError
from analytics_pipeline.privacy.pseudonymize import MIN_KEY_LENGTH
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS, MAX_RECHECK_DAYS

if TYPE_CHECKING:
    from analytics_pipeline.config.organizations import Organization
    from analytics_pipeline.config.raw_url import RawLocation
    from analytics_pipeline.config.state_url import StateUrl
    from analytics_pipeline.config.warehouse_url import LakeUrl

DEFAULT_BASE_URL = "https://api.augmentcode.com"
DEFAULT_DATA_DIR = Path("data")
DEFAULT_REQUESTS_PER_MINUTE = 10.0
"""The API's documented limit: 10 requests a minute per token, after a burst of 20."""
DEFAULT_BURST = 20
MIN_REQUESTS_PER_MINUTE = 0.01
"""Slower, the limiter's waits run to days, and soon past what the system can sleep (a traceback)."""
MAX_BURST = 1_000_000
"""Far above any API's (this one's is 20); a much bigger one overflows the limiter's arithmetic."""
KEY_HINT = "generate one with `python -c 'import secrets; print(secrets.token_hex(32))'`"
MISSING_TOKEN = (
    "AUGMENT_API_TOKEN is not set; export your service-account token "
    "(or run `analytics-pipeline demo`, which needs none)"
)


class ConfigError(PipelineError, ValueError):
    """A configuration value is missing or wrong; the message says which and how to fix it."""

    exit_code = FIX_INPUT


def environment(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> dict[str, str]:
    """The environment merged over ``.env`` (the environment wins)."""
    merged: dict[str, str] = {}
    path = env_file if env_file is not None else Path.cwd() / ".env"
    if path.is_file():
        merged.update(_env_file_values(path))
    merged.update(os.environ if environ is None else environ)
    return merged


def _env_file_values(path: Path) -> dict[str, str]:
    """The variables ``path`` sets, or a one-line error naming the file (never quoting it: secrets)."""
    try:
        values = dotenv_values(path)
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8 (or remove it)") from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path} ({exc.strerror or type(exc).__name__}); fix its permissions or remove it"
        ) from None
    found = {key: value for key, value in values.items() if value is not None}
    if any("\0" in key + value for key, value in found.items()):
        # No process environment can hold one: it would fail at the copy into os.environ.
        raise ConfigError(f"{path} holds a NUL character; remove it")
    return found


def load_dotenv_into_environ(env_file: Path | None = None) -> None:
    """Copy ``.env`` values into ``os.environ`` where unset, so Dagster's ``EnvVar`` sees them too."""
    for key, value in environment(env_file=env_file).items():
        os.environ.setdefault(key, value)


def is_loopback(host: str) -> bool:
    """True for localhost and addresses in 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, name: str = "AUGMENT_API_BASE_URL") -> str:
    """Return ``url`` without a trailing slash, or raise if it is not https (or http to loopback);
    ``name`` is the setting the message names."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The value is not quoted: it may carry credentials, or be a token pasted into the wrong variable.
        if not parts.scheme:
            problem = "it has no scheme"
        elif parts.scheme not in ("http", "https"):
            problem = f"its scheme is {parts.scheme!r}"
        else:
            problem = "it has no host"
        raise ConfigError(f"{name} must be an http(s) URL such as {DEFAULT_BASE_URL}; {problem}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"{name} uses plain http:// for the non-loopback host {parts.hostname!r}; "
            "use https://, or http:// only for 127.0.0.1/localhost"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{name} must not carry credentials, a query or a fragment")
    return url.rstrip("/")


def _positive_number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    integer: bool,
    minimum: float,
    maximum: float = math.inf,
    why: str = "",
) -> float:
    """``name`` as a finite number from ``minimum`` to ``maximum``; ``why`` explains the bounds."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} must be {kind} greater than 0, got {text!r}") from None
    return check_number(value, name, integer=integer, minimum=minimum, maximum=maximum, why=why, shown=text)


def check_number(
    value: float,
    name: str,
    *,
    integer: bool,
    minimum: float,
    maximum: float = math.inf,
    why: str = "",
    shown: str | None = None,
) -> float:
    """``value`` if it is a finite number from ``minimum`` to ``maximum``; ``name`` is what the message
    names, ``shown`` the value as the user wrote it (default: ``value``)."""
    got = repr(shown if shown is not None else value)
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {got}")
    if not (minimum <= value <= maximum and math.isfinite(value)):  # an int past floats fails the first
        bounds = f"from {minimum} to {maximum}" if maximum < math.inf else f"finite and at least {minimum}"
        raise ConfigError(f"{name} must be {bounds}{why}, got {got}")
    return int(value) if integer else value


def requests_per_minute_of(value: float, name: str) -> float:
    """A requests-per-minute setting, checked."""
    return check_number(
        value,
        name,
        integer=False,
        minimum=MIN_REQUESTS_PER_MINUTE,
        why=f" ({MIN_REQUESTS_PER_MINUTE} is one request every 100 minutes)",
    )


def burst_of(value: float, name: str) -> int:
    """A burst setting, checked."""
    return int(check_number(value, name, integer=True, minimum=1, maximum=MAX_BURST))


def check_start_date(start: dt.date, today: dt.date, name: str) -> dt.date:
    """A first partition that is a complete UTC day; ``name`` is the setting.

    A start older than the API's 2-year lookback is accepted: a start valid on the day a deployment was
    set up must stay valid for as long as it runs (its partitions hold the history the API has since
    forgotten). Only *fetching* a day beyond the lookback is refused, where a fetch is asked for
    (``cli/options.py``, ``defs/reach.py``).
    """
    if start >= today:
        raise ConfigError(
            f"{name} {start} is not a complete UTC day yet; use {today - dt.timedelta(days=1)} or earlier"
        )
    return start


def _data_dir(env: Mapping[str, str]) -> Path:
    text = env.get("ANALYTICS_DATA_DIR", "").strip()
    return Path(text) if text else DEFAULT_DATA_DIR


def _raw_location(env: Mapping[str, str]) -> RawLocation:
    # Imported here: config/raw_url.py raises this module's ConfigError.
    from analytics_pipeline.config.raw_url import raw_location

    return raw_location(env, _data_dir(env))


def _recheck_days(env: Mapping[str, str]) -> int:
    text = env.get("ANALYTICS_RECHECK_DAYS", "").strip()
    if not text:
        return DEFAULT_RECHECK_DAYS
    if not text.isdigit() or int(text) > MAX_RECHECK_DAYS:
        raise ConfigError(
            f"ANALYTICS_RECHECK_DAYS must be a whole number from 0 (never re-check) to {MAX_RECHECK_DAYS}, "
            f"got {text!r}"
        )
    return int(text)


def _warehouse_url(env: Mapping[str, str]) -> LakeUrl | None:
    """``ANALYTICS_WAREHOUSE_URL`` with ``ANALYTICS_LAKE_DATA_PATH``: a DuckLake, or None for the file."""
    # Imported here: config.warehouse_url raises this module's ConfigError.
    from analytics_pipeline.config.warehouse_url import parse_warehouse_url

    return parse_warehouse_url(env.get("ANALYTICS_WAREHOUSE_URL"), env.get("ANALYTICS_LAKE_DATA_PATH"))


def check_api_token(value: str | None) -> Secret | None:
    """AUGMENT_API_TOKEN as the one :class:`Secret` every reader uses (Settings and the Dagster resource).

    Surrounding whitespace is dropped (:meth:`Secret.from_setting`); None when nothing is left. A token
    that still could not be sent in a header is refused in one line that never quotes it.
    """
    token = Secret.from_setting(value)
    problem = token.header_problem() if token is not None else None
    if problem:
        raise ConfigError(
            f"AUGMENT_API_TOKEN {problem}; a token is printable ASCII without spaces: set it again, "
            "copied exactly as issued"
        )
    return token


def check_pseudonymize_key(value: str) -> Secret:
    """The key as the one :class:`Secret` every reader uses, or a one-line error if it is too short.

    Surrounding whitespace is dropped (:meth:`Secret.from_setting`), by Settings and the Dagster resource
    alike: the key's fingerprint, recorded in the data directory, must not depend on who read it.
    """
    key = Secret.from_setting(value)
    if key is None or len(key.reveal()) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"ANALYTICS_PSEUDONYMIZE_KEY must be at least {MIN_KEY_LENGTH} characters; {KEY_HINT}"
        )
    return key


def _pseudonymize_key(env: Mapping[str, str]) -> Secret | None:
    """The pseudonymisation key when ``ANALYTICS_PSEUDONYMIZE=1``, None when it is 0 or unset."""
    # A key without the switch is refused rather than ignored: it says the user expects pseudonyms,
    # and ignoring it would land plain emails.
    switch = env.get("ANALYTICS_PSEUDONYMIZE", "").strip()
    key = env.get("ANALYTICS_PSEUDONYMIZE_KEY", "").strip()
    if switch not in ("", "0", "1"):
        # The value is not quoted: a key pasted into the wrong variable must not end up in a log.
        raise ConfigError("ANALYTICS_PSEUDONYMIZE must be 1 (pseudonymise emails) or 0 (keep them)")
    if switch == "1":
        if not key:
            raise ConfigError(
                "ANALYTICS_PSEUDONYMIZE=1 needs ANALYTICS_PSEUDONYMIZE_KEY; "
                f"{KEY_HINT} and keep it with your secrets"
            )
        return check_pseudonymize_key(key)
    if key and not switch:
        raise ConfigError(
            "ANALYTICS_PSEUDONYMIZE_KEY is set but ANALYTICS_PSEUDONYMIZE is not; set "
            "ANALYTICS_PSEUDONYMIZE=1 to pseudonymise emails (or =0 to keep them, or unset the key)"
        )
    return None


@dataclass(frozen=True)
class Settings:
    """The pipeline's configuration (see the README's configuration table)."""

    api_token: Secret | None
    api_base_url: str = DEFAULT_BASE_URL
    data_dir: Path = DEFAULT_DATA_DIR
    start_date: dt.date = field(default_factory=lambda: lookback_floor(utc_today()))
    """``ANALYTICS_START_DATE``, or when unset the API's lookback floor today (:attr:`start_configured`)."""
    start_configured: bool = False
    """Whether ``ANALYTICS_START_DATE`` is set; when not, the first partition is the first day the
    deployment loaded, once it loaded one (``defs/first_partition.py``)."""
    requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE
    burst: int = DEFAULT_BURST
    recheck_days: int = DEFAULT_RECHECK_DAYS
    pseudonymize_key: Secret | None = None
    """Set exactly when ``ANALYTICS_PSEUDONYMIZE=1``: emails are then pseudonymised before they land."""
    raw: RawLocation | None = None
    """Where raw partitions land (``ANALYTICS_RAW_URL``); None: ``<data dir>/raw``."""
    state_url: StateUrl | None = None
    """``ANALYTICS_STATE_URL``: the rate limiter's state in PostgreSQL; None: in the data directory."""
    warehouse_url: LakeUrl | None = None
    """``ANALYTICS_WAREHOUSE_URL``: the warehouse as a DuckLake; None: ``<data dir>/warehouse.duckdb``."""
    organizations_file: tuple[Organization, ...] = ()
    """The organisations ``ANALYTICS_ORGANIZATIONS`` names; empty without it (see :attr:`organizations`)."""
    owners: tuple[str, ...] = ()
    """``ANALYTICS_OWNERS``: the owners of the assets in Dagster (each organisation's, unless its own)."""

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        today: dt.date | None = None,
        env_file: Path | None = None,
    ) -> Settings:
        """Read and validate every variable; raise :class:`ConfigError` on the first bad one."""
        # Imported here: config.state_url and config.organizations raise this module's ConfigError.
        from analytics_pipeline.config.organizations import ORGANIZATIONS, read_organizations
        from analytics_pipeline.config.owners import owners_from_env
        from analytics_pipeline.config.state_url import parse_state_url

        env = environment(environ, env_file)
        today = today or utc_today()
        start_text = env.get("ANALYTICS_START_DATE", "").strip()
        if start_text:
            try:
                start = parse_date(start_text, "ANALYTICS_START_DATE")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            start = check_start_date(start, today, "ANALYTICS_START_DATE")
        else:
            start = lookback_floor(today)
        owners = owners_from_env(env)
        return cls(
            api_token=check_api_token(env.get("AUGMENT_API_TOKEN")),
            api_base_url=check_base_url(env.get("AUGMENT_API_BASE_URL", "").strip() or DEFAULT_BASE_URL),
            data_dir=_data_dir(env),
            start_date=start,
            start_configured=bool(start_text),
            requests_per_minute=_positive_number(
                env,
                "AUGMENT_API_REQUESTS_PER_MINUTE",
                DEFAULT_REQUESTS_PER_MINUTE,
                integer=False,
                minimum=MIN_REQUESTS_PER_MINUTE,
                why=f" ({MIN_REQUESTS_PER_MINUTE} is one request every 100 minutes)",
            ),
            burst=int(
                _positive_number(
                    env, "AUGMENT_API_BURST", DEFAULT_BURST, integer=True, minimum=1, maximum=MAX_BURST
                )
            ),
            recheck_days=_recheck_days(env),
            pseudonymize_key=_pseudonymize_key(env),
            raw=_raw_location(env),
            state_url=parse_state_url(env.get("ANALYTICS_STATE_URL")),
            warehouse_url=_warehouse_url(env),
            organizations_file=(
                read_organizations(
                    organizations_path,
                    env,
                    today,
                    start,
                    start_configured=bool(start_text),
                    default_owners=owners,
                )
                if (organizations_path := env.get(ORGANIZATIONS, "").strip())
                else ()
            ),
            owners=owners,
        )

    @property
    def paths(self) -> DataPaths:
        """The data directory's files and folders."""
        return DataPaths(self.data_dir)

    @property
    def organizations(self) -> tuple[Organization, ...]:
        """The organisations to fetch: the file's, or the one ``default`` of ``AUGMENT_API_TOKEN`` and the
        other API variables."""
        from analytics_pipeline.config.organizations import Organization
        from analytics_pipeline.organization import DEFAULT_ORGANIZATION

        if self.organizations_file:
            return self.organizations_file
        return (
            Organization(
                name=DEFAULT_ORGANIZATION,
                token=self.api_token,
                base_url=self.api_base_url,
                requests_per_minute=self.requests_per_minute,
                burst=self.burst,
                start_date=self.start_date,
                start_configured=self.start_configured,
                owners=self.owners,
            ),
        )

    def require_token(self) -> Secret:
        """The token, or a one-line error saying how to provide it."""
        if self.api_token is None:
            raise ConfigError(MISSING_TOKEN)
        return self.api_token


@dataclass(frozen=True)
class LocalSettings:
    """The configuration of the commands that send the API no request: ``demo``, ``export``, ``report``.

    Read from the same environment and ``.env`` as :class:`Settings`, by the same rules and with the same
    messages, but only the variables these commands use: a mistake in a setting of the API (or a token
    missing) does not stop a report or an export.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    pseudonymize_key: Secret | None = None
    """Read only for a command that lands data (``pseudonymize``); else None."""
    recheck_days: int = DEFAULT_RECHECK_DAYS
    """Read only for a command that loads partitions (``loads_partitions``): whether one is still
    provisional depends on it; else the default."""
    warehouse_url: LakeUrl | None = None
    """``ANALYTICS_WAREHOUSE_URL``: the warehouse as a DuckLake; None: ``<data dir>/warehouse.duckdb``."""
    raw: RawLocation | None = None
    """Read only for a command that loads partitions (``loads_partitions``): ``ANALYTICS_RAW_URL``."""

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        env_file: Path | None = None,
        pseudonymize: bool = False,
        loads_partitions: bool = False,
    ) -> LocalSettings:
        """Read ``ANALYTICS_DATA_DIR``, the warehouse's location; with ``pseudonymize`` the pseudonymisation
        switch and key; with ``loads_partitions`` ``ANALYTICS_RECHECK_DAYS`` and ``ANALYTICS_RAW_URL``."""
        env = environment(environ, env_file)
        return cls(
            data_dir=_data_dir(env),
            pseudonymize_key=_pseudonymize_key(env) if pseudonymize else None,
            recheck_days=_recheck_days(env) if loads_partitions else DEFAULT_RECHECK_DAYS,
            warehouse_url=_warehouse_url(env),
            raw=_raw_location(env) if loads_partitions else None,
        )

    @property
    def paths(self) -> DataPaths:
        """The data directory's files and folders."""
        return DataPaths(self.data_dir)
