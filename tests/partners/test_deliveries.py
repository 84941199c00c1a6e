"""The delivery engine called directly (no worker), against the fake receiver over real HTTP:
fan-out and its visibility, signing and rotation, the outcomes of an attempt, the SSRF guard at
send, the capped excerpt, disabling, the sweep and the per-endpoint cap."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from okto88 import services as platform_services
from okto88.models import OutboxEvent
from orders.models import Notification
from orders.notifications import notification_text
from partners.models import (
    AttemptOutcome,
    DeliveryStatus,
    EndpointDisabledReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from partners.services import deliveries
from tests.partners.deliveries_support import webhook_settings_apply
from tests.partners.factories import supplier_endpoint, whsec_new
from tests.suppliers.factories import SupplierFactory, SupplierMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    webhook_settings_apply(settings)

PRICE = {"offer": 1, "part": 2, "sku": "S", "old_price": 10, "price": 12}


def price_event(supplier_id: int) -> OutboxEvent:
    return platform_services.outbox_event_write(topic="offer.price_changed", aggregate_type="offer",
                                                aggregate_id=1, payload={**PRICE, "supplier": supplier_id})


def receiver_name() -> str:
    return uuid.uuid4().hex[:10]


def delivery_for(endpoint: WebhookEndpoint) -> WebhookDelivery:
    event = price_event(endpoint.api_client.supplier_access.supplier_id)
    assert deliveries.webhooks_fanout(event_ids=[event.pk]) == 1
    return WebhookDelivery.objects.get(endpoint=endpoint, event=event)


# --- fan-out ----------------------------------------------------------------------------------

def test_fanout_writes_one_delivery_per_visible_subscribed_endpoint_and_repeating_it_writes_none(fake_receiver):
    mine, _ = supplier_endpoint(url=fake_receiver.endpoint_url("a"))
    other, _ = supplier_endpoint(url=fake_receiver.endpoint_url("b"))
    not_subscribed, _ = supplier_endpoint(url=fake_receiver.endpoint_url("c"), event_types=["stock.changed_batch"])
    paused, _ = supplier_endpoint(url=fake_receiver.endpoint_url("d"),
                                  supplier=mine.api_client.supplier_access.supplier)
    paused.is_active = False
    paused.save()
    supplier_id = mine.api_client.supplier_access.supplier_id
    events = [price_event(supplier_id), price_event(supplier_id)]
    not_subscribed_supplier = not_subscribed.api_client.supplier_access.supplier_id
    events.append(price_event(not_subscribed_supplier))

    created = deliveries.webhooks_fanout(event_ids=[e.pk for e in events])

    assert created == 2
    assert set(WebhookDelivery.objects.values_list("endpoint_id", "event_id")) == {
        (mine.pk, events[0].pk), (mine.pk, events[1].pk)}
    assert deliveries.webhooks_fanout(event_ids=[e.pk for e in events]) == 0
    assert WebhookDelivery.objects.count() == 2
    delivery = WebhookDelivery.objects.filter(endpoint=mine).first()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
    assert delivery.message_id.startswith("msg_") and delivery.topic == "offer.price_changed"
    assert other.deliveries.count() == 0


def test_fanout_of_a_feed_batch_reads_only_the_audience_fields(fake_receiver, django_assert_max_num_queries):
    endpoint, _ = supplier_endpoint(url=fake_receiver.endpoint_url("batch"),
                                    event_types=["offer.price_changed", "offer.price_changed_batch"])
    supplier_id = endpoint.api_client.supplier_access.supplier_id
    events = [price_event(supplier_id) for _ in range(50)]
    # endpoints (1) + the client's view (3) + events (1) + insert (1), whatever the batch's size
    with django_assert_max_num_queries(8):
        assert deliveries.webhooks_fanout(event_ids=[e.pk for e in events]) == 50


# --- one attempt ------------------------------------------------------------------------------

def test_an_attempt_sends_a_signed_standard_webhook_and_succeeds(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret])
    endpoint.failing_since = timezone.now() - timedelta(hours=1)
    endpoint.save()
    delivery = delivery_for(endpoint)

    assert deliveries.webhook_deliver(delivery_id=delivery.pk, attempt=0) == AttemptOutcome.OK

    [received] = fake_receiver.received(name)
    headers = {"webhook-id": received["webhook_id"], "webhook-timestamp": received["timestamp"],
               "webhook-signature": received["signature"]}
    body = Webhook(secret).verify(received["body"].encode(), headers)
    assert received["webhook_id"] == delivery.message_id and received["verified_by"] == [0]
    assert body["type"] == "offer.price_changed"
    assert body["data"]["supplier"] == endpoint.api_client.supplier_access.supplier_id
    assert body["event_id"] == delivery.event_id and body["schema_version"] == 1 and body["timestamp"].endswith("Z")
    with pytest.raises(WebhookVerificationError):
        Webhook(whsec_new()).verify(received["body"].encode(), headers)
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.succeeded_at and delivery.last_status_code == 204
    assert endpoint.failing_since is None
    [attempt] = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.number, attempt.outcome, attempt.status_code) == (1, AttemptOutcome.OK, 204)
    # A second run of the same task (at least once) sends nothing.
    assert deliveries.webhook_deliver(delivery_id=delivery.pk, attempt=0) == "stale"
    assert len(fake_receiver.received(name)) == 1


def test_a_rotated_secret_signs_twice_during_the_overlap_and_only_the_new_one_after(fake_receiver):
    name = receiver_name()
    endpoint, old = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    new = whsec_new()
    # The rotation (partners.services.endpoints) adds a new secret and gives the old an expiry.
    WebhookSecret.objects.create(endpoint=endpoint, secret=new)
    WebhookSecret.objects.filter(endpoint=endpoint, secret=old).update(expires_at=timezone.now() + timedelta(hours=1))
    fake_receiver.configure(name, secrets=[old, new])

    deliveries.webhook_deliver(delivery_id=delivery_for(endpoint).pk)
    WebhookSecret.objects.filter(endpoint=endpoint, secret=old).update(expires_at=timezone.now() - timedelta(seconds=1))
    deliveries.webhook_deliver(delivery_id=delivery_for(endpoint).pk)

    during, after = fake_receiver.received(name)
    assert len(during["signature"].split(" ")) == 2 and sorted(during["verified_by"]) == [0, 1]
    assert len(after["signature"].split(" ")) == 1 and after["verified_by"] == [1]
    headers = {"webhook-id": after["webhook_id"], "webhook-timestamp": after["timestamp"],
               "webhook-signature": after["signature"]}
    Webhook(new).verify(after["body"].encode(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after["body"].encode(), headers)


def test_a_5xx_is_retried_at_the_schedule_with_the_same_webhook_id_and_a_4xx_is_not(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], fail_next=1, fail_status=503)
    delivery = delivery_for(endpoint)

    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.ERROR
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 503 and delivery.next_attempt_at > timezone.now()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert deliveries.webhook_deliver(delivery_id=delivery.pk, attempt=0) == "stale"  # that attempt was made
    assert deliveries.webhook_deliver(delivery_id=delivery.pk, attempt=1) == AttemptOutcome.OK
    first, second = fake_receiver.received(name)
    assert first["webhook_id"] == second["webhook_id"] == delivery.message_id
    assert [first["status"], second["status"]] == [503, 204]

    fake_receiver.set_faults(name, status=422)
    rejected = delivery_for(endpoint)
    assert deliveries.webhook_deliver(delivery_id=rejected.pk) == AttemptOutcome.REJECTED
    rejected.refresh_from_db()
    assert rejected.status == DeliveryStatus.FAILED and rejected.next_attempt_at is None


def test_an_exhausted_schedule_fails_the_delivery(fake_receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 0]
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], status=500)
    delivery = delivery_for(endpoint)
    deliveries.webhook_deliver(delivery_id=delivery.pk)
    deliveries.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 500), (2, 500)]


def test_retry_after_sets_a_floor_under_the_next_attempt(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], fail_next=1, fail_status=429, retry_after="120")
    delivery = delivery_for(endpoint)
    before = timezone.now()
    deliveries.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= before + timedelta(seconds=120)
    assert delivery.next_attempt_at <= before + timedelta(seconds=125)  # not the schedule's 0.3 s either


def test_retry_after_reads_seconds_and_http_dates_and_is_capped(settings):
    now = timezone.now()
    assert deliveries.retry_after_seconds("7", now=now) == 7
    date = (now + timedelta(seconds=90)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 88 <= deliveries.retry_after_seconds(date, now=now) <= 90
    assert deliveries.retry_after_seconds("soon", now=now) is None
    settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS = 60
    assert deliveries.retry_delay(attempts=1, retry_after=86_400) == 60


def test_the_standard_schedule_with_jitter(settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    settings.WEBHOOK_RETRY_JITTER = 0.15
    for attempts, base in ((1, 5), (2, 300), (9, 86400)):
        delays = {deliveries.retry_delay(attempts=attempts) for _ in range(20)}
        assert all(base * 0.85 <= d <= base * 1.15 for d in delays) and len(delays) > 1
    assert deliveries.retry_delay(attempts=10) is None


def test_the_response_excerpt_is_capped(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], status=500, response_bytes=200_000)
    delivery = delivery_for(endpoint)
    deliveries.webhook_deliver(delivery_id=delivery.pk)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 500 and len(attempt.response_excerpt) == 2048
    assert set(attempt.response_excerpt) == {"x"}


def test_a_receiver_that_is_down_is_an_error_that_is_retried(fake_receiver):
    endpoint, _ = supplier_endpoint(url="http://127.0.0.1:9/hooks/nobody")  # discard port: refused
    delivery = delivery_for(endpoint)
    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.ERROR
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and "ConnectionError" in delivery.last_error


@pytest.mark.parametrize("url", ["https://127.0.0.1:{port}/hooks/ssrf", "https://169.254.169.254/latest/meta-data/",
                                 "https://localhost:{port}/hooks/ssrf", "http://example.com/hooks"])
def test_in_production_an_endpoint_at_a_private_address_is_refused_at_send(fake_receiver, settings, url):
    """The endpoint was saved when it resolved elsewhere (or written directly): it is checked again at each send."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    settings.WEBHOOK_REQUIRE_HTTPS = True
    endpoint, _ = supplier_endpoint(url=url.format(port=fake_receiver.port))
    delivery = delivery_for(endpoint)

    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.BLOCKED

    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.outcome == AttemptOutcome.BLOCKED and attempt.status_code is None
    assert "not public" in attempt.error or "https" in attempt.error
    assert fake_receiver.received("ssrf") == []
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # the schedule goes on; nothing was sent


