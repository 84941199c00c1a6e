"""Celery entry points for partners' webhooks: thin wrappers around partners.services.deliveries.
They run on the webhooks queue (okto88.celery.route_task), with a worker of their own."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from partners.services import deliveries

logger = logging.getLogger(__name__)


# The relay sends a batch once: a database that is briefly away must not lose its deliveries.
@shared_task(name="partners.webhooks_fanout", ignore_result=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=2, retry_jitter=True, max_retries=8)
def webhooks_fanout_task(event_ids: list[int] | None = None, **kwargs) -> int:
    """A batch of published outbox events (settings.OUTBOX_BATCH_CONSUMERS); repeating it creates nothing twice."""
    return deliveries.webhooks_fanout(event_ids=list(event_ids or []))


@shared_task(name="partners.webhook_deliver", ignore_result=True)
def webhook_deliver_task(delivery_id: int, attempt: int | None = None, **kwargs) -> str:
    # The service re-checks the delivery under its lock: a stale or repeated task does nothing.
    return deliveries.webhook_deliver(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="partners.webhook_deliver_batch", ignore_result=True)
def webhook_deliver_batch_task(endpoint_id: int, batch: list[list[int]] | None = None, **kwargs) -> dict:
    """[delivery id, attempts when sent] pairs of one endpoint; each is re-checked under its lock
    (a stale or repeated one is skipped)."""
    pairs = [(delivery_id, attempt) for delivery_id, attempt in batch or []]
    outcomes = deliveries.webhook_deliver_batch(endpoint_id=endpoint_id, deliveries=pairs)
    return {str(delivery_id): outcome for delivery_id, outcome in outcomes.items()}


# A drain clears its endpoint's queued flag first: one that fails on a database briefly away is
# retried rather than left to the sweep.
@shared_task(name="partners.webhook_endpoint_drain", ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=1, retry_jitter=True, max_retries=5)
def webhook_endpoint_drain_task(endpoint_id: int, **kwargs) -> int:
    return len(deliveries.webhook_endpoint_drain(endpoint_id=endpoint_id))


@shared_task(name="partners.deliveries_due", ignore_result=True)
def deliveries_due_task(**kwargs) -> int:
    return deliveries.deliveries_due()
