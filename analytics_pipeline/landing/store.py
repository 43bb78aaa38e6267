"""The raw Parquet store: ``<raw>/<endpoint>/date=YYYY-MM-DD/part-0.parquet``, written atomically.

The raw root is a folder (``<data dir>/raw`` by default, or a shared volume) or a prefix of an S3 bucket
(``ANALYTICS_RAW_URL``, :mod:`analytics_pipeline.config.raw_url`); the store reads and lists both through
a pyarrow file system, and differs only in how it publishes, moves and locks.

A partition is always exactly one file, and a reader sees the old partition or the new one, never half
of either:

- In a folder, it is written to a hidden temporary file beside its final name, flushed to disk, then
  renamed over the old one; a crash leaves at most a hidden ``.tmp`` file, removed by the next write of
  the partition or by :meth:`RawStore.remove_stale_temporaries`. Two writers of one partition (two
  backfills whose ranges share a month, say) take turns on a lock file beside it, so the one cleaning up
  never removes the other's temporary file. Files and folders are readable by their owner only.
- On S3, it is written to a local temporary file first (a writer reads it back to drop repeated records,
  and an aborted write must publish nothing), then uploaded to its final key in one operation: one PUT,
  or a multipart upload that becomes visible only when it completes. No temporary object is ever made;
  quarantining is a copy and a delete. What protects concurrent writers there is said in
  :mod:`analytics_pipeline.landing.locks`.

Each file carries, in its Parquet key-value metadata, how it was fetched (see :class:`PartitionInfo`),
so the warehouse can record it without asking the API again.
"""

from __future__ import annotations

import array
import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, Endpoint
from analytics_pipeline.config.raw_url import RawLocation, S3Raw
from analytics_pipeline.config.s3 import S3Settings
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
from analytics_pipeline.landing.locks import FileLocks, NoLocks, PartitionLocks
from analytics_pipeline.organization import DEFAULT_ORGANIZATION, RAW_FOLDER_PREFIX, raw_folder
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
DUCKDB_SECRET = "analytics_raw"
"""The name of the DuckDB secret that lets a warehouse connection read raw partitions on S3."""


class DamagedPartition(DataError):
    """A landed partition that is not one this pipeline wrote whole (truncated, foreign, inconsistent).

    By the time it is raised the file has been moved to the quarantine (``path`` to ``moved_to``), so
    the partition counts as not landed and the next run fetches it anew (the message says so).
    """

    transient = True

    def __init__(self, message: str, path: PurePath | None = None, moved_to: PurePath | None = None) -> None:
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


