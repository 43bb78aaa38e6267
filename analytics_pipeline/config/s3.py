"""The standard AWS settings for an S3-compatible store, read from the environment.

``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` (required), ``AWS_SESSION_TOKEN`` (temporary
credentials), ``AWS_REGION`` or else ``AWS_DEFAULT_REGION``, and ``AWS_ENDPOINT_URL_S3`` or else
``AWS_ENDPOINT_URL`` (MinIO, Ceph, R2, a test server: any S3-compatible store). The names and their
precedence are the AWS SDKs' own, so a host already set up for the AWS CLI needs nothing more.

The same settings reach both readers of the bucket: pyarrow (:meth:`S3Settings.filesystem`, which lands
and reads partitions) and DuckDB (:meth:`S3Settings.create_duckdb_secret`, which loads them into the
warehouse). The secret key and session token are :class:`~analytics_pipeline.privacy.secret.Secret`\\ s:
never logged, printed, stored or quoted in an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import duckdb
import pyarrow.fs as pafs

from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.privacy.secret import Secret

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
SESSION_TOKEN = "AWS_SESSION_TOKEN"
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")
"""Where the region is read, first set wins (the AWS SDKs' order)."""
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
"""Where a non-AWS endpoint is read, first set wins (the service-specific one before the general one)."""
ENVIRONMENT_COPIES = ("s3_secret_access_key", "s3_session_token")
"""The DuckDB settings httpfs fills from the environment's secrets when it loads."""


def _first(env: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """The first of ``names`` set to something, with its value; None if none is."""
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


@dataclass(frozen=True)
class S3Endpoint:
    """A non-AWS endpoint, split the way both pyarrow and DuckDB take it."""

    scheme: str
    """``http`` or ``https``."""
    host: str
    """``host[:port]``."""

    @classmethod
    def parse(cls, name: str, text: str) -> S3Endpoint:
        """``text`` (the value of the variable ``name``) as an endpoint, or a one-line error."""
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Not quoted: a credential pasted into the wrong variable must not reach a log.
            raise ConfigError(f"{name} must be an http(s) URL such as https://s3.example.com:9000")
        if parts.username or parts.password or parts.path.strip("/") or parts.query or parts.fragment:
            raise ConfigError(f"{name} must be only scheme, host and port (no credentials, path or query)")
        return cls(parts.scheme, parts.netloc)


@dataclass(frozen=True)
class S3Settings:
    """Credentials, region and endpoint for an S3-compatible store (see the module for the variables)."""

    access_key_id: str = field(repr=False)
    secret_access_key: Secret
    session_token: Secret | None = None
    region: str | None = None
    endpoint: S3Endpoint | None = None
    """None: AWS itself."""

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, needed_by: str) -> S3Settings:
        """Read the AWS variables; ``needed_by`` (a variable set to an ``s3://`` URL) is named in the
        one-line error when the credentials are missing."""
        key_id = env.get(ACCESS_KEY_ID, "").strip()
        secret = Secret.from_setting(env.get(SECRET_ACCESS_KEY))
        if not key_id or secret is None:
            missing = " and ".join(
                n for n, v in ((ACCESS_KEY_ID, key_id), (SECRET_ACCESS_KEY, secret)) if not v
            )
            raise ConfigError(
                f"{needed_by} is an s3:// URL but {missing} is not set; export the store's credentials "
                f"({ACCESS_KEY_ID}, {SECRET_ACCESS_KEY}, and {ENDPOINT_VARIABLES[1]} for a non-AWS store)"
            )
        region = _first(env, REGION_VARIABLES)
        endpoint = _first(env, ENDPOINT_VARIABLES)
        return cls(
            access_key_id=key_id,
            secret_access_key=secret,
            session_token=Secret.from_setting(env.get(SESSION_TOKEN)),
            region=region[1] if region else None,
            endpoint=S3Endpoint.parse(*endpoint) if endpoint else None,
        )

    def filesystem(self) -> pafs.S3FileSystem:
        """A pyarrow file system on the store, with exactly these settings (none read behind our back)."""
        return pafs.S3FileSystem(
            access_key=self.access_key_id,
            secret_key=self.secret_access_key.reveal(),
            session_token=self.session_token.reveal() if self.session_token else None,
            region=self.region,
            scheme=self.endpoint.scheme if self.endpoint else None,
            endpoint_override=self.endpoint.host if self.endpoint else None,
        )

    def check_bucket(self, url: str, variable: str) -> None:
        """Raise a one-line :class:`ConfigError` now if the bucket of ``url`` (``s3://bucket/...``, the
        value of ``variable``) is missing or cannot be reached: before a command fetches for minutes and
        only then fails to write."""
        bucket = url.removeprefix("s3://").split("/", 1)[0]
        try:
            found = self.filesystem().get_file_info(bucket)
        except OSError as exc:
            # pyarrow's message names the bucket, the operation and the network error, never a credential.
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(
                f"{variable} {url} cannot be reached ({why}); check the URL, AWS_ENDPOINT_URL and the "
                "credentials"
            ) from None
        if found.type != pafs.FileType.Directory:
            raise ConfigError(
                f"{variable} {url} names the bucket {bucket!r}, which does not exist there; create it, or "
                "fix the URL (or AWS_ENDPOINT_URL)"
            )

    def create_duckdb_secret(self, con: duckdb.DuckDBPyConnection, name: str, scope: str) -> None:
        """Give ``con`` these credentials for URLs under ``scope`` (``s3://bucket/prefix``), as a
        temporary secret ``name`` (kept in memory, never written to disk by DuckDB).

        Needs the httpfs extension loaded on ``con``.
        """
        options = {
            "type": "s3",
            "key_id": _literal(self.access_key_id),
            "secret": _literal(self.secret_access_key.reveal()),
            "scope": _literal(scope),
        }
        if self.session_token is not None:
            options["session_token"] = _literal(self.session_token.reveal())
        if self.region is not None:
            options["region"] = _literal(self.region)
        if self.endpoint is not None:
            # pyarrow addresses a custom endpoint path-style (bucket in the path); DuckDB must do the same.
            options["endpoint"] = _literal(self.endpoint.host)
            options["use_ssl"] = "true" if self.endpoint.scheme == "https" else "false"
            options["url_style"] = "'path'"
        body = ", ".join(f"{option} {value}" for option, value in options.items())
        # CREATE SECRET takes no bound parameters: its values must be literals. Each is quoted by
        # _literal, so no value can end the literal, and the statement is never logged or kept. A failure
        # is reported without DuckDB's text, which could echo the statement.
        try:
            con.execute(f"create or replace temporary secret {name} ({body})")
        except duckdb.Error:
            raise ConfigError(
                "DuckDB refused the S3 settings (AWS_REGION, AWS_ENDPOINT_URL, the credentials); check them"
            ) from None
        # Loading httpfs copied AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the environment into
        # DuckDB settings any query can read (current_setting, duckdb_settings(): `export --query` would
        # write them to a file); the secret is what this connection uses, so the copies go.
        for setting in ENVIRONMENT_COPIES:
            con.execute(f"reset global {setting}")


def _literal(value: str) -> str:
    """``value`` as a SQL string literal: quotes doubled, so the literal ends only where we end it."""
    return "'" + value.replace("'", "''") + "'"
