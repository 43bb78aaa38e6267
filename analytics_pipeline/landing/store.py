"""The raw Parquet store: ``<raw>/<endpoint>/date=YYYY-MM-DD/part-0.parquet``, written atomically.

A partition is always exactly one file. It is written to a hidden temporary file beside its final
name, flushed to disk, then renamed over the old one, so a reader sees the old partition or the new one,
never half of either; a crash leaves at most a hidden ``.tmp`` file, removed by the next write of the
partition or by :meth:`RawStore.remove_stale_temporaries`. Two writers of one partition (two backfills
whose ranges share a month, say) take turns on a lock file beside it, so the one cleaning up never
removes the other's temporary file. Files are readable by their owner only. Each file carries, in its
Parquet key-value metadata, how it was fetched (see :class:`PartitionInfo`), so the warehouse can record
it without asking the API again.
"""

from __future__ import annotations

import array
import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from analytics_pipeline.api.endpoints import Endpoint
from analytics_pipeline.errors import DataError
from analytics_pipeline.landing.arrow_rows import (
    DIGEST_MODULUS,
    RAW_JSON,
    RecordError,
    arrow_schema,
    grain_keys,
    record_digest,
    records_digest,
    to_table,
    unknown_fields,
)
from analytics_pipeline.runtime.durability import fsync_path

log = logging.getLogger(__name__)

PART_NAME = "part-0.parquet"
TEMPORARY_GLOB = f".{PART_NAME}.*.tmp"
LOCK_NAME = ".lock"
LOCK_TIMEOUT = 600.0
"""Seconds to wait for another writer of the same partition (it holds the lock for one fetch)."""
METADATA_KEY = b"analytics_pipeline"
ROW_GROUP_ROWS = 50_000
QUARANTINE = ".quarantine"
"""Under the raw root: damaged partitions, moved aside (never deleted) to be fetched anew."""


class DamagedPartition(DataError):
    """A landed partition that is not one this pipeline wrote whole (truncated, foreign, inconsistent).

    By the time it is raised the file has been moved to the quarantine (``path`` to ``moved_to``), so
    the partition counts as not landed and the next run fetches it anew (the message says so).
    """

    transient = True

    def __init__(self, message: str, path: Path | None = None, moved_to: Path | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.moved_to = moved_to


@dataclass
class PartitionInfo:
    """How one landed partition was fetched (stored in its Parquet metadata)."""

    endpoint: str
    date: str
    rows: int = 0
    requests: int = 0
    """Requests attributed to this partition: a window's requests count on its newest day only,
    so the sum over partitions is the number of requests sent."""
    pages: int = 0
    fetched_at: str = ""
    window_start: str | None = None
    window_end: str | None = None
    unknown_fields: list[str] = field(default_factory=list)
    content_digest: str = ""
    """An order-independent digest of the records (``records_digest``; "" for partitions landed before
    digests were kept): equal digests, equal data."""
    duplicates_collapsed: int = 0
    """Records the API sent more than once (the same grain, the same content), landed once."""


def _footer(endpoint: Endpoint, day: dt.date, path: Path) -> PartitionInfo | str:
    """The partition's stored facts, or what is wrong with it: a file this pipeline wrote whole has a
    readable footer, our metadata for this endpoint and day, the endpoint's schema and as many rows as
    the metadata says."""
    try:
        metadata = pq.read_metadata(path)
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError):
        return "its Parquet footer cannot be read: a truncated or foreign file"
    stored = (metadata.metadata or {}).get(METADATA_KEY)
    if stored is None:
        return "it lacks this pipeline's metadata: a foreign file"
    try:
        info = PartitionInfo(**json.loads(stored))
    except (ValueError, TypeError):
        return "its metadata cannot be read"
    if (info.endpoint, info.date) != (endpoint.name, day.isoformat()):
        return "its metadata names another partition"
    if not metadata.schema.to_arrow_schema().equals(arrow_schema(endpoint), check_metadata=False):
        return f"its columns are not those of {endpoint.name}"
    if metadata.num_rows != info.rows:
        return f"it holds {metadata.num_rows} rows where its metadata says {info.rows}"
    return info


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def _remove_temporaries(directory: Path) -> list[Path]:
    """Remove a partition folder's temporary files. Call it holding the folder's lock: every writer
    holds it while its temporary file exists, so any found then was left by a writer that died."""
    removed = []
    for stale in directory.glob(TEMPORARY_GLOB):
        stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed


