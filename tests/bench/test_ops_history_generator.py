"""bench/generate_ops_history.py at a tiny scale, inside the test's transaction (no VACUUM): its
set-based SQL writes orders the tables' constraints accept, step runs near the asked-for total,
and leaves the stock and every read model as they were."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, F, Sum

from analytics.models import FunnelHour, Rollup
from bench.generate_ops_history import ops_history_generate
from orders.models import Order, OrderLine, StepRun, StepStatus, SupplierOrder
from tests.orders.factories import offer_in_stock
from tests.read_models import assert_read_models_exact

pytestmark = pytest.mark.django_db


def test_a_tiny_ops_history_is_consistent():
    for _ in range(5):
        offer_in_stock(on_hand=50)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending deferred checks

    counts = ops_history_generate(orders=400, step_runs=2000, days=3, workshops=12, vacuum=False)

    assert counts["orders_order"] == Order.objects.count() == 400
    assert 1600 <= StepRun.objects.count() <= 2400
    statuses = dict(Order.objects.values("status").annotate(n=Count("pk")).values_list("status", "n"))
    assert {"completed", "failed", "cancelled"} <= set(statuses)
    assert SupplierOrder.objects.count() >= 400 and OrderLine.objects.count() >= SupplierOrder.objects.count()
    failed = Order.objects.filter(status="failed").first()
    assert StepRun.objects.filter(order=failed, step="request_shipments", status=StepStatus.FAILED).count() == 1
    assert StepRun.objects.filter(status=StepStatus.RETRYING).exists()
    assert not StepRun.objects.filter(finished_at__lt=F("started_at")).exists()
    # what the running system derives: a step_run rollup per finished attempt, the funnel of every order
    finished = StepRun.objects.filter(finished_at__isnull=False)
    assert Rollup.objects.filter(kind="step_run").aggregate(n=Sum("count"))["n"] == finished.count()
    assert Rollup.objects.filter(kind="step_wait").aggregate(n=Sum("count"))["n"] == finished.filter(
        enqueued_at__isnull=False).count()
    assert FunnelHour.objects.aggregate(n=Sum("orders"))["n"] == 400
    assert_read_models_exact()

