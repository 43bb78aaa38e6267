"""The rate limiter's state as a JSON file under a file lock: shared by every process of one machine.

The default (``ANALYTICS_STATE_URL`` unset): ``<data dir>/.state/ratelimit-<token fingerprint>.json``,
read and replaced under an exclusive :class:`filelock.FileLock` beside it. The file is replaced
atomically (a temporary file renamed over it); a process killed in between leaves the temporary file,
which the next limiter on the same state removes under the lock. The directory is the owner's only
(0o700), the files too (0o600).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from analytics_pipeline.privacy.secret import Secret

T = TypeVar("T")


class FileLimiterState:
    """A limiter's TAT in ``path`` (see the module)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = FileLock(str(self.path) + ".lock", mode=0o600)
        self._swept = False

    @staticmethod
    def path_for(directory: Path, token: Secret) -> Path:
        """The state file for ``token`` under ``directory``: one budget per token, the token never stored."""
        return Path(directory) / f"ratelimit-{token.fingerprint()}.json"

    def __repr__(self) -> str:
        return f"FileLimiterState({str(self.path)!r})"

    def update(self, step: Callable[[float | None], tuple[float, T]]) -> T:
        """Call ``step`` with the stored TAT under the file lock, store the TAT it returns; its result."""
        with self._locked():
            tat, result = step(self._read())
            self._write(tat)
        return result

    def close(self) -> None:
        """Nothing to release: the lock is held only inside :meth:`update`."""

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            if not self._swept:
                # Every writer of the state writes its temporary file under this lock: any found now
                # belongs to a process that died before renaming it.
                for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                    stale.unlink(missing_ok=True)
                self._swept = True
            yield

    def _read(self) -> float | None:
        """The stored TAT; None without a file, NaN when the file cannot be read as one."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return math.nan
        try:
            tat = json.loads(text)["tat"]
        except (ValueError, TypeError, KeyError):
            return math.nan
        if isinstance(tat, bool) or not isinstance(tat, int | float):
            return math.nan
        try:
            return float(tat)
        except OverflowError:  # an integer past any float
            return math.nan

    def _write(self, tat: float) -> None:
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp creates the file with mode 0o600
                json.dump({"tat": tat}, fh)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
