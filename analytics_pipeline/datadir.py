"""Guards on the data directory, so sandbox data and real data never mix.

The demo writes synthetic data; a real backfill writes an organisation's data. A marker file tells
them apart, and each refuses a directory that holds the other's data rather than overwrite it.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from analytics_pipeline.settings import ConfigError, is_loopback

SANDBOX_MARKER = ".sandbox-data"


def _holds_data(data_dir: Path) -> bool:
    return (data_dir / "warehouse.duckdb").exists() or (data_dir / "raw").exists()


def check_usable(data_dir: Path) -> None:
    """The data directory exists (or can be created) and is readable and writable by us."""
    if data_dir.exists():
        if not data_dir.is_dir():
            raise ConfigError(f"ANALYTICS_DATA_DIR {data_dir} is not a directory; point it at a directory")
        if not os.access(data_dir, os.R_OK | os.W_OK | os.X_OK):
            raise ConfigError(
                f"ANALYTICS_DATA_DIR {data_dir} is not readable and writable by this user; "
                "fix its permissions or choose another directory"
            )
        return
    parent = data_dir.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create ANALYTICS_DATA_DIR {data_dir}: {parent} is not writable")


def claim_for_sandbox(data_dir: Path) -> None:
    """Allow the demo to write here, unless the directory holds real data."""
    check_usable(data_dir)
    if _holds_data(data_dir) and not (data_dir / SANDBOX_MARKER).exists():
        raise ConfigError(
            f"{data_dir} holds data loaded from the real API; the demo will not overwrite it: "
            "set ANALYTICS_DATA_DIR to another directory for the demo"
        )
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (data_dir / SANDBOX_MARKER).touch(mode=0o600)


def claim_for_api(data_dir: Path, base_url: str) -> None:
    """Allow a real load here, unless the directory holds the demo's synthetic data."""
    check_usable(data_dir)
    if (data_dir / SANDBOX_MARKER).exists() and not _is_loopback_url(base_url):
        raise ConfigError(
            f"{data_dir} holds the demo's synthetic data; delete it (or set ANALYTICS_DATA_DIR to "
            "another directory) before loading real data"
        )


def _is_loopback_url(url: str) -> bool:
    return is_loopback(urlsplit(url).hostname or "")
