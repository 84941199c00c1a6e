"""Reads over analytics.Rollup: totals and percentiles per label group, and time series.

Percentiles are estimated from the histogram buckets (okto88.recording.BUCKET_BOUNDS_MS), the
way Prometheus' histogram_quantile does: the rank q × count is found in the cumulative
counts, and the value is interpolated linearly between the lower and upper bound of the bucket
that holds it (the first bucket's lower bound is 0), as if that bucket's events were spread
evenly over it. A rank that falls in the last (+Inf) bucket is reported as the highest finite
bound: the histogram cannot say how much slower those events were. So an estimate is exact at
bucket bounds and off by at most one bucket's width between them.

A period adds minute rows and hour rows alike (an event lives in exactly one row); hour rows
(data older than ROLLUP_MINUTE_RETENTION_HOURS) are counted whole when their hour starts
inside the period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from analytics.periods import JAKARTA, Period
from okto88.recording import BUCKET_BOUNDS_MS, SLOT_COUNT

# Widths a time chart may use, finest first; the first that gives at most MAX_CHART_POINTS wins.
CHART_BUCKETS = (
    dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1),
    dt.timedelta(hours=3), dt.timedelta(hours=6), dt.timedelta(days=1),
)
MAX_CHART_POINTS = 300
WORK_MEM = "32MB"
# The hours of minute rows (the last ROLLUP_MINUTE_RETENTION_HOURS) are summed once per hour and
# kept in the cache, so a period of days reads one entry per hour instead of up to sixty rows per
# series and hour. An hour is cached once it ended SETTLED_AFTER ago (beat moves the complete
# minutes every minute); an entry lives HOUR_CACHE_SECONDS, so a minute that arrived later
# still shows within the hour. Compaction into hour rows keeps an hour's totals: entries stay right.
HOUR = dt.timedelta(hours=1)
SETTLED_AFTER = dt.timedelta(minutes=10)
HOUR_CACHE_SECONDS = 3600
HOUR_CACHE_MIN_HOURS = 3  # fewer settled hours in the period: the plain query
# Part of every cached sum's key: a writer of past minutes (the demo history, which records under a
# shifted clock into hours already cached) moves it on (analytics.services.rollup_sums_forget), and
# every sum is read afresh.
SUMS_GENERATION_KEY = "analytics:rollup-sums:generation"
# Summaries (not charts) of longer periods keep whole settled days (Asia/Jakarta) the same way.
DAY = dt.timedelta(days=1)
DAY_CACHE_MIN_DAYS = 2
# Time buckets start on Jakarta midnights (Asia/Jakarta has no daylight saving time).
_BUCKET_ORIGIN = dt.datetime(2000, 1, 1, tzinfo=JAKARTA)


def percentile_ms(histogram: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) in milliseconds estimated from bucket counts (see the module
    docstring); None when the histogram is empty."""
    total = sum(histogram)
    if total <= 0:
        return None
    rank = q * total
    cumulative = 0
    for slot, n in enumerate(histogram):
        if n and cumulative + n >= rank:
            if slot >= len(BUCKET_BOUNDS_MS):
                return float(BUCKET_BOUNDS_MS[-1])
            lower = float(BUCKET_BOUNDS_MS[slot - 1]) if slot else 0.0
            upper = float(BUCKET_BOUNDS_MS[slot])
            return lower + (upper - lower) * (rank - cumulative) / n
        cumulative += n
    return float(BUCKET_BOUNDS_MS[-1])


