"""The API's reach in a Dagster run: a partition older than its 2-year lookback is never fetched.

A deployment's partitions start where it was set up and stay there (:mod:`.first_partition`), so
after two years its oldest partitions are days the API no longer serves. They stay in Dagster, loaded
or not; a run may still load a landed one into the warehouse (nothing to fetch), but a run that would
fetch one fails at once, before any request, in one line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from analytics_pipeline.api.endpoints import Endpoint
from analytics_pipeline.dates import lookback_floor, month_start, utc_today
from analytics_pipeline.landing import RawStore


def beyond_reach_message(days: Sequence[dt.date], floor: dt.date) -> str:
    """One line: ``days`` (oldest first) are beyond the lookback whose oldest day is ``floor``."""
    which = (
        f"partition {days[0]} is" if len(days) == 1 else f"{len(days)} partitions {days[0]}..{days[-1]} are"
    )
    return (
        f"{which} beyond the API's 2-year lookback (the oldest day it serves is {floor}) and not landed: "
        f"it can no longer be fetched; run partitions from {floor} on (days loaded before stay in the "
        "warehouse)"
    )


def refuse_beyond_reach(
    endpoint: Endpoint, days: Sequence[dt.date], store: RawStore, *, skip_landed: bool
) -> None:
    """Raise a :class:`dagster.Failure` naming the ``days`` this step would fetch although the API no
    longer serves them; those already landed are not fetched when ``skip_landed``, so they pass."""
    floor = lookback_floor(utc_today())
    beyond = sorted(day for day in days if day < floor)
    if skip_landed:
        beyond = [
            day
            for day in beyond
            if store.landed_info(endpoint, month_start(day) if endpoint.monthly else day) is None
        ]
    if beyond:
        raise dg.Failure(description=beyond_reach_message(beyond, floor), allow_retries=False)
