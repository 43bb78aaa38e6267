"""``ANALYTICS_RAW_URL``: where raw partitions land.

- unset: ``<data dir>/raw``, as before the variable existed;
- a path (absolute, relative, or ``file:///...``): a local or shared volume;
- ``s3://bucket/prefix``: an S3-compatible store, with the standard AWS variables
  (:mod:`analytics_pipeline.config.s3`) for credentials, region and endpoint.

Anything else is a one-line :class:`~analytics_pipeline.config.settings.ConfigError` naming the variable,
raised before anything is written; so is an ``s3://`` URL without credentials in the environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.s3 import S3Settings
from analytics_pipeline.config.settings import ConfigError

RAW_URL = "ANALYTICS_RAW_URL"
EXAMPLES = "a path such as /mnt/shared/raw, or s3://bucket/prefix"
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
"""S3's rule for bucket names: 3 to 63 lowercase letters, digits, dots and hyphens."""


@dataclass(frozen=True)
class LocalRaw:
    """Raw partitions in a folder of a local or shared file system."""

    root: Path

    @property
    def url(self) -> str:
        """The folder, as users name it."""
        return str(self.root)


@dataclass(frozen=True)
class S3Raw:
    """Raw partitions under a prefix of an S3 bucket."""

    bucket: str
    prefix: str
    """Without leading or trailing slashes; "" for the bucket's top."""
    s3: S3Settings = field(repr=False, compare=False)

    @property
    def root(self) -> PurePosixPath:
        """``bucket/prefix``: the root as pyarrow's S3 file system names it."""
        return PurePosixPath(self.bucket, self.prefix)

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.root}"


RawLocation = LocalRaw | S3Raw


def raw_location(env: Mapping[str, str], data_dir: Path) -> RawLocation:
    """Where raw partitions land, from ``ANALYTICS_RAW_URL`` in ``env`` (``<data_dir>/raw`` unset)."""
    text = env.get(RAW_URL, "").strip()
    if not text:
        return LocalRaw(DataPaths(data_dir).raw)
    parts = urlsplit(text)
    if len(parts.scheme) <= 1:  # no scheme, or a Windows drive letter: a path
        return LocalRaw(Path(text))
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise ConfigError(f"{RAW_URL} must be a file:///absolute/path URL, or {EXAMPLES}")
        return LocalRaw(Path(unquote(parts.path)))
    if parts.scheme != "s3":
        # The value is not quoted: it may carry credentials.
        raise ConfigError(f"{RAW_URL} must be {EXAMPLES}; its scheme is {parts.scheme!r}")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"{RAW_URL} must not carry credentials, a query or a fragment; "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead"
        )
    if not parts.netloc:
        raise ConfigError(f"{RAW_URL} names no bucket; use s3://bucket/prefix")
    if not BUCKET_NAME.fullmatch(parts.netloc):
        raise ConfigError(
            f"{RAW_URL} names a bucket S3 does not allow; a bucket name is 3 to 63 lowercase letters, "
            "digits, dots and hyphens"
        )
    prefix = "/".join(p for p in parts.path.split("/") if p)
    if any(p in (".", "..") for p in prefix.split("/")):
        raise ConfigError(f"{RAW_URL} must not hold '.' or '..' in its prefix")
    return S3Raw(parts.netloc, prefix, S3Settings.from_env(env, needed_by=RAW_URL))
