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
from orders import services
from orders.errors import SupplierOrderNotAnswerable
from orders.models import Notification, Order, OrderStatus, StepRun, StepStatus, SupplierOrder, SupplierOrderStatus
from orders.services.pricing import order_totals
from orders.tasks import expire_unpaid
from payments.models import PaymentStatus, Refund, RefundStatus
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




def answered_and_packed(order: Order, *, worker) -> SupplierOrder:
    """The order's one supplier accepts everything and, once its stock is committed, packs."""
    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    supplier_order = order.supplier_orders.get()
    services.supplier_order_accept(supplier_order=supplier_order)
    wait_until(lambda: StepRun.objects.filter(supplier_order=supplier_order, step="commit_stock",
                                              status=StepStatus.SUCCEEDED).exists(), worker=worker,
               what="stock committed")
    services.supplier_order_mark_ready(supplier_order=supplier_order, parcel_count=2)
    return supplier_order


def test_terms_order_goes_from_cart_to_delivered(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)

    order = place(buyer=buyer, payment_method="terms")

    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    supplier_order = order.supplier_orders.get()
    assert supplier_order.status == SupplierOrderStatus.PENDING and supplier_order.accept_by > timezone.now()
    assert fake_courier.bookings(supplier_order.number) == 0, "no courier before the supplier packs"
    assert Notification.objects.filter(recipient=buyer.user, order=order, kind="order_confirmed").count() == 1

    answered_and_packed(order, worker=worker)
    wait_until(lambda: order.supplier_orders.get().status == SupplierOrderStatus.CONFIRMED, worker=worker,
               what="courier booked")
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (8, 0)
    supplier_order = order.supplier_orders.select_related("shipment").get()
    assert supplier_order.shipment.waybill and supplier_order.parcel_count == 2
    assert fake_courier.bookings(supplier_order.number) == 1

    for status in ("picked_up", "in_transit", "delivered"):
        fake_courier.advance(supplier_order.shipment.waybill, status)
    wait_until(lambda: order_status(order) == OrderStatus.COMPLETED, worker=worker, what="completed")
    timeline = list(order.events.values_list("kind", flat=True))
    assert (timeline.index("status.paid") < timeline.index("supplier_order_accepted")
            < timeline.index("stock_committed") < timeline.index("shipment_booked")
            < timeline.index("status.completed"))
    assert_ledger_consistent(stock)
    assert set(Notification.objects.filter(recipient=buyer.user, order=order).values_list("kind", flat=True)) >= {
        "supplier_order_accepted", "supplier_order_booked", "supplier_order_shipped", "supplier_order_delivered"}
    # The supplier's ERP heard of each step, once (picked up and in transit both mean shipped).
    assert supplier_order_moves(supplier_order) == [
        ("supplier_order.created", None), ("supplier_order.accepted", "pending"),
        ("supplier_order.ready_to_ship", "accepted"), ("supplier_order.confirmed", "ready_to_ship"),
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
    assert (stock.on_hand, stock.reserved) == (5, 1), "reserved until its supplier accepts"


def test_one_supplier_ships_while_another_rejects_a_line_refunded_to_the_rupiah(worker, fake_courier, fake_gateway):
    buyer = buyer_make()
    first_offer, first_stock = offer_in_stock(on_hand=10, price=123_457)
    kept_offer, kept_stock = offer_in_stock(on_hand=10, price=99_999)
    rejected_offer, rejected_stock = offer_in_stock(on_hand=10, price=45_679, supplier=kept_offer.supplier,
                                                    warehouse=kept_stock.warehouse)
    for offer, quantity in ((first_offer, 1), (kept_offer, 2), (rejected_offer, 3)):
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    order = place(buyer=buyer, payment_method="virtual_account")
    fake_gateway.simulate(order.number, "settlement")
    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    first = order.supplier_orders.get(supplier=first_offer.supplier)
    second = order.supplier_orders.get(supplier=kept_offer.supplier)
    rejected_line = second.lines.get(offer=rejected_offer)

    services.supplier_order_answer(supplier_order=second, rejections={
        rejected_line.pk: services.LineRejection(quantity=3, reason="out_of_stock")})

    # The refund is the rejected line's share: its goods and the PPN they carried, to the rupiah
    # (what was paid, less what the rest costs with its PPN rounded once).
    order.refresh_from_db()
    rest = order_totals(subtotal=order.subtotal - 3 * 45_679, shipping=order.shipping_total,
                        rate_bp=order.tax_rate_bp)
    share = order.grand_total - rest.grand_total
    assert order.refunded_total == share
    wait_until(lambda: fake_gateway.state()["transactions"][order.number]["refunds"], worker=worker,
               what="the refund at the gateway")
    (refund,) = fake_gateway.state()["transactions"][order.number]["refunds"]
    assert refund["refund_amount"] == share
    rejected_stock.refresh_from_db()
    assert (rejected_stock.on_hand, rejected_stock.reserved) == (10, 0), "the rejected units' reservation is back"

    for supplier_order in (first, second):
        if supplier_order == first:
            services.supplier_order_accept(supplier_order=supplier_order)
        wait_until(lambda so=supplier_order: StepRun.objects.filter(supplier_order=so, step="commit_stock",
                                                                    status=StepStatus.SUCCEEDED).exists(),
                   worker=worker, what="stock committed")
        services.supplier_order_mark_ready(supplier_order=supplier_order)
    for supplier_order in (first, second):
        wait_until(lambda so=supplier_order: SupplierOrder.objects.get(pk=so.pk).shipment_id, worker=worker,
                   what="booked")
        waybill = SupplierOrder.objects.select_related("shipment").get(pk=supplier_order.pk).shipment.waybill
        for status in ("picked_up", "delivered"):
            fake_courier.advance(waybill, status)
    wait_until(lambda: order_status(order) == OrderStatus.COMPLETED, worker=worker, what="completed")
    kept_stock.refresh_from_db()
    first_stock.refresh_from_db()
    assert (kept_stock.on_hand, kept_stock.reserved) == (8, 0)
    assert (first_stock.on_hand, first_stock.reserved) == (9, 0)
    for stock in (first_stock, kept_stock, rejected_stock):
        assert_ledger_consistent(stock)
    order.payment_intent.refresh_from_db()
    assert order.payment_intent.status == PaymentStatus.SETTLED, "the rest of the money stays paid"
    assert Refund.objects.get(intent=order.payment_intent).status == RefundStatus.SUCCEEDED


def test_an_unanswered_supplier_order_is_rejected_at_its_deadline_and_everything_comes_back(worker, fake_gateway):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=buyer, payment_method="virtual_account")
    fake_gateway.simulate(order.number, "settlement")
    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    supplier_order = order.supplier_orders.get()
    assert services.supplier_orders_reject_overdue(now=supplier_order.accept_by - timedelta(seconds=1)) == []

    assert services.supplier_orders_reject_overdue(now=supplier_order.accept_by + timedelta(seconds=1)) == [
        supplier_order.number]

    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrderStatus.REJECTED and supplier_order.rejection_reason == "no_answer"
    assert order_status(order) == OrderStatus.CANCELLED
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (5, 0)
    order.refresh_from_db()
    assert order.refunded_total == order.grand_total
    wait_until(lambda: sum(r["refund_amount"] for r in fake_gateway.state()["transactions"][order.number]["refunds"])
               == order.grand_total, worker=worker, what="everything refunded at the gateway")
    wait_until(lambda: order.payment_intent.refunds.filter(status=RefundStatus.SUCCEEDED).exists(), worker=worker,
               what="the refund recorded")
    with pytest.raises(SupplierOrderNotAnswerable):
        services.supplier_order_accept(supplier_order=supplier_order)