def _histogram_sum(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = [0] * SLOT_COUNT
    for histogram in histograms:
        for slot, n in enumerate(histogram[:SLOT_COUNT]):
            total[slot] += n
    return total


@dataclass
class RollupSummary:
    """One group's figures: labels are the grouped label values (empty when not grouped)."""

    labels: tuple[str, ...]
    count: int = 0
    sum_ms: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)  # outcome -> count
    histograms: dict[str, list[int]] = field(default_factory=dict)  # outcome -> bucket counts
    latency_excluding: tuple[str, ...] = ()  # outcomes left out of the percentiles (e.g. "open")

    @property
    def label(self) -> str | None:
        return self.labels[0] if self.labels else None

    @property
    def histogram(self) -> list[int]:
        return _histogram_sum(h for outcome, h in self.histograms.items() if outcome not in self.latency_excluding)

    def percentile(self, q: float) -> float | None:
        return percentile_ms(self.histogram, q)

    @property
    def p50(self) -> float | None:
        return self.percentile(0.50)

    @property
    def p95(self) -> float | None:
        return self.percentile(0.95)

    @property
    def p99(self) -> float | None:
        return self.percentile(0.99)

    @property
    def mean(self) -> float | None:
        """sum_ms / count: the mean duration, or the mean sampled value of a "system" gauge."""
        return self.sum_ms / self.count if self.count else None

    def share(self, *outcomes: str) -> float | None:
        """The share (0–1) of the count whose outcome is one of these."""
        if not self.count:
            return None
        return sum(self.outcomes.get(outcome, 0) for outcome in outcomes) / self.count


@dataclass
class RollupPoint:
    """One time bucket of a series: start is aware (Asia/Jakarta)."""

    start: dt.datetime
    labels: tuple[str, ...]
    summary: RollupSummary


def _group_indexes(group_by_label_index: int | Sequence[int] | None) -> tuple[int, ...]:
    if group_by_label_index is None:
        return ()
    if isinstance(group_by_label_index, int):
        return (group_by_label_index,)
    return tuple(group_by_label_index)


def _query(*, kind: str, period: Period, group: tuple[int, ...], labels_filter: dict[int, str] | None,
           bucket: dt.timedelta | None) -> tuple[str, list]:
    # Positions are validated ints and SQL array subscripts are 1-based; every value is a parameter.
    columns = [f"labels[{int(index) + 1}]" for index in group]
    params: list = []
    if bucket is not None:
        columns.insert(0, "date_bin(%s::interval, bucket_start, %s::timestamptz)")
        params += [bucket, _BUCKET_ORIGIN]
    sums = ", ".join(f"sum(histogram[{slot + 1}])" for slot in range(SLOT_COUNT))
    where = ["kind = %s", "bucket_start >= %s", "bucket_start < %s"]
    params += [kind, period.start, period.end]
    for index, value in sorted((labels_filter or {}).items()):
        where.append(f"labels[{int(index) + 1}] = %s")
        params.append(value)
    group_by = ", ".join(str(position) for position in range(1, len(columns) + 2))
    sql = (
        f"SELECT {', '.join([*columns, 'outcome'])}, sum(count), sum(sum_ms), {sums}"  # noqa: S608 - fixed fragments
        f" FROM analytics_rollup WHERE {' AND '.join(where)} GROUP BY {group_by}"
    )
    return sql, params


def _rows(sql: str, params: list) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        # A month of rows groups in memory with this work_mem (the default spills the sort of a
        # chart's buckets to disk); JIT compiling the 18 sums costs more than it saves here.
        cursor.execute("SELECT set_config('jit', 'off', true), set_config('work_mem', %s, true)", [WORK_MEM])
        cursor.execute(sql, params)
        return cursor.fetchall()


