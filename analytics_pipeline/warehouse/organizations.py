"""Which organisations the warehouse holds, and a one-line refusal of a name it does not."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analytics_pipeline.errors import FIX_INPUT, PipelineError
from analytics_pipeline.organization import ALL
from analytics_pipeline.warehouse.sql import read_sql


class UnknownOrganization(PipelineError, ValueError):
    """A command was asked for an organisation the warehouse holds nothing of."""

    exit_code = FIX_INPUT  # name one of the organisations loaded, or load it first


def organizations(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The organisations in the warehouse (with any partition recorded), by name."""
    return [name for (name,) in con.execute(read_sql("reads/organizations")).fetchall()]


def check_organizations(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> None:
    """Raise :class:`UnknownOrganization` for the first of ``names`` the warehouse holds nothing of."""
    present = organizations(con)
    for name in names:
        if name != ALL and name not in present:
            held = ", ".join(present) or "none yet"
            raise UnknownOrganization(
                f"the warehouse holds nothing of organisation {name!r} (it holds: {held})"
            )
