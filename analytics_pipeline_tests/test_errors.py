"""One root for the errors users see: every exception class the package defines derives from
PipelineError, but for the few that never leave it, and keeps the base classes callers catch."""

import importlib
import inspect
import pkgutil

import pytest

import analytics_pipeline
from analytics_pipeline.api.errors import ApiError, Forbidden, InvalidRequest, NotFound, Unauthorized
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.errors import FIX_INPUT, RUN_FAILED, DataError, PipelineError
from analytics_pipeline.landing import DamagedPartition, RecordError
from analytics_pipeline.report.data import NoLoadedDays
from analytics_pipeline.warehouse import MissingPartition, WarehouseBusy, WarehouseUnreadable

INTERNAL = {
    "analytics_pipeline.landing.arrow_rows._NotNative",  # caught where it is raised
    "analytics_pipeline.sandbox.org.InvalidBudgetRequest",  # the sandbox answers it with a 400
    "analytics_pipeline.sandbox.server.BadRequest",  # likewise
    "analytics_pipeline.warehouse.writers_turn.TurnTimeout",  # raised again as WarehouseBusy (lake.py)
    "analytics_pipeline.warehouse.rebuild._RepeatedKeys",  # the batch is loaded a partition at a time
}
"""Exceptions that never reach a user: they are caught inside the package."""


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for module in pkgutil.walk_packages(analytics_pipeline.__path__, "analytics_pipeline."):
        if module.name.endswith(".__main__"):  # runs the command
            continue
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.name:
                found.append(cls)
    return found


def test_every_exception_the_package_defines_derives_from_the_root() -> None:
    classes = _exception_classes()
    assert {RecordError, DamagedPartition, ApiError, ConfigError, WarehouseBusy} <= set(classes)
    outside = {
        f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not issubclass(cls, PipelineError)
    }
    assert outside == INTERNAL


@pytest.mark.parametrize(
    ("cls", "bases", "exit_code", "transient"),
    [
        (ConfigError, (ValueError,), FIX_INPUT, False),
        (InvalidRequest, (ApiError,), FIX_INPUT, False),
        (Unauthorized, (ApiError,), FIX_INPUT, False),
        (Forbidden, (ApiError,), FIX_INPUT, False),
        (NotFound, (ApiError,), RUN_FAILED, False),
        (WarehouseBusy, (RuntimeError,), RUN_FAILED, True),
        (WarehouseUnreadable, (RuntimeError,), FIX_INPUT, False),
        (MissingPartition, (FileNotFoundError,), RUN_FAILED, True),
        (NoLoadedDays, (ValueError,), FIX_INPUT, False),
        (RecordError, (DataError, ValueError), RUN_FAILED, True),
        (DamagedPartition, (DataError,), RUN_FAILED, True),
    ],
)
def test_each_error_keeps_its_bases_and_says_how_the_command_ends(
    cls: type[PipelineError], bases: tuple[type[BaseException], ...], exit_code: int, transient: bool
) -> None:
    assert all(issubclass(cls, base) for base in (PipelineError, *bases))
    assert (cls.exit_code, cls.transient) == (exit_code, transient)


def test_a_missing_partition_is_still_a_file_not_found() -> None:
    error = MissingPartition("dau has no landed partition for 2026-01-01")
    assert isinstance(error, FileNotFoundError) and error.errno is None
    assert str(error) == "dau has no landed partition for 2026-01-01"