def _hour_floor(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _cached_span(period: Period, bucket: dt.timedelta | None,
                 now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The whole, settled hours of minute rows inside the period, as (first, end), or None. A
    chart's buckets must be whole hours (they start on Jakarta midnights, so on whole hours)."""
    if bucket is not None and (bucket < HOUR or bucket % HOUR):
        return None
    since = max(period.start, now - dt.timedelta(hours=settings.ROLLUP_MINUTE_RETENTION_HOURS))
    first = _hour_floor(since) + (HOUR if _hour_floor(since) != since else dt.timedelta(0))
    end = _hour_floor(min(period.end, now - SETTLED_AFTER))
    return (first, end) if end - first >= HOUR_CACHE_MIN_HOURS * HOUR else None


def _day_span(period: Period, before: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """The whole days (Asia/Jakarta) of the period that end by `before`, or None."""
    days = (period.start - _BUCKET_ORIGIN) // DAY
    first = _BUCKET_ORIGIN + days * DAY + (DAY if _BUCKET_ORIGIN + days * DAY != period.start else dt.timedelta(0))
    end = _BUCKET_ORIGIN + ((min(period.end, before) - _BUCKET_ORIGIN) // DAY) * DAY
    return (first, end) if end - first >= DAY_CACHE_MIN_DAYS * DAY else None


def _outside(period: Period, *spans: tuple[dt.datetime, dt.datetime] | None) -> list[Period]:
    """The parts of the period outside the spans (which do not overlap)."""
    parts, start = [], period.start
    for first, end in sorted(span for span in spans if span is not None):
        if start < first:
            parts.append((start, first))
        start = max(start, end)
    if start < period.end:
        parts.append((start, period.end))
    return [dataclasses.replace(period, start=first, end=end) for first, end in parts]


def _hour_rows(kind: str, span: tuple[dt.datetime, dt.datetime], group: tuple[int, ...],
               labels_filter: dict[int, str] | None, step: dt.timedelta = HOUR,
               within: dt.timedelta | None = None) -> list[tuple]:
    """Rows (start, *labels, outcome, count, sum_ms, *slots) of every hour (or day) of the span,
    summed per step or, with `within` (a chart's bucket that divides the step), per bucket; from
    the cache or, for the steps it lacks, summed in one query and cached."""
    identity = repr((kind, group, sorted((labels_filter or {}).items()), int(step.total_seconds()),
                     int(within.total_seconds()) if within else 0, cache.get(SUMS_GENERATION_KEY, 0)))
    prefix = "analytics:rollup-hour:" + hashlib.sha256(identity.encode()).hexdigest()[:24]
    keys, hour = {}, span[0]
    while hour < span[1]:
        keys[f"{prefix}:{int(hour.timestamp())}"] = hour
        hour += step
    found = cache.get_many(list(keys))
    rows = [row for key in keys if key in found for row in found[key]]
    missing = {hour: [] for key, hour in keys.items() if key not in found}
    if missing:
        first, last = min(missing), max(missing)
        summed = Period(start=first, end=last + step, bucket=step, name="range", label="")
        sql, params = _query(kind=kind, period=summed, group=group, labels_filter=labels_filter,
                             bucket=within or step)
        for row in _rows(sql, params):
            owner = _BUCKET_ORIGIN + ((row[0] - _BUCKET_ORIGIN) // step) * step
            if owner in missing:  # steps between that were cached already are taken from the cache
                missing[owner].append(tuple(row))
        cache.set_many({key: missing[hour] for key, hour in keys.items() if hour in missing}, HOUR_CACHE_SECONDS)
        rows += [row for hour_rows in missing.values() for row in hour_rows]
    return rows


def _add(summary: RollupSummary, outcome: str, count, sum_ms, slots: Sequence) -> None:
    summary.count += int(count or 0)
    summary.sum_ms += float(sum_ms or 0)
    summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + int(count or 0)
    histogram = summary.histograms.setdefault(outcome, [0] * SLOT_COUNT)
    for slot, n in enumerate(slots):
        histogram[slot] += int(n or 0)


def rollup_summary(kind: str, period: Period, group_by_label_index: int | Sequence[int] | None = None, *,
                   labels_filter: dict[int, str] | None = None,
                   latency_excluding: Sequence[str] = ()) -> list[RollupSummary]:
    """Totals of one kind over a period, one RollupSummary per group of label values (label
    positions are 0-based: for "request" (method, route), 1 is the route), largest count first.
    labels_filter keeps only rows whose label at a position equals a value. Percentiles leave
    out the outcomes in latency_excluding (a breaker's fast failure is not a partner's latency)."""
    group = _group_indexes(group_by_label_index)
    now = timezone.now()
    span = _cached_span(period, None, now)
    # Before the cached hours (or the unsettled end), whole days of hour rows are cached per day.
    days = _day_span(period, span[0] if span else now - SETTLED_AFTER)
    found: list = []
    for part in _outside(period, span, days):
        sql, params = _query(kind=kind, period=part, group=group, labels_filter=labels_filter, bucket=None)
        found += _rows(sql, params)
    if span is not None:
        found += [row[1:] for row in _hour_rows(kind, span, group, labels_filter)]
    if days is not None:
        found += [row[1:] for row in _hour_rows(kind, days, group, labels_filter, step=DAY)]
    summaries: dict[tuple[str, ...], RollupSummary] = {}
    width = len(group)
    for row in found:
        labels = tuple(row[:width])
        summary = summaries.get(labels)
        if summary is None:
            summary = summaries[labels] = RollupSummary(labels=labels, latency_excluding=tuple(latency_excluding))
        _add(summary, row[width], row[width + 1], row[width + 2], row[width + 3:])
    return sorted(summaries.values(), key=lambda s: (-s.count, s.labels))


def chart_bucket(period: Period, *, now: dt.datetime | None = None) -> dt.timedelta:
    """The finest time bucket that keeps a chart of the period within MAX_CHART_POINTS points;
    never finer than an hour where the period reaches back past the minute rows' retention."""
    now = now or timezone.now()
    length = period.end - period.start
    minute_rows_since = now - dt.timedelta(hours=settings.ROLLUP_MINUTE_RETENTION_HOURS)
    for bucket in CHART_BUCKETS:
        if bucket < dt.timedelta(hours=1) and period.start < minute_rows_since:
            continue
        if length / bucket <= MAX_CHART_POINTS:
            return bucket
    return CHART_BUCKETS[-1]


def bucket_starts(period: Period, bucket: dt.timedelta) -> list[dt.datetime]:
    """Every bucket start of the period (the first one at or before period.start), in Jakarta time."""
    first = _BUCKET_ORIGIN + ((period.start - _BUCKET_ORIGIN) // bucket) * bucket
    starts, current = [], first
    while current < period.end:
        starts.append(current.astimezone(JAKARTA))
        current += bucket
    return starts


def rollup_series(kind: str, period: Period, *, bucket: dt.timedelta | None = None,
                  group_by_label_index: int | Sequence[int] | None = None,
                  labels_filter: dict[int, str] | None = None,
                  latency_excluding: Sequence[str] = ()) -> tuple[dt.timedelta, list[RollupPoint]]:
    """A time series of one kind: (bucket width, points). Without grouping there is one point per
    bucket of the period, empty buckets included (count 0, no percentiles); with grouping, one
    point per bucket and group that has data."""
    bucket = bucket or chart_bucket(period)
    group = _group_indexes(group_by_label_index)
    now = timezone.now()
    span = _cached_span(period, bucket, now)
    # Whole days before that, when the buckets divide a day (they start on Jakarta midnights).
    days = None
    if span is not None or (bucket >= HOUR and not bucket % HOUR):
        days = _day_span(period, span[0] if span else now - SETTLED_AFTER) if not DAY % bucket else None
    found: list = []
    for part in _outside(period, span, days):
        sql, params = _query(kind=kind, period=part, group=group, labels_filter=labels_filter, bucket=bucket)
        found += _rows(sql, params)
    if days is not None:
        found += _hour_rows(kind, days, group, labels_filter, step=DAY, within=bucket)
    if span is not None:
        # an hour lies inside one bucket: the bucket's start as date_bin computes it
        found += [(_BUCKET_ORIGIN + ((row[0] - _BUCKET_ORIGIN) // bucket) * bucket, *row[1:])
                  for row in _hour_rows(kind, span, group, labels_filter)]
    points: dict[tuple, RollupPoint] = {}
    if not group:
        for start in bucket_starts(period, bucket):
            empty = RollupSummary(labels=(), latency_excluding=tuple(latency_excluding))
            points[(start, ())] = RollupPoint(start, (), empty)
    width = len(group)
    for row in found:
        start, labels = row[0].astimezone(JAKARTA), tuple(row[1:1 + width])
        point = points.get((start, labels))
        if point is None:
            point = points[(start, labels)] = RollupPoint(
                start, labels, RollupSummary(labels=labels, latency_excluding=tuple(latency_excluding)))
        rest = row[1 + width:]
        _add(point.summary, rest[0], rest[1], rest[2], rest[3:])
    return bucket, sorted(points.values(), key=lambda p: (p.start, p.labels))
