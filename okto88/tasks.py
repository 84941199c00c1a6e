from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from okto88 import services

logger = logging.getLogger(__name__)


@shared_task(name="platform.outbox_relay", ignore_result=True)
def outbox_relay_task(**kwargs) -> int:
    published = services.outbox_relay()
    if published:
        logger.info("outbox events published", extra={"published": published})
    return published


@shared_task(name="platform.outbox_prune", ignore_result=True)
def outbox_prune_task(**kwargs) -> int:
    """Published events older than OUTBOX_RETENTION_DAYS go: the events feed keeps that long."""
    deleted = services.outbox_events_prune(
        published_before=timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS))
    if deleted:
        logger.info("old outbox events deleted", extra={"deleted": deleted})
    return deleted


@shared_task(
    name="platform.email_send",
    ignore_result=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=8,
)
def email_send_task(*, subject: str, body: str, from_email: str, to: list[str], cc=(), bcc=(),
                    reply_to=(), alternatives=(), headers=None, **kwargs) -> None:
    _email_send(connection=get_connection(settings.EMAIL_DELIVERY_BACKEND), subject=subject, body=body,
                from_email=from_email, to=to, cc=cc, bcc=bcc, reply_to=reply_to, alternatives=alternatives,
                headers=headers)


@shared_task(name="platform.email_send_batch", ignore_result=True)
def email_send_batch_task(*, messages: list[dict], **kwargs) -> None:
    """Several messages in one task. A message that fails, and those after it, go on as one
    email_send_task each, which retries with backoff: the ones already sent are not repeated."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
    for index, message in enumerate(messages):
        try:
            _email_send(connection=connection, **message)
        except OSError:
            logger.warning("email batch interrupted; the rest is sent one by one", exc_info=True)
            for rest in messages[index:]:
                email_send_task.delay(**rest)
            return


def _email_send(*, connection, subject: str, body: str, from_email: str, to: list[str], cc=(), bcc=(),
                reply_to=(), alternatives=(), headers=None, **kwargs) -> None:
    message = EmailMultiAlternatives(
        subject=subject, body=body, from_email=from_email, to=to, cc=list(cc), bcc=list(bcc),
        reply_to=list(reply_to), headers=headers or {}, connection=connection,
    )
    for content, mimetype in alternatives:
        message.attach_alternative(content, mimetype)
    message.send()
    logger.info("email sent", extra={"recipients": len(to) + len(cc) + len(bcc), "subject": subject})
