"""The usage report: a self-contained HTML dashboard built from the warehouse's analysis macros.

``data`` gathers the dataset for a period (read-only), ``render`` turns it into one HTML page with
its charts inlined, ``publish`` writes the page atomically.
"""

from analytics_pipeline.report.data import NoLoadedDays, Period, ReportData, report_data, resolve_period
from analytics_pipeline.report.publish import REPORT_FILE, PublishedReport, publish_report, write_atomically
from analytics_pipeline.report.render import render_html

__all__ = [
    "REPORT_FILE",
    "NoLoadedDays",
    "Period",
    "PublishedReport",
    "ReportData",
    "publish_report",
    "render_html",
    "report_data",
    "resolve_period",
    "write_atomically",
]
