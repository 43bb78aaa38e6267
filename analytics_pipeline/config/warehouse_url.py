"""``ANALYTICS_WAREHOUSE_URL`` and ``ANALYTICS_LAKE_DATA_PATH``: where the warehouse lives.

Unset, the warehouse is ``<data dir>/warehouse.duckdb``. Set to ``ducklake:postgres:<libpq key=value
string>`` (``ducklake:postgres:host=db.internal dbname=analytics user=etl password=...``), it is a DuckLake
whose catalog is that PostgreSQL database and whose Parquet files go under ``ANALYTICS_LAKE_DATA_PATH``:
a directory every host shares, or ``s3://bucket/prefix``. Any other value is refused in one line.

The connection string carries a password: :class:`LakeUrl` keeps it out of its ``repr``, refuses to be
pickled, hands it out only through :meth:`LakeUrl.password`, and :meth:`LakeUrl.redact` masks it in any
text that might echo it (a driver's error message).
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg2
from psycopg2.extensions import make_dsn, parse_dsn

from analytics_pipeline.config.settings import ConfigError

VARIABLE = "ANALYTICS_WAREHOUSE_URL"
DATA_PATH_VARIABLE = "ANALYTICS_LAKE_DATA_PATH"
PREFIX = "ducklake:postgres:"
EXAMPLE = "ducklake:postgres:host=HOST dbname=DB user=USER password=PASSWORD"
MASK = "**********"
S3_SCHEME = "s3://"

_PASSWORD_SETTING = re.compile(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
"""A libpq ``password=...`` setting, quoted or not, as a driver may echo a connection string."""


class LakeUrl:
    """A validated DuckLake location: the catalog's libpq settings and the data path."""

    __slots__ = ("_settings", "data_path")

    def __init__(self, conninfo: str, data_path: str) -> None:
        self._settings: dict[str, str] = dict(parse_dsn(conninfo))
        self.data_path = data_path
        """Where DuckLake writes its Parquet files: a directory, or ``s3://bucket/prefix``."""

    @property
    def password(self) -> str | None:
        """The catalog's password: call this only where the connection is opened."""
        return self._settings.get("password")

    @property
    def conninfo(self) -> str:
        """The libpq string without the password (DuckDB gets that from a secret, never in SQL text)."""
        return make_dsn(**{key: value for key, value in self._settings.items() if key != "password"})

    def reveal(self) -> str:
        """The full libpq string, password included: for :mod:`psycopg2` connections only."""
        return make_dsn(**self._settings)

    @property
    def database(self) -> str:
        """The catalog database's name, as libpq would choose it (for messages)."""
        return self._settings.get("dbname") or self._settings.get("user") or "(the default database)"

    @property
    def display(self) -> str:
        """Where the lake is, without the password, for messages."""
        host = self._settings.get("host", "localhost")
        port = f":{self._settings['port']}" if "port" in self._settings else ""
        return f"the DuckLake with catalog {self.database} on {host}{port} and data in {self.data_path}"

    @property
    def is_s3(self) -> bool:
        """Whether the data path is in S3 (httpfs and an S3 secret are then needed)."""
        return self.data_path.startswith(S3_SCHEME)

    def redact(self, text: str) -> str:
        """``text`` with the password masked, wherever and however it appears."""
        text = _PASSWORD_SETTING.sub(f"password={MASK}", text)
        password = self.password
        return text.replace(password, MASK) if password else text

    def __repr__(self) -> str:
        return f"LakeUrl({self.display!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LakeUrl) and (other._settings, other.data_path) == (
            self._settings,
            self.data_path,
        )

    def __hash__(self) -> int:
        return hash((tuple(sorted(self._settings.items())), self.data_path))

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a LakeUrl is never pickled: it holds a password")


def parse_warehouse_url(value: str | None, data_path: str | None) -> LakeUrl | None:
    """The DuckLake the two variables name, or None for the file warehouse; a one-line
    :class:`ConfigError` for anything else. Nothing is connected to here (see ``LakeWarehouse.verify``)."""
    text = (value or "").strip()
    path_text = (data_path or "").strip()
    if not text:
        if path_text:
            raise ConfigError(
                f"{DATA_PATH_VARIABLE} is set but {VARIABLE} is not; set {VARIABLE}={EXAMPLE} "
                f"(or unset {DATA_PATH_VARIABLE} for the warehouse file in the data directory)"
            )
        return None
    if not text.startswith(PREFIX):
        # The value is not quoted: it may hold a password.
        raise ConfigError(
            f"{VARIABLE} must be unset (the file <data dir>/warehouse.duckdb) or {EXAMPLE}; "
            f"it does not start with {PREFIX}"
        )
    conninfo = text.removeprefix(PREFIX).strip()
    if not conninfo:
        raise ConfigError(f"{VARIABLE} has no connection string after {PREFIX}; use {EXAMPLE}")
    try:
        parse_dsn(conninfo)
    except psycopg2.ProgrammingError:
        raise ConfigError(
            f"{VARIABLE} is not a valid libpq key=value string after {PREFIX} (quote a value holding "
            f"spaces as key='a value'); use {EXAMPLE}"
        ) from None
    return LakeUrl(conninfo, _data_path(path_text))


def _data_path(text: str) -> str:
    """``ANALYTICS_LAKE_DATA_PATH``: an existing directory (absolute, as every host must see the same
    one) or ``s3://bucket/prefix``, ending in a slash as DuckLake stores it."""
    if not text:
        raise ConfigError(
            f"{VARIABLE} is a DuckLake but {DATA_PATH_VARIABLE} is not set; set it to a directory every "
            "host shares, or to s3://bucket/prefix"
        )
    if text.startswith(S3_SCHEME):
        if len(text) == len(S3_SCHEME) or text[len(S3_SCHEME)] == "/":
            raise ConfigError(f"{DATA_PATH_VARIABLE} {text} names no bucket; use s3://bucket/prefix")
        return text.rstrip("/") + "/"
    if "://" in text:
        raise ConfigError(
            f"{DATA_PATH_VARIABLE} must be a directory or s3://bucket/prefix; "
            f"{text.partition('://')[0]}:// is not supported"
        )
    path = Path(text).expanduser().absolute()
    if not path.is_dir():
        raise ConfigError(
            f"{DATA_PATH_VARIABLE} {path} is not an existing directory; create it (on storage every "
            "host shares) or fix the path"
        )
    return str(path).rstrip("/") + "/"
