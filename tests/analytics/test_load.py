"""The load and integrations figures from rollups, against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from analytics.periods import Period
from analytics.selectors.integrations import integrations_figures
from analytics.selectors.load import load_figures
from analytics.services import RollupRow, rollups_add, rollups_flush
from okto88.recording import SLOT_COUNT, recording_flush


def histogram(**slots: int) -> tuple[int, ...]:
    counts = [0] * SLOT_COUNT
    for name, n in slots.items():
        counts[int(name[1:])] = n
    return tuple(counts)


def rows_of(kind: str, start: dt.datetime, entries) -> list[RollupRow]:
    return [RollupRow(kind=kind, bucket_seconds=60, bucket_start=start + dt.timedelta(minutes=minute),
                      labels=labels, outcome=outcome, count=sum(hist) or count, sum_ms=sum_ms,
                      histogram=hist) for minute, labels, outcome, hist, count, sum_ms in entries]


@pytest.fixture
def two_hours():
    end = timezone.now().replace(second=0, microsecond=0)
    start = end - dt.timedelta(hours=2)
    return Period(start=start, end=end, bucket=dt.timedelta(minutes=1), name="range", label="2 h")


def by_key(figures):
    return {figure.key: figure for figure in figures}


@pytest.mark.django_db
def test_load_figures_count_requests_per_minute_latency_and_routes(two_hours):
    start = two_hours.start
    rollups_add(rows=rows_of("request", start, [
        # minute, labels, outcome, histogram, count, sum_ms
        (0, ("GET", "parts/"), "2xx", histogram(s2=4, s4=4), 0, 100.0),
        (0, ("GET", "parts/"), "5xx", histogram(s8=2), 0, 800.0),
        (1, ("POST", "orders/"), "2xx", histogram(s5=1), 0, 30.0),
        (3, ("GET", "orders/"), "4xx", histogram(s4=1), 0, 12.0),
    ]))
    rollups_add(rows=rows_of("system", start, [
        (0, ("db_connections_in_use",), "ok", (), 2, 6.0),  # two samples: mean 3
        (0, ("celery_queue_depth", "okto88"), "ok", (), 1, 40.0),
    ]))

    figures = by_key(load_figures(period=two_hours))

    requests = figures["load_requests"]
    assert len(requests.rows) == 120 and requests.extra["bucket_seconds"] == 60
    first = requests.rows[0]
    # The parts/ data set: 4 in (2, 5], 4 in (10, 25], 2 in (250, 500] → p50 13.75, p95 437.5.
    assert (first["requests_per_minute"], first["p50_ms"], first["p95_ms"]) == (10, 13.8, 437.5)
    assert requests.rows[1]["requests_per_minute"] == 1 and requests.rows[2]["requests_per_minute"] == 0
    assert requests.rows[2]["p50_ms"] is None

    routes = figures["load_routes"].rows
    assert [(r["method"], r["route"], r["requests"]) for r in routes] == [
        ("GET", "parts/", 10), ("GET", "orders/", 1), ("POST", "orders/", 1)]
    assert routes[0]["error_rate_5xx"] == 20.0 and routes[1]["error_rate_5xx"] == 0.0
    assert routes[2]["p50_ms"] == 37.5  # one event in (25, 50]: rank 0.5 is halfway

    system = figures["load_system"]
    assert system.rows[0]["db_connections"] == 3.0
    queue_column = next(c.key for c in system.columns if str(c.label).endswith("okto88"))
    assert system.rows[0][queue_column] == 40.0 and system.rows[1][queue_column] is None
    assert queue_column in system.secondary and len(system.rows) == len(requests.rows)


@pytest.mark.django_db
def test_load_chart_for_one_route(two_hours):
    rollups_add(rows=rows_of("request", two_hours.start, [
        (0, ("GET", "parts/"), "2xx", histogram(s2=4), 0, 12.0),
        (0, ("GET", "orders/"), "2xx", histogram(s2=1), 0, 3.0),
    ]))
    requests = by_key(load_figures(period=two_hours, route="orders/"))["load_requests"]
    assert requests.rows[0]["requests_per_minute"] == 1
    assert requests.extra["route"] == "orders/"


@pytest.mark.django_db
def test_a_day_is_drawn_in_five_minute_points():
    end = timezone.now()
    period = Period(start=end - dt.timedelta(days=1), end=end, bucket=dt.timedelta(hours=1), name="24h", label="24 h")
    requests = by_key(load_figures(period=period))["load_requests"]
    assert requests.extra["bucket_seconds"] == 300 and 288 <= len(requests.rows) <= 289


@pytest.mark.django_db
def test_integrations_rate_latency_errors_and_timeouts_per_partner_operation(two_hours):
    rollups_add(rows=rows_of("partner", two_hours.start, [
        (0, ("courier", "book"), "ok", histogram(s6=6), 0, 500.0),  # 6 in (50, 100]
        (1, ("courier", "book"), "error", histogram(s7=2), 0, 400.0),  # 2 in (100, 250]
        (1, ("courier", "book"), "timeout", histogram(s11=1), 0, 5000.0),  # 1 in (2500, 5000]
        (2, ("courier", "book"), "open", histogram(s0=3), 0, 0.3),  # failed fast: no latency
        (2, ("gateway", "charge"), "ok", histogram(s4=2), 0, 30.0),
    ]))
    figures = by_key(integrations_figures(period=two_hours))
    calls = {row["call"]: row for row in figures["integrations_calls"].rows}
    courier = calls["courier · book"]
    assert courier["calls"] == 12
    assert courier["calls_per_minute"] == round(12 / 120, 3)
    # Latency over the 9 calls that reached the courier: 6 in (50, 100], 2 in (100, 250], 1 in (2500, 5000].
    # p50: rank 4.5 of 6 in (50, 100] → 50 + 50 × 4.5/6 = 87.5; p95: rank 8.55 → the 1 in (2500, 5000]:
    # 2500 + 2500 × 0.55 = 3875.
    assert (courier["p50_ms"], courier["p95_ms"]) == (87.5, 3875.0)
    assert courier["error_rate"] == 25.0  # (2 errors + 1 timeout) / 12
    assert courier["timeout_rate"] == round(100 / 12, 2)
    assert courier["fast_failed"] == 3
    assert calls["gateway · charge"]["error_rate"] == 0.0
    timeline = figures["integrations_timeline"].rows
    assert [row["calls_per_minute"] for row in timeline[:3]] == [6, 3, 5]
    assert timeline[1]["error_rate"] == 100.0


@pytest.mark.django_db
def test_a_recorded_request_shows_on_the_load_page_figures(client):
    client.get("/api/v1/me/")
    recording_flush()
    rollups_flush(now=time.time() + 600)
    end = timezone.now() + dt.timedelta(minutes=5)
    period = Period(start=end - dt.timedelta(hours=1), end=end, bucket=dt.timedelta(minutes=1), name="1h", label="1 h")
    routes = by_key(load_figures(period=period))["load_routes"].rows
    assert any(row["route"] == "api/v1/me/" and row["requests"] >= 1 for row in routes)