class RawStore:
    """Where landed partitions live, and how they are read back."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.quarantined: list[DamagedPartition] = []
        """The partitions this store moved to the quarantine, oldest first."""

    def partition_dir(self, endpoint: Endpoint, day: dt.date) -> Path:
        return self.root / endpoint.name / f"{endpoint.partition_column}={day.isoformat()}"

    def partition_path(self, endpoint: Endpoint, day: dt.date) -> Path:
        return self.partition_dir(endpoint, day) / PART_NAME

    def exists(self, endpoint: Endpoint, day: dt.date) -> bool:
        """Whether a partition of ours is landed for ``day``; a damaged one is quarantined, and is not."""
        return self.landed_info(endpoint, day) is not None

    def landed_info(self, endpoint: Endpoint, day: dt.date) -> PartitionInfo | None:
        """The landed partition's facts, or None when none is landed (a damaged one is quarantined)."""
        if not self.partition_path(endpoint, day).is_file():
            return None
        try:
            return self.info(endpoint, day)
        except DamagedPartition:
            return None

    def landed_days(self, endpoint: Endpoint) -> list[dt.date]:
        """Every day (or month start) with a partition file, oldest first (unverified: :meth:`info` and
        :meth:`read` verify the one they open)."""
        folder = self.root / endpoint.name
        prefix = f"{endpoint.partition_column}="
        if not folder.is_dir():
            return []
        return sorted(
            dt.date.fromisoformat(child.name.removeprefix(prefix))
            for child in folder.iterdir()
            if child.name.startswith(prefix) and (child / PART_NAME).is_file()
        )

    def info(self, endpoint: Endpoint, day: dt.date) -> PartitionInfo:
        """The fetch facts stored in a landed partition, once its footer shows it is ours and whole.

        A damaged partition is quarantined (:meth:`quarantine`) and raises :class:`DamagedPartition`.
        """
        found = _footer(endpoint, day, self.partition_path(endpoint, day))
        if isinstance(found, PartitionInfo):
            return found
        with self._locked(endpoint, day):
            # A writer may have replaced the file since: only the file found damaged under the lock moves.
            found = _footer(endpoint, day, self.partition_path(endpoint, day))
            if isinstance(found, PartitionInfo):
                return found
            raise self._move_aside(endpoint, day, found)

    def quarantine(self, endpoint: Endpoint, day: dt.date, problem: str) -> DamagedPartition:
        """Move a damaged partition aside (owner-only), under its lock; returns the error that says so
        and what to do."""
        with self._locked(endpoint, day):
            return self._move_aside(endpoint, day, problem)

    def _move_aside(self, endpoint: Endpoint, day: dt.date, problem: str) -> DamagedPartition:
        """:meth:`quarantine`, the partition's lock held."""
        path = self.partition_path(endpoint, day)
        folder = self.root / QUARANTINE
        for directory in (folder, folder / endpoint.name):
            _private_dir(directory)
            directory.chmod(0o700)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / endpoint.name / f"{path.parent.name}-{stamp}.parquet"
        os.replace(path, target)
        target.chmod(0o600)
        fsync_path(path.parent)
        fsync_path(target.parent)
        log.warning("%s %s: quarantined the landed partition %s (%s)", endpoint.name, day, path, problem)
        damaged = DamagedPartition(
            f"{endpoint.name} {day}: the landed partition {path} is damaged ({problem}); moved it to "
            f"{target}, and running again fetches it anew",
            path,
            target,
        )
        self.quarantined.append(damaged)
        return damaged

    def _locked(self, endpoint: Endpoint, day: dt.date) -> FileLock:
        directory = self.partition_dir(endpoint, day)
        return FileLock(directory / LOCK_NAME, mode=0o600, timeout=LOCK_TIMEOUT)

    def remove_stale_temporaries(self, endpoint: Endpoint) -> list[Path]:
        """Remove the temporary files that killed writers left in the endpoint's partition folders.

        A later write of the same partition removes them too, but a resumed backfill skips partitions
        already landed: a partition being re-landed when the process was killed, or one never written
        again, would keep its temporary file for good. Each folder is swept under its lock; a folder
        whose lock is held belongs to a live writer and is left alone.
        """
        folder = self.root / endpoint.name
        if not folder.is_dir():
            return []
        removed: list[Path] = []
        for directory in sorted(folder.iterdir()):
            if not any(directory.glob(TEMPORARY_GLOB)):
                continue
            try:
                with FileLock(directory / LOCK_NAME, mode=0o600).acquire(blocking=False):
                    removed += _remove_temporaries(directory)
            except Timeout:
                continue
        return removed

    def read(self, endpoint: Endpoint, day: dt.date) -> pa.Table:
        """One landed partition, whole.

        Through ``ParquetFile``, not ``pq.read_table``: that goes through ``pyarrow.dataset``, which
        imports pandas, about 50 MB a backfill process would then keep for good."""
        self.info(endpoint, day)
        try:
            with pq.ParquetFile(self.partition_path(endpoint, day)) as partition:
                return partition.read()
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise self.quarantine(endpoint, day, "its data cannot be decoded") from None

    def writer(self, endpoint: Endpoint, day: dt.date) -> PartitionWriter:
        return PartitionWriter(self, endpoint, day)


