"""The organisations one deployment fetches: ``ANALYTICS_ORGANIZATIONS``, or the one ``default``.

``ANALYTICS_ORGANIZATIONS`` names a TOML file with one table per organisation::

    [organizations.acme]
    token_env = "ACME_AUGMENT_TOKEN"            # the NAME of the variable holding the token
    base_url = "https://api.augmentcode.com"    # optional
    requests_per_minute = 10                    # optional, default 10
    burst = 20                                  # optional, default 20
    start_date = "2025-01-01"                   # optional, default: ANALYTICS_START_DATE, else the first
                                                # day loaded (the lookback's floor until one is)
    owners = ["team:data-platform"]             # optional, default: ANALYTICS_OWNERS (Dagster's owners)

The file is read, never written; it names the variables that hold the tokens, never a token. Without
it, the deployment has one organisation, ``default``, read from ``AUGMENT_API_TOKEN`` and the other
variables as before (see :meth:`analytics_pipeline.config.settings.Settings.organizations`).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics_pipeline.config.owners import check_owners
from analytics_pipeline.config.settings import (
    DEFAULT_BASE_URL,
    DEFAULT_BURST,
    DEFAULT_REQUESTS_PER_MINUTE,
    MISSING_TOKEN,
    ConfigError,
    burst_of,
    check_base_url,
    check_start_date,
    requests_per_minute_of,
)
from analytics_pipeline.dates import lookback_floor, parse_date, utc_today
from analytics_pipeline.organization import ALL, DEFAULT_ORGANIZATION, NAME_PATTERN, dagster_name
from analytics_pipeline.privacy.secret import Secret

ORGANIZATIONS = "ANALYTICS_ORGANIZATIONS"
VARIABLE_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
KEYS = frozenset({"token_env", "base_url", "requests_per_minute", "burst", "start_date", "owners"})
EXAMPLE = '[organizations.acme] with token_env = "ACME_AUGMENT_TOKEN"'


@dataclass(frozen=True)
class Organization:
    """One Augment organisation: its token (read from the variable ``token_env``), API and limits."""

    name: str
    token: Secret | None = field(repr=False)
    token_env: str = "AUGMENT_API_TOKEN"
    base_url: str = DEFAULT_BASE_URL
    requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE
    burst: int = DEFAULT_BURST
    start_date: dt.date = field(default_factory=lambda: lookback_floor(utc_today()))
    """The configured first partition, or the API's lookback floor today when none is configured."""
    owners: tuple[str, ...] = ()
    """Its assets' owners in Dagster: ``owners`` here, else ``ANALYTICS_OWNERS``."""
    start_configured: bool = False
    """Whether :attr:`start_date` was configured (``start_date`` here, or ``ANALYTICS_START_DATE``); when
    not, the first partition is the first day the organisation loaded (``defs/first_partition.py``)."""

    @property
    def dagster_name(self) -> str:
        """The name in Dagster's names (asset keys, groups, jobs), which allow no ``-``."""
        return dagster_name(self.name)

    def require_token(self) -> Secret:
        """The token, or a one-line error naming the variable to set."""
        if self.token is None:
            if self.name == DEFAULT_ORGANIZATION and self.token_env == "AUGMENT_API_TOKEN":
                raise ConfigError(MISSING_TOKEN)
            raise ConfigError(
                f"{self.token_env} is not set; export organization {self.name!r}'s service-account token "
                "in it"
            )
        return self.token


def read_organizations(
    path_text: str,
    env: Mapping[str, str],
    today: dt.date,
    default_start: dt.date,
    *,
    start_configured: bool = False,
    default_owners: tuple[str, ...] = (),
) -> tuple[Organization, ...]:
    """The organisations of the file ``path_text`` names, each token read from ``env``, starting at
    ``default_start`` unless they say otherwise (``start_configured``: whether ``default_start`` is
    ``ANALYTICS_START_DATE`` rather than the lookback's floor); a one-line :class:`ConfigError` for the
    first problem (never quoting a value that may be a token)."""
    path = Path(path_text)
    where = f"{ORGANIZATIONS} ({path})"
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where} does not exist; create it ({EXAMPLE}) or unset {ORGANIZATIONS}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror or type(exc).__name__}); fix it") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML ({exc}); fix the file") from None
    extra = sorted(set(document) - {"organizations"})
    tables = document.get("organizations")
    if extra or not isinstance(tables, dict) or not tables:
        raise ConfigError(
            f"{where} must hold only [organizations.<name>] tables, at least one ({EXAMPLE})"
            + (f"; found {', '.join(map(repr, extra))}" if extra else "")
        )
    organizations = tuple(
        _organization(name, table, env, today, (default_start, start_configured), default_owners, where)
        for name, table in tables.items()
    )
    _check_distinct(organizations, where)
    return organizations


