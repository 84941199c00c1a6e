"""The demo order history (`manage.py load_order_history`): orders placed and lived through the
services in the past, with retries, expiries, cancellations and failures, leaving every read
model exact. The command runs its own fake gateway and courier, so no fixture of ours is used."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Max, Min
from django.utils import timezone

from analytics.demo import KEY_PREFIX, order_history_load
from analytics.models import SalesDay
from analytics.periods import Period
from analytics.selectors.rollups import rollup_summary
from okto88.models import OutboxEvent
from orders.models import Order, OrderEvent, OrderStatus, StepRun, StepStatus
from tests.orders.factories import carriers_ensure, offer_in_stock
from tests.suppliers.factories import SupplierFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    """Offers of four suppliers with plenty of stock, and the carriers the quotes name."""
    carriers_ensure()
    for _ in range(4):
        warehouse = WarehouseFactory(supplier=SupplierFactory())
        for _ in range(4):
            offer_in_stock(on_hand=200, warehouse=warehouse)


def test_a_small_history_spreads_over_days_and_statuses_with_retries_and_stays_exact(catalogue, capsys):
    started = timezone.now()
    three_days = Period(start=started - timedelta(days=3), end=started, bucket=timedelta(hours=1), name="range",
                        label="")
    assert rollup_summary("partner", three_days) == []  # a page looked before the history: empty hours cached

    call_command("load_order_history", orders=30, days=3)

    history = Order.objects.filter(idempotency_key__startswith=KEY_PREFIX)
    assert history.count() >= 27  # an order whose cart finds no quote is not placed
    statuses = set(history.values_list("status", flat=True))
    assert len(statuses) >= 3, statuses
    assert statuses & {OrderStatus.IN_FULFILMENT, OrderStatus.SHIPPED, OrderStatus.COMPLETED}
    assert statuses & {OrderStatus.EXPIRED, OrderStatus.CANCELLED, OrderStatus.FAILED}
    span = history.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert span["first"] >= started - timedelta(days=3, minutes=1) and span["last"] <= started
    assert len({o.created_at.date() for o in history}) >= 2
    runs = StepRun.objects.filter(order__in=history)
    assert runs.filter(status=StepStatus.RETRYING).exists()
    assert runs.filter(status=StepStatus.SUCCEEDED).count() >= 4
    # Each step ran in the order's past, after it was placed; nothing happened after the run began.
    assert not runs.filter(started_at__gt=started).exists()
    assert not OrderEvent.objects.filter(order__in=history, created_at__gt=started).exists()
    assert all(run.started_at >= run.order.created_at for run in runs.select_related("order"))
    # What Celery would have done was done: no event of the history waits to be published.
    assert not OutboxEvent.objects.filter(published_at__isnull=True, topic__regex=r"^(payment|shipment)\.").exists()
    assert "order history loaded" in capsys.readouterr().out
    # The pages show the history at once, not minutes later when beat has flushed the partner calls
    # recorded in the past, the cached sums have expired and the business figures are refreshed.
    calls = {summary.labels: summary.count for summary in rollup_summary("partner", three_days, (0, 1))}
    assert calls[("gateway", "charge")] >= 3 and calls[("courier", "book")] >= 10, calls
    assert sum(SalesDay.objects.filter(grain="day").values_list("orders", flat=True)) == history.count()

    call_command("check_read_models")  # raises CommandError when a read model differs

    loaded = history.count()
    again = order_history_load(orders=30, days=3)  # idempotent: only what is missing is added
    assert again.skipped == loaded
    assert Order.objects.filter(idempotency_key__startswith=KEY_PREFIX).count() == loaded + again.placed


def test_the_command_refuses_unbounded_input():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("load_order_history", orders=0)
    with pytest.raises(CommandError):
        call_command("load_order_history", orders=10, days=400)


def test_the_history_publishes_its_own_events_only_and_leaves_the_sites_live_ones_to_the_relay(catalogue,
                                                                                             monkeypatch):
    from django.db import transaction

    from analytics import demo
    from okto88 import services as platform_services
    from okto88.request_id import request_id_var

    live_ids: list[int] = []
    original_live = demo.HistoryRun.live

    def live_then_a_site_event(self, **kwargs):
        order = original_live(self, **kwargs)
        if not live_ids:  # a request of the site commits an event while the history loads
            token = request_id_var.set("a-site-request")
            try:
                with transaction.atomic():
                    live_ids.append(platform_services.outbox_event_write(
                        topic="offer.price_changed", aggregate_type="offer", aggregate_id=1,
                        payload={"offer": 1, "supplier": 1, "part": 1, "sku": "S", "old_price": 1, "price": 2}).pk)
            finally:
                request_id_var.reset(token)
        return order

    monkeypatch.setattr(demo.HistoryRun, "live", live_then_a_site_event)
    order_history_load(orders=4, days=1)

    (live_id,) = live_ids
    assert OutboxEvent.objects.get(pk=live_id).published_at is None  # the relay's, with its position
    history = OutboxEvent.objects.filter(request_id=demo.HISTORY_REQUEST_ID)
    assert history.exists() and not history.filter(published_at__isnull=True).exists()
