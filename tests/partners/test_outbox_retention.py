"""Published outbox events are kept OUTBOX_RETENTION_DAYS (the events feed's window), then the
daily platform.outbox_prune deletes them in batches, with the webhook deliveries of them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from okto88 import services
from okto88.models import OutboxEvent
from okto88.redis_connection import redis_client
from okto88.tasks import outbox_prune_task
from partners.models import WebhookDelivery, WebhookEndpoint
from tests.platform.factories import ApiClientFactory
from tests.workshops.factories import WorkshopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_stream(settings):
    settings.OUTBOX_STREAM = f"test:prune:{uuid.uuid4().hex}"
    yield
    redis_client().delete(settings.OUTBOX_STREAM)


def written(count: int, workshop) -> list[int]:
    payload = {"order_id": 1, "number": "OK-1", "workshop": workshop.pk, "status": "pending_payment",
               "payment_method": "terms", "grand_total": 1000}
    with transaction.atomic():
        events = services.outbox_events_write(events=[
            services.NewOutboxEvent(topic="order.placed", aggregate_type="order", aggregate_id=n, payload=payload)
            for n in range(count)])
    return [e.pk for e in events]


def aged(ids: list[int], days: int) -> None:
    OutboxEvent.objects.filter(pk__in=ids).update(published_at=timezone.now() - timedelta(days=days))


def test_only_published_events_older_than_the_retention_go(settings):
    settings.OUTBOX_RETENTION_DAYS = 30
    workshop = WorkshopFactory()
    old = written(7, workshop)
    recent = written(3, workshop)
    services.outbox_relay()
    aged(old, 31)
    aged(recent, 29)
    unpublished = written(2, workshop)  # not relayed: kept however old
    OutboxEvent.objects.filter(pk__in=unpublished).update(created_at=timezone.now() - timedelta(days=90))

    assert outbox_prune_task() == 7

    assert sorted(OutboxEvent.objects.values_list("pk", flat=True)) == sorted(recent + unpublished)
    assert outbox_prune_task() == 0


def test_pruning_goes_in_batches_and_takes_the_deliveries_of_its_events():
    workshop = WorkshopFactory()
    old = written(12, workshop)
    keep = written(1, workshop)
    services.outbox_relay()
    aged(old, 40)
    endpoint = WebhookEndpoint.objects.create(api_client=ApiClientFactory(), url="https://partner.example/hook",
                                              event_types=["order.placed"])
    WebhookDelivery.objects.create(endpoint=endpoint, event_id=old[0], message_id="msg_old", topic="order.placed")
    WebhookDelivery.objects.create(endpoint=endpoint, event_id=keep[0], message_id="msg_keep", topic="order.placed")

    assert services.outbox_events_prune(published_before=timezone.now() - timedelta(days=30), batch_size=5) == 12

    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == keep
    assert list(WebhookDelivery.objects.values_list("message_id", flat=True)) == ["msg_keep"]


def test_the_prune_runs_daily(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["outbox-prune"]
    assert schedule["task"] == outbox_prune_task.name and schedule["schedule"] == 86_400
