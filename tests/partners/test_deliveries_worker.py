"""Webhook deliveries end to end: a supplier's price change goes from its service through the
outbox relay, the fan-out and the delivery tasks of a real Celery worker to the fake receiver
over real HTTP. The worker's retry schedule is shrunk to fractions of a second (conftest)."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from standardwebhooks.webhooks import Webhook

from partners.models import DeliveryStatus, EndpointDisabledReason, WebhookDelivery, WebhookEndpoint
from suppliers.services import offer_update, stock_adjust
from tests.celery_worker import CeleryWorkerProcess
from tests.partners.deliveries_support import WEBHOOK_WORKER_ENV, wait_until, webhook_settings_apply
from tests.partners.factories import supplier_endpoint
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def webhook_worker_process(django_db_setup, tmp_path_factory):
    # Four processes: a slow endpoint holds at most two (its cap), the others stay free.
    worker = CeleryWorkerProcess(log_dir=tmp_path_factory.mktemp("webhook-worker"), concurrency=4,
                                 extra_env=WEBHOOK_WORKER_ENV)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def webhook_worker(webhook_worker_process, fake_receiver, settings):
    webhook_settings_apply(settings)
    with webhook_worker_process.routed():
        yield webhook_worker_process


def name_new() -> str:
    return uuid.uuid4().hex[:10]


def reprice(offer, price: int) -> float:
    """Change the offer's price through its service; returns when it committed."""
    offer_update(offer=offer, data={"price": price})
    return time.time()


def succeeded(endpoint: WebhookEndpoint, count: int):
    return lambda: WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED).count() >= count


def test_a_price_change_reaches_its_suppliers_endpoint_signed_and_no_other_suppliers(webhook_worker, fake_receiver):
    mine, other = name_new(), name_new()
    supplier = SupplierFactory()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(mine), supplier=supplier)
    other_endpoint, other_secret = supplier_endpoint(url=fake_receiver.endpoint_url(other))
    fake_receiver.configure(mine, secrets=[secret])
    fake_receiver.configure(other, secrets=[other_secret])
    offer = OfferFactory(supplier=supplier, price=100_000)

    reprice(offer, 120_000)

    wait_until(succeeded(endpoint, 1), worker=webhook_worker, what="the delivery to the supplier's endpoint")
    [received] = fake_receiver.received(mine)
    body = Webhook(secret).verify(received["body"].encode(), {
        "webhook-id": received["webhook_id"], "webhook-timestamp": received["timestamp"],
        "webhook-signature": received["signature"]})
    assert body["type"] == "offer.price_changed"
    assert body["data"] == {"offer": offer.pk, "supplier": supplier.pk, "part": offer.part_id, "sku": offer.sku,
                            "old_price": 100_000, "price": 120_000}
    assert received["webhook_id"] == WebhookDelivery.objects.get(endpoint=endpoint).message_id
    # The fan-out wrote every delivery of the event in one transaction: none is for the other supplier.
    assert not WebhookDelivery.objects.filter(endpoint=other_endpoint).exists()
    assert fake_receiver.received(other) == []


def test_a_stock_change_reaches_its_suppliers_endpoint_signed_and_no_other_suppliers(webhook_worker, fake_receiver):
    mine, other = name_new(), name_new()
    supplier = SupplierFactory()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(mine), supplier=supplier,
                                         event_types=["stock.changed"])
    other_endpoint, _ = supplier_endpoint(url=fake_receiver.endpoint_url(other),
                                          event_types=["stock.changed"])
    fake_receiver.configure(mine, secrets=[secret])
    stock = StockFactory(offer=OfferFactory(supplier=supplier), on_hand=5)

    stock_adjust(stock=stock, delta=3)

    wait_until(succeeded(endpoint, 1), worker=webhook_worker, what="the stock change delivered")
    [received] = fake_receiver.received(mine)
    body = Webhook(secret).verify(received["body"].encode(), {
        "webhook-id": received["webhook_id"], "webhook-timestamp": received["timestamp"],
        "webhook-signature": received["signature"]})
    assert (body["type"], body["schema_version"]) == ("stock.changed", 2)
    assert body["data"]["supplier"] == supplier.pk and body["data"]["on_hand"] == 8
    assert not WebhookDelivery.objects.filter(endpoint=other_endpoint).exists()
    assert fake_receiver.received(other) == []