def _footer(
    filesystem: pafs.FileSystem, endpoint: Endpoint, day: dt.date, path: PurePath
) -> PartitionInfo | str:
    """The partition's stored facts, or what is wrong with it: a file this pipeline wrote whole has a
    readable footer, our metadata for this endpoint and day, the endpoint's schema and as many rows as
    the metadata says."""
    try:
        metadata = pq.read_metadata(str(path), filesystem=filesystem)
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
    """Where landed partitions live, and how they are read back.

    ``RawStore(folder)`` keeps them in a folder; ``RawStore("bucket/prefix", s3=settings)`` under a
    prefix of an S3 bucket; :meth:`at` builds either from ``ANALYTICS_RAW_URL``'s location. ``locks``
    replaces the default locks (lock files in a folder, none on S3: see
    :mod:`analytics_pipeline.landing.locks`).
    """

    def __init__(
        self, root: PurePath | str, *, s3: S3Settings | None = None, locks: PartitionLocks | None = None
    ) -> None:
        self.s3 = s3
        self.filesystem: pafs.FileSystem = pafs.LocalFileSystem() if s3 is None else s3.filesystem()
        self.root: PurePath = Path(root) if s3 is None else PurePosixPath(root)
        self.locks: PartitionLocks = locks if locks is not None else FileLocks() if s3 is None else NoLocks()
        self.quarantined: list[DamagedPartition] = []
        """The partitions this store moved to the quarantine, oldest first."""

    @classmethod
    def at(cls, location: RawLocation) -> RawStore:
        """The store at a location read from ``ANALYTICS_RAW_URL``."""
        if isinstance(location, S3Raw):
            return cls(location.root, s3=location.s3)
        return cls(location.root)

    @property
    def local(self) -> bool:
        """Whether partitions are files in a folder (else objects in an S3 bucket)."""
        return self.s3 is None

    @property
    def url(self) -> str:
        """The raw root as users name it: a folder, or ``s3://bucket/prefix``."""
        return self.url_of(self.root)

    def url_of(self, path: PurePath) -> str:
        """A path of this store as users (and DuckDB's ``read_parquet``) name it."""
        return str(path) if self.local else f"s3://{path}"

    def partition_dir(self, endpoint: Endpoint, day: dt.date) -> PurePath:
        return self.root / endpoint.name / f"{endpoint.partition_column}={day.isoformat()}"

    def partition_path(self, endpoint: Endpoint, day: dt.date) -> PurePath:
        return self.partition_dir(endpoint, day) / PART_NAME

    def partition_url(self, endpoint: Endpoint, day: dt.date) -> str:
        """The partition's file, as DuckDB reads it (after :meth:`prepare_duckdb`)."""
        return self.url_of(self.partition_path(endpoint, day))

    def prepare_duckdb(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let ``con`` read this store's partitions: every warehouse connection that loads calls it.

        Nothing to do for a folder. For S3, the httpfs extension (from its wheel, never downloaded) and a
        temporary secret scoped to the raw root, with the same settings the store itself uses.
        """
        if self.s3 is None:
            return
        # Imported here: the warehouse package loads from this store, so it imports this module first.
        from analytics_pipeline.warehouse.extensions import load_extensions

        load_extensions(con, "httpfs")
        self.s3.create_duckdb_secret(con, DUCKDB_SECRET, self.url)

    def verify(self) -> None:
        """Raise a one-line :class:`ConfigError` now if the bucket is missing or cannot be reached.

        For commands that would otherwise fetch for minutes and only then fail to land. Nothing to check
        for a folder: it is created as partitions land.
        """
        if self.s3 is None:
            return
        self.s3.check_bucket(self.url, "ANALYTICS_RAW_URL")

    def has_file(self, endpoint: Endpoint, day: dt.date) -> bool:
        """Whether the partition's file is there (unverified: :meth:`exists` verifies it)."""
        found = self.filesystem.get_file_info(str(self.partition_path(endpoint, day)))
        return bool(found.type == pafs.FileType.File)

    def exists(self, endpoint: Endpoint, day: dt.date) -> bool:
        """Whether a partition of ours is landed for ``day``; a damaged one is quarantined, and is not."""
        return self.landed_info(endpoint, day) is not None

    def landed_info(self, endpoint: Endpoint, day: dt.date) -> PartitionInfo | None:
        """The landed partition's facts, or None when none is landed (a damaged one is quarantined)."""
        if not self.has_file(endpoint, day):
            return None
        try:
            return self.info(endpoint, day)
        except DamagedPartition:
            return None

    def landed_days(self, endpoint: Endpoint) -> list[dt.date]:
        """Every day (or month start) with a partition file, oldest first (unverified: :meth:`info` and
        :meth:`read` verify the one they open)."""
        folder = str(self.root / endpoint.name)
        prefix = f"{endpoint.partition_column}="
        # One listing of the endpoint's folder (one request on S3, however many days it holds).
        listing = self.filesystem.get_file_info(
            pafs.FileSelector(folder, allow_not_found=True, recursive=True)
        )
        days = []
        for entry in listing:
            partition, _, name = entry.path.removeprefix(folder + "/").partition("/")
            if entry.type == pafs.FileType.File and name == PART_NAME and partition.startswith(prefix):
                days.append(dt.date.fromisoformat(partition.removeprefix(prefix)))
        return sorted(days)

    def of_organization(self, organization: str) -> RawStore:
        """The store of ``organization``'s partitions, this being the deployment's raw root."""
        folder = raw_folder(organization)
        return self if folder is None else RawStore(self.root / folder, s3=self.s3)

    def landed_organizations(self) -> list[str]:
        """The organisations with partitions under this root (the deployment's raw root): ``default`` when
        an endpoint's folder is at the root, and each ``organization=<name>`` folder's, sorted."""
        listing = self.filesystem.get_file_info(pafs.FileSelector(str(self.root), allow_not_found=True))
        folders = {
            PurePosixPath(entry.path).name for entry in listing if entry.type == pafs.FileType.Directory
        }
        names = {
            folder.removeprefix(RAW_FOLDER_PREFIX)
            for folder in folders
            if folder.startswith(RAW_FOLDER_PREFIX)
        }
        if any(endpoint.name in folders for endpoint in ASSET_ENDPOINTS):
            names.add(DEFAULT_ORGANIZATION)
        return sorted(names)

    def info(self, endpoint: Endpoint, day: dt.date) -> PartitionInfo:
        """The fetch facts stored in a landed partition, once its footer shows it is ours and whole.

        A damaged partition is quarantined (:meth:`quarantine`) and raises :class:`DamagedPartition`.
        """
        found = _footer(self.filesystem, endpoint, day, self.partition_path(endpoint, day))
        if isinstance(found, PartitionInfo):
            return found
        with self._locked(endpoint, day):
            # A writer may have replaced the file since: only the file found damaged under the lock moves.
            found = _footer(self.filesystem, endpoint, day, self.partition_path(endpoint, day))
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
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / endpoint.name / f"{path.parent.name}-{stamp}.parquet"
        if self.local:
            for directory in (Path(folder), Path(folder) / endpoint.name):
                _private_dir(directory)
                directory.chmod(0o700)
            os.replace(path, target)
            Path(target).chmod(0o600)
            fsync_path(Path(path.parent))
            fsync_path(Path(target.parent))
        else:
            self.filesystem.move(str(path), str(target))  # S3 has no rename: a copy, then a delete
        log.warning(
            "%s %s: quarantined the landed partition %s (%s)", endpoint.name, day, self.url_of(path), problem
        )
        damaged = DamagedPartition(
            f"{endpoint.name} {day}: the landed partition {self.url_of(path)} is damaged ({problem}); "
            f"moved it to {self.url_of(target)}, and running again fetches it anew",
            path,
            target,
        )
        self.quarantined.append(damaged)
        return damaged

    def _locked(self, endpoint: Endpoint, day: dt.date) -> contextlib.AbstractContextManager[None]:
        return self.lock(endpoint, day, LOCK_NAME, timeout=LOCK_TIMEOUT)

    def lock(
        self, endpoint: Endpoint, day: dt.date, name: str, *, timeout: float = -1
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the partition's lock ``name`` for the block (see :mod:`analytics_pipeline.landing.locks`)."""
        return self.locks.hold(self.partition_dir(endpoint, day), name, timeout)

    def remove_stale_temporaries(self, endpoint: Endpoint) -> list[Path]:
        """Remove the temporary files that killed writers left in the endpoint's partition folders.

        A later write of the same partition removes them too, but a resumed backfill skips partitions
        already landed: a partition being re-landed when the process was killed, or one never written
        again, would keep its temporary file for good. Each folder is swept under its lock; a folder
        whose lock is held belongs to a live writer and is left alone. On S3 there are none: a writer
        there makes no temporary object.
        """
        folder = Path(self.root / endpoint.name)
        if not self.local or not folder.is_dir():
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
            with (
                self.filesystem.open_input_file(str(self.partition_path(endpoint, day))) as source,
                pq.ParquetFile(source) as partition,
            ):
                return partition.read()
        except (pa.ArrowException, OSError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise self.quarantine(endpoint, day, "its data cannot be decoded") from None

    def writer(self, endpoint: Endpoint, day: dt.date) -> PartitionWriter:
        return PartitionWriter(self, endpoint, day)

    def _staging_file(self, directory: PurePath) -> Path:
        """A new, empty, owner-only file for a writer to write the partition in ``directory`` to.

        Call it holding the partition's lock. In a folder: a hidden file beside the partition (any found
        there now was left by a writer that died, and is removed). For S3: a local temporary file.
        """
        if not self.local:
            fd, name = tempfile.mkstemp(prefix=f"analytics-raw-{PART_NAME}.", suffix=".tmp")
            os.close(fd)
            return Path(name)
        folder = Path(directory)
        _private_dir(folder)
        _remove_temporaries(folder)
        staging = folder / f".{PART_NAME}.{uuid.uuid4().hex}.tmp"
        os.close(os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return staging

    def _publish(self, staging: Path, final: PurePath) -> None:
        """Replace the partition ``final`` with the written file ``staging``, atomically for readers."""
        if self.local:
            with open(staging, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(staging, final)
            fsync_path(Path(final.parent))
            return
        # One upload, all in C++ (no Python signal handler can stop it halfway and leave the stream to be
        # completed short): small files go in one PUT, large ones in parts that become visible only when
        # the upload completes.
        pafs.copy_files(
            str(staging),
            str(final),
            source_filesystem=pafs.LocalFileSystem(),
            destination_filesystem=self.filesystem,
        )
        staging.unlink()


class PartitionWriter:
    """Streams records into one partition; :meth:`commit` publishes it atomically.

    Used as a context manager, leaving the block without a commit (an exception, say) discards what
    was written and leaves the previously landed partition untouched.
    """

    def __init__(self, store: RawStore, endpoint: Endpoint, day: dt.date) -> None:
        self.endpoint = endpoint
        self.day = day
        self._store = store
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
        self._lock: contextlib.ExitStack | None = None

    def _open(self) -> pq.ParquetWriter:
        if self._writer is None:
            self._lock = contextlib.ExitStack()
            self._lock.enter_context(self._store._locked(self.endpoint, self.day))
            self._tmp_path = self._store._staging_file(self.final_path.parent)
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
        self._store._publish(self._tmp_path, self.final_path)
        self._tmp_path = None
        self._release()
        return self.info

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
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
