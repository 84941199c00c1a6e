"""The load section of the operations view: requests per minute against latency, per route, and
what the platform had to work with meanwhile (database connections, Celery queue depth).

All from rollups (analytics.selectors.rollups): "request" rows, labels (method, route) and
outcome "2xx".."5xx"; "system" rows, gauges sampled once a minute by analytics.rollups_flush.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from analytics.periods import Period
from analytics.selectors.rollups import bucket_starts, chart_bucket, rollup_series, rollup_summary

ROUTES_SHOWN = 100  # the busiest routes; the table is for finding the heavy ones


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _requests_figure(*, period: Period, route: str | None) -> Figure:
    labels_filter = {1: route} if route else None
    bucket, points = rollup_series("request", period, bucket=chart_bucket(period), labels_filter=labels_filter)
    minutes = bucket.total_seconds() / 60
    rows = [{"time": point.start, "requests_per_minute": round(point.summary.count / minutes, 2),
             "p50_ms": _round(point.summary.p50), "p95_ms": _round(point.summary.p95)} for point in points]
    title = _("Requests and latency") if not route else _("Requests and latency: %(route)s") % {"route": route}
    return Figure(
        key="load_requests",
        title=title,
        columns=(
            Column("time", _("Time"), "datetime"),
            Column("requests_per_minute", _("Requests per minute"), "number"),
            Column("p50_ms", _("p50 latency"), "ms"),
            Column("p95_ms", _("p95 latency"), "ms"),
        ),
        rows=rows,
        chart="line",
        x="time",
        series=("requests_per_minute",),
        secondary=("p50_ms", "p95_ms"),
        note=_("Requests per minute (left axis) and server time p50/p95 (right axis), estimated from "
               "histogram buckets; one point per %(minutes)d minutes.") % {"minutes": round(minutes)},
        extra={"bucket_seconds": int(bucket.total_seconds()), "route": route or ""},
    )


def _system_figure(*, period: Period) -> Figure:
    bucket = chart_bucket(period)
    _bucket, points = rollup_series("system", period, bucket=bucket, group_by_label_index=(0, 1))
    queues = sorted({point.labels[1] for point in points
                     if point.labels[0] == "celery_queue_depth" and point.labels[1]})
    queue_keys = {queue: f"queue_{index}" for index, queue in enumerate(queues)}
    by_time: dict = {}
    for point in points:
        row = by_time.setdefault(point.start, {"time": point.start})
        mean = _round(point.summary.mean)
        if point.labels[0] == "db_connections_in_use":
            row["db_connections"] = mean
        elif point.labels[0] == "celery_queue_depth" and point.labels[1] in queue_keys:
            row[queue_keys[point.labels[1]]] = mean
    columns = [Column("time", _("Time"), "datetime"),
               Column("db_connections", _("Database connections in use"), "number")]
    columns += [Column(key, _("Queue %(queue)s") % {"queue": queue}, "number") for queue, key in queue_keys.items()]
    rows = []
    for start in bucket_starts(period, bucket):  # every bucket, as on the requests chart beside it
        row = {column.key: None for column in columns}
        row.update(by_time.get(start, {"time": start}))
        rows.append(row)
    return Figure(
        key="load_system",
        title=_("Database connections and queue depth"),
        columns=tuple(columns),
        rows=rows,
        chart="line",
        x="time",
        series=("db_connections",),
        secondary=tuple(queue_keys.values()),
        note=_("Means of samples taken once a minute: database connections doing work (left axis) and "
               "messages waiting in each Celery queue (right axis)."),
        extra={"bucket_seconds": int(bucket.total_seconds()), "beside": "load_requests"},
    )


def _routes_figure(*, period: Period) -> Figure:
    summaries = rollup_summary("request", period, group_by_label_index=(0, 1))[:ROUTES_SHOWN]
    rows = [{
        "method": summary.labels[0],
        "route": summary.labels[1] or "/",
        "requests": summary.count,
        "p50_ms": _round(summary.p50),
        "p95_ms": _round(summary.p95),
        "error_rate_5xx": _round(100 * (summary.share("5xx") or 0.0), 2),
    } for summary in summaries]
    return Figure(
        key="load_routes",
        title=_("Routes"),
        columns=(
            Column("method", _("Method")),
            Column("route", _("Route")),
            Column("requests", _("Requests"), "int"),
            Column("p50_ms", _("p50 latency"), "ms"),
            Column("p95_ms", _("p95 latency"), "ms"),
            Column("error_rate_5xx", _("5xx rate"), "percent"),
        ),
        rows=rows,
        note=_("The %(count)d busiest routes of the period, by requests.") % {"count": ROUTES_SHOWN},
    )


def load_figures(*, period: Period, route: str | None = None) -> list[Figure]:
    return [
        _requests_figure(period=period, route=route),
        _system_figure(period=period),
        _routes_figure(period=period),
    ]
