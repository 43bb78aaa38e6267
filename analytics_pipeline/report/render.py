"""Render the report's dataset as one self-contained HTML page.

The page is ``template.html`` (Jinja2, autoescaped) with ``report.css``, the vendored Chart.js and
``report.js`` inlined, and the dataset embedded as JSON. The tiles, tables and the completeness strip
are HTML written here (readable even with scripts off); the charts are drawn by ``report.js``
from the embedded JSON, which holds every grain's series, so the day/week/month switch needs no server.
A Content-Security-Policy in the page forbids every request, so nothing can leak out or be fetched.

Why Chart.js: one file of about 200 KB (minified UMD build, MIT) draws every chart the report needs
(lines, stacked bars, horizontal bars, a doughnut) on canvas, with tooltips and legends that look good
by default; it is among the most used and best kept charting libraries. Plotly would inline 4 MB of
JavaScript into every report; uPlot is smaller but has no bar or doughnut charts to speak of; ECharts
is five times the size; hand-made SVG would mean writing axes, ticks, legends and tooltips ourselves.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import importlib.metadata
import re
from functools import cache
from importlib import resources
from typing import Any

import jinja2

from analytics_pipeline.report.data import BUDGET_THRESHOLDS, GRAINS, Kpi, ReportData

CHART_JS = "vendor/chart.umd.min.js"
CHART_JS_VERSION = "4.6.1"
CHART_JS_SHA256 = "87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2"
"""npm ``chart.js`` 4.6.1, ``dist/chart.umd.min.js`` unmodified (see ``vendor/README.md``)."""

DAY_GRAIN_MAX_DAYS = 92
"""Up to about a quarter the trends open by day; up to two years by week; beyond, by month."""
WEEK_GRAIN_MAX_DAYS = 731

_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)
_CLOSING_TAG = re.compile(r"</(script|style)", re.IGNORECASE)
MINUS = "\u2212"


def _asset(name: str) -> str:
    return resources.files("analytics_pipeline.report").joinpath(name).read_text(encoding="utf-8")


def _inline(code: str, name: str) -> str:
    """Code safe to put between <script> or <style> tags."""
    if _CLOSING_TAG.search(code):
        raise ValueError(f"{name} contains a closing </script> or </style> tag and cannot be inlined")
    return code


@cache
def chart_js() -> str:
    """The vendored Chart.js, checked against its digest, without the source-map reference (the
    map is not shipped, and a browser's developer tools would try to fetch it)."""
    code = _asset(CHART_JS)
    digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
    if digest != CHART_JS_SHA256:
        raise RuntimeError(
            f"{CHART_JS} has digest {digest}, expected {CHART_JS_SHA256}; restore the vendored file"
        )
    return _inline(_SOURCE_MAP.sub("", code), CHART_JS)


# -- formatting (the filters the template uses) --------------------------------------------------------


def _count(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) < 100 and value != int(value):
        return f"{value:,.1f}".replace("-", MINUS)
    return f"{value:,.0f}".replace("-", MINUS)


def _compact(value: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"{value / size:,.2f}{suffix}"
    return _count(value)


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.1f}%"


def _percent_value(percent: float | None) -> str:
    return "–" if percent is None else f"{percent:,.1f}%"


def _figure(value: float | None, kind: str) -> str:
    """A KPI tile's value: rates as percentages, large numbers compact (the title has them exact)."""
    if value is None:
        return "–"
    return _percent(value) if kind == "rate" else _compact(value)


def _exact(value: float | None, kind: str) -> str:
    if value is None:
        return "unknown: no day loaded"
    return f"{100 * value:.2f}%" if kind == "rate" else _count(value)


def _change(kpi: Kpi) -> str:
    if kpi.previous is None:
        return "–"
    if kpi.change is None:
        return "new" if kpi.value else "–"
    text = f"{100 * kpi.change:+.1f} pp" if kpi.kind == "rate" else f"{100 * kpi.change:+.1f}%"
    return text.replace("-", MINUS)


def _direction(kpi: Kpi) -> str:
    """CSS class of the change chip; credits stay neutral: more of them is neither good nor bad."""
    if kpi.change is None or kpi.kind == "credits" or abs(kpi.change) < 0.0005:
        return ""
    return "up" if kpi.change > 0 else "down"


def _day(day: dt.date | str) -> str:
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day} {day:%b %Y}"


