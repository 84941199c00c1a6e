"""The order workflow meets an open circuit breaker: with a real Celery worker, real Redis and
PostgreSQL and the fake courier over real HTTP. The step that books the courier is refused
without a request, waits for the breaker's cool-down (it is not failed, the order is not
compensated) and completes once the courier answers again."""

from __future__ import annotations

import pytest

from logistics.adapters.courier import courier_client
from logistics.errors import CourierCircuitOpen, CourierUnavailable
from okto88.circuit_breaker import CLOSED, OPEN, breaker_states
from orders import services, workflow
from orders.models import OrderStatus, StepRun, StepStatus, SupplierOrder, SupplierOrderStatus
from tests.celery_worker import CeleryWorkerProcess, partner_worker_env
from tests.orders.factories import buyer_make, carriers_ensure, offer_in_stock, place
from tests.orders.test_workflow import order_status, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# The worker and this test process share the breaker (Redis) and these settings.
BREAKER_ENV = {
    "PARTNER_BREAKER_MIN_CALLS": "4",
    "PARTNER_BREAKER_FAILURE_PERCENT": "50",
    "PARTNER_BREAKER_COOL_DOWN_SECONDS": "3",
    "PARTNER_BREAKER_CLOSE_AFTER": "1",
}


@pytest.fixture(scope="module")
def breaker_worker_process(django_db_setup, live_server, fake_courier, fake_gateway, tmp_path_factory):
    worker = CeleryWorkerProcess(
        log_dir=tmp_path_factory.mktemp("breaker-worker"),
        extra_env={
            **partner_worker_env(live_server=live_server, fake_courier=fake_courier, fake_gateway=fake_gateway),
            "WORKFLOW_MAX_ATTEMPTS": "3",
            "WORKFLOW_BACKOFF_BASE_SECONDS": "0.2",
            "PARTNER_HTTP_TIMEOUT_SECONDS": "10",
            **BREAKER_ENV,
        },
    )
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(breaker_worker_process, live_server, settings):
    carriers_ensure()  # transactional tests flush the migration-seeded carriers
    settings.PAYMENT_NOTIFICATION_URL = f"{live_server.url}/api/v1/payments/notifications/"
    settings.COURIER_NOTIFICATION_URL = f"{live_server.url}/api/v1/logistics/notifications/"
    settings.PARTNER_BREAKER_MIN_CALLS = int(BREAKER_ENV["PARTNER_BREAKER_MIN_CALLS"])
    settings.PARTNER_BREAKER_FAILURE_PERCENT = int(BREAKER_ENV["PARTNER_BREAKER_FAILURE_PERCENT"])
    settings.PARTNER_BREAKER_COOL_DOWN_SECONDS = float(BREAKER_ENV["PARTNER_BREAKER_COOL_DOWN_SECONDS"])
    settings.PARTNER_BREAKER_CLOSE_AFTER = int(BREAKER_ENV["PARTNER_BREAKER_CLOSE_AFTER"])
    with breaker_worker_process.routed():
        yield breaker_worker_process


def courier_breaker() -> dict:
    return breaker_states(partners=("courier",))["courier"]


def courier_fails_until_its_breaker_opens() -> None:
    for _ in range(10):
        try:
            courier_client().rates_get(origin={"city": "a"}, destination={"city": "b"}, weight_g=1_000)
        except CourierCircuitOpen:
            return
        except CourierUnavailable:
            continue
    raise AssertionError("the courier's breaker did not open")


def test_a_step_refused_by_the_open_breaker_waits_for_it_and_completes(worker, fake_courier):
    buyer = buyer_make()
    offer, stock = offer_in_stock(on_hand=10)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    order = place(buyer=buyer, payment_method="terms")
    wait_until(lambda: order_status(order) == OrderStatus.IN_FULFILMENT, worker=worker, what="in fulfilment")
    supplier_order = order.supplier_orders.get()
    services.supplier_order_accept(supplier_order=supplier_order)
    wait_until(lambda: StepRun.objects.filter(supplier_order=supplier_order, step="commit_stock",
                                              status=StepStatus.SUCCEEDED).exists(), worker=worker,
               what="stock committed")
    # The courier fails call after call (here, asking for rates) until its breaker opens.
    fake_courier.set_faults(fail_next=100)
    courier_fails_until_its_breaker_opens()
    breaker = courier_breaker()
    assert breaker["state"] == OPEN
    failures_left = fake_courier.state()["faults"]["fail_next"]

    services.supplier_order_mark_ready(supplier_order=supplier_order)

    wait_until(lambda: StepRun.objects.filter(supplier_order=supplier_order, step="book_courier",
                                              status=StepStatus.RETRYING).exists(),
               worker=worker, what="the booking to be refused")
    refused = StepRun.objects.get(supplier_order=supplier_order, step="book_courier", status=StepStatus.RETRYING)
    assert fake_courier.state()["faults"]["fail_next"] == failures_left  # the refusal sent nothing
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrderStatus.READY_TO_SHIP  # waiting, not failed or compensated
    assert refused.finished_at < breaker["until"]

    fake_courier.set_faults()  # the courier recovers

    wait_until(lambda: SupplierOrder.objects.get(pk=supplier_order.pk).status == SupplierOrderStatus.CONFIRMED,
               worker=worker, what="booked")
    assert list(StepRun.objects.filter(supplier_order=supplier_order, step="book_courier").order_by("attempt")
                .values_list("status", flat=True)) == [StepStatus.RETRYING, StepStatus.SUCCEEDED]
    booked = StepRun.objects.get(supplier_order=supplier_order, step="book_courier", status=StepStatus.SUCCEEDED)
    assert booked.started_at >= breaker["until"]  # retried after the cool-down, not at once
    assert fake_courier.bookings(supplier_order.number) == 1
    assert courier_breaker()["state"] == CLOSED  # the booking was the probe that closed it
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (8, 0)


def test_the_retry_waits_at_least_the_remaining_cool_down(fake_courier, settings):
    settings.PARTNER_BREAKER_MIN_CALLS = 4
    settings.PARTNER_BREAKER_COOL_DOWN_SECONDS = 20
    fake_courier.set_faults(fail_next=4)
    for _ in range(4):
        with pytest.raises(CourierUnavailable):
            courier_client().rates_get(origin={"city": "a"}, destination={"city": "b"}, weight_g=1_000)
    with pytest.raises(CourierCircuitOpen) as refused:
        courier_client().rates_get(origin={"city": "a"}, destination={"city": "b"}, weight_g=1_000)

    transient = workflow.TransientStepError(str(refused.value))
    transient.__cause__ = refused.value
    countdowns = [workflow.retry_countdown(attempt=1, error=transient) for _ in range(20)]
    assert all(refused.value.retry_after_seconds <= c <= refused.value.retry_after_seconds * 1.5 for c in countdowns)
    assert all(workflow.retry_countdown(attempt=1, error=workflow.TransientStepError("5xx")) < 2.5
               for _ in range(20))
