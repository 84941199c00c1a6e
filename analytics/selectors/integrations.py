"""The integrations section of the operations view: every outbound partner call, per partner and
operation, from "partner" rollups (labels (partner, operation); outcome ok, rejected (the partner
said no), error, timeout, open (the circuit breaker failed it fast, no call made)).

Error rate counts errors and timeouts; latency percentiles leave out calls the breaker failed fast,
which never reached the partner.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from analytics.figures import Column, Figure
from analytics.periods import Period
from analytics.selectors.breakers import breaker_figures
from analytics.selectors.rollups import chart_bucket, rollup_series, rollup_summary

NOT_CALLED = ("open",)
FAILED = ("error", "timeout")


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 2)


def _calls_figure(*, period: Period) -> Figure:
    minutes = max((period.end - period.start).total_seconds() / 60, 1)
    rows = []
    for summary in rollup_summary("partner", period, group_by_label_index=(0, 1), latency_excluding=NOT_CALLED):
        partner, operation = summary.labels
        rows.append({
            "call": f"{partner} · {operation}",
            "partner": partner,
            "operation": operation,
            "calls": summary.count,
            "calls_per_minute": round(summary.count / minutes, 3),
            "p50_ms": _round(summary.p50),
            "p95_ms": _round(summary.p95),
            "error_rate": _percent(summary.share(*FAILED)),
            "timeout_rate": _percent(summary.share("timeout")),
            "fast_failed": summary.outcomes.get("open", 0),
        })
    return Figure(
        key="integrations_calls",
        title=_("Partner calls"),
        columns=(
            Column("call", _("Partner and operation")),
            Column("partner", _("Partner")),
            Column("operation", _("Operation")),
            Column("calls", _("Calls"), "int"),
            Column("calls_per_minute", _("Calls per minute"), "number"),
            Column("p50_ms", _("p50 latency"), "ms"),
            Column("p95_ms", _("p95 latency"), "ms"),
            Column("error_rate", _("Error rate"), "percent"),
            Column("timeout_rate", _("Timeout rate"), "percent"),
            Column("fast_failed", _("Failed fast (breaker open)"), "int"),
        ),
        rows=rows,
        chart="hbar",
        x="call",
        series=("p50_ms", "p95_ms"),
        note=_("Every outbound call per partner and operation. Error rate counts errors and timeouts; "
               "latency leaves out calls the circuit breaker failed fast."),
    )


def _timeline_figure(*, period: Period) -> Figure:
    bucket, points = rollup_series("partner", period, bucket=chart_bucket(period), latency_excluding=NOT_CALLED)
    minutes = bucket.total_seconds() / 60
    rows = [{
        "time": point.start,
        "calls_per_minute": round(point.summary.count / minutes, 3),
        "p95_ms": _round(point.summary.p95),
        "error_rate": _percent(point.summary.share(*FAILED)),
    } for point in points]
    return Figure(
        key="integrations_timeline",
        title=_("Partner calls over time"),
        columns=(
            Column("time", _("Time"), "datetime"),
            Column("calls_per_minute", _("Calls per minute"), "number"),
            Column("p95_ms", _("p95 latency"), "ms"),
            Column("error_rate", _("Error rate"), "percent"),
        ),
        rows=rows,
        chart="line",
        x="time",
        series=("calls_per_minute",),
        secondary=("error_rate",),
        note=_("All partners together: calls per minute (left axis) and the share that failed (right axis)."),
        extra={"bucket_seconds": int(bucket.total_seconds())},
    )


def integrations_figures(*, period: Period) -> list[Figure]:
    # The breakers' state is now, whatever the period: it comes first, as what an operator acts on.
    return [*breaker_figures(), _calls_figure(period=period), _timeline_figure(period=period)]