def _day_long(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _month(day: dt.date) -> str:
    return f"{day:%B %Y}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analytics_pipeline.report", ""),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    # tojson sorts keys by default; the dataset's order (surfaces, models by credits) is meaningful.
    env.policies["json.dumps_kwargs"] = {"sort_keys": False}
    env.filters.update(
        count=_count,
        percent=_percent,
        percent_value=_percent_value,
        figure=_figure,
        exact=_exact,
        change=_change,
        direction=_direction,
        day=_day,
        day_long=_day_long,
        month=_month,
    )
    return env


# -- the page ------------------------------------------------------------------------------------------


def coverage_notes(data: ReportData) -> list[str]:
    """What a reader must know about missing days before trusting the tiles."""
    notes = []
    period, previous = data.period, data.previous
    if period.days_missing:
        notes.append(
            f"{period.days_missing} of {period.days_in_range} days of this period are not loaded: "
            f"its numbers cover the {period.days_loaded} loaded days."
        )
    if period.days_beyond_reach:
        notes.append(
            f"{period.days_beyond_reach} of {period.days_in_range} days of this period were never loaded and "
            "are beyond the API's reach (older than its 2-year lookback): not missing, but unknown."
        )
    if previous.days_loaded == 0:
        notes.append("No day of the previous period is loaded: there is nothing to compare with.")
    elif previous.days_loaded < previous.days_in_range:  # missing, or beyond the API's reach
        unloaded = previous.days_in_range - previous.days_loaded
        notes.append(
            f"{unloaded} of {previous.days_in_range} days of the previous period "
            "are not loaded: the changes compare periods of unequal coverage."
        )
    return notes


def default_grain(days: int) -> str:
    if days <= DAY_GRAIN_MAX_DAYS:
        return "day"
    return "week" if days <= WEEK_GRAIN_MAX_DAYS else "month"


def render_html(data: ReportData) -> str:
    """The report as one HTML document that needs nothing but a browser."""
    in_period = collections.Counter(d.state for d in data.days if d.in_period)
    generated = data.generated_at.astimezone(dt.UTC)
    context: dict[str, Any] = {
        "version": importlib.metadata.version("analytics-pipeline"),
        "generated_at": f"{generated.day} {generated:%b %Y, %H:%M} UTC",
        # Organisations are named only when the warehouse holds more than one: a single organisation's
        # report is the page it always was.
        "many_organizations": data.many_organizations,
        "scope": (data.organization or "all organisations") if data.many_organizations else None,
        "tag_organizations": data.many_organizations and data.organization is None,
        "by_organization": data.by_organization,
        "period": data.period,
        "previous": data.previous,
        "kpis": data.kpis,
        "coverage_notes": coverage_notes(data),
        "days": data.days,
        "day_counts": {
            state: in_period.get(state, 0)
            for state in ("loaded", "empty", "provisional", "missing", "beyond_reach")
        },
        "grains": GRAINS,
        "default_grain": default_grain(data.period.days_in_range),
        "surfaces": data.surfaces,
        "editors": data.editors,
        "languages": data.languages,
        "models": data.models,
        "top_users_by_lines": data.top_users_by_lines,
        "top_users_by_credits": data.top_users_by_credits,
        "budgets": data.budgets,
        "thresholds": BUDGET_THRESHOLDS,
        "data": data.to_json(),
        "css": _inline(_asset("report.css"), "report.css"),
        "chart_js": chart_js(),
        "chart_js_version": CHART_JS_VERSION,
        "report_js": _inline(_asset("report.js"), "report.js"),
    }
    return _environment().get_template("template.html").render(context)
