"""The API's answers a derivation's checks asked for, kept beside the raw partitions so that
``rebuild`` checks derived days again without a request.

Only one kind: user-activity over the backfill's part of a month whose other days are not loaded
(:mod:`analytics_pipeline.backfill.derivation`). It is no endpoint's partition (its window is not a day
or a calendar month), so it lives apart from them, one file per window:
``<raw>/_checks/user_activity/month=YYYY-MM-01/window=START..END.parquet``, per-member sums as the
checks read them (pseudonymised as the landed records are). Written whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path, PurePath

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from analytics_pipeline.landing.store import RawStore

FOLDER = "_checks"


def _path(store: RawStore, month: dt.date, start: dt.date, end: dt.date) -> PurePath:
    return store.root / FOLDER / "user_activity" / f"month={month}" / f"window={start}..{end}.parquet"


def save_window_answer(
    store: RawStore, month: dt.date, start: dt.date, end: dt.date, answer: pa.Table
) -> None:
    """Keep the API's per-member sums over ``start..end`` (days of ``month``)."""
    path = _path(store, month, start, end)
    if not store.local:  # an object is written whole by its one PUT
        store.filesystem.create_dir(str(path.parent), recursive=True)
        with store.filesystem.open_output_stream(str(path)) as out:
            pq.write_table(answer, out)
        return
    final = Path(path)
    final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
    try:
        pq.write_table(answer, staging)
        os.replace(staging, final)
    finally:
        staging.unlink(missing_ok=True)


def window_answer(store: RawStore, month: dt.date, start: dt.date, end: dt.date) -> pa.Table | None:
    """The kept answer for exactly ``start..end``, or None (never asked, or unreadable: ask again)."""
    path = str(_path(store, month, start, end))
    if store.filesystem.get_file_info(path).type != pafs.FileType.File:
        return None
    try:
        with store.filesystem.open_input_file(path) as source, pq.ParquetFile(source) as answer:
            return answer.read()
    except (pa.ArrowException, OSError):
        return None