# --- disabling --------------------------------------------------------------------------------

def test_410_disables_the_endpoint_fails_its_pending_deliveries_and_tells_the_owner(fake_receiver):
    name = receiver_name()
    supplier = SupplierFactory()
    member = SupplierMemberFactory(supplier=supplier)
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name), supplier=supplier,
                                         contact_email="it@erp.example")
    fake_receiver.configure(name, secrets=[secret], status=410)
    first, waiting = delivery_for(endpoint), delivery_for(endpoint)

    deliveries.webhook_deliver(delivery_id=first.pk)

    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None and endpoint.disabled_reason == EndpointDisabledReason.GONE
    first.refresh_from_db()
    waiting.refresh_from_db()
    assert first.status == waiting.status == DeliveryStatus.FAILED
    assert deliveries.webhook_deliver(delivery_id=waiting.pk) == "stale"
    assert len(fake_receiver.received(name)) == 1
    [notice] = Notification.objects.filter(recipient=member.user, kind="webhook_endpoint_disabled")
    assert notice.params["reason"] == "gone" and notice.params["url"] == endpoint.url
    assert {tuple(m.to) for m in mail.outbox} == {("it@erp.example",), (member.user.email,)}
    # No new deliveries for a disabled endpoint.
    assert deliveries.webhooks_fanout(event_ids=[price_event(supplier.pk).pk]) == 0


