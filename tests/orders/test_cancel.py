"""Cancelling an order: once under concurrency, and never with the money kept (issue 11, items 2-3)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from orders.state import order_transition
from payments import services as payment_services
from payments.models import PaymentStatus, Refund
from suppliers.models import Stock
from tests.orders.factories import client_for, offer_in_stock, place

PROBLEM = "application/problem+json"
ORDERS = "/api/v1/orders/"


def order_for(buyer, *, payment_method: str = "terms") -> Order:
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    return place(buyer=buyer, payment_method=payment_method)


def paid_prepaid_order(buyer, gateway) -> Order:
    """A virtual-account order the workshop has paid (settled at the gateway and here)."""
    order = order_for(buyer, payment_method="virtual_account")
    gateway.simulate(order.number, "settlement")
    payment_services.payment_intent_refresh(intent=order.payment_intent)
    order_transition(order=order, to=OrderStatus.PAID, step="payment")
    order.refresh_from_db()
    assert order.payment_intent.status == PaymentStatus.SETTLED
    return order


def cancel(buyer, order: Order):
    return client_for(buyer.user).post(f"{ORDERS}{order.number}/cancel/", {"reason": "salah pesan"}, format="json")


def assert_unchanged(order: Order, *, status: str, payment: str) -> None:
    order.refresh_from_db()
    order.payment_intent.refresh_from_db()
    assert order.status == status and order.payment_intent.status == payment
    assert Stock.objects.get().reserved == 2  # the reservation is still held
    assert not OrderEvent.objects.filter(order=order, kind="status.cancelled").exists()


# --- Item 3: concurrent and repeated cancels -----------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_five_concurrent_cancels_all_answer_200_with_the_same_body(buyer, fake_gateway):
    order = paid_prepaid_order(buyer, fake_gateway)
    answers: list = []
    start = threading.Barrier(5)

    def one():
        try:
            start.wait()
            response = cancel(buyer, order)
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [code for code, _body in answers] == [200] * 5, answers
    assert all(body == answers[0][1] for _code, body in answers)
    assert answers[0][1]["status"] == "cancelled"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.payment_intent.status == PaymentStatus.REFUNDED
    assert len(fake_gateway.state()["transactions"][order.number]["refunds"]) == 1
    assert Refund.objects.filter(intent=order.payment_intent).count() == 1
    assert OrderEvent.objects.filter(order=order, kind="status.cancelled").count() == 1
    assert Stock.objects.get().reserved == 0


@pytest.mark.django_db
def test_a_repeated_cancel_answers_as_the_first_did(buyer):
    order = order_for(buyer)
    first = cancel(buyer, order)
    again = cancel(buyer, order)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()


@pytest.mark.django_db
def test_an_uncancellable_order_gets_409_whose_status_is_the_http_status(buyer):
    order = order_for(buyer)
    services.order_fail(order=order, reason="test", step="commit_stock")

    response = cancel(buyer, order)

    assert response.status_code == 409 and response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 409 and body["code"] == "invalid_transition"
    assert body["order_status"] == "failed"


# --- Item 2: the gateway refuses or is down: nothing changes -------------------------------

@pytest.mark.django_db
def test_a_refund_the_gateway_refuses_leaves_the_order_paid_and_the_payment_settled(buyer, fake_gateway):
    order = paid_prepaid_order(buyer, fake_gateway)
    fake_gateway.set_faults(reject_next=1)  # the refund answers 400

    response = cancel(buyer, order)

    assert response.status_code == 502 and response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "gateway_rejected"
    assert_unchanged(order, status=OrderStatus.PAID, payment=PaymentStatus.SETTLED)
    assert fake_gateway.state()["transactions"][order.number]["refunds"] == []
    # Once the gateway takes it, the cancel goes through and the money is back.
    assert cancel(buyer, order).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.payment_intent.status == PaymentStatus.REFUNDED


@pytest.mark.django_db
def test_a_cancel_while_the_gateway_is_down_changes_nothing(buyer, fake_gateway):
    order = order_for(buyer, payment_method="virtual_account")
    fake_gateway.set_faults(fail_next=1)  # the gateway's cancel answers 500

    response = cancel(buyer, order)

    assert response.status_code == 503 and response.json()["code"] == "gateway_unavailable"
    assert_unchanged(order, status=OrderStatus.PENDING_PAYMENT, payment=PaymentStatus.PENDING)
    assert cancel(buyer, order).status_code == 200
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.payment_intent.status == PaymentStatus.CANCELLED


# --- Item 2: a compensation never ends with the money kept silently -----------------------

def retries(callbacks) -> list:
    return [c for c in callbacks if "payment_return_schedule" in c.__qualname__]


def return_events(order: Order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order, kind__startswith="payment.return")
                .order_by("pk").values_list("kind", flat=True))


@pytest.mark.django_db
def test_a_failed_order_whose_refund_is_refused_shows_it_and_retries_until_refunded(
        buyer, fake_gateway, django_capture_on_commit_callbacks):
    from orders import tasks, workflow

    order = paid_prepaid_order(buyer, fake_gateway)
    fake_gateway.set_faults(reject_next=1)  # the refund answers 400

    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        workflow.workflow_compensate(order_id=order.pk, step="request_shipments", reason="no courier")

    order.refresh_from_db()
    order.payment_intent.refresh_from_db()
    assert order.status == OrderStatus.FAILED and Stock.objects.get().reserved == 0
    assert order.payment_intent.status == PaymentStatus.SETTLED  # not silently: on the timeline, and retried
    failed = OrderEvent.objects.get(order=order, kind="payment.return_failed")
    assert failed.data["code"] == "gateway_rejected" and failed.data["attempt"] == 1
    assert len(retries(scheduled)) == 1  # the retry, enqueued after commit with its backoff

    tasks.payment_return.apply(kwargs={"order_id": order.pk, "attempt": 2})  # what the retry runs

    order.payment_intent.refresh_from_db()
    assert order.payment_intent.status == PaymentStatus.REFUNDED
    assert return_events(order) == ["payment.return_failed", "payment.returned"]
    assert len(fake_gateway.state()["transactions"][order.number]["refunds"]) == 1


@pytest.mark.django_db
def test_a_refund_retry_that_fails_again_schedules_the_next_with_a_longer_wait(
        buyer, fake_gateway, django_capture_on_commit_callbacks):
    from orders import workflow

    order = paid_prepaid_order(buyer, fake_gateway)
    fake_gateway.set_faults(fail_next=2)  # down for the first attempt and its retry
    with django_capture_on_commit_callbacks(execute=False):
        workflow.workflow_compensate(order_id=order.pk, step="notify", reason="x")
    with django_capture_on_commit_callbacks(execute=False) as scheduled:
        assert services.order_payment_return(order=order, attempt=2) is False
    assert len(retries(scheduled)) == 1 and return_events(order) == ["payment.return_failed"] * 2
    assert services.payment_return_backoff_seconds(2) <= 30 < services.payment_return_backoff_seconds(4)
    assert services.payment_return_backoff_seconds(30) <= services.PAYMENT_RETURN_BACKOFF_MAX_SECONDS


@pytest.mark.django_db
def test_the_sweep_returns_the_money_of_a_closed_order_whose_retry_was_lost(
        buyer, fake_gateway, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from orders import workflow

    order = paid_prepaid_order(buyer, fake_gateway)
    fake_gateway.set_faults(reject_next=1)
    with django_capture_on_commit_callbacks(execute=False):  # the retry is lost
        services.order_fail(order=order, reason="test", step="commit_stock")
    assert workflow.payment_returns_sweep() == []  # a retry is still on its way

    later = timezone.now() + workflow.PAYMENT_RETURN_SWEEP_AFTER + timedelta(minutes=1)
    assert workflow.payment_returns_sweep(now=later) == [order.number]

    order.payment_intent.refresh_from_db()
    assert order.payment_intent.status == PaymentStatus.REFUNDED
    assert workflow.payment_returns_sweep(now=later) == []


@pytest.mark.django_db
def test_the_browser_says_nothing_changed_when_the_gateway_refuses_the_refund(client, buyer, fake_gateway):
    from django.urls import reverse

    order = paid_prepaid_order(buyer, fake_gateway)
    fake_gateway.set_faults(reject_next=1)
    client.force_login(buyer.user)

    page = client.post(reverse("orders:cancel", args=[order.number]), follow=True, HTTP_ACCEPT_LANGUAGE="id")

    shown = [str(m) for m in page.context["messages"]]
    assert any("tidak dibatalkan" in m for m in shown), shown
    assert_unchanged(order, status=OrderStatus.PAID, payment=PaymentStatus.SETTLED)


@pytest.mark.django_db
def test_a_cancel_the_gateway_refuses_for_a_pending_payment_changes_nothing(buyer, fake_gateway):
    order = order_for(buyer, payment_method="virtual_account")
    fake_gateway.set_faults(reject_next=1)  # the gateway's cancel answers 400

    response = cancel(buyer, order)

    assert response.status_code == 502 and response.json()["code"] == "gateway_rejected"
    assert_unchanged(order, status=OrderStatus.PENDING_PAYMENT, payment=PaymentStatus.PENDING)
    assert fake_gateway.state()["transactions"][order.number]["status"] == "pending"