def test_courier_down_retries_then_compensation_restores_stock_and_money(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=3)
    order = place(buyer=buyer, payment_method="terms")
    fake_courier.set_faults(fail_next=1000)

    supplier_order = answered_and_packed(order, worker=worker)

    wait_until(lambda: order_status(order) == OrderStatus.CANCELLED, worker=worker, what="cancelled")
    runs = list(StepRun.objects.filter(supplier_order=supplier_order, step="book_courier").order_by("pk")
                .values_list("status", flat=True))
    assert runs == [StepStatus.RETRYING, StepStatus.RETRYING, StepStatus.FAILED]
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrderStatus.CANCELLED
    assert supplier_order.rejection_reason == "fulfilment_failed"
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (10, 0), "the committed units came back"
    assert_ledger_consistent(stock)
    order.refresh_from_db()
    order.payment_intent.refresh_from_db()
    assert order.refunded_total == order.grand_total, "the terms credit is released"
    wait_until(lambda: order.payment_intent.__class__.objects.get(pk=order.payment_intent_id).status
               == PaymentStatus.VOIDED, worker=worker, what="voided")
    assert supplier_order_moves(supplier_order)[-1] == ("supplier_order.cancelled", "ready_to_ship")


def test_a_worker_killed_while_booking_the_courier_books_once(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=4)
    order = place(buyer=buyer, payment_method="terms")
    fake_courier.set_faults(latency_ms=2500)  # the booking step is slow: kill the worker inside it
    supplier_order = answered_and_packed(order, worker=worker)
    wait_until(lambda: StepRun.objects.filter(supplier_order=supplier_order, step="book_courier",
                                              status=StepStatus.RUNNING).exists(),
               worker=worker, what="the booking step running")
    for pid in worker.pool_pids():
        os.kill(pid, signal.SIGKILL)

    wait_until(lambda: SupplierOrder.objects.get(pk=supplier_order.pk).status == SupplierOrderStatus.CONFIRMED,
               timeout=90, worker=worker, what="booked after the kill")
    assert fake_courier.bookings(supplier_order.number) == 1
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (6, 0), "stock deducted once"
    assert_ledger_consistent(stock)
    runs = list(StepRun.objects.filter(supplier_order=supplier_order, step="book_courier")
                .values_list("status", flat=True))
    assert runs.count(StepStatus.SUCCEEDED) == 1
    assert StepStatus.RUNNING in runs, "the killed attempt stays on record"


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