def test_an_endpoint_failing_for_five_days_is_disabled_and_its_owner_told(fake_receiver):
    name = receiver_name()
    supplier = SupplierFactory()
    member = SupplierMemberFactory(supplier=supplier)
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name), supplier=supplier)
    fake_receiver.configure(name, secrets=[secret], status=500)
    delivery = delivery_for(endpoint)
    deliveries.webhook_deliver(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.disabled_at is None  # failing, not for long

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=5, minutes=1))
    deliveries.webhook_deliver(delivery_id=delivery.pk)

    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == EndpointDisabledReason.FAILING
    notice = Notification.objects.get(recipient=member.user, kind="webhook_endpoint_disabled")
    assert notice.params["reason"] == "failing" and notice.params["days"] == 5
    assert notification_text(notice, language="id")[0] == "Endpoint webhook dinonaktifkan"
    assert any("erp@supplier.example" in m.to for m in mail.outbox)


def test_the_sweep_disables_a_failing_endpoint_that_has_nothing_left_to_send(fake_receiver):
    endpoint, _ = supplier_endpoint(url=fake_receiver.endpoint_url("quiet"))
    recent, _ = supplier_endpoint(url=fake_receiver.endpoint_url("quiet2"))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=6))
    WebhookEndpoint.objects.filter(pk=recent.pk).update(failing_since=timezone.now() - timedelta(days=4))
    deliveries.deliveries_due()
    endpoint.refresh_from_db()
    recent.refresh_from_db()
    assert endpoint.disabled_reason == EndpointDisabledReason.FAILING and recent.disabled_at is None


