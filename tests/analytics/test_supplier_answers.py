"""The operations view's suppliers' answers: how fast each supplier answers its supplier orders
and how much it rejects, from orders answered through the real services."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from analytics.periods import Period
from analytics.selectors.workflow import supplier_answers_figure, workflow_figures
from orders import services, workflow
from orders.models import SupplierOrder
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.suppliers.factories import SupplierFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def opened_order(buyer, *lines):
    for offer, quantity in lines:
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    order = place(buyer=buyer)
    workflow.step_run(order_id=order.pk, step="open_for_acceptance", task_id="test")
    return order


def test_time_to_answer_and_rejection_rates_per_supplier():
    carriers_ensure()
    buyer = buyer_make()
    fast, slow = SupplierFactory(legal_name="PT Cepat"), SupplierFactory(legal_name="PT Lambat")
    fast_a, _ = offer_in_stock(supplier=fast, warehouse=WarehouseFactory(supplier=fast), on_hand=50)
    slow_a, _ = offer_in_stock(supplier=slow, warehouse=WarehouseFactory(supplier=slow), on_hand=50)
    start = timezone.now().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as clock:
        first = opened_order(buyer, (fast_a, 4), (slow_a, 2))
        second = opened_order(buyer, (fast_a, 6), (slow_a, 1))
        clock.shift(dt.timedelta(hours=1))
        # PT Cepat answers both after an hour: the first in full, the second rejecting 3 of 6 units.
        services.supplier_order_accept(supplier_order=SupplierOrder.objects.get(order=first, supplier=fast))
        mine = SupplierOrder.objects.get(order=second, supplier=fast)
        services.supplier_order_answer(supplier_order=mine, rejections={
            mine.lines.get().pk: services.LineRejection(quantity=3, reason="out_of_stock")})
        clock.shift(dt.timedelta(hours=3))
        # PT Lambat rejects the first after four hours; the second is rejected at its deadline.
        services.supplier_order_reject(supplier_order=SupplierOrder.objects.get(order=first, supplier=slow),
                                       reason="discontinued")
        late = SupplierOrder.objects.get(order=second, supplier=slow)
        clock.move_to(late.accept_by + dt.timedelta(seconds=1))
        assert services.supplier_orders_reject_overdue() == [late.number]
        end = timezone.now() + dt.timedelta(minutes=1)

    period = Period(start=start, end=end, bucket=dt.timedelta(hours=1), name="range", label="")
    rows = {row["supplier"]: row for row in supplier_answers_figure(period=period).rows}

    cepat, lambat = rows["PT Cepat"], rows["PT Lambat"]
    assert (cepat["answered"], cepat["partly"], cepat["rejected"], cepat["unanswered"]) == (2, 1, 0, 0)
    assert cepat["rejection_rate"] == 50.0 and cepat["unit_rejection_rate"] == 30.0  # 3 of 10 units
    assert cepat["answer_p50_h"] == 1.0 and cepat["answer_p95_h"] == 1.0
    assert (lambat["answered"], lambat["partly"], lambat["rejected"], lambat["unanswered"]) == (2, 0, 1, 1)
    assert lambat["rejection_rate"] == 100.0 and lambat["unit_rejection_rate"] == 100.0
    assert lambat["answer_p50_h"] == 4.0, "the deadline's rejection is not an answer time"
    # On the operations page's workflow section, and empty before the answers.
    assert "supplier_answers" in {figure.key for figure in workflow_figures(period=period)}
    before = Period(start=start - dt.timedelta(hours=2), end=start, bucket=dt.timedelta(hours=1), name="r", label="")
    assert supplier_answers_figure(period=before).rows == []
