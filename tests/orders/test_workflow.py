"""The order workflow end to end, with a real Celery worker process, real Redis and
PostgreSQL, and the project's fake gateway and courier over real HTTP calling back into a
live server. Nothing of ours is monkeypatched."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from okto88.models import OutboxEvent
from orders import services, workflow
from orders.models import Notification, Order, OrderStatus, StepRun, StepStatus
from orders.tasks import expire_unpaid
from payments.models import PaymentStatus
from suppliers.models import Stock, StockMovement
from tests.celery_worker import CeleryWorkerProcess, partner_worker_env
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def workflow_worker_process(django_db_setup, live_server, fake_courier, fake_gateway, tmp_path_factory):
    """A worker that talks to this session's fake partners and sends their callbacks to the
    live server; short backoff and three attempts so failure paths finish in seconds."""
    worker = CeleryWorkerProcess(
        log_dir=tmp_path_factory.mktemp("workflow-worker"),
        extra_env={
            **partner_worker_env(live_server=live_server, fake_courier=fake_courier, fake_gateway=fake_gateway),
            "WORKFLOW_MAX_ATTEMPTS": "3",
            "WORKFLOW_BACKOFF_BASE_SECONDS": "0.2",
            "PARTNER_HTTP_TIMEOUT_SECONDS": "10",
        },
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(workflow_worker_process, live_server, settings):
    carriers_ensure()  # transactional tests flush the migration-seeded carriers
    settings.PAYMENT_NOTIFICATION_URL = f"{live_server.url}/api/v1/payments/notifications/"
    settings.COURIER_NOTIFICATION_URL = f"{live_server.url}/api/v1/logistics/notifications/"
    with workflow_worker_process.routed():
        yield workflow_worker_process


def wait_until(predicate, *, timeout: float = 45, worker=None, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    log = worker.log_text()[-4000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def order_status(order: Order) -> str:
    order.refresh_from_db(fields=["status", "failure_reason"])
    return order.status


def assert_ledger_consistent(stock: Stock) -> None:
    stock.refresh_from_db()
    sums = StockMovement.objects.filter(stock=stock).aggregate(on_hand=Sum("on_hand_delta"),
                                                               reserved=Sum("reserved_delta"))
    assert (stock.on_hand, stock.reserved) == (sums["on_hand"] or 0, sums["reserved"] or 0)
    # The ledger's running totals end where the row is (0 ≤ reserved ≤ on_hand is the
    # database's CHECK constraint: asserting it here could never fail).
    last = StockMovement.objects.filter(stock=stock).order_by("-pk").first()
    assert last is None or (last.on_hand_after, last.reserved_after) == (stock.on_hand, stock.reserved)


def steps_by_status(order: Order) -> dict[str, list[str]]:
    runs: dict[str, list[str]] = {}
    for step, status in StepRun.objects.filter(order=order).order_by("started_at", "pk").values_list("step",
                                                                                                       "status"):
        runs.setdefault(step, []).append(status)
    return runs


def redrive_lost_chain(order: Order) -> None:
    """The chain placement enqueued went to a queue nobody reads, as a lost message would: the
    reconciler (Celery beat) re-drives the order once it has sat past its deadline."""
    later = timezone.now() + workflow.STALL_AFTER + timedelta(seconds=1)
    assert workflow.workflow_reconcile(now=later) == [order.number]


def test_terms_order_goes_from_cart_to_delivered(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)

    order = place(buyer=buyer, payment_method="terms")

    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    runs = steps_by_status(order)
    assert [runs[step][-1] for step in ("commit_stock", "request_shipments", "notify", "mark_in_fulfilment")] == [
        StepStatus.SUCCEEDED] * 4
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (8, 0)
    supplier_order = order.supplier_orders.select_related("shipment").get()
    assert supplier_order.shipment.waybill
    assert fake_courier.bookings(supplier_order.number) == 1
    assert Notification.objects.filter(recipient=buyer.user, order=order, kind="order_confirmed").count() == 1

    for status in ("picked_up", "in_transit", "delivered"):
        fake_courier.advance(supplier_order.shipment.waybill, status)
    wait_until(lambda: order_status(order) == OrderStatus.COMPLETED, worker=worker, what="completed")
    timeline = list(order.events.values_list("kind", flat=True))
    assert timeline.index("status.paid") < timeline.index("stock_committed") < timeline.index("status.completed")
    assert_ledger_consistent(stock)
    # The supplier's ERP heard of each step, once (picked up and in transit both mean shipped).
    assert supplier_order_moves(supplier_order) == [
        ("supplier_order.created", None), ("supplier_order.confirmed", "pending"),
        ("supplier_order.shipped", "confirmed"), ("supplier_order.delivered", "shipped")]


def supplier_order_moves(supplier_order) -> list[tuple[str, str | None]]:
    return [(topic, payload.get("from")) for topic, payload in
            OutboxEvent.objects.filter(aggregate_type="supplier_order", aggregate_id=str(supplier_order.pk))
            .order_by("pk").values_list("topic", "payload")]


def test_virtual_account_order_starts_when_the_gateway_confirms(worker, fake_gateway):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=buyer, payment_method="virtual_account")
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING_PAYMENT and order.payment_intent.va_number

    fake_gateway.simulate(order.number, "settlement")

    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    order.payment_intent.refresh_from_db()
    assert order.payment_intent.status == PaymentStatus.SETTLED
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (4, 0)


def test_courier_down_retries_then_compensation_restores_stock_and_money(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=3)
    with worker.paused():  # placing needs the courier's quotes; the chain it starts is lost
        order = place(buyer=buyer, payment_method="terms")
    fake_courier.set_faults(fail_next=1000)

    redrive_lost_chain(order)

    wait_until(lambda: order_status(order) == OrderStatus.FAILED, worker=worker, what="failed")
    assert steps_by_status(order)["request_shipments"] == [StepStatus.RETRYING, StepStatus.RETRYING,
                                                           StepStatus.FAILED]
    assert order.failure_reason  # a reason the workshop can read
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (10, 0)
    assert_ledger_consistent(stock)
    order.payment_intent.refresh_from_db()
    assert order.payment_intent.status == PaymentStatus.VOIDED
    # The compensation cancelled the supplier order, and told its supplier.
    assert supplier_order_moves(order.supplier_orders.get()) == [
        ("supplier_order.created", None), ("supplier_order.cancelled", "pending")]


def test_a_worker_killed_mid_step_completes_the_order_once(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=4)
    with worker.paused():
        order = place(buyer=buyer, payment_method="terms")
    fake_courier.set_faults(latency_ms=2500)  # the booking step is slow: kill the worker inside it
    redrive_lost_chain(order)
    wait_until(lambda: StepRun.objects.filter(order=order, step="request_shipments",
                                              status=StepStatus.RUNNING).exists(),
               worker=worker, what="the booking step running")
    for pid in worker.pool_pids():
        os.kill(pid, signal.SIGKILL)

    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, timeout=90, worker=worker,
               what="in fulfilment after the kill")
    supplier_order = order.supplier_orders.get()
    assert fake_courier.bookings(supplier_order.number) == 1
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (6, 0), "stock deducted once"
    assert_ledger_consistent(stock)
    runs = steps_by_status(order)
    assert runs["commit_stock"].count(StepStatus.SUCCEEDED) == 1
    assert runs["request_shipments"].count(StepStatus.SUCCEEDED) == 1
    assert StepStatus.RUNNING in runs["request_shipments"], "the killed attempt stays on record"


def test_an_unpaid_order_expires_and_its_stock_returns(worker):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=buyer, payment_method="virtual_account")
    stock.refresh_from_db()
    assert stock.reserved == 2
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))  # time passes

    expire_unpaid.delay()

    wait_until(lambda: order_status(order) == OrderStatus.EXPIRED, worker=worker, what="expired")
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (5, 0)
    assert_ledger_consistent(stock)
