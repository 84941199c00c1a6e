"""Deliveries in batches (partners.services.deliveries: webhook_endpoint_drain and
webhook_deliver_batch), called directly against the fake receiver over real HTTP: what a batch
sends and records, where it stops, the per-endpoint cap, and an endpoint deleted mid-flight."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from okto88.services import NewOutboxEvent, outbox_events_write
from partners.adapters import webhook_http
from partners.models import AttemptOutcome, DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from partners.services import deliveries
from tests.partners.deliveries_support import webhook_settings_apply
from tests.partners.factories import supplier_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    webhook_settings_apply(settings)


def endpoint_with_deliveries(fake_receiver, count: int, **faults):
    """An endpoint at a fresh receiving name with `count` fanned-out deliveries (oldest first)."""
    name = uuid.uuid4().hex[:10]
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], **faults)
    supplier_id = endpoint.api_client.supplier_access.supplier_id
    events = outbox_events_write(events=[
        NewOutboxEvent(topic="offer.price_changed", aggregate_type="offer", aggregate_id=i,
                       payload={"offer": i, "supplier": supplier_id, "part": 2, "sku": f"S{i}", "old_price": 10,
                                "price": 12 + i}) for i in range(count)])
    assert deliveries.webhooks_fanout(event_ids=[e.pk for e in events]) == count
    return endpoint, name, list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("next_attempt_at", "pk"))


def test_a_drain_sends_the_waiting_deliveries_over_one_connection_and_records_each(fake_receiver, monkeypatch):
    endpoint, name, batch = endpoint_with_deliveries(fake_receiver, 20)
    connects = []
    original = webhook_http._pool

    def counting_pool(resolved):
        pool = original(resolved)
        connects.append(pool.num_connections)
        return pool

    monkeypatch.setattr(webhook_http, "_pool", counting_pool)
    webhook_http.pools_close()

    with CaptureQueriesContext(connection) as queries:
        outcomes = deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk)

    assert outcomes == {d.pk: AttemptOutcome.OK for d in batch}
    received = fake_receiver.received(name)
    assert [r["webhook_id"] for r in received] == [d.message_id for d in batch]  # oldest first
    assert all(r["verified_by"] == [0] for r in received)
    assert connects[-1] == 1  # one TCP connection for the twenty requests
    # One claim, one read of the secrets, one bulk record (and the client's view: not kept in
    # tests): a fixed number of queries, not a dozen per delivery.
    assert len(queries.captured_queries) <= 16
    for delivery in WebhookDelivery.objects.filter(endpoint=endpoint):
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
        assert delivery.last_status_code == 204 and delivery.succeeded_at is not None
    attempts = WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
    assert attempts.count() == 20 and {(a.number, a.outcome, a.status_code) for a in attempts} == {(1, "ok", 204)}
    # Nothing left: a second drain finds nothing to send.
    assert deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk) == {}


def test_a_batch_stops_at_the_first_failure_and_the_rest_wait_unsent_without_an_attempt(fake_receiver):
    endpoint, name, batch = endpoint_with_deliveries(fake_receiver, 5, fail_next=1, fail_status=503)
    before = timezone.now()

    outcomes = deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk)

    first, rest = batch[0], batch[1:]
    assert outcomes[first.pk] == AttemptOutcome.ERROR
    assert all(outcomes[d.pk] == "deferred" for d in rest)
    assert len(fake_receiver.received(name)) == 1  # a receiver that is down costs one request, not five
    first.refresh_from_db()
    assert first.attempts == 1 and first.last_status_code == 503 and first.status == DeliveryStatus.PENDING
    for delivery in rest:
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
        # They wait as long as the failed one's retry (the test schedule: 0.3 s, ±10 %), plus the lease.
        assert delivery.next_attempt_at >= before + deliveries._lease()
    assert WebhookAttempt.objects.filter(delivery__endpoint=endpoint).count() == 1
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    # The same deliveries, each with the count it has now: all go, the failed one's second attempt too.
    outcomes = deliveries.webhook_deliver_batch(endpoint_id=endpoint.pk,
                                                deliveries=[(d.pk, 1 if d == first else 0) for d in batch])
    assert set(outcomes.values()) == {AttemptOutcome.OK}
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED).count() == 5
    assert sorted(WebhookAttempt.objects.filter(delivery=first).values_list("number", flat=True)) == [1, 2]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_4xx_fails_that_delivery_only_and_the_batch_goes_on(fake_receiver):
    endpoint, name, batch = endpoint_with_deliveries(fake_receiver, 3, fail_next=1, fail_status=422)

    outcomes = deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk)

    assert [outcomes[d.pk] for d in batch] == [AttemptOutcome.REJECTED, AttemptOutcome.OK, AttemptOutcome.OK]
    assert len(fake_receiver.received(name)) == 3
    assert WebhookDelivery.objects.get(pk=batch[0].pk).status == DeliveryStatus.FAILED
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.SUCCEEDED).count() == 2


def test_410_in_a_batch_disables_the_endpoint_and_sends_nothing_more(fake_receiver):
    endpoint, name, _ = endpoint_with_deliveries(fake_receiver, 4, status=410)

    deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk)

    assert len(fake_receiver.received(name)) == 1
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True)) == {
        DeliveryStatus.FAILED}


def test_a_batch_at_the_endpoints_cap_waits_unsent(fake_receiver, settings):
    settings.WEBHOOK_ENDPOINT_CONCURRENCY = 2
    endpoint, name, batch = endpoint_with_deliveries(fake_receiver, 3)
    tokens = [deliveries.endpoint_slot_acquire(endpoint_id=endpoint.pk) for _ in range(2)]
    assert all(tokens)

    assert deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk) == {}
    outcomes = deliveries.webhook_deliver_batch(endpoint_id=endpoint.pk, deliveries=[(d.pk, 0) for d in batch])

    assert set(outcomes.values()) == {"deferred"}
    assert fake_receiver.received(name) == []
    assert set(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("attempts", flat=True)) == {0}
    for token in tokens:
        deliveries.endpoint_slot_release(endpoint_id=endpoint.pk, token=token)
    # Deferred: they wait for their task (or the sweep), not for the next drain.
    assert deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk) == {}
    assert deliveries.webhook_deliver_batch(endpoint_id=endpoint.pk, deliveries=[(d.pk, 0) for d in batch]) == (
        dict.fromkeys((d.pk for d in batch), AttemptOutcome.OK))


def test_a_slow_receiver_gives_its_place_up_after_the_batchs_time(fake_receiver, settings):
    settings.WEBHOOK_BATCH_SECONDS = 0.2
    endpoint, name, batch = endpoint_with_deliveries(fake_receiver, 4, latency_ms=300)

    outcomes = deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk)

    assert outcomes[batch[0].pk] == AttemptOutcome.OK
    assert [outcomes[d.pk] for d in batch[1:]] == ["deferred"] * 3
    assert len(fake_receiver.received(name)) == 1
    assert set(WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch[1:]])
               .values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 0)}


@pytest.mark.parametrize("receiver_status", [204, 500])
def test_an_endpoint_deleted_while_its_batch_is_in_flight_is_skipped_quietly(fake_receiver, monkeypatch,
                                                                              receiver_status):
    endpoint, name, batch = endpoint_with_deliveries(fake_receiver, 2, status=receiver_status)
    original = deliveries.webhook_post

    def post_then_delete(**kwargs):
        response = original(**kwargs)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()  # its owner deletes it meanwhile
        return response

    monkeypatch.setattr(deliveries, "webhook_post", post_then_delete)

    deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk)  # no error

    assert len(fake_receiver.received(name)) >= 1
    assert not WebhookDelivery.objects.filter(pk__in=[d.pk for d in batch]).exists()
    assert not WebhookAttempt.objects.filter(delivery_id__in=[d.pk for d in batch]).exists()
    # And a task for it that arrives later finds nothing to do.
    assert deliveries.webhook_endpoint_drain(endpoint_id=endpoint.pk) == {}
    assert deliveries.webhook_deliver_batch(endpoint_id=endpoint.pk, deliveries=[(batch[0].pk, 0)]) == {
        batch[0].pk: "stale"}
