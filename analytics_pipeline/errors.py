"""The root of every error the pipeline raises for its users, and what each says to do next.

The hierarchy::

    PipelineError               exit code 1 (the run failed) unless said otherwise
    ├── ConfigError             2: a setting or an argument is missing or wrong (also a ValueError)
    │                              config/settings.py
    ├── ApiError                1: anything the API or the path to it did wrong (api/errors.py: the tree)
    │   ├── InvalidRequest      2: a request the API's rules refuse (400, or refused before sending)
    │   ├── Unauthorized        2: the token is missing or invalid (401)
    │   ├── Forbidden           2: the token lacks permission (403)
    │   └── ...                 1: 404, 429, 5xx, no response, a malformed answer
    ├── WarehouseBusy           1, transient: another process held the warehouse (also a RuntimeError)
    │                              warehouse/connection.py
    ├── WarehouseUnreadable     2: the warehouse file is not a database DuckDB can open (also a RuntimeError)
    │                              warehouse/connection.py
    ├── MissingPartition        1, transient: a load found its raw partition not landed
    │                              (also a FileNotFoundError) warehouse/load.py
    ├── LimiterStateUnavailable 1, transient: the PostgreSQL of ANALYTICS_STATE_URL failed during a run
    │                              api/ratelimit_postgres.py
    ├── NoLoadedDays            2: the warehouse has no loaded day to report on (also a ValueError)
    │                              report/data.py
    └── DataError               1: data the pipeline cannot accept; the message says what became of it
        ├── RecordError         a value of the wrong type or out of range in an API answer, which is
        │                          not landed (also a ValueError) landing/arrow_rows.py
        └── DamagedPartition    a landed partition this pipeline did not write whole, moved aside
                                   landing/store.py

Every error carries three things the command line turns into one line and an exit code:

``exit_code``
    :data:`FIX_INPUT` (2) when the user must change a setting, an argument or a file before running
    again; :data:`RUN_FAILED` (1) when the run itself failed.
``transient``
    Whether running the same command again, unchanged, may succeed: the fault may pass by itself.
``hint``
    What to do about it, when the message does not say so already (None otherwise).

The extra base classes (``ValueError``, ``RuntimeError``, ``FileNotFoundError``) stay for the callers
and tests that catch those.
"""

from __future__ import annotations

RUN_FAILED = 1
"""The exit code of a run that failed: the message says whether running again can help."""
FIX_INPUT = 2
"""The exit code of a setting, an argument or a file the user must fix before running again."""


class PipelineError(Exception):
    """Base class of every error the pipeline raises for its users (see the module for the tree)."""

    exit_code: int = RUN_FAILED
    """:data:`FIX_INPUT` or :data:`RUN_FAILED`."""
    transient: bool = False
    """Whether running the same command again, unchanged, may succeed: the fault may pass by itself."""
    hint: str | None = None
    """What to do about it, when the message does not say so already."""


class DataError(PipelineError):
    """Data the pipeline cannot accept; the message (and ``hint``) say what was done with it."""
