"""`{% load ops_figures %}{% ops_figure figure %}`: one figure as a chart, its table and a CSV link.

The table's cells are formatted by column kind in the reader's language (numbers grouped the
reader's way, money in rupiah, times in Asia/Jakarta); the chart is drawn in the browser by
static/js/ops-charts.js from the figure's JSON (analytics.figure_export.figure_json), which
carries the raw values.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext

from analytics.figure_export import figure_json
from analytics.figures import Figure
from analytics.periods import JAKARTA
from analytics.selectors.security import security_alerts_open_count
from okto88.money import rupiah

register = template.Library()

NUMERIC_KINDS = frozenset({"int", "number", "ms", "percent", "money"})
UNBROKEN_KINDS = frozenset({"datetime", "date"})
EMPTY = "–"
# A charted figure's table longer than this folds under its chart (a click opens it).
TABLE_ROWS_OPEN = 15


def _number(value, decimals: int) -> str:
    return formats.number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def cell_text(value, kind: str) -> str:
    """A value as the reader sees it in a table cell."""
    if value is None or value == "":
        return EMPTY
    numeric = isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if kind in NUMERIC_KINDS and not numeric:
        return str(value)  # "200+": a bound, not a number
    if kind == "int":
        return _number(value, 0)
    if kind == "number":
        return _number(value, 0 if float(value).is_integer() else 2)
    if kind == "ms":
        return f"{_number(value, 1 if abs(value) < 10 and not float(value).is_integer() else 0)} ms"
    if kind == "percent":
        return f"{_number(value, 1)} %"
    if kind == "money":
        return rupiah(int(value))
    if kind == "datetime" and isinstance(value, dt.datetime):
        return formats.date_format(value.astimezone(JAKARTA) if value.tzinfo else value, "j M Y H:i:s")
    if kind == "date" and isinstance(value, dt.date):
        return formats.date_format(value, "j M Y")
    if kind == "link" and isinstance(value, dict):
        return str(value.get("text") or value.get("url") or EMPTY)
    return str(value)


def cell_html(value, kind: str) -> str:
    if kind == "link" and isinstance(value, dict) and value.get("url"):
        return format_html('<a href="{}">{}</a>', value["url"], value.get("text") or value["url"])
    if kind == "link" and isinstance(value, str) and value.startswith("/"):  # a path of ours: "Open"
        return format_html('<a href="{}">{}</a>', value, gettext("Open"))
    return format_html("{}", cell_text(value, kind))


def chart_labels() -> str:
    """The timeline's bar kinds and marked statuses in the reader's language, for the chart legend."""
    return json.dumps({"wait": gettext("Queue wait"), "run": gettext("Run"), "failed": gettext("Failed"),
                       "retrying": gettext("Will retry"), "running": gettext("Running")})


def _order_number(row: dict) -> str:
    return str(row.get("order_number") or row.get("number") or "")


def _redrivable(row: dict) -> bool:
    # The stalled figure says what a re-drive would do; an empty "redrive" means nothing would.
    return "redrive" not in row or bool(row["redrive"])


@register.inclusion_tag("analytics/_figure.html", takes_context=True)
def ops_figure(context, figure: Figure, redrive: bool = False, csv: bool = True, empty: str = ""):
    """redrive: add a column with a re-drive button per row (the stalled orders, by their "number"
    or "order_number", unless the row's "redrive" says nothing would be done);
    empty: what the table says with no rows (default: nothing in this period)."""
    request = context.get("request")
    csv_url = ""
    if csv and request is not None:
        query = request.GET.copy()
        query["csv"] = figure.key
        csv_url = f"{request.path}?{query.urlencode()}"
    rows = []
    for row in figure.rows:
        cells = [{"html": cell_html(row.get(column.key), column.kind), "numeric": column.kind in NUMERIC_KINDS,
                  "unbroken": column.kind in UNBROKEN_KINDS} for column in figure.columns]
        number = _order_number(row)
        rows.append({"cells": cells, "redrive_url": reverse("analytics:order_redrive", args=[number])
                     if redrive and number and _redrivable(row) else ""})
    return {
        "figure": figure,
        "figure_json": figure_json(figure),
        "json_id": f"figure-data-{figure.key}",
        "chart_labels": chart_labels() if figure.chart == "timeline" else "",
        "columns": [{"label": column.label, "numeric": column.kind in NUMERIC_KINDS} for column in figure.columns],
        "rows": rows,
        "redrive": redrive,
        "empty": empty,
        "collapse": figure.chart != "none" and len(rows) > TABLE_ROWS_OPEN,
        "csv_url": csv_url,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def security_open_alerts() -> int:
    """The number of open security alerts, for the operations navigation's badge."""
    return security_alerts_open_count()
