"""Rollup percentiles, summaries, series, compaction and retention against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics.models import Rollup
from analytics.periods import JAKARTA, Period
from analytics.selectors.rollups import chart_bucket, percentile_ms, rollup_series, rollup_summary
from analytics.services import RollupRow, rollups_add, rollups_compact, rollups_prune, system_gauges_sample
from okto88.metrics import celery_queue_names
from okto88.recording import SLOT_COUNT
from okto88.redis_connection import redis_client

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

# Bucket upper bounds (ms): 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, ... → slots 0, 1, 2, 3, 4, 5, 6, 7, 8, 9.


def histogram(**slots: int) -> tuple[int, ...]:
    counts = [0] * SLOT_COUNT
    for name, n in slots.items():
        counts[int(name[1:])] = n
    return tuple(counts)


def row(*, start: dt.datetime, labels=("GET", "parts/"), outcome="2xx", hist=(), seconds=60,
        kind="request") -> RollupRow:
    return RollupRow(kind=kind, bucket_seconds=seconds, bucket_start=start, labels=tuple(labels), outcome=outcome,
                     count=sum(hist), sum_ms=float(sum(hist)), histogram=tuple(hist))


def period(start: dt.datetime, end: dt.datetime) -> Period:
    return Period(start=start, end=end, bucket=dt.timedelta(hours=1), name="range", label="test")


def test_percentiles_interpolate_inside_the_bucket():
    # 10 events: 4 in (2, 5] ms, 4 in (10, 25] ms, 2 in (250, 500] ms.
    counts = histogram(s2=4, s4=4, s8=2)
    # p50: rank 0.5 × 10 = 5; 4 events lie below 10 ms, so the 1st of 4 in (10, 25]: 10 + 15 × 1/4.
    assert percentile_ms(counts, 0.50) == pytest.approx(13.75)
    # p95: rank 9.5; 8 below 250 ms, 1.5 of 2 into (250, 500]: 250 + 250 × 1.5/2.
    assert percentile_ms(counts, 0.95) == pytest.approx(437.5)
    # p99: rank 9.9: 250 + 250 × 1.9/2.
    assert percentile_ms(counts, 0.99) == pytest.approx(487.5)
    # The first bucket starts at 0: 2 events ≤ 1 ms, the median halfway through it.
    assert percentile_ms(histogram(s0=2), 0.5) == pytest.approx(0.5)
    # Past the last finite bound (60 s) nothing is known but "slower": the bound itself.
    assert percentile_ms(histogram(s15=3), 0.5) == 60000.0
    assert percentile_ms(histogram(), 0.5) is None


@pytest.mark.django_db
def test_summary_per_route_adds_minutes_outcomes_and_hour_rows():
    start = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    rollups_add(rows=[
        row(start=start, hist=histogram(s2=2, s4=1)),
        row(start=start + dt.timedelta(minutes=1), hist=histogram(s2=2, s4=3)),
        row(start=start + dt.timedelta(minutes=1), outcome="5xx", hist=histogram(s8=2)),
        row(start=start - dt.timedelta(hours=1), seconds=3600, hist=histogram(s4=0, s9=0)),  # empty hour row
        row(start=start, labels=("POST", "orders/"), hist=histogram(s5=1)),
        row(start=start - dt.timedelta(hours=5), hist=histogram(s9=50)),  # before the period
    ])

    summaries = rollup_summary("request", period(start - dt.timedelta(hours=2), start + dt.timedelta(hours=1)),
                               group_by_label_index=1)

    assert [s.label for s in summaries] == ["parts/", "orders/"]
    parts = summaries[0]
    # parts/: 4 in (2, 5], 4 in (10, 25], 2 in (250, 500]: the data set of the test above.
    assert (parts.count, parts.outcomes) == (10, {"2xx": 8, "5xx": 2})
    assert parts.p50 == pytest.approx(13.75) and parts.p95 == pytest.approx(437.5)
    assert parts.share("5xx") == pytest.approx(0.2)
    only_ok = rollup_summary("request", period(start, start + dt.timedelta(hours=1)), 1,
                             labels_filter={1: "parts/"}, latency_excluding=("5xx",))
    # Without the 5xx: 4 in (2, 5], 4 in (10, 25]; p50 rank 4 is the top of (2, 5].
    assert len(only_ok) == 1 and only_ok[0].p50 == pytest.approx(5.0)


@pytest.mark.django_db
def test_a_series_has_every_bucket_of_the_period():
    start = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
    rollups_add(rows=[
        row(start=start + dt.timedelta(minutes=2), hist=histogram(s2=3)),
        row(start=start + dt.timedelta(minutes=7), hist=histogram(s4=1)),
        row(start=start + dt.timedelta(minutes=8), hist=histogram(s4=1)),
    ])
    bucket, points = rollup_series("request", period(start, start + dt.timedelta(minutes=15)),
                                   bucket=dt.timedelta(minutes=5))
    assert bucket == dt.timedelta(minutes=5)
    assert [p.start for p in points] == [(start + dt.timedelta(minutes=m)).astimezone(JAKARTA) for m in (0, 5, 10)]
    assert [p.summary.count for p in points] == [3, 2, 0]
    assert points[1].summary.p50 == pytest.approx(17.5)  # 2 in (10, 25]: rank 1 is halfway
    assert points[2].summary.p50 is None


def test_chart_buckets_keep_charts_within_300_points():
    now = NOW
    assert chart_bucket(period(now - dt.timedelta(hours=2), now), now=now) == dt.timedelta(minutes=1)
    assert chart_bucket(period(now - dt.timedelta(hours=24), now), now=now) == dt.timedelta(minutes=5)
    assert chart_bucket(period(now - dt.timedelta(days=7), now), now=now) == dt.timedelta(hours=1)
    assert chart_bucket(period(now - dt.timedelta(days=30), now), now=now) == dt.timedelta(hours=3)
    # A day of hour rows (past the minute rows' 48 h) is drawn by the hour, not in empty 5-minute gaps.
    old = now - dt.timedelta(days=5)
    assert chart_bucket(period(old, old + dt.timedelta(days=1)), now=now) == dt.timedelta(hours=1)


@pytest.mark.django_db
def test_compaction_folds_old_minutes_into_hour_rows():
    old_hour = dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC)  # 55 h before NOW
    rollups_add(rows=[
        row(start=old_hour + dt.timedelta(minutes=3), hist=histogram(s2=2, s4=1)),
        row(start=old_hour + dt.timedelta(minutes=59), hist=histogram(s4=2, s8=1)),
        row(start=old_hour + dt.timedelta(minutes=10), outcome="5xx", hist=histogram(s9=1)),
        row(start=old_hour + dt.timedelta(minutes=20), kind="demand", labels=("no_offer", "x"), hist=()),
        row(start=NOW - dt.timedelta(hours=47), hist=histogram(s1=1)),  # recent: stays a minute row
    ])
    # An hour row of that hour already exists (an earlier, partial compaction): it is added to.
    rollups_add(rows=[row(start=old_hour, seconds=3600, hist=histogram(s2=1))])

    assert rollups_compact(now=NOW) == 4
    assert rollups_compact(now=NOW) == 0

    hour = Rollup.objects.get(kind="request", bucket_seconds=3600, outcome="2xx")
    assert hour.bucket_start == old_hour
    assert hour.count == 7 and hour.sum_ms == 7.0
    assert hour.histogram == list(histogram(s2=3, s4=3, s8=1))
    assert Rollup.objects.get(kind="request", bucket_seconds=3600, outcome="5xx").histogram[9] == 1
    demand = Rollup.objects.get(kind="demand")
    assert (demand.bucket_seconds, demand.bucket_start, demand.histogram) == (3600, old_hour, [])
    assert list(Rollup.objects.filter(bucket_seconds=60).values_list("bucket_start", flat=True)) == [
        NOW - dt.timedelta(hours=47)]


@pytest.mark.django_db
def test_hour_rows_past_the_retention_are_deleted():
    rollups_add(rows=[
        row(start=NOW - dt.timedelta(days=36), seconds=3600, hist=histogram(s1=1)),
        row(start=NOW - dt.timedelta(days=34), seconds=3600, hist=histogram(s1=1)),
    ])
    assert rollups_prune(now=NOW) == 1
    assert list(Rollup.objects.values_list("bucket_start", flat=True)) == [NOW - dt.timedelta(days=34)]


@pytest.mark.django_db
def test_system_gauges_are_sampled_into_rollups():
    queue = celery_queue_names()[1]  # the imports queue of this test session: nobody consumes it
    redis_client().delete(queue)
    redis_client().lpush(queue, "a", "b", "c")
    try:
        sampled_at = NOW.timestamp()
        system_gauges_sample(now=sampled_at)
        system_gauges_sample(now=sampled_at + 1)  # a second sample in the same minute: a mean of two
    finally:
        redis_client().delete(queue)
    depth = Rollup.objects.get(kind="system", labels=["celery_queue_depth", queue])
    assert (depth.count, depth.sum_ms, depth.bucket_start) == (2, 6.0, NOW)
    connections = Rollup.objects.get(kind="system", labels=["db_connections_in_use"])
    assert connections.count == 2 and connections.sum_ms >= 0


@pytest.mark.django_db
def test_the_beat_task_flushes_samples_and_compacts():
    from django.conf import settings

    from analytics.tasks import rollups_flush_task
    from okto88.recording import record, recording_flush

    assert settings.CELERY_BEAT_SCHEDULE["analytics-rollups-flush"]["task"] == rollups_flush_task.name
    rollups_add(rows=[row(start=dt.datetime.now(tz=dt.UTC) - dt.timedelta(hours=50), hist=histogram(s1=1))])
    record("step_run", ("notify",), 0.01, "succeeded")
    recording_flush()

    done = rollups_flush_task()

    assert done["sampled"] >= 1 and done["compacted"] == 1
    assert Rollup.objects.filter(kind="system").exists()
    assert Rollup.objects.filter(kind="request", bucket_seconds=3600).count() == 1


@pytest.mark.django_db
def test_settled_hours_of_minute_rows_are_summed_once_and_kept_per_hour():
    from django.core.cache import cache
    from django.utils import timezone

    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=5)  # settled, in the minute rows
    rollups_add(rows=[
        row(start=hour + dt.timedelta(minutes=1), hist=histogram(s2=2, s4=1)),
        row(start=hour + dt.timedelta(minutes=90), hist=histogram(s4=3)),
        row(start=hour + dt.timedelta(hours=2), hist=histogram(s8=2)),
        row(start=now - dt.timedelta(minutes=10), hist=histogram(s2=1)),  # not settled: read as rows
        row(start=hour - dt.timedelta(days=3), hist=histogram(s4=4), seconds=3600),  # an hour row
    ])
    week = Period(start=now - dt.timedelta(days=7), end=now, bucket=dt.timedelta(days=1), name="7d", label="")

    (first,) = rollup_summary("request", week, group_by_label_index=1)
    # 3 + 3 + 2 + 1 + 4 = 13 requests: 3 in (2, 5] ms, 8 in (10, 25], 2 in (250, 500]; p50 rank 6.5:
    # 10 + 15 × (6.5 − 3) / 8 = 16.5625
    assert (first.labels, first.count) == (("parts/",), 13)
    assert first.p50 == pytest.approx(16.5625)
    _bucket, points = rollup_series("request", week, bucket=dt.timedelta(days=1))
    assert sum(point.summary.count for point in points) == 13

    # A minute that arrives for a cached hour shows once the hour's entry expires (HOUR_CACHE_SECONDS).
    rollups_add(rows=[row(start=hour + dt.timedelta(minutes=2), hist=histogram(s2=1))])
    assert rollup_summary("request", week)[0].count == 13
    cache.clear()
    assert rollup_summary("request", week)[0].count == 14
    _bucket, points = rollup_series("request", week, bucket=dt.timedelta(days=1))
    assert sum(point.summary.count for point in points) == 14


@pytest.mark.django_db
def test_whole_settled_days_of_hour_rows_are_summed_once_per_day_for_summaries():
    from django.core.cache import cache
    from django.utils import timezone

    now = timezone.now()
    old = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=4)
    rollups_add(rows=[row(start=old, hist=histogram(s4=4), seconds=3600),
                      row(start=old - dt.timedelta(days=20), hist=histogram(s2=2), seconds=3600)])
    month = Period(start=now - dt.timedelta(days=30), end=now, bucket=dt.timedelta(days=1), name="30d", label="")

    assert rollup_summary("request", month)[0].count == 6
    # an hour row written later into a cached day shows once the day's entry expires
    rollups_add(rows=[row(start=old + dt.timedelta(hours=1), hist=histogram(s4=1), seconds=3600)])
    assert rollup_summary("request", month)[0].count == 6
    cache.clear()
    assert rollup_summary("request", month)[0].count == 7
    _bucket, points = rollup_series("request", month)
    assert sum(point.summary.count for point in points) == 7


@pytest.mark.django_db
def test_minutes_written_into_the_past_show_at_once_after_the_cached_sums_are_forgotten():
    # The demo history records under a shifted clock into hours and days a page may have summed and
    # cached already; it forgets the cached sums, and summaries and charts read them afresh.
    from django.utils import timezone

    from analytics.services import rollup_sums_forget

    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=5)  # cached per hour
    old = hour - dt.timedelta(days=4)  # an hour row in a whole day, cached per day
    rollups_add(rows=[row(start=hour + dt.timedelta(minutes=1), hist=histogram(s2=1)),
                      row(start=old, hist=histogram(s4=1), seconds=3600)])
    month = Period(start=now - dt.timedelta(days=30), end=now, bucket=dt.timedelta(days=1), name="30d", label="")
    assert rollup_summary("request", month)[0].count == 2

    rollups_add(rows=[row(start=hour + dt.timedelta(minutes=2), hist=histogram(s2=3)),
                      row(start=old + dt.timedelta(hours=1), hist=histogram(s4=5), seconds=3600)])
    assert rollup_summary("request", month)[0].count == 2  # the cached sums
    rollup_sums_forget()
    rollup_sums_forget()  # twice, or without a cached sum before: the same

    assert rollup_summary("request", month)[0].count == 10
    _bucket, points = rollup_series("request", month)
    assert sum(point.summary.count for point in points) == 10
