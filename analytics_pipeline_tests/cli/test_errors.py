"""The one place errors end a command: any PipelineError (also inside Dagster's step failure) and the
system's OSErrors become one line and an exit code; anything else is left to surface."""

import errno
import sys

import click
import dagster as dg
import pytest
from click.testing import CliRunner

from analytics_pipeline.api.errors import NotFound, ServerError, Unauthorized
from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.landing import RecordError
from analytics_pipeline.warehouse import MissingPartition, WarehouseBusy, WarehouseUnreadable

INTACT = "landed data is intact"
RESUME = "run the same command again to resume"
BAD_ANSWER = (
    "nothing of that answer was landed; the API sent data the pipeline cannot accept: run again later, "
    "and report it to Augment support if it persists"
)


def _run(error: BaseException) -> tuple[int, str]:
    @click.command()
    @handle_errors
    def command() -> None:
        raise error

    result = CliRunner().invoke(command, catch_exceptions=False)
    return result.exit_code, result.output


def _in_a_step(error: Exception) -> dg.DagsterUserCodeExecutionError:
    """``error`` as a Dagster step failure wraps it."""
    try:
        raise error
    except Exception as exc:
        return dg.DagsterUserCodeExecutionError(
            "step failed", user_exception=exc, original_exc_info=sys.exc_info()
        )


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (ConfigError("ANALYTICS_X must be\n a number"), 2, "ANALYTICS_X must be a number"),
        (
            Unauthorized("invalid token", code="unauthorized"),
            2,
            "the API rejected the token (401): check AUGMENT_API_TOKEN. HTTP 401 unauthorized: invalid token",
        ),
        (WarehouseUnreadable("w.duckdb is not a warehouse"), 2, "w.duckdb is not a warehouse"),
        (
            RecordError("dau", "field 'user_count' is not a whole number", "2026-01-01"),
            1,
            f"dau 2026-01-01: field 'user_count' is not a whole number ({BAD_ANSWER})",
        ),
        (WarehouseBusy("held by duckdb (PID 7)"), 1, f"held by duckdb (PID 7) ({INTACT}; {RESUME})"),
        (MissingPartition("dau has no partition"), 1, f"dau has no partition ({INTACT}; {RESUME})"),
        (ServerError("boom"), 1, f"HTTP 500 boom ({INTACT}; {RESUME})"),
        (NotFound("no such path"), 1, f"HTTP 404 no such path ({NotFound.hint}; {INTACT})"),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            1,
            f"[Errno {errno.ENOSPC}] No space left on device (free some disk space; {INTACT})",
        ),
        (OSError(errno.EIO, "Input/output error"), 1, f"[Errno {errno.EIO}] Input/output error ({INTACT})"),
        (TimeoutError("lock not granted"), 1, f"lock not granted ({INTACT}; {RESUME})"),
    ],
)
@pytest.mark.parametrize("wrapped", [False, True], ids=["raised", "in_a_step"])
def test_one_line_and_an_exit_code(error: Exception, code: int, line: str, wrapped: bool) -> None:
    raised = _in_a_step(error) if wrapped else error
    assert _run(raised) == (code, f"analytics-pipeline: error: {line}\n")


def test_anything_else_surfaces() -> None:
    with pytest.raises(ZeroDivisionError):
        _run(ZeroDivisionError("a bug"))
    with pytest.raises(dg.DagsterUserCodeExecutionError):
        _run(_in_a_step(ZeroDivisionError("a bug in a step")))
