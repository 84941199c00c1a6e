"""A figure as JSON (the API and the page's chart read the same) and as a CSV file, for the
operators' pages (/ops/) and a supplier's own figures in the supplier admin alike.

Values become JSON-safe here and nowhere else: aware datetimes as ISO 8601 in Asia/Jakarta,
dates as ISO dates, Decimals as numbers. The CSV carries the same values under the columns'
labels in the reader's language, UTF-8 with a BOM so that Excel reads it as UTF-8.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpResponse

from analytics.figures import Figure
from analytics.periods import JAKARTA, Period

# Spreadsheets run a cell that starts with one of these as a formula; text from the outside
# (a searched part number) must not. Numbers are written as numbers and never prefixed.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def value_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(JAKARTA).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {str(key): value_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [value_json(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # a lazy translation, an enum member: its text


def figure_json(figure: Figure) -> dict[str, Any]:
    """The figure as the API returns it and the chart script draws it (labels in the active language)."""
    return {
        "key": figure.key,
        "title": str(figure.title),
        "note": str(figure.note),
        "chart": figure.chart,
        "x": figure.x,
        "series": list(figure.series),
        "secondary": list(figure.secondary),
        "columns": [{"key": column.key, "label": str(column.label), "kind": column.kind}
                    for column in figure.columns],
        "rows": [{column.key: value_json(row.get(column.key)) for column in figure.columns} for row in figure.rows],
        "extra": value_json(figure.extra),
    }


def _csv_cell(value: Any) -> Any:
    value = value_json(value)
    if value is None:
        return ""
    if isinstance(value, dict):  # a link: its text
        return _csv_cell(value.get("text", value.get("url", "")))
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def figure_csv(figure: Figure) -> bytes:
    """The figure's table as CSV: a header of column labels, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(column.label) for column in figure.columns])
    for row in figure.rows:
        writer.writerow([_csv_cell(row.get(column.key)) for column in figure.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def period_slug(period: Period) -> str:
    """The period in a file name: '24h-20261206-1130' (ending then) or '20261201-20261205'."""
    if period.name == "range":
        last_day = (period.end - dt.timedelta(days=1)).astimezone(JAKARTA)
        return f"{period.start.astimezone(JAKARTA):%Y%m%d}-{last_day:%Y%m%d}"
    return f"{period.name}-{period.end.astimezone(JAKARTA):%Y%m%d-%H%M}"


def csv_filename(*, section: str, figure: Figure, period_text: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in f"{section}-{figure.key}-{period_text}")
    return f"okto88-{safe}.csv"


def figure_csv_response(figures: list[Figure], key: str, *, section: str, period_text: str) -> HttpResponse:
    """The CSV download of the page's figure `key` (404 when the page has no such figure)."""
    figure = next((f for f in figures if f.key == key), None)
    if figure is None:
        raise Http404(f"No figure {key!r} on this page.")
    response = HttpResponse(figure_csv(figure), content_type="text/csv; charset=utf-8")
    filename = csv_filename(section=section, figure=figure, period_text=period_text)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
