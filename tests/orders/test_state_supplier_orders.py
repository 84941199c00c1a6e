"""A supplier order's status moves along its own table (orders.state), like the order's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from okto88.errors import InvalidTransition
from orders import services, workflow
from orders.models import OrderEvent, SupplierOrder, SupplierOrderStatus
from orders.state import SUPPLIER_ORDER_TRANSITIONS, supplier_order_transition, supplier_orders_move
from tests.orders.factories import offer_in_stock, place

SO = SupplierOrderStatus


def supplier_order_of(buyer) -> SupplierOrder:
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=buyer)
    return SupplierOrder.objects.get(order=order)


def test_the_table():
    assert SUPPLIER_ORDER_TRANSITIONS[SO.PENDING] == {SO.ACCEPTED, SO.REJECTED, SO.CANCELLED}
    assert SUPPLIER_ORDER_TRANSITIONS[SO.ACCEPTED] == {SO.READY_TO_SHIP, SO.CANCELLED}
    assert SUPPLIER_ORDER_TRANSITIONS[SO.READY_TO_SHIP] == {SO.CONFIRMED, SO.SHIPPED, SO.DELIVERED, SO.CANCELLED}
    assert SUPPLIER_ORDER_TRANSITIONS[SO.SHIPPED] == {SO.DELIVERED, SO.CANCELLED}
    assert (SUPPLIER_ORDER_TRANSITIONS[SO.DELIVERED] == SUPPLIER_ORDER_TRANSITIONS[SO.CANCELLED]
            == SUPPLIER_ORDER_TRANSITIONS[SO.REJECTED] == frozenset())


@pytest.mark.django_db
def test_an_allowed_transition_moves_the_supplier_order(buyer):
    supplier_order = supplier_order_of(buyer)
    supplier_order_transition(supplier_order=supplier_order, to=SO.ACCEPTED)
    supplier_order.refresh_from_db()
    assert supplier_order.status == SO.ACCEPTED


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "to"), [(SO.DELIVERED, SO.SHIPPED), (SO.CANCELLED, SO.CONFIRMED),
                                           (SO.SHIPPED, SO.CONFIRMED), (SO.PENDING, SO.PENDING),
                                           (SO.PENDING, SO.SHIPPED), (SO.ACCEPTED, SO.CONFIRMED),
                                           (SO.REJECTED, SO.ACCEPTED)])
def test_a_transition_not_in_the_table_is_refused_and_changes_nothing(buyer, start, to):
    supplier_order = supplier_order_of(buyer)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=start)
    supplier_order.refresh_from_db()
    with pytest.raises(InvalidTransition) as exc:
        supplier_order_transition(supplier_order=supplier_order, to=to)
    assert exc.value.code == "invalid_transition"
    supplier_order.refresh_from_db()
    assert supplier_order.status == start


@pytest.mark.django_db
def test_a_bulk_move_moves_only_what_the_table_allows(buyer):
    supplier_order = supplier_order_of(buyer)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SO.DELIVERED)
    assert supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=supplier_order.pk),
                                to=SO.CANCELLED) == 1
    supplier_order.refresh_from_db()
    assert supplier_order.status == SO.DELIVERED  # terminal: kept
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SO.SHIPPED)
    supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=supplier_order.pk), to=SO.CANCELLED)
    supplier_order.refresh_from_db()
    assert supplier_order.status == SO.CANCELLED


@pytest.mark.django_db
def test_a_late_courier_callback_never_moves_a_supplier_order_back(buyer):
    supplier_order = supplier_order_of(buyer)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SO.READY_TO_SHIP)
    for topic in ("shipment.delivered", "shipment.picked_up", "shipment.delivered"):
        workflow.on_shipment_event(topic=topic, payload={"reference": supplier_order.number, "waybill": "W1"})
    supplier_order.refresh_from_db()
    assert supplier_order.status == SO.DELIVERED
    assert list(OrderEvent.objects.filter(order=supplier_order.order, kind__startswith="supplier_order_")
                .values_list("kind", flat=True)) == ["supplier_order_delivered"]


# The timeline has one writer: orders/timeline.py (order_event_write, order_events_write).
_TIMELINE_WRITE = re.compile(r"OrderEvent\.objects\.(create|bulk_create|get_or_create|update_or_create)\b|"
                             r"(?<!class )\bOrderEvent\(")
_PACKAGES = ["okto88", "vehicles", "catalog", "suppliers", "workshops", "orders", "payments", "logistics",
             "analytics"]


def test_only_the_timeline_service_writes_order_events():
    root = Path(__file__).resolve().parents[2]
    writers = sorted(
        str(path.relative_to(root)) for package in _PACKAGES for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts and _TIMELINE_WRITE.search(path.read_text(encoding="utf-8"))
    )
    assert writers == ["orders/timeline.py"]
