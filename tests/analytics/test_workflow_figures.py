"""The workflow figures on a known data set: every expected number below was worked out by
hand (the arithmetic is in the comments), and the selectors must compute exactly those.

percentile_cont(p) over n sorted values v0..v(n-1) takes position p·(n-1) and interpolates
linearly between its neighbours: at position 3.8, v3 + 0.8·(v4 − v3)."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from analytics.periods import Period
from analytics.selectors.workflow import (
    funnel_figures,
    order_timeline_figures,
    stalled_orders_figure,
    step_errors_figure,
    step_times_figure,
    workflow_figures,
)
from orders.workflow import SHIPPED_STALL_AFTER, STALL_AFTER, orders_stalled_count
from tests.celery_worker import database_url
from tests.orders.factories import order_event_add, order_row_make, step_run_make
from tests.workshops.factories import WorkshopMemberFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 3, 0, tzinfo=dt.UTC)
HOUR = Period(start=T0, end=T0 + dt.timedelta(hours=1), bucket=dt.timedelta(minutes=1), name="1h", label="")


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def figure(figures, key):
    return next(f for f in figures if f.key == key)


@pytest.fixture
def member():
    return WorkshopMemberFactory()


def test_step_percentiles_retries_and_failure_rates_equal_the_hand_computed_ones(member):
    # commit_stock: five first attempts, all succeeded.
    #   waits 10, 20, 30, 40, 50 ms: p50 = v2 = 30; p95 at 3.8 = 40 + 0.8·10 = 48; p99 at 3.96 = 40 + 0.96·10 = 49.6
    #   runs 100, 200, 300, 400, 1000 ms: p50 = 300; p95 = 400 + 0.8·600 = 880; p99 = 400 + 0.96·600 = 976
    for i, (wait, run) in enumerate([(30, 300), (10, 100), (50, 1000), (20, 200), (40, 400)]):
        step_run_make(order=order_row_make(workshop_member=member), step="commit_stock", started_at=at(i),
                      wait_ms=wait, run_ms=run)
    # request_shipments, eight attempts on five orders:
    #   A: #1 retrying (courier_unavailable), #2 succeeded
    #   B: #1, #2 retrying (courier_unavailable), #3 failed (gave_up)
    #   C: #1 succeeded; D: #1 still running; E: #1 failed (courier_rejected)
    # attempts 8; retries (attempt > 1) = A#2, B#2, B#3 = 3; with an error = A#1, B#1, B#2, B#3, E#1 = 5;
    # failed for good = B#3, E#1 = 2; finished = 8 − D#1 = 7
    # error rate 5/7 = 71.43 %; failure rate 2/7 = 28.57 %
    #   waits (all 8) 0, 5, 10, 15, 20, 25, 30, 1000: p50 at 3.5 = 15 + 0.5·5 = 17.5;
    #     p95 at 6.65 = 30 + 0.65·970 = 660.5; p99 at 6.93 = 30 + 0.93·970 = 932.1
    #   runs (the 7 finished) 50, 60, 70, 80, 90, 100, 5000: p50 = v3 = 80;
    #     p95 at 5.7 = 100 + 0.7·4900 = 3530; p99 at 5.94 = 100 + 0.94·4900 = 4706
    a, b, c, d, e = (order_row_make(workshop_member=member) for _ in range(5))
    rs = "book_courier"
    step_run_make(order=a, step=rs, attempt=1, status="retrying", error_code="courier_unavailable",
                  started_at=at(10), wait_ms=0, run_ms=50)
    step_run_make(order=a, step=rs, attempt=2, started_at=at(11), wait_ms=5, run_ms=60)
    step_run_make(order=b, step=rs, attempt=1, status="retrying", error_code="courier_unavailable",
                  started_at=at(12), wait_ms=10, run_ms=70)
    step_run_make(order=b, step=rs, attempt=2, status="retrying", error_code="courier_unavailable",
                  started_at=at(13), wait_ms=15, run_ms=80)
    step_run_make(order=b, step=rs, attempt=3, status="failed", error_code="gave_up",
                  started_at=at(14), wait_ms=20, run_ms=90)
    step_run_make(order=c, step=rs, started_at=at(15), wait_ms=25, run_ms=100)
    step_run_make(order=d, step=rs, status="running", started_at=at(16), wait_ms=30, run_ms=None)
    step_run_make(order=e, step=rs, status="failed", error_code="courier_rejected",
                  started_at=at(17), wait_ms=1000, run_ms=5000)
    # Outside the period (started a minute before it, and at its exclusive end): counted nowhere.
    step_run_make(order=a, step=rs, attempt=9, status="failed", error_code="gave_up", started_at=at(-1),
                  wait_ms=99999, run_ms=99999)
    step_run_make(order=a, step="commit_stock", attempt=9, started_at=at(60), wait_ms=99999, run_ms=99999)

    figures = workflow_figures(period=HOUR)

    rows = {row["step"]: row for row in figure(figures, "step_times").rows}
    assert list(rows) == ["commit_stock", "book_courier"]  # in the workflow's order
    commit = rows["commit_stock"]
    assert (commit["attempts"], commit["retries"], commit["errors"], commit["failed"]) == (5, 0, 0, 0)
    assert (commit["error_rate"], commit["failure_rate"]) == (0.0, 0.0)
    assert (commit["wait_p50"], commit["wait_p95"], commit["wait_p99"]) == pytest.approx((30, 48, 49.6), abs=0.05)
    assert (commit["run_p50"], commit["run_p95"], commit["run_p99"]) == pytest.approx((300, 880, 976), abs=0.05)
    ship = rows["book_courier"]
    assert (ship["attempts"], ship["retries"], ship["errors"], ship["failed"]) == (8, 3, 5, 2)
    assert (ship["error_rate"], ship["failure_rate"]) == (71.43, 28.57)
    assert (ship["wait_p50"], ship["wait_p95"], ship["wait_p99"]) == pytest.approx((17.5, 660.5, 932.1), abs=0.05)
    assert (ship["run_p50"], ship["run_p95"], ship["run_p99"]) == pytest.approx((80, 3530, 4706), abs=0.05)

    # By error code: courier_unavailable on A#1, B#1, B#2 (none for good); gave_up B#3 and
    # courier_rejected E#1 (each one, for good).
    errors = {(row["step"], row["error_code"]): (row["attempts"], row["failed"])
              for row in figure(figures, "step_errors").rows}
    assert errors == {(rs, "courier_unavailable"): (3, 0), (rs, "gave_up"): (1, 1), (rs, "courier_rejected"): (1, 1)}


def test_order_funnel_counts_and_losses_equal_the_hand_computed_ones(member):
    def placed(status, **kwargs):
        return order_row_make(workshop_member=member, status=status, created_at=at(5), **kwargs)

    placed("completed")  # 1: delivered (level 5)
    placed("shipped")  # 2: shipped (4)
    o3 = placed("in_fulfilment")  # 3: its supplier's stock committed and courier booked (3)
    order_event_add(order=o3, kind="stock_committed", step="commit_stock")
    order_event_add(order=o3, kind="shipment_booked", step="book_courier")
    placed("pending_payment")  # 4: placed, still waiting for payment (0)
    placed("expired")  # 5: lost before paid: expired
    o6 = placed("cancelled")  # 6: cancelled before paying: lost before paid
    order_event_add(order=o6, kind="status.cancelled", step="cancel", data={"from": "pending_payment"})
    o7 = placed("cancelled")  # 7: paid, stock committed, then cancelled: lost before shipments booked
    order_event_add(order=o7, kind="status.paid", data={"from": "pending_payment"})
    order_event_add(order=o7, kind="stock_committed", step="commit_stock")
    order_event_add(order=o7, kind="status.cancelled", step="cancel", data={"from": "paid"})
    o8 = placed("failed")  # 8: commit_stock failed: lost before stock committed
    order_event_add(order=o8, kind="status.failed", step="commit_stock", data={"from": "paid"})
    step_run_make(order=o8, step="commit_stock", status="failed", error_code="stock_conflict", started_at=at(6),
                  run_ms=5)
    o9 = placed("failed")  # 9: one shipment booked, then the courier gave up: lost before shipments booked
    order_event_add(order=o9, kind="stock_committed", step="commit_stock")
    order_event_add(order=o9, kind="shipment_booked", step="request_shipments")
    order_event_add(order=o9, kind="status.failed", step="request_shipments", data={"from": "paid"})
    step_run_make(order=o9, step="request_shipments", status="failed", error_code="gave_up", started_at=at(7),
                  run_ms=5)
    o10 = placed("paid")  # 10: stock committed, booking still to come (in progress before shipments booked)
    order_event_add(order=o10, kind="stock_committed", step="commit_stock")
    order_row_make(workshop_member=member, status="expired", created_at=at(-10))  # placed before the period

    figures = workflow_figures(period=HOUR)

    # placed 10; paid = levels ≥ 1 = orders 1, 2, 3, 7, 8, 9, 10 = 7; stock committed (≥ 2) = 1, 2, 3, 7, 9, 10 = 6;
    # shipments booked (≥ 3) = 1, 2, 3; shipped (≥ 4) = 1, 2; delivered = 1.
    # lost before paid: 5 (expired), 6 (cancelled) = 2, on the way: 4; before stock committed: 8 = 1;
    # before booked: 7, 9 = 2, on the way: 10; before shipped: none, on the way: 3; before delivered: on the way 2.
    funnel = {row["stage"]: (row["orders"], row["lost"], row["in_progress"]) for row in figure(figures, "funnel").rows}
    assert funnel == {"placed": (10, 0, 0), "paid": (7, 2, 1), "stock_committed": (6, 1, 0),
                      "shipments_booked": (3, 2, 1), "shipped": (2, 0, 1), "delivered": (1, 0, 1)}
    assert [row["share"] for row in figure(figures, "funnel").rows] == [100.0, 70.0, 60.0, 30.0, 20.0, 10.0]
    losses = sorted((row["stage"], row["reason"], row["step"], row["error_code"], row["orders"])
                    for row in figure(figures, "funnel_losses").rows)
    assert losses == [
        ("paid", "cancelled", "", "", 1), ("paid", "expired", "", "", 1),
        ("shipments_booked", "cancelled", "", "", 1), ("shipments_booked", "failed", "request_shipments", "gave_up", 1),
        ("stock_committed", "failed", "commit_stock", "stock_conflict", 1),
    ]


def test_stalled_orders_are_those_past_their_state_deadline(member):
    now = timezone.now()
    quiet = now - STALL_AFTER - dt.timedelta(minutes=1)
    # Stalled: unpaid 1 min past payment window + stall time; paid and quiet with commit_stock
    # done; shipped 15 days ago.
    unpaid = order_row_make(workshop_member=member, status="pending_payment", created_at=quiet,
                            expires_at=now - STALL_AFTER - dt.timedelta(minutes=1))
    quiet_paid = order_row_make(workshop_member=member, status="paid", created_at=quiet)
    step_run_make(order=quiet_paid, step="open_for_acceptance", status="retrying", started_at=quiet, run_ms=10)
    lost_parcel = order_row_make(workshop_member=member, status="shipped", created_at=now - dt.timedelta(days=16),
                                 updated_at=now - SHIPPED_STALL_AFTER - dt.timedelta(days=1))
    # Not stalled: a paid order whose retry ran a minute ago, an unpaid one in its window, one
    # just past it (the sweep's turn), an in-fulfilment one with every step done (waits for the
    # courier), one shipped yesterday, a failed one.
    busy = order_row_make(workshop_member=member, status="paid", created_at=quiet)
    step_run_make(order=busy, step="open_for_acceptance", status="retrying", started_at=now - dt.timedelta(minutes=1),
                  run_ms=10)
    order_row_make(workshop_member=member, status="pending_payment", expires_at=now + dt.timedelta(minutes=30))
    order_row_make(workshop_member=member, status="pending_payment", expires_at=now - dt.timedelta(seconds=30))
    done = order_row_make(workshop_member=member, status="in_fulfilment", created_at=quiet)
    step_run_make(order=done, step="open_for_acceptance", started_at=quiet, run_ms=10)
    order_row_make(workshop_member=member, status="shipped", updated_at=now - dt.timedelta(days=1))
    order_row_make(workshop_member=member, status="failed", created_at=quiet)

    stalled = stalled_orders_figure(now=now)

    by_number = {row["number"]: row for row in stalled.rows}
    assert set(by_number) == {unpaid.number, quiet_paid.number, lost_parcel.number}
    assert by_number[unpaid.number]["redrive"] == "expire"
    assert by_number[quiet_paid.number]["redrive"] == "open_for_acceptance"  # its first unfinished step
    assert by_number[lost_parcel.number]["redrive"] == ""  # nothing to re-drive: ask the courier
    # deadline = payment window + stall time, 1 minute ago; the lost parcel's, 1 day ago
    assert by_number[unpaid.number]["overdue_minutes"] == pytest.approx(1.0, abs=0.05)
    assert by_number[lost_parcel.number]["overdue_minutes"] == pytest.approx(24 * 60, abs=0.05)
    assert stalled.rows[0]["number"] == lost_parcel.number  # the longest overdue first
    assert orders_stalled_count(now=now) == 3


def test_one_orders_timeline_has_a_wait_and_a_run_bar_per_attempt(member):
    order = order_row_make(workshop_member=member, status="paid", created_at=at(0))
    # commit_stock due at +100 ms, started at +150, ran 200 ms; request_shipments #1 due at
    # +400, started +1400 (waited 1000), failed after 500 (retrying); #2 still running.
    step_run_make(order=order, step="commit_stock", started_at=at(0) + dt.timedelta(milliseconds=150),
                  wait_ms=50, run_ms=200)
    step_run_make(order=order, step="request_shipments", status="retrying", error_code="courier_unavailable",
                  started_at=at(0) + dt.timedelta(milliseconds=1400), wait_ms=1000, run_ms=500)
    step_run_make(order=order, step="request_shipments", attempt=2, status="running",
                  started_at=at(0) + dt.timedelta(milliseconds=3000), wait_ms=None, run_ms=None)
    order_event_add(order=order, kind="stock_committed", step="commit_stock", at=at(0) + dt.timedelta(seconds=1))

    timeline, events = order_timeline_figures(order_number=order.number, now=at(0) + dt.timedelta(seconds=5))

    bars = [(row["lane"], row["attempt"], row["kind"], row["start_ms"], row["end_ms"], row["status"],
             row["error_code"]) for row in timeline.rows]
    assert bars == [
        ("commit_stock", 1, "wait", 100.0, 150.0, "succeeded", ""),
        ("commit_stock", 1, "run", 150.0, 350.0, "succeeded", ""),
        ("request_shipments", 1, "wait", 400.0, 1400.0, "retrying", "courier_unavailable"),
        ("request_shipments", 1, "run", 1400.0, 1900.0, "retrying", "courier_unavailable"),
        ("request_shipments", 2, "run", 3000.0, 5000.0, "running", ""),  # no enqueue time; runs until now
    ]
    assert timeline.chart == "timeline"
    # Phase and status read in the reader's language beside their codes (Indonesian by default).
    assert [(str(row["kind_title"]), str(row["status_title"])) for row in timeline.rows[2:4]] == [
        ("Tunggu antrean", "Akan dicoba lagi"), ("Jalan", "Akan dicoba lagi")]
    assert [str(column.label) for column in timeline.columns if column.key in ("kind_title", "kind")] == [
        "Fase", "Kode fase"]
    assert [(row["kind"], row["at_ms"]) for row in events.rows] == [("stock_committed", 1000.0)]
    assert order_timeline_figures(order_number="OKT-NOPE") is None


@pytest.mark.django_db(transaction=True)
def test_the_stalled_orders_gauge_counts_at_scrape_and_a_locked_table_does_not_fail_the_scrape(client):
    member = WorkshopMemberFactory()
    long_ago = timezone.now() - dt.timedelta(days=20)
    for _ in range(2):  # two lost parcels: shipped 20 days ago
        order_row_make(workshop_member=member, status="shipped", created_at=long_ago, updated_at=long_ago)

    assert "okto88_orders_stalled 2.0" in client.get("/metrics").content.decode()

    # Another transaction holds the orders table: the count gives up after its statement
    # timeout and the scrape answers without the gauge.
    with psycopg.connect(database_url(connection.settings_dict), autocommit=False) as other:
        other.execute("LOCK TABLE orders_order IN ACCESS EXCLUSIVE MODE")
        response = client.get("/metrics")
        other.rollback()
    body = response.content.decode()
    assert response.status_code == 200 and "okto88_http_requests_total" in body
    assert "\nokto88_orders_stalled " not in body  # its HELP and TYPE lines, no sample
    assert "okto88_orders_stalled 2.0" in client.get("/metrics").content.decode()  # and back on the next one


# Longer than 24 hours: step figures from the rollups, the funnel's whole hours from FunnelHour.
NOW = dt.datetime(2026, 11, 9, 5, 30, tzinfo=dt.UTC)
WEEK = Period(start=NOW - dt.timedelta(days=7), end=NOW, bucket=dt.timedelta(days=1), name="7d", label="")


def test_long_period_step_timings_and_failures_by_code_come_from_the_rollups():
    from analytics.services import RollupRow, rollups_add
    from okto88.recording import SLOT_COUNT

    def rollup(kind, labels, outcome, start, seconds=3600, **slots):
        counts = [0] * SLOT_COUNT
        for name, n in slots.items():
            counts[int(name[1:])] = n
        return RollupRow(kind=kind, bucket_seconds=seconds, bucket_start=start, labels=labels, outcome=outcome,
                         count=sum(counts), sum_ms=float(sum(counts)), histogram=tuple(counts))

    day = dt.timedelta(days=1)
    cs, rs = "commit_stock", "book_courier"
    rollups_add(rows=[
        # commit_stock: 10 succeeded, 4 in (2, 5] ms, 4 in (10, 25], 2 in (250, 500], over two hour rows
        rollup("step_run", (cs, ""), "succeeded", NOW - 5 * day, s2=4, s4=2),
        rollup("step_run", (cs, ""), "succeeded", NOW - 2 * day, s4=2, s8=2),
        rollup("step_wait", (cs,), "succeeded", NOW - 2 * day, s0=2),
        # request_shipments: 3 retrying (courier_unavailable) in (25, 50], 1 failed (gave_up) and a
        # minute row of 4 succeeded, all in (50, 100]
        rollup("step_run", (rs, "courier_unavailable"), "retrying", NOW - 3 * day, s5=3),
        rollup("step_run", (rs, "gave_up"), "failed", NOW - 3 * day, s6=1),
        rollup("step_run", (rs, ""), "succeeded", NOW - dt.timedelta(minutes=10), seconds=60, s6=4),
        # before the period: not counted
        rollup("step_run", (rs, "courier_unavailable"), "retrying", NOW - 8 * day, s5=50),
    ])

    times = {row["step"]: row for row in step_times_figure(period=WEEK).rows}
    errors = step_errors_figure(period=WEEK)

    assert step_times_figure(period=WEEK).extra["estimated"] is True
    # commit_stock: 10 attempts, none with an error. Run p50: rank 5 of 10, 4 below 10 ms, the 1st of 4
    # in (10, 25]: 10 + 15·1/4 = 13.75; p95: rank 9.5, 1.5 of 2 into (250, 500]: 250 + 250·1.5/2 = 437.5;
    # p99: 250 + 250·1.9/2 = 487.5. Wait: 2 in [0, 1]: p50 rank 1 → 0.5, p95 rank 1.9 → 0.95, p99 → 0.99,
    # shown to 0.1 ms: 0.5, 0.9 (0.95 is 0.9499… as a binary float), 1.0.
    c = times[cs]
    assert (c["attempts"], c["retries"], c["errors"], c["failed"], c["error_rate"]) == (10, 0, 0, 0, 0.0)
    assert (c["run_p50"], c["run_p95"], c["run_p99"]) == (13.8, 437.5, 487.5)
    assert (c["wait_p50"], c["wait_p95"], c["wait_p99"]) == (0.5, 0.9, 1.0)
    # request_shipments: attempts 3 + 1 + 4 = 8; retries (ended "retrying") 3; errors 4; failed 1;
    # error rate 4/8 = 50 %, failure rate 1/8 = 12.5 %. Run: 3 in (25, 50], 5 in (50, 100]: p50 rank 4 →
    # 50 + 50·1/5 = 60; p95 rank 7.6 → 50 + 50·4.6/5 = 96; p99 rank 7.92 → 50 + 50·4.92/5 = 99.2. No wait rows.
    r = times[rs]
    assert (r["attempts"], r["retries"], r["errors"], r["failed"]) == (8, 3, 4, 1)
    assert (r["error_rate"], r["failure_rate"]) == (50.0, 12.5)
    assert (r["run_p50"], r["run_p95"], r["run_p99"]) == (60.0, 96.0, 99.2)
    assert r["wait_p50"] is None
    assert set(times) == {cs, rs}
    assert [(row["step"], row["error_code"], row["attempts"], row["failed"]) for row in errors.rows] == [
        (rs, "courier_unavailable", 3, 0), (rs, "gave_up", 1, 1)]
    # 24 hours: still the exact path over step runs (there are none)
    day_period = Period(start=NOW - day, end=NOW, bucket=dt.timedelta(hours=1), name="24h", label="")
    assert step_times_figure(period=day_period).rows == [] and step_errors_figure(period=day_period).rows == []


def test_long_period_funnel_adds_the_hourly_read_model_and_the_part_hours_at_either_end(member):
    from analytics.read_models import funnel_hour_check
    from analytics.services import sales_days_rebuild

    def placed(status, at_time):
        return order_row_make(workshop_member=member, status=status, created_at=at_time)

    day = dt.timedelta(days=1)
    # Whole hours of the period (read model):
    placed("completed", NOW - 6 * day + dt.timedelta(hours=5))  # level 5
    placed("shipped", NOW - 5 * day)  # level 4
    placed("expired", NOW - 4 * day)  # level 0, lost before paid
    failed = placed("failed", NOW - 3 * day)  # commit_stock failed: level 1, lost before stock committed
    order_event_add(order=failed, kind="status.failed", step="commit_stock", data={"from": "paid"})
    step_run_make(order=failed, step="commit_stock", status="failed", error_code="stock_conflict",
                  started_at=NOW - 3 * day, run_ms=5)
    cancelled = placed("cancelled", NOW - 2 * day)  # paid, stock committed, cancelled: level 2
    order_event_add(order=cancelled, kind="status.paid", data={"from": "pending_payment"})
    order_event_add(order=cancelled, kind="stock_committed", step="commit_stock")
    order_event_add(order=cancelled, kind="status.cancelled", step="cancel", data={"from": "paid"})
    # The part-hours at either end (05:30–06:00 seven days ago, 05:00–05:30 today), from the orders:
    booked = placed("in_fulfilment", WEEK.start + dt.timedelta(minutes=10))  # level 3: committed and booked
    order_event_add(order=booked, kind="stock_committed", step="commit_stock")
    order_event_add(order=booked, kind="shipment_booked", step="book_courier")
    placed("pending_payment", NOW - dt.timedelta(minutes=10))  # level 0, on the way
    # Outside the period:
    placed("completed", WEEK.start - dt.timedelta(minutes=1))
    placed("completed", NOW)
    sales_days_rebuild()
    check = funnel_hour_check()
    assert (check.rows, check.missing, check.extra, check.differing) == (9, 0, 0, 0)

    figures = funnel_figures(period=WEEK)

    # placed 7; paid (≥ 1): completed, shipped, failed, cancelled, in_fulfilment = 5; stock committed (≥ 2):
    # completed, shipped, cancelled, in_fulfilment = 4; booked (≥ 3): completed, shipped, in_fulfilment = 3;
    # shipped 2; delivered 1. Lost before paid: expired; before stock committed: failed; before booked:
    # cancelled. On the way: pending (before paid), in_fulfilment (before shipped), shipped (before delivered).
    funnel = {row["stage"]: (row["orders"], row["lost"], row["in_progress"]) for row in figure(figures, "funnel").rows}
    assert funnel == {"placed": (7, 0, 0), "paid": (5, 1, 1), "stock_committed": (4, 1, 0),
                      "shipments_booked": (3, 1, 0), "shipped": (2, 0, 1), "delivered": (1, 0, 1)}
    losses = sorted((row["stage"], row["reason"], row["step"], row["error_code"], row["orders"])
                    for row in figure(figures, "funnel_losses").rows)
    assert losses == [("paid", "expired", "", "", 1), ("shipments_booked", "cancelled", "", "", 1),
                      ("stock_committed", "failed", "commit_stock", "stock_conflict", 1)]