def test_a_receiver_down_for_a_while_gets_every_event_once_after_it_recovers(webhook_worker, fake_receiver):
    name = name_new()
    supplier = SupplierFactory()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name), supplier=supplier)
    # When it comes back it first answers 500 twice, then takes everything.
    fake_receiver.configure(name, secrets=[secret], fail_next=2, fail_status=500)
    offers = [OfferFactory(supplier=supplier, price=100_000) for _ in range(3)]
    fake_receiver.stop()  # connection refused
    try:
        for offer in offers:
            reprice(offer, 110_000)
        wait_until(lambda: WebhookDelivery.objects.filter(endpoint=endpoint, attempts__gte=1,
                                                          last_error__contains="ConnectionError").count() == 3,
                   worker=webhook_worker, what="three deliveries failing while the receiver is down")
        time.sleep(1)
    finally:
        fake_receiver.start()

    wait_until(succeeded(endpoint, 3), worker=webhook_worker, what="every delivery after recovery")
    received = fake_receiver.received(name)
    delivered = Counter(r["webhook_id"] for r in received if r["status"] == 204)
    assert set(delivered) == set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("message_id", flat=True))
    assert set(delivered.values()) == {1}, "each message delivered exactly once"
    assert all(r["verified_by"] == [0] for r in received)
    assert sorted(r["status"] for r in received).count(500) == 2


def test_retry_after_is_honoured(webhook_worker, fake_receiver):
    name = name_new()
    supplier = SupplierFactory()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name), supplier=supplier)
    fake_receiver.configure(name, secrets=[secret], fail_next=1, fail_status=429, retry_after="2")
    reprice(OfferFactory(supplier=supplier), 99_000)

    wait_until(succeeded(endpoint, 1), worker=webhook_worker, what="the delivery after its Retry-After")
    first, second = fake_receiver.received(name)
    assert (first["status"], second["status"]) == (429, 204)
    # The schedule alone would have tried again after 0.3 s.
    assert second["received_at"] - first["received_at"] >= 2.0


def test_410_disables_the_endpoint(webhook_worker, fake_receiver):
    name = name_new()
    supplier = SupplierFactory()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name), supplier=supplier)
    fake_receiver.configure(name, secrets=[secret], status=410)
    reprice(OfferFactory(supplier=supplier), 99_000)

    wait_until(lambda: WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=False).exists(),
               worker=webhook_worker, what="the endpoint disabled")
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == EndpointDisabledReason.GONE
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == DeliveryStatus.FAILED
    assert len(fake_receiver.received(name)) == 1


def test_a_slow_endpoint_holds_at_most_its_cap_and_does_not_delay_another_endpoint(webhook_worker, fake_receiver):
    slow, fast = name_new(), name_new()
    slow_supplier, fast_supplier = SupplierFactory(), SupplierFactory()
    slow_endpoint, slow_secret = supplier_endpoint(url=fake_receiver.endpoint_url(slow), supplier=slow_supplier)
    fast_endpoint, fast_secret = supplier_endpoint(url=fake_receiver.endpoint_url(fast), supplier=fast_supplier)
    fake_receiver.configure(slow, secrets=[slow_secret], latency_ms=2000)
    fake_receiver.configure(fast, secrets=[fast_secret])
    slow_offers = [OfferFactory(supplier=slow_supplier) for _ in range(8)]
    fast_offer = OfferFactory(supplier=fast_supplier)

    for offer in slow_offers:
        # Apart, so each goes out in a batch of its own (a batch's requests go one after another):
        # three batches in flight would be one over the cap.
        reprice(offer, 123_000)
        time.sleep(0.3)
    wait_until(lambda: WebhookDelivery.objects.filter(endpoint=slow_endpoint, attempts__gte=1).count() >= 2,
               worker=webhook_worker, what="the slow endpoint's first attempts")
    committed = reprice(fast_offer, 77_000)

    wait_until(succeeded(fast_endpoint, 1), worker=webhook_worker, what="the fast endpoint's delivery")
    [received] = fake_receiver.received(fast)
    # 8 × 2 s at two at a time is 8 s of the slow endpoint's work: the fast one does not wait for it.
    assert received["received_at"] - committed < 3
    assert WebhookDelivery.objects.filter(endpoint=slow_endpoint, status=DeliveryStatus.SUCCEEDED).count() < 8

    wait_until(succeeded(slow_endpoint, 8), timeout=60, worker=webhook_worker, what="the slow endpoint's deliveries")
    assert fake_receiver.max_in_flight(slow) == 2
    assert Counter(r["webhook_id"] for r in fake_receiver.received(slow)).most_common(1)[0][1] == 1