# --- the sweep, pauses, the cap ---------------------------------------------------------------

def test_the_sweep_enqueues_due_deliveries_of_live_endpoints_once(fake_receiver, django_capture_on_commit_callbacks):
    live, _ = supplier_endpoint(url=fake_receiver.endpoint_url("due"))
    paused, _ = supplier_endpoint(url=fake_receiver.endpoint_url("due-paused"))
    due, later = delivery_for(live), delivery_for(live)
    held = delivery_for(paused)
    WebhookEndpoint.objects.filter(pk=paused.pk).update(is_active=False)
    past = timezone.now() - timedelta(seconds=1)
    WebhookDelivery.objects.filter(pk__in=[due.pk, held.pk]).update(next_attempt_at=past)
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=2))

    with django_capture_on_commit_callbacks() as callbacks:
        assert deliveries.deliveries_due() == 1
    assert len(callbacks) == 1
    due.refresh_from_db()
    assert due.next_attempt_at > timezone.now()  # leased: the next sweep leaves it to its task
    assert deliveries.deliveries_due() == 0
    # A paused endpoint's delivery waits for it (the task, if one runs, leaves it pending).
    assert deliveries.webhook_deliver(delivery_id=held.pk) == "paused"
    held.refresh_from_db()
    assert held.status == DeliveryStatus.PENDING and held.attempts == 0


def test_a_replay_sends_a_failed_delivery_again_with_its_webhook_id(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], fail_next=1, fail_status=400)
    delivery = delivery_for(endpoint)
    deliveries.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED

    deliveries.delivery_replay(delivery=delivery)
    assert deliveries.webhook_deliver(delivery_id=delivery.pk, attempt=0) == AttemptOutcome.OK
    assert [r["webhook_id"] for r in fake_receiver.received(name)] == [delivery.message_id] * 2
    assert list(delivery.attempt_log.values_list("number", "status_code")) == [(1, 400), (2, 204)]

    another = delivery_for(endpoint)
    WebhookDelivery.objects.filter(pk=another.pk).update(status=DeliveryStatus.FAILED)
    assert deliveries.deliveries_replay_failed(endpoint=endpoint, since=timezone.now() - timedelta(hours=1)) == 1


