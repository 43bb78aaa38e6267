"""Locks on one raw partition: the writer's ``.lock`` and a fetch's ``.fetch.lock`` claim.

The raw store takes them through :class:`PartitionLocks`, so what protects writers can differ with where
partitions live:

- :class:`FileLocks` (a local or shared folder): a lock file beside the partition, as always. On a shared
  volume they exclude writers on other hosts too where the file system's locks reach across hosts
  (NFSv4 with ``fcntl`` locks, say); where they do not, as on S3, the partition stays whole anyway.
- :class:`NoLocks` (S3): there is no file to lock. Each partition is one object written in one PUT,
  so overlapping writers cannot interleave: a reader sees one whole partition or another, and the last
  to publish wins. What is lost is only the work the locks saved: two backfills over one month may both
  fetch it. A lock that reaches every host (PostgreSQL advisory locks, with ``ANALYTICS_STATE_URL``)
  plugs in here, as another :class:`PartitionLocks`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Protocol

from filelock import FileLock


class PartitionLocks(Protocol):
    """Exclusive locks named by a partition's folder and a lock name."""

    def hold(
        self, directory: PurePath, name: str, timeout: float = -1
    ) -> contextlib.AbstractContextManager[None]:
        """Hold the lock ``name`` of the partition in ``directory`` for the block; ``timeout`` seconds to
        wait for it (-1: as long as it takes), then ``filelock.Timeout``."""
        ...


class FileLocks:
    """Lock files beside each partition (owner-only), in a folder created if need be."""

    @contextlib.contextmanager
    def hold(self, directory: PurePath, name: str, timeout: float = -1) -> Iterator[None]:
        """See :meth:`PartitionLocks.hold`."""
        folder = Path(directory)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with FileLock(folder / name, mode=0o600, timeout=timeout):
            yield


class NoLocks:
    """No lock at all: for a store whose partitions are published whole by one PUT (see the module)."""

    @contextlib.contextmanager
    def hold(self, directory: PurePath, name: str, timeout: float = -1) -> Iterator[None]:
        """See :meth:`PartitionLocks.hold`: holds nothing."""
        yield
