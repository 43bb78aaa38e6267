"""Guards on the data directory, so sandbox data and real data never mix.

The demo writes synthetic data; a real backfill writes an organisation's data. A marker file tells
them apart, and each refuses a directory that holds the other's data rather than overwrite it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from analytics_pipeline.settings import ConfigError, is_loopback

SANDBOX_MARKER = ".sandbox-data"


def _holds_data(data_dir: Path) -> bool:
    return (data_dir / "warehouse.duckdb").exists() or (data_dir / "raw").exists()


def check_usable(data_dir: Path) -> None:
    """The data directory exists (or can be created) and this user can list it and write in it.

    Tried for real (a probe file created and removed) rather than judged from permission bits, which
    say nothing for root, read-only mounts or ACLs.
    """
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"ANALYTICS_DATA_DIR {data_dir} is not a directory; point it at a directory")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create ANALYTICS_DATA_DIR {data_dir} ({exc.strerror or type(exc).__name__}); "
            "choose a directory you can write to"
        ) from None
    try:
        os.listdir(data_dir)
        with tempfile.TemporaryFile(dir=data_dir, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"ANALYTICS_DATA_DIR {data_dir} is not readable and writable by this user "
            f"({exc.strerror or type(exc).__name__}); fix its permissions or choose another directory"
        ) from None


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
