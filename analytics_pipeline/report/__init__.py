"""The usage report: a self-contained HTML dashboard built from the warehouse's analysis macros.

``data`` gathers the dataset for a period (read-only), ``render`` turns it into one HTML page with
its charts inlined, ``publish`` writes the page atomically.

The names below are imported on first use (PEP 562): ``data`` and ``render`` bring pandas and Jinja2,
about 45 MB, into every process that merely loads the Dagster definitions (a backfill never writes
the report), so they load only when a report is made.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE: dict[str, str] = {
    "REPORT_FILE": "location",
    "NoLoadedDays": "data",
    "UnknownOrganization": "data",
    "Period": "data",
    "ReportData": "data",
    "report_data": "data",
    "resolve_period": "data",
    "PublishedReport": "publish",
    "publish_report": "publish",
    "write_atomically": "publish",
    "render_html": "render",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
