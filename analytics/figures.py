"""What every operations page, API answer and CSV export is made of: figures.

A figure is a table (columns, rows) and how to chart it. Selectors build figures; the page
renders each as a chart with its table under it and a CSV link; the API returns the same
figures as JSON; the CSV export writes the same rows. One shape, three readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a column's values are shown and exported. "ms" and "percent" are numbers (a percent
# is 0–100); "money" is whole rupiah; "datetime" an aware datetime shown in Asia/Jakarta.
COLUMN_KINDS = ("text", "int", "number", "ms", "percent", "money", "datetime", "date", "link")

# How a figure is drawn. "none": table only. "line"/"bar": x is a column, series are columns.
# "hbar": horizontal bars (categories on the left). "funnel": bars of one series, in row order.
# "timeline": floating bars, rows carry "lane", "start_ms", "end_ms", "kind" (wait/run/...).
CHART_KINDS = ("none", "line", "bar", "hbar", "funnel", "timeline")


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # translatable (gettext_lazy); rendered in the reader's language
    kind: str = "text"

    def __post_init__(self):
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Figure:
    key: str  # unique on its page; names the CSV export (?csv=<key>)
    title: str  # translatable
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    chart: str = "none"
    x: str | None = None  # the column on the x axis (or the category column)
    series: tuple[str, ...] = ()  # columns drawn on the left axis
    secondary: tuple[str, ...] = ()  # columns drawn on a right axis (other unit)
    note: str = ""  # translatable; shown under the title (what the figure counts)
    extra: dict[str, Any] = field(default_factory=dict)  # chart options a kind needs (e.g. markers)

    def __post_init__(self):
        if self.chart not in CHART_KINDS:
            raise ValueError(f"unknown chart kind {self.chart!r}")
        keys = {column.key for column in self.columns}
        for name in (self.x, *self.series, *self.secondary):
            if name is not None and name not in keys:
                raise ValueError(f"figure {self.key}: {name!r} is not a column")
