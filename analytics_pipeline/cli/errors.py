"""How a command ends when something goes wrong: one line on stderr, an exit code, never a traceback.

Any :class:`~analytics_pipeline.errors.PipelineError`, also one a Dagster step raised, ends with its
``exit_code`` (2: fix the input or the configuration; 1: the run failed) and one line that says what to
do (:func:`error_line`). A failure of the system (an ``OSError``: a read-only directory, a full disk)
ends with exit code 1 and the same kind of advice. Ctrl-C ends at once, with code 130.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
import dagster as dg

from analytics_pipeline.cli.options import load_local_settings
from analytics_pipeline.errors import FIX_INPUT, RUN_FAILED, DataError, PipelineError

F = TypeVar("F", bound=Callable[..., Any])

INTACT = "landed data is intact"
RESUME = "run the same command again to resume"
INTERRUPTED_EXIT_CODE = 130
_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
"""What writing fails with in a directory this user cannot write to."""


def handle_errors(command: F) -> F:
    """Turn the pipeline's errors (and the system's: a read-only directory, a full disk) into one line
    and an exit code, also when a Dagster step raised them."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            _interrupted()
        except (PipelineError, OSError, dg.DagsterUserCodeExecutionError) as exc:
            cause = root_cause(exc)
            if isinstance(cause, PipelineError):
                _fail(error_line(cause), cause.exit_code)
            if isinstance(cause, OSError):
                _fail(f"{_one_line(cause)} ({_os_advice(cause)})", RUN_FAILED)
            raise

    return wrapper  # type: ignore[return-value]


def error_line(exc: PipelineError) -> str:
    """The one line that says what went wrong and what to do.

    Input to fix: the hint (if any) leads, the message follows. Data the pipeline cannot accept: the
    message, then the hint. A failed run: the message, then whether running again can help, and that
    landed data is intact (partitions are published by rename, loads are transactions).
    """
    message = _one_line(exc)
    if exc.exit_code == FIX_INPUT:
        return f"{exc.hint}. {message}" if exc.hint else message
    if isinstance(exc, DataError):
        return f"{message} ({exc.hint})" if exc.hint else message
    return f"{message} ({_advice(exc.transient, exc.hint)})"


def _advice(transient: bool, hint: str | None) -> str:
    """What to do after a run failed: run again only when that can help, else what to change first."""
    if transient:
        return f"{INTACT}; {RESUME}"
    return f"{hint}; {INTACT}" if hint else INTACT


def _os_advice(exc: OSError) -> str:
    """The advice after a failure of the system: a lock not granted in time, a read-only directory, a
    full disk."""
    if isinstance(exc, TimeoutError):
        return _advice(True, None)
    if exc.errno in _UNWRITABLE:
        return _advice(False, _writable_hint(exc.filename))
    if exc.errno == errno.ENOSPC:
        return _advice(False, "free some disk space")
    return _advice(False, None)


def _writable_hint(filename: object) -> str:
    """Which directory to make writable: the data directory, unless the file is elsewhere (``--out``)."""
    if filename is None:
        return "make ANALYTICS_DATA_DIR writable"
    path = Path(str(filename)).resolve()
    if path.is_relative_to(load_local_settings().data_dir.resolve()):
        return "make ANALYTICS_DATA_DIR writable"
    return f"make {path.parent} writable"


def root_cause(exc: BaseException) -> BaseException:
    """The user's exception inside Dagster's step-failure wrapper, if any (else ``exc``)."""
    while isinstance(exc, dg.DagsterUserCodeExecutionError) and exc.user_exception is not None:
        exc = exc.user_exception
    return exc


def _one_line(exc: BaseException) -> str:
    """The exception's text with every run of whitespace, newlines included, made one space."""
    return " ".join(str(exc).split())


def _fail(message: str, code: int) -> NoReturn:
    """Print ``message`` as the command's one error line and exit with ``code``."""
    click.echo(f"analytics-pipeline: error: {message}", err=True)
    sys.exit(code)


def _interrupted() -> NoReturn:
    """Ctrl-C: one line, then leave at once.

    Not through the interpreter's shutdown: fetching threads still running would hold it up, and
    DuckDB's bindings print dozens of lines about objects those threads still hold. Leaving here is
    as safe as a kill: partitions are published by rename and loads are transactions.
    """
    click.echo(f"analytics-pipeline: interrupted; {INTACT}: {RESUME}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(INTERRUPTED_EXIT_CODE)