def test_a_test_message_is_signed_and_says_what_it_is(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret])
    delivery = deliveries.delivery_test_create(endpoint=endpoint)
    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.OK
    [received] = fake_receiver.received(name)
    body = json.loads(received["body"])
    assert received["verified_by"] == [0] and body["type"] == "webhook.test" and body["event_id"] is None


def test_the_per_endpoint_cap_defers_without_counting_an_attempt(fake_receiver, settings):
    settings.WEBHOOK_ENDPOINT_CONCURRENCY = 2
    endpoint, _ = supplier_endpoint(url=fake_receiver.endpoint_url("cap"))
    tokens = [deliveries.endpoint_slot_acquire(endpoint_id=endpoint.pk) for _ in range(2)]
    assert all(tokens) and deliveries.endpoint_slot_acquire(endpoint_id=endpoint.pk) is None
    delivery = delivery_for(endpoint)

    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == "deferred"
    delivery.refresh_from_db()
    assert delivery.attempts == 0 and delivery.status == DeliveryStatus.PENDING
    assert fake_receiver.received("cap") == []

    deliveries.endpoint_slot_release(endpoint_id=endpoint.pk, token=tokens[0])
    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.OK
    # Its place was given back.
    assert deliveries.endpoint_slot_acquire(endpoint_id=endpoint.pk) is not None


def test_a_delivery_the_client_may_no_longer_see_is_discarded_unsent(fake_receiver):
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret])
    delivery = delivery_for(endpoint)
    for key in endpoint.api_client.keys.all():
        platform_services.api_key_revoke(api_key=key)

    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == "discarded"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DISCARDED and delivery.attempts == 0
    assert fake_receiver.received(name) == []


def test_nothing_goes_out_unsigned(fake_receiver):
    name = receiver_name()
    endpoint, _ = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    delivery = delivery_for(endpoint)
    WebhookSecret.objects.filter(endpoint=endpoint).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.ERROR
    assert WebhookAttempt.objects.get(delivery=delivery).error == "the endpoint has no live signing secret"
    assert fake_receiver.received(name) == []


def test_the_more_deliveries_wait_for_an_endpoint_the_longer_each_waits(settings):
    # The waiters are counted per window of WEBHOOK_CAP_DEFER_SECONDS: a long one, so the 201
    # calls fall in one window however slow the machine (with 2 s a busy CI run crossed into the
    # next window and the count restarted).
    settings.WEBHOOK_CAP_DEFER_SECONDS = 600
    settings.WEBHOOK_ENDPOINT_CONCURRENCY = 2
    endpoint_id = 10_000_000 + uuid.uuid4().int % 1_000_000  # no row needed: a Redis counter
    first = deliveries.endpoint_wait_seconds(endpoint_id=endpoint_id)
    for _ in range(200):
        last = deliveries.endpoint_wait_seconds(endpoint_id=endpoint_id)
    assert 600 <= first <= 900
    assert last >= 600 * 201 / 2


def test_a_slow_answer_times_out_within_the_total_timeout_and_is_retried(fake_receiver, settings):
    settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS = 1
    name = receiver_name()
    endpoint, secret = supplier_endpoint(url=fake_receiver.endpoint_url(name))
    fake_receiver.configure(name, secrets=[secret], latency_ms=2500)
    delivery = delivery_for(endpoint)

    assert deliveries.webhook_deliver(delivery_id=delivery.pk) == AttemptOutcome.TIMEOUT

    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and 900 <= attempt.duration_ms < 2000
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and "Timeout" in delivery.last_error