def _organization(
    name: str,
    table: Any,
    env: Mapping[str, str],
    today: dt.date,
    default_start: tuple[dt.date, bool],
    default_owners: tuple[str, ...],
    where: str,
) -> Organization:
    if not NAME_PATTERN.fullmatch(name) or name == ALL:
        raise ConfigError(
            f"{where}: organization name {name!r} must be 1 to 64 of a-z, 0-9, '_' and '-' (and not "
            f"{ALL!r}, which means every organisation in the analysis macros)"
        )
    here = f"{where}: organization {name!r}"
    if not isinstance(table, dict):
        raise ConfigError(f"{here} must be a table ({EXAMPLE})")
    unknown = sorted(set(table) - KEYS)
    if unknown:
        raise ConfigError(
            f"{here}: unknown key {', '.join(map(repr, unknown))}; use {', '.join(sorted(KEYS))}"
        )
    token_env = _token_env(table.get("token_env"), env, here)
    base_url = table.get("base_url", DEFAULT_BASE_URL)
    if not isinstance(base_url, str):
        raise ConfigError(f"{here}: base_url must be a string such as {DEFAULT_BASE_URL!r}")
    return Organization(
        name=name,
        token=_token(token_env, env, here),
        token_env=token_env,
        base_url=check_base_url(base_url, f"{here}: base_url"),
        requests_per_minute=requests_per_minute_of(
            _number(table, "requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE, here),
            f"{here}: requests_per_minute",
        ),
        burst=burst_of(_number(table, "burst", DEFAULT_BURST, here), f"{here}: burst"),
        start_date=_start_date(table.get("start_date"), today, default_start[0], here),
        start_configured=default_start[1] or table.get("start_date") is not None,
        owners=check_owners(table["owners"], f"{here}: owners") if "owners" in table else default_owners,
    )


def _token_env(value: object, env: Mapping[str, str], here: str) -> str:
    """The variable's name, refused (never quoted) when it is missing, not a name, or looks like a token."""
    if value is None:
        raise ConfigError(f"{here} has no token_env; name the variable that holds its token")
    fix = "token_env takes the NAME of the variable that holds the token (such as ACME_AUGMENT_TOKEN), never "
    if not isinstance(value, str) or not VARIABLE_PATTERN.fullmatch(value):
        raise ConfigError(f"{here}: {fix}a token or any other text; put the token in that variable")
    if _looks_like_token(value, env):
        raise ConfigError(
            f"{here}: {fix}the token itself, and this value looks like one; put it in a variable, name "
            "the variable here, and revoke the token if the file was shared"
        )
    return value


def _looks_like_token(value: str, env: Mapping[str, str]) -> bool:
    """A name that is some variable's value, or long, with lower case and digits: nothing like a name."""
    if value not in env and value in env.values():
        return True
    return len(value) >= 24 and any(c.islower() for c in value) and any(c.isdigit() for c in value)


def _token(token_env: str, env: Mapping[str, str], here: str) -> Secret:
    token = Secret.from_setting(env.get(token_env))
    if token is None:
        raise ConfigError(
            f"{here}: {token_env} is not set; export the organization's service-account token in it"
        )
    problem = token.header_problem()
    if problem:
        raise ConfigError(
            f"{here}: {token_env} {problem}; a token is printable ASCII without spaces: set it again, "
            "copied exactly as issued"
        )
    return token


def _number(table: dict[str, Any], key: str, default: float, here: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{here}: {key} must be a number, such as {default:g}")
    return value


def _start_date(value: object, today: dt.date, default: dt.date, here: str) -> dt.date:
    if value is None:
        return default
    name = f"{here}: start_date"
    if isinstance(value, str):
        try:
            value = parse_date(value, name)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise ConfigError(f"{name} must be a date such as 2025-01-01")
    return check_start_date(value, today, name)


def _check_distinct(organizations: tuple[Organization, ...], where: str) -> None:
    """No two organisations share a name in Dagster's spelling, or a token (one token, one organisation)."""
    seen: dict[str, str] = {}
    tokens: dict[Secret | None, str] = {}
    for org in organizations:
        other = seen.setdefault(org.dagster_name, org.name)
        if other != org.name:
            raise ConfigError(
                f"{where}: organizations {other!r} and {org.name!r} are one name to Dagster "
                "('-' becomes '_'); rename one"
            )
        holder = tokens.setdefault(org.token, org.name)
        if holder != org.name:
            raise ConfigError(
                f"{where}: organizations {holder!r} and {org.name!r} have the same token; each "
                "organisation's token is its own (its budget and its data are separate)"
            )
