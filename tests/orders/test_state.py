"""The state machine: the table, illegal moves refused; cancel and expiry give stock back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from okto88.errors import InvalidTransition
from okto88.models import OutboxEvent
from orders import services
from orders.errors import OrderNotCancellable
from orders.models import OrderStatus
from orders.state import TERMINAL, TRANSITIONS, order_transition
from payments.models import PaymentStatus
from suppliers.models import Stock, StockMovement
from suppliers.services import stock_commit_shipment
from tests.orders.factories import offer_in_stock, place

pytestmark = pytest.mark.django_db
S = OrderStatus


def placed(buyer, *, method="terms", quantity=2):
    offer, stock = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    return place(buyer=buyer, payment_method=method), stock


def ledger_consistent(stock: Stock) -> bool:
    stock.refresh_from_db()
    sums = StockMovement.objects.filter(stock=stock).aggregate(o=Sum("on_hand_delta"), r=Sum("reserved_delta"))
    return (stock.on_hand, stock.reserved) == (sums["o"] or 0, sums["r"] or 0)


def test_the_table():
    assert TRANSITIONS[S.PENDING_PAYMENT] == {S.PAID, S.CANCELLED, S.EXPIRED, S.FAILED}
    assert TRANSITIONS[S.SHIPPED] == {S.COMPLETED, S.FAILED}
    assert {S.COMPLETED, S.CANCELLED, S.EXPIRED, S.FAILED} == TERMINAL


@pytest.mark.parametrize("to", [S.SHIPPED, S.COMPLETED, S.PENDING_PAYMENT, S.EXPIRED])
def test_illegal_transitions_are_refused_and_change_nothing(buyer, to):
    order, _ = placed(buyer)  # paid (terms)
    with pytest.raises(InvalidTransition) as exc:
        order_transition(order=order, to=to)
    assert exc.value.code == "invalid_transition"
    order.refresh_from_db()
    assert order.status == S.PAID


def test_a_legal_transition_writes_the_timeline_and_the_outbox(buyer):
    order, _ = placed(buyer)
    order_transition(order=order, to=S.IN_FULFILMENT, step="mark_in_fulfilment")
    assert order.status == S.IN_FULFILMENT
    event = order.events.last()
    assert (event.kind, event.step, event.data) == ("status.in_fulfilment", "mark_in_fulfilment",
                                                    {"from": "paid", "to": "in_fulfilment"})
    assert OutboxEvent.objects.filter(topic="order.in_fulfilment", aggregate_id=str(order.pk)).count() == 1


def test_terminal_states_move_nowhere(buyer):
    order, _ = placed(buyer)
    services.order_cancel(order=order, actor=buyer.user, reason="salah pesan")
    for to in S.values:
        with pytest.raises(InvalidTransition):
            order_transition(order=order, to=to)


def test_cancel_releases_the_reservation_and_voids_terms(buyer):
    order, stock = placed(buyer)
    assert Stock.objects.get(pk=stock.pk).reserved == 2
    services.order_cancel(order=order, actor=buyer.user, reason="salah pesan")
    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.failure_reason == "salah pesan"
    assert Stock.objects.get(pk=stock.pk).reserved == 0 and ledger_consistent(stock)
    assert order.payment_intent.status == PaymentStatus.VOIDED
    services.order_cancel(order=order, actor=buyer.user)  # a repeat changes nothing
    assert Stock.objects.get(pk=stock.pk).reserved == 0 and ledger_consistent(stock)


def test_cancel_of_an_unpaid_prepaid_order_cancels_the_payment(buyer):
    order, stock = placed(buyer, method="qris")
    services.order_cancel(order=order, actor=buyer.user)
    order.refresh_from_db()
    assert order.status == S.CANCELLED and order.payment_intent.status == PaymentStatus.CANCELLED
    assert Stock.objects.get(pk=stock.pk).reserved == 0


def test_cancel_after_stock_was_committed_returns_it(buyer):
    order, stock = placed(buyer)
    order_transition(order=order, to=S.IN_FULFILMENT)
    stock_commit_shipment(lines=[(stock.pk, 2)], reference=f"{order.number}-1")
    services.order_cancel(order=order, actor=buyer.user)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (5, 0) and ledger_consistent(stock)


def test_shipped_orders_cannot_be_cancelled(buyer):
    order, stock = placed(buyer)
    order_transition(order=order, to=S.IN_FULFILMENT)
    order_transition(order=order, to=S.SHIPPED)
    with pytest.raises(OrderNotCancellable):
        services.order_cancel(order=order, actor=buyer.user)
    assert Stock.objects.get(pk=stock.pk).reserved == 2


def test_expiry_releases_stock_only_when_due_and_unpaid(buyer):
    order, stock = placed(buyer, method="virtual_account")
    assert services.order_expire(order=order) is None  # not yet due
    later = order.expires_at + timedelta(seconds=1)
    assert services.order_expire(order=order, now=later).status == S.EXPIRED
    order.refresh_from_db()
    assert order.status == S.EXPIRED and order.payment_intent.status == PaymentStatus.EXPIRED
    assert Stock.objects.get(pk=stock.pk).reserved == 0 and ledger_consistent(stock)
    assert services.order_expire(order=order, now=later) is None  # a second sweep does nothing
    paid, _ = placed(buyer)  # terms: paid, never expires
    assert services.order_expire(order=paid, now=timezone.now() + timedelta(days=30)) is None
