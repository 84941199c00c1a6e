"""Celery entry points for partners' webhooks: thin wrappers around partners.services.deliveries.
They run on the webhooks queue (okto88.celery.route_task), with a worker of their own."""

from __future__ import annotations

import logging

from celery import shared_task

from partners.services import deliveries

logger = logging.getLogger(__name__)


@shared_task(name="partners.webhooks_fanout", ignore_result=True)
def webhooks_fanout_task(event_ids: list[int] | None = None, **kwargs) -> int:
    """A batch of published outbox events (settings.OUTBOX_BATCH_CONSUMERS); repeating it creates nothing twice."""
    return deliveries.webhooks_fanout(event_ids=list(event_ids or []))


@shared_task(name="partners.webhook_deliver", ignore_result=True)
def webhook_deliver_task(delivery_id: int, attempt: int | None = None, **kwargs) -> str:
    # The service re-checks the delivery under its lock: a stale or repeated task does nothing.
    return deliveries.webhook_deliver(delivery_id=delivery_id, attempt=attempt)


@shared_task(name="partners.deliveries_due", ignore_result=True)
def deliveries_due_task(**kwargs) -> int:
    return deliveries.deliveries_due()
