"""Where ``export`` and ``report`` may write: never over the data directory's own files.

A user's ``--out`` is checked before anything is written. It is refused when it resolves (symlinks
followed) to a file the pipeline manages (the warehouse and its WAL and lock, anything under ``raw/``
or ``.state/``, the markers), or to anything but a new file or a regular file we may replace (a
directory, a device, a FIFO, a socket). Reports under ``reports/`` are the pipeline's own output and
stay writable.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from analytics_pipeline.config.paths import (
    EMAILS_MARKER,
    RAW_DIR,
    SANDBOX_MARKER,
    SOURCE_MARKER,
    STATE_DIR,
    WAREHOUSE_FILE,
)
from analytics_pipeline.config.settings import ConfigError

MANAGED_DIRS: tuple[str, ...] = (RAW_DIR, STATE_DIR)
"""Folders of the data directory that hold nothing but the pipeline's own files."""
MANAGED_FILES: tuple[str, ...] = (
    WAREHOUSE_FILE,
    f"{WAREHOUSE_FILE}.wal",
    f"{WAREHOUSE_FILE}.lock",
    EMAILS_MARKER,
    SANDBOX_MARKER,
    SOURCE_MARKER,
)
"""Files at the data directory's top that the pipeline reads back: overwriting one loses data."""


def _managed(target: Path, data_dir: Path) -> bool:
    try:
        relative = target.relative_to(data_dir)
    except ValueError:
        return False
    parts = relative.parts
    if not parts:
        return True  # the data directory itself
    if parts[0] in MANAGED_DIRS:
        return True
    # Hidden files beside the warehouse are its staging copies and publish markers.
    return len(parts) == 1 and (parts[0] in MANAGED_FILES or parts[0].startswith(f".{WAREHOUSE_FILE}"))


def check_output_path(
    out: Path, data_dir: Path, *, option: str = "--out", example: str = "export.csv"
) -> Path:
    """``out``, or a one-line :class:`ConfigError` when writing there could destroy something."""
    try:
        info = os.stat(out)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(f"{option} {out} cannot be checked ({exc.strerror}); choose another path") from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{option} {out} is a directory; give a file path such as {out / example}")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{option} {out} is not a regular file; give the path of a new or regular file")
    if not out.parent.is_dir():
        raise ConfigError(f"{option} directory {out.parent} does not exist; create it or choose another path")
    if _managed(out.resolve(), data_dir.resolve()):
        raise ConfigError(
            f"{option} {out} is one of the pipeline's own files in the data directory {data_dir}; "
            "writing there would destroy landed data: choose a path outside it (or under its reports/)"
        )
    return out