class PartitionWriter:
    """Streams records into one partition; :meth:`commit` publishes it atomically.

    Used as a context manager, leaving the block without a commit (an exception, say) discards what
    was written and leaves the previously landed partition untouched.
    """

    def __init__(self, store: RawStore, endpoint: Endpoint, day: dt.date) -> None:
        self.endpoint = endpoint
        self.day = day
        self.final_path = store.partition_path(endpoint, day)
        self.info = PartitionInfo(endpoint=endpoint.name, date=day.isoformat())
        self._schema = arrow_schema(endpoint)
        self._unknown: set[str] = set()
        self._digest = 0
        # Each record's grain and content as 64-bit hashes, 16 bytes a record: a 90-day window keeps
        # every day's writer open, so a dict of keys would cost megabytes where these cost a few.
        self._keys = array.array("q")
        self._contents = array.array("Q")
        self._tmp_path: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        self._lock: FileLock | None = None

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            directory = self.final_path.parent
            _private_dir(directory)
            self._lock = FileLock(directory / LOCK_NAME, mode=0o600)
            self._lock.acquire(timeout=LOCK_TIMEOUT)
            # Under the lock, any temporary file left here belongs to a writer that died.
            _remove_temporaries(directory)
            self._tmp_path = directory / f".{PART_NAME}.{uuid.uuid4().hex}.tmp"
            fd = os.open(self._tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.close(fd)
            self._writer = pq.ParquetWriter(self._tmp_path, self._schema, compression="zstd")
        return self._writer

    def write(self, records: Iterable[Mapping[str, Any]], defaults: Mapping[str, Any] | None = None) -> int:
        """Append records (one page, typically); returns how many were written."""
        records = list(records)
        table = to_table(self.endpoint, records, defaults)
        self._unknown |= unknown_fields(self.endpoint, records)
        digests = [record_digest(r) for r in records]
        self._digest = (self._digest + sum(digests)) % DIGEST_MODULUS
        self._keys.extend(hash(key) for key in grain_keys(self.endpoint, records, defaults))
        self._contents.extend(d & 0xFFFF_FFFF_FFFF_FFFF for d in digests)
        if table.num_rows:
            self._open().write_table(table, row_group_size=ROW_GROUP_ROWS)
            self.info.rows += table.num_rows
        return table.num_rows

    def collapse_duplicates(self) -> None:
        """Keep one copy of each record the API repeated; refuse two records of one grain that differ.

        Called by :meth:`commit`; a window's writers call it first, so that a conflict on its last day
        leaves every day of the window unlanded.
        """
        if len(set(self._keys)) == len(self._keys):
            return
        first: dict[int, int] = {}
        kept = array.array("q")
        for i, (key, content) in enumerate(zip(self._keys, self._contents, strict=True)):
            if key not in first:
                first[key] = content
                kept.append(i)
            elif first[key] != content:
                grain = ", ".join(self.endpoint.grain)
                raise RecordError(
                    self.endpoint.name,
                    f"two records share one ({grain}) but differ; the API answered inconsistently",
                    self.day.isoformat(),
                )
        self._rewrite(kept)

    def _rewrite(self, kept: array.array[int]) -> None:
        """The temporary file again with only the rows at ``kept`` (the later copies dropped)."""
        assert self._writer is not None and self._tmp_path is not None
        self._writer.close()
        with pq.ParquetFile(self._tmp_path) as written:
            table = written.read()
        indices = pa.Array.from_buffers(pa.int64(), len(kept), [None, pa.py_buffer(kept.tobytes())])
        table = table.take(indices)
        self._writer = pq.ParquetWriter(self._tmp_path, self._schema, compression="zstd")
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.info.duplicates_collapsed += self.info.rows - table.num_rows
        self.info.rows = table.num_rows
        self._digest = records_digest(json.loads(raw) for raw in table.column(RAW_JSON).to_pylist())
        self._keys = array.array("q", (self._keys[i] for i in kept))
        self._contents = array.array("Q", (self._contents[i] for i in kept))

    def commit(self) -> PartitionInfo:
        """Publish the partition (an empty one too: "fetched, no data" is a fact worth keeping)."""
        self.collapse_duplicates()
        writer = self._open()
        self.info.unknown_fields = sorted(self._unknown)
        self.info.content_digest = f"{self._digest:032x}"
        writer.add_key_value_metadata({METADATA_KEY: json.dumps(asdict(self.info)).encode()})
        writer.close()
        self._writer = None
        assert self._tmp_path is not None
        with open(self._tmp_path, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(self._tmp_path, self.final_path)
        fsync_path(self.final_path.parent)
        self._tmp_path = None
        self._release()
        return self.info

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def abort(self) -> None:
        """Discard what was written; the landed partition, if any, stays as it was."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp_path is not None:
            self._tmp_path.unlink(missing_ok=True)
            self._tmp_path = None
        self._release()

    def __enter__(self) -> PartitionWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.abort()  # a no-op after commit
