"""order_place: split per supplier, price snapshot, totals, reservation, payment, idempotency."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db.models import Sum
from django.utils import timezone

from okto88.models import OutboxEvent
from okto88.redis_connection import redis_client
from orders import services
from orders.errors import (
    CartChanged,
    CartEmpty,
    CreditLimitExceeded,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    OutOfStock,
    ShippingChoiceInvalid,
    ShippingChoiceRequired,
)
from orders.models import CartLine, Order, OrderLine, OrderStatus
from payments.models import PaymentStatus
from suppliers.models import Stock, StockMovement
from suppliers.services import offer_update, stock_reserve
from tests.orders.factories import cheapest_shipping, offer_in_stock, place

pytestmark = pytest.mark.django_db


def fill_cart(buyer, *specs):
    offers = []
    for quantity, kwargs in specs:
        offer, _ = offer_in_stock(**kwargs)
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
        offers.append(offer)
    return offers


def test_terms_order_is_split_per_supplier_reserved_and_paid_at_once(buyer):
    a, b = fill_cart(buyer, (2, {"price": 123_457, "on_hand": 5}), (1, {"price": 10_000, "on_hand": 1}))
    shipping = cheapest_shipping(buyer=buyer)

    order = place(buyer=buyer, shipping=shipping)

    assert order.status == OrderStatus.PAID
    assert order.payment_intent.status == PaymentStatus.SETTLED and order.payment_intent.reference == order.number
    assert order.number.startswith("OK-") and len(order.number) == 14
    assert order.expires_at is None
    sos = list(order.supplier_orders.order_by("supplier_id"))
    assert [so.supplier_id for so in sos] == sorted([a.supplier_id, b.supplier_id])
    assert {so.number for so in sos} == {f"{order.number}-1", f"{order.number}-2"}
    assert order.subtotal == 2 * 123_457 + 10_000
    assert order.shipping_total == sum(so.shipping_cost for so in sos) > 0
    assert order.tax_total == services.order_totals(subtotal=order.subtotal, shipping=order.shipping_total,
                                                    rate_bp=1100).tax
    assert order.grand_total == order.subtotal + order.shipping_total + order.tax_total
    line = OrderLine.objects.get(offer=a)
    assert (line.unit_price, line.quantity, line.line_total) == (123_457, 2, 246_914)
    assert Stock.objects.get(offer=a).reserved == 2 and Stock.objects.get(offer=b).reserved == 1
    assert StockMovement.objects.filter(reference=order.number, reason="reservation").count() == 2
    assert not CartLine.objects.filter(cart__workshop=buyer.workshop).exists()
    assert [e.kind for e in order.events.all()] == ["placed", "status.paid"]
    topics = set(OutboxEvent.objects.filter(aggregate_type="order", aggregate_id=str(order.pk))
                 .values_list("topic", flat=True))
    assert topics == {"order.placed", "order.paid"}
    assert OutboxEvent.objects.filter(topic="payment.settled").exists()
    assert order.delivery_address["city"] == "Kota Bekasi"


def test_prepaid_order_waits_for_payment_with_instructions(buyer, settings):
    fill_cart(buyer, (1, {"price": 99_000}))
    before = timezone.now()
    order = place(buyer=buyer, payment_method="virtual_account")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.payment_intent.status == PaymentStatus.PENDING and order.payment_intent.va_number
    assert order.payment_intent.amount == order.grand_total
    minutes = (order.expires_at - before).total_seconds() / 60
    assert settings.ORDER_PAYMENT_WINDOW_MINUTES - 1 < minutes <= settings.ORDER_PAYMENT_WINDOW_MINUTES + 1
    assert [e.kind for e in order.events.all()] == ["placed", "payment.requested"]


def test_same_key_returns_the_same_order_without_a_second_reservation(buyer):
    (offer,) = fill_cart(buyer, (3, {"on_hand": 10}))
    shipping = cheapest_shipping(buyer=buyer)
    first = place(buyer=buyer, key="key-1", shipping=shipping)
    movements = StockMovement.objects.count()
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)  # the cart moved on

    again = place(buyer=buyer, key="key-1", shipping=shipping)

    assert again.pk == first.pk
    assert StockMovement.objects.count() == movements
    # Placed once. (One order per key is the unique constraint's to keep: counting orders
    # could not fail.)
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1
    assert Stock.objects.get(offer=offer).reserved == 3
    assert CartLine.objects.filter(cart__workshop=buyer.workshop).count() == 1


def test_same_key_with_another_request_is_a_conflict(buyer):
    fill_cart(buyer, (1, {}))
    shipping = cheapest_shipping(buyer=buyer)
    place(buyer=buyer, key="key-2", shipping=shipping)
    movements = StockMovement.objects.count()
    with pytest.raises(IdempotencyConflict):
        place(buyer=buyer, key="key-2", shipping=shipping, payment_method="qris")
    # The refused request reserved nothing and placed nothing. (One order per key is the unique
    # constraint's to keep: counting orders could not fail.)
    assert StockMovement.objects.count() == movements
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1


def test_missing_key_is_refused(buyer):
    fill_cart(buyer, (1, {}))
    with pytest.raises(IdempotencyKeyRequired):
        place(buyer=buyer, key=" ")


def test_a_changed_price_is_refused_unless_accepted(buyer):
    (offer,) = fill_cart(buyer, (2, {"price": 100_000}))
    shipping = cheapest_shipping(buyer=buyer)
    offer_update(offer=offer, data={"price": 120_000})
    with pytest.raises(CartChanged) as exc:
        place(buyer=buyer, shipping=shipping)
    assert exc.value.extra["lines"][0]["price_seen"] == 100_000
    assert exc.value.extra["lines"][0]["price"] == 120_000
    assert not Order.objects.exists() and Stock.objects.get(offer=offer).reserved == 0

    order = place(buyer=buyer, shipping=shipping, accept_changes=True)
    assert OrderLine.objects.get(supplier_order__order=order).unit_price == 120_000


def test_stock_gone_since_added_is_out_of_stock_even_when_accepting(buyer):
    (offer,) = fill_cart(buyer, (3, {"on_hand": 3}))
    shipping = cheapest_shipping(buyer=buyer)
    stock_reserve(lines=[(offer.stocks.get(), 1)], reference="another order")
    with pytest.raises(OutOfStock) as exc:
        place(buyer=buyer, shipping=shipping, accept_changes=True)
    assert exc.value.extra["lines"][0]["available"] == 2
    assert not Order.objects.exists()


def test_credit_limit_counts_open_terms_orders(buyer):
    buyer.workshop.credit_limit = 300_000
    buyer.workshop.save()
    fill_cart(buyer, (1, {"price": 100_000}))
    first = place(buyer=buyer)
    assert first.grand_total < 300_000
    fill_cart(buyer, (1, {"price": 200_000}))
    with pytest.raises(CreditLimitExceeded) as exc:
        place(buyer=buyer)
    assert exc.value.extra["open"] == first.grand_total
    assert Order.objects.count() == 1
    assert Stock.objects.aggregate(r=Sum("reserved"))["r"] == 1
    # A prepaid order does not use credit.
    assert place(buyer=buyer, payment_method="qris").status == OrderStatus.PENDING_PAYMENT


def test_credit_released_for_rejected_parts_can_be_used_again(buyer):
    from orders import workflow

    buyer.workshop.credit_limit = 300_000
    buyer.workshop.save()
    fill_cart(buyer, (2, {"price": 100_000}))
    first = place(buyer=buyer)
    workflow.step_run(order_id=first.pk, step="open_for_acceptance", task_id="test")
    fill_cart(buyer, (1, {"price": 100_000}))
    with pytest.raises(CreditLimitExceeded):
        place(buyer=buyer)
    supplier_order = first.supplier_orders.get()
    services.supplier_order_answer(supplier_order=supplier_order, rejections={
        supplier_order.lines.get().pk: services.LineRejection(quantity=1, reason="out_of_stock")})
    first.refresh_from_db()
    assert first.status == OrderStatus.IN_FULFILMENT and 0 < first.refunded_total < first.grand_total

    second = place(buyer=buyer)

    assert second.status == OrderStatus.PAID


def test_shipping_choice_must_be_one_of_the_quotes_for_every_supplier(buyer):
    (offer,) = fill_cart(buyer, (1, {}))
    with pytest.raises(ShippingChoiceRequired):
        place(buyer=buyer, shipping={})
    with pytest.raises(ShippingChoiceInvalid):
        place(buyer=buyer, shipping={offer.supplier_id: ("jne", "TELEPORT")})


def test_empty_cart(buyer):
    with pytest.raises(CartEmpty):
        place(buyer=buyer, shipping={})


def test_gateway_down_keeps_the_order_and_a_retry_with_the_same_key_charges_it(buyer, fake_gateway):
    (offer,) = fill_cart(buyer, (1, {}))
    shipping = cheapest_shipping(buyer=buyer)
    fake_gateway.set_faults(fail_next=10)
    from payments.errors import GatewayUnavailable

    with pytest.raises(GatewayUnavailable):
        place(buyer=buyer, key="k-gw", shipping=shipping, payment_method="ewallet")
    order = Order.objects.get()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.payment_intent_id is None
    assert Stock.objects.get(offer=offer).reserved == 1

    fake_gateway.set_faults()
    again = place(buyer=buyer, key="k-gw", shipping=shipping, payment_method="ewallet")
    assert again.pk == order.pk and again.payment_intent.payment_url
    assert Stock.objects.get(offer=offer).reserved == 1


@pytest.mark.django_db(transaction=True)
def test_a_terms_order_enqueues_its_chain_when_placement_commits_and_the_settlement_adds_none(buyer):
    from okto88.celery import app as celery_app
    from orders import workflow

    queue = f"okto88-test-chain-{uuid.uuid4().hex[:8]}"
    fill_cart(buyer, (1, {"price": 50_000}))
    default_queue, celery_app.conf.task_default_queue = celery_app.conf.task_default_queue, queue
    def queued() -> list[str]:
        return [json.loads(message)["headers"]["task"] for message in redis_client().lrange(queue, 0, -1)]

    try:
        order = place(buyer=buyer)
        after_placement = queued()
        # The outbox relay brings payment.settled to the workflow later: no second chain.
        workflow.on_payment_event(topic="payment.settled", payload={"reference": order.number, "method": "terms"})
        after_event = queued()
    finally:
        celery_app.conf.task_default_queue = default_queue
        redis_client().delete(queue)
    # The chain's first link (the others ride along in its message).
    assert after_placement.count("orders.step_open_for_acceptance") == 1, after_placement
    assert after_event.count("orders.step_open_for_acceptance") == 1, after_event
