"""Every change of a supplier order writes its event in the change's transaction: one
`supplier_order.created` per supplier order when an order is placed, one `supplier_order.<status>`
per supplier order that moved. (tests/conftest.py validates every payload against its topic.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from logistics.models import Carrier, Shipment
from okto88.events import event_topic
from okto88.models import OutboxEvent, Scope
from orders import services, workflow
from orders.models import SupplierOrder, SupplierOrderStatus
from orders.state import supplier_order_transition, supplier_orders_move
from partners.selectors import event_visible, partner_view
from tests.orders.factories import cheapest_shipping, offer_in_stock, place
from tests.platform.factories import issue_api_key
from tests.suppliers.factories import SupplierApiClientFactory, SupplierFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
SO = SupplierOrderStatus


def fill_cart(buyer, suppliers: int, *, lines_of_first: int = 1) -> list:
    made = []
    for index in range(suppliers):
        warehouse = WarehouseFactory(supplier=SupplierFactory())
        supplier = warehouse.supplier
        for _ in range(lines_of_first if index == 0 else 1):
            offer, _ = offer_in_stock(on_hand=5, warehouse=warehouse)
            services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
        made.append(supplier)
    return made


def supplier_order_events(**filters) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic__startswith="supplier_order.", **filters).order_by("pk"))


def test_placing_an_order_writes_one_created_event_per_supplier_order(buyer):
    suppliers = fill_cart(buyer, 3, lines_of_first=2)
    order = place(buyer=buyer)

    events = supplier_order_events()
    assert [e.topic for e in events] == ["supplier_order.created"] * 3
    by_supplier = {e.payload["supplier"]: e for e in events}
    assert set(by_supplier) == {s.pk for s in suppliers}
    for supplier_order in SupplierOrder.objects.filter(order=order):
        event = by_supplier[supplier_order.supplier_id]
        assert event.aggregate_type == "supplier_order" and event.aggregate_id == str(supplier_order.pk)
        assert event.payload == {
            "supplier_order_id": supplier_order.pk, "number": supplier_order.number, "order_number": order.number,
            "supplier": supplier_order.supplier_id, "workshop": buyer.workshop.pk,
            "warehouse": supplier_order.warehouse_id, "status": "pending", "subtotal": supplier_order.subtotal,
            "shipping_cost": supplier_order.shipping_cost, "line_count": supplier_order.lines.count()}
    assert by_supplier[suppliers[0].pk].payload["line_count"] == 2
    placed = OutboxEvent.objects.get(topic="order.placed")
    assert placed.pk < min(e.pk for e in events)  # the order first, then its supplier orders


def test_the_events_cost_placement_no_statement_of_their_own(buyer):
    """Measured before they existed: one supplier → 43 statements, three → 45 (the two supplier
    order INSERTs; since issue 17 the supplier orders go in one INSERT too). The events go in
    the INSERT that writes `order.placed`."""
    counts = []
    for suppliers in (1, 3):
        fill_cart(buyer, suppliers)
        shipping = cheapest_shipping(buyer=buyer)
        with CaptureQueriesContext(connection) as queries:
            place(buyer=buyer, shipping=shipping)
        outbox_inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(
            'INSERT INTO "platform_outboxevent"')]
        counts.append((len(queries.captured_queries), len(outbox_inserts)))
        (with_order,) = [sql for sql in outbox_inserts if "order.placed" in sql]
        assert with_order.count("supplier_order.created") == suppliers
    (one, one_outbox), (three, three_outbox) = counts
    assert three == one  # more supplier orders: more rows in the same INSERTs, no statement more
    assert one_outbox == three_outbox


def test_a_supplier_sees_its_supplier_orders_events_and_another_supplier_does_not(buyer):
    mine, _theirs = fill_cart(buyer, 2)
    place(buyer=buyer)

    def view(supplier):
        issued = issue_api_key(scopes=[Scope.ORDERS_READ])
        SupplierApiClientFactory(api_client=issued.api_key.client, supplier=supplier)
        return partner_view(api_client=issued.api_key.client)

    topic = event_topic("supplier_order.created")
    seen = [e.payload["supplier"] for e in supplier_order_events()
            if event_visible(view=view(mine), topic=topic, payload=e.payload)]
    assert seen == [mine.pk]


def test_a_transition_writes_its_event_with_the_status_it_left(buyer):
    fill_cart(buyer, 1)
    order = place(buyer=buyer)
    supplier_order = SupplierOrder.objects.get(order=order)
    before = supplier_order.updated_at

    supplier_order_transition(supplier_order=supplier_order, to=SO.ACCEPTED)

    (event,) = supplier_order_events(topic="supplier_order.accepted")
    assert event.payload["from"] == "pending" and event.payload["status"] == "accepted"
    assert event.payload["order_number"] == order.number and event.payload["line_count"] == 1
    supplier_order.refresh_from_db()
    assert supplier_order.updated_at > before


def test_a_refused_transition_writes_no_event(buyer):
    fill_cart(buyer, 1)
    supplier_order = SupplierOrder.objects.get(order=place(buyer=buyer))
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SO.DELIVERED)
    supplier_order.refresh_from_db()
    with pytest.raises(Exception, match="cannot go from delivered"):
        supplier_order_transition(supplier_order=supplier_order, to=SO.CANCELLED)
    assert supplier_order_events(topic="supplier_order.cancelled") == []


def test_a_bulk_cancel_writes_one_event_per_row_it_moved_and_none_for_the_others(buyer):
    fill_cart(buyer, 4)
    order = place(buyer=buyer)
    pending, confirmed, delivered, cancelled = SupplierOrder.objects.filter(order=order).order_by("pk")
    long_ago = timezone.now() - timedelta(days=1)
    for supplier_order, status in ((confirmed, SO.CONFIRMED), (delivered, SO.DELIVERED), (cancelled, SO.CANCELLED)):
        SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=status, updated_at=long_ago)

    written = supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(order=order), to=SO.CANCELLED)

    assert written == 4  # the UPDATE's rows, as before: the callers count links written
    events = supplier_order_events(topic="supplier_order.cancelled")
    assert [(e.aggregate_id, e.payload["from"]) for e in events] == [(str(pending.pk), "pending"),
                                                                     (str(confirmed.pk), "confirmed")]
    assert {e.payload["supplier"] for e in events} == {pending.supplier_id, confirmed.supplier_id}
    statuses = dict(SupplierOrder.objects.filter(order=order).values_list("pk", "status"))
    assert statuses == {pending.pk: SO.CANCELLED, confirmed.pk: SO.CANCELLED, delivered.pk: SO.DELIVERED,
                        cancelled.pk: SO.CANCELLED}
    # Left alone, their change time stays: an ERP asking for what changed does not see them.
    untouched = SupplierOrder.objects.filter(pk__in=[delivered.pk, cancelled.pk]).values_list("updated_at", flat=True)
    assert set(untouched) == {long_ago}

    again = supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(order=order), to=SO.CANCELLED)
    assert again == 4 and len(supplier_order_events(topic="supplier_order.cancelled")) == 2


def test_linking_a_booking_to_a_supplier_order_that_already_shipped_writes_no_event(buyer):
    """The courier's pickup can arrive before the booking is linked: the link is written, the
    status stays (the table never moves it back), and no event claims it was confirmed."""
    fill_cart(buyer, 1)
    supplier_order = SupplierOrder.objects.get(order=place(buyer=buyer))
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SO.READY_TO_SHIP)
    workflow.on_shipment_event(topic="shipment.picked_up", payload={"reference": supplier_order.number})
    shipment = Shipment.objects.create(reference=supplier_order.number, carrier=Carrier.objects.get(code="jne"),
                                       service_level="REG", origin={}, destination={}, weight_g=500, waybill="W-1")

    linked = supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=supplier_order.pk,
                                                                               shipment__isnull=True),
                                  to=SO.CONFIRMED, shipment=shipment)

    assert linked == 1
    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.shipment_id) == (SO.SHIPPED, shipment.pk)
    assert [e.topic for e in supplier_order_events()] == ["supplier_order.created", "supplier_order.shipped"]



def test_a_cancelled_order_cancels_its_supplier_orders_and_tells_each_supplier(buyer):
    suppliers = fill_cart(buyer, 2)
    order = place(buyer=buyer)

    services.order_cancel(order=order, actor=buyer.user, reason="salah pesan")

    assert set(SupplierOrder.objects.filter(order=order).values_list("status", flat=True)) == {SO.CANCELLED}
    events = supplier_order_events(topic="supplier_order.cancelled")
    assert sorted(e.payload["supplier"] for e in events) == sorted(s.pk for s in suppliers)
    assert {e.payload["from"] for e in events} == {"pending"}
    services.order_cancel(order=order, actor=buyer.user)  # a repeat tells nobody again
    assert len(supplier_order_events(topic="supplier_order.cancelled")) == 2


def test_an_order_that_expires_unpaid_cancels_its_supplier_orders(buyer):
    fill_cart(buyer, 1)
    order = place(buyer=buyer, payment_method="virtual_account")
    order.refresh_from_db()

    assert services.order_expire(order=order, now=order.expires_at + timedelta(seconds=1)) is not None

    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.status == SO.CANCELLED
    (event,) = supplier_order_events(topic="supplier_order.cancelled")
    assert event.aggregate_id == str(supplier_order.pk) and event.payload["from"] == "pending"
