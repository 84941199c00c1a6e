"""Queue wait recorded by a real worker, and the re-drive an operator (or the beat
reconciler) starts: a real Celery worker process, real Redis and PostgreSQL, the fake courier
and gateway over HTTP. Nothing of ours is monkeypatched."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services, workflow
from orders.errors import OrderNotRedrivable
from orders.models import Order, OrderStatus, StepRun, StepStatus, SupplierOrder, SupplierOrderStatus
from tests.celery_worker import CeleryWorkerProcess, partner_worker_env
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BACKOFF_BASE_SECONDS = 1.0  # a retry is due 0.5–1 s after its attempt failed (full jitter on the upper half)


@pytest.fixture(scope="session")
def redrive_worker_process(django_db_setup, live_server, fake_courier, fake_gateway, tmp_path_factory):
    worker = CeleryWorkerProcess(
        log_dir=tmp_path_factory.mktemp("redrive-worker"),
        extra_env={
            **partner_worker_env(live_server=live_server, fake_courier=fake_courier, fake_gateway=fake_gateway),
            "WORKFLOW_MAX_ATTEMPTS": "3",
            "WORKFLOW_BACKOFF_BASE_SECONDS": str(BACKOFF_BASE_SECONDS),
        },
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(redrive_worker_process, live_server, settings):
    carriers_ensure()
    settings.PAYMENT_NOTIFICATION_URL = f"{live_server.url}/api/v1/payments/notifications/"
    settings.COURIER_NOTIFICATION_URL = f"{live_server.url}/api/v1/logistics/notifications/"
    with redrive_worker_process.routed():
        yield redrive_worker_process


def wait_until(predicate, *, worker, what: str, timeout: float = 45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{worker.log_text()[-4000:]}")


def status_of(order: Order) -> str:
    order.refresh_from_db(fields=["status"])
    return order.status


def runs_of(order: Order, step: str) -> list[StepRun]:
    return list(StepRun.objects.filter(order=order, step=step).order_by("attempt"))


def placed_order(*, worker, pause: bool = False) -> Order:
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    if pause:  # the chain placement enqueues goes to a queue nobody reads: a lost message
        with worker.paused():
            return place(buyer=buyer, payment_method="terms")
    return place(buyer=buyer, payment_method="terms")


def accepted(order: Order, *, worker) -> SupplierOrder:
    wait_until(lambda: status_of(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    supplier_order = order.supplier_orders.get()
    services.supplier_order_accept(supplier_order=supplier_order)
    return supplier_order


def committed(supplier_order: SupplierOrder) -> bool:
    return StepRun.objects.filter(supplier_order=supplier_order, step="commit_stock",
                                  status=StepStatus.SUCCEEDED).exists()


def test_the_worker_records_when_each_step_was_due_and_a_retry_is_due_after_its_backoff(worker, fake_courier):
    order = placed_order(worker=worker, pause=True)  # placing asks the courier for rates: fault after it
    assert workflow.order_redrive(order=order, force=True) == "open_for_acceptance"
    supplier_order = accepted(order, worker=worker)
    wait_until(lambda: committed(supplier_order), worker=worker, what="stock committed")
    fake_courier.set_faults(fail_next=1)  # the first booking fails: book_courier is retried once
    services.supplier_order_mark_ready(supplier_order=supplier_order)

    wait_until(lambda: SupplierOrder.objects.get(pk=supplier_order.pk).status == SupplierOrderStatus.CONFIRMED,
               worker=worker, what="booked")

    runs = list(StepRun.objects.filter(order=order))
    assert {run.step for run in runs} == set(services.STEPS) | set(services.SUPPLIER_ORDER_STEPS)
    for run in runs:
        assert run.enqueued_at is not None, run
        assert timedelta(0) <= run.started_at - run.enqueued_at < timedelta(seconds=10), run
    first, retry = runs_of(order, "book_courier")
    assert (first.status, first.error_code, retry.status) == (StepStatus.RETRYING, "courier_unavailable",
                                                              StepStatus.SUCCEEDED)
    # The retry was due its countdown (0.5–1 s) after the failed attempt ended, not when it
    # was published: its queue wait leaves the backoff out.
    due_after_failure = (retry.enqueued_at - first.finished_at).total_seconds()
    assert BACKOFF_BASE_SECONDS / 2 - 0.01 <= due_after_failure <= BACKOFF_BASE_SECONDS + 0.5
    assert retry.started_at - retry.enqueued_at < retry.enqueued_at - first.finished_at
    commit, = runs_of(order, "commit_stock")
    assert commit.supplier_order_id == supplier_order.pk and commit.finished_at <= first.enqueued_at


def test_an_operator_redrives_a_supplier_order_whose_step_was_lost(worker):
    order = placed_order(worker=worker)
    wait_until(lambda: status_of(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    with worker.paused():  # the answer's stock commitment goes to a queue nobody reads
        supplier_order = accepted(order, worker=worker)
    assert workflow.orders_stalled(now=timezone.now()) == []  # not quiet for long yet
    later = timezone.now() + workflow.STALL_AFTER + timedelta(seconds=1)
    assert [(s.number, s.redrive) for s in workflow.orders_stalled(now=later)] == [(order.number, "commit_stock")]

    assert workflow.order_redrive(order=order, force=True) == "commit_stock"

    wait_until(lambda: committed(supplier_order), worker=worker, what="stock committed")
    assert [run.status for run in runs_of(order, "open_for_acceptance")] == [StepStatus.SUCCEEDED]  # not run again
    assert order.events.filter(kind="workflow_redriven", step="commit_stock").count() == 1
    assert workflow.orders_stalled(now=later + timedelta(minutes=10)) == []


def test_a_supplier_order_unanswered_past_its_deadline_is_stalled_and_the_redrive_rejects_it(worker):
    order = placed_order(worker=worker)
    wait_until(lambda: status_of(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    supplier_order = order.supplier_orders.get()
    later = supplier_order.accept_by + workflow.STALL_AFTER + timedelta(seconds=1)
    assert [(s.number, s.redrive) for s in workflow.orders_stalled(now=later)] == [
        (order.number, workflow.REDRIVE_ANSWER_DEADLINE)]

    assert workflow.order_redrive(order=order, now=later) == workflow.REDRIVE_ANSWER_DEADLINE

    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.rejection_reason) == (SupplierOrderStatus.REJECTED, "no_answer")
    assert status_of(order) == OrderStatus.CANCELLED


def test_redrive_refuses_a_finished_order_and_the_reconciler_waits_for_quiet(worker):
    order = placed_order(worker=worker)
    wait_until(lambda: status_of(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")

    with pytest.raises(OrderNotRedrivable):  # every step finished, its supplier order waits for its answer
        workflow.order_redrive(order=order, force=True)
    assert workflow.order_redrive(order=order, now=timezone.now() + timedelta(minutes=30)) is None
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETED)
    with pytest.raises(OrderNotRedrivable):
        workflow.order_redrive(order=order, force=True)
    assert not order.events.filter(kind="workflow_redriven").exists()

    quiet = placed_order(worker=worker, pause=True)
    assert workflow.order_redrive(order=quiet) is None  # paid a moment ago: its chain may be on its way
    assert workflow.workflow_reconcile(now=timezone.now() + workflow.STALL_AFTER + timedelta(seconds=1)) == [
        quiet.number]
    wait_until(lambda: status_of(quiet) == OrderStatus.IN_FULFILMENT, worker=worker, what="re-driven to the end")


def test_redriving_an_unpaid_order_past_its_window_expires_it(worker):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=buyer, payment_method="virtual_account")
    with pytest.raises(OrderNotRedrivable):  # still within its payment window
        workflow.order_redrive(order=order, force=True)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(minutes=1))  # time passes

    assert workflow.order_redrive(order=order, force=True) == "expire"

    assert status_of(order) == OrderStatus.EXPIRED
    stock.refresh_from_db()
    assert stock.reserved == 0
