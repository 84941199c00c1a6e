"""Webhook endpoints of partners' API clients: create, change, pause, delete, rotate the secret,
send a test message, replay deliveries.

An endpoint subscribes to event types its client may see (partners.selectors, the one
visibility rule), at a URL the SSRF guard admits (partners.adapters.public_address). Its
signing secret is `whsec_` + base64 of random bytes (the Standard Webhooks format) and is
returned once, by endpoint_create and endpoint_secret_rotate; nothing reads it back to a partner.

Deliveries are made, sent and replayed by the delivery engine (partners.services.deliveries);
a test message and the replays here add the rules a partner's or an operator's request must
keep: the endpoint is live, a discarded delivery stays discarded. A replay keeps the
delivery's `webhook-id` (message_id), as Standard Webhooks asks, so a receiver that saw it
once can tell. An operator's disable is the engine's endpoint_disable (its pending deliveries
fail); the enable is here.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okto88.audit import AuditAction, api_client_organisation, audit_record
from okto88.events import event_topics
from okto88.lock_objects import api_client_lock
from okto88.models import ApiClient
from partners.adapters.public_address import url_resolve
from partners.errors import (
    WebhookDeliveryNotReplayable,
    WebhookEndpointLimitReached,
    WebhookEndpointNotLive,
    WebhookEventTypeNotVisible,
    WebhookEventTypesRequired,
    WebhookEventTypeUnknown,
    WebhookUrlNotAllowed,
)
from partners.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSecret,
)
from partners.selectors import partner_view, topics_hidden, webhook_secrets_live
from partners.services.deliveries import deliveries_replay_failed, delivery_replay, delivery_test_create

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 24  # as Svix issues them; Standard Webhooks asks for 24 to 64
URL_MAX_LENGTH = WebhookEndpoint._meta.get_field("url").max_length
DESCRIPTION_MAX_LENGTH = WebhookEndpoint._meta.get_field("description").max_length


@dataclass(frozen=True)
class EndpointWithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once
    previous_secret_expires_at: datetime | None = None  # after a rotation: when the old one stops signing


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _url_clean(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise WebhookUrlNotAllowed("The URL is empty.", extra={"url": url})
    if len(url) > URL_MAX_LENGTH:
        raise WebhookUrlNotAllowed(f"The URL is longer than {URL_MAX_LENGTH} characters.",
                                   extra={"max_length": URL_MAX_LENGTH})
    url_resolve(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_URLS,
                require_https=settings.WEBHOOK_REQUIRE_HTTPS)
    return url


def _event_types_clean(*, api_client: ApiClient, event_types: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(event_types or []))
    if not wanted:
        raise WebhookEventTypesRequired("Name at least one event type.")
    topics = event_topics()
    unknown = [name for name in wanted if name not in topics]
    if unknown:
        raise WebhookEventTypeUnknown(f"Unknown event types: {', '.join(unknown)}.", extra={"topics": unknown})
    refused = topics_hidden(view=partner_view(api_client=api_client), names=wanted)
    if refused:
        raise WebhookEventTypeNotVisible(
            f"This API client may not receive: {', '.join(refused)} (its keys lack the topic's scope, or it does "
            f"not act for the supplier or workshop these events are about).", extra={"topics": refused})
    return sorted(wanted)


def _endpoint_lock(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    return WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)


def _url_for_audit(url: str) -> str:
    """The URL without its query and fragment, which may carry a receiver's token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _endpoint_fields(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"url": _url_for_audit(endpoint.url), "event_types": list(endpoint.event_types),
            "description": endpoint.description, "is_active": endpoint.is_active}


def _endpoint_audit(*, action: str, endpoint: WebhookEndpoint, actor: Any, changes: dict) -> None:
    supplier_id, workshop_id = api_client_organisation(api_client=endpoint.api_client)
    audit_record(action=action, actor=actor, target=("partners.webhookendpoint", endpoint.pk, str(endpoint)),
                 supplier_id=supplier_id, workshop_id=workshop_id,
                 changes={"client": endpoint.api_client.name, **changes})


@transaction.atomic
def endpoint_create(*, api_client: ApiClient, url: str, event_types: Iterable[str],
                    description: str = "", actor: Any = None) -> EndpointWithSecret:
    """A new endpoint with its first secret (returned once)."""
    url = _url_clean(url)
    event_types = _event_types_clean(api_client=api_client, event_types=event_types)
    # The client row is locked so that two creations at once cannot both pass the cap.
    client = api_client_lock(api_client_id=api_client.pk)
    limit = settings.WEBHOOK_ENDPOINTS_PER_CLIENT
    if WebhookEndpoint.objects.filter(api_client=client).count() >= limit:
        raise WebhookEndpointLimitReached(f"An API client may have at most {limit} webhook endpoints.",
                                          extra={"limit": limit})
    endpoint = WebhookEndpoint.objects.create(api_client=client, url=url, event_types=event_types,
                                              description=(description or "").strip()[:DESCRIPTION_MAX_LENGTH])
    secret = WebhookSecret.objects.create(endpoint=endpoint, secret=webhook_secret_generate())
    _endpoint_audit(action=AuditAction.WEBHOOK_ENDPOINT_CREATED, endpoint=endpoint, actor=actor,
                    changes={"after": _endpoint_fields(endpoint)})
    return EndpointWithSecret(endpoint=endpoint, secret=secret.secret)


@transaction.atomic
def endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None, event_types: Iterable[str] | None = None,
                    description: str | None = None, is_active: bool | None = None,
                    actor: Any = None) -> WebhookEndpoint:
    """Change what is given (None: unchanged). `is_active` pauses or resumes (endpoint_pause)."""
    endpoint = _endpoint_lock(endpoint=endpoint)
    before = _endpoint_fields(endpoint)
    if url is not None:
        endpoint.url = _url_clean(url)
    if event_types is not None:
        endpoint.event_types = _event_types_clean(api_client=endpoint.api_client, event_types=event_types)
    if description is not None:
        endpoint.description = description.strip()[:DESCRIPTION_MAX_LENGTH]
    if is_active is not None:
        endpoint.is_active = is_active
    endpoint.save()
    after = _endpoint_fields(endpoint)
    changed = sorted(name for name in after if after[name] != before[name])
    if changed:
        _endpoint_audit(action=AuditAction.WEBHOOK_ENDPOINT_CHANGED, endpoint=endpoint, actor=actor,
                        changes={"before": {n: before[n] for n in changed}, "after": {n: after[n] for n in changed}})
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint, actor: Any = None) -> None:
    """Delete the endpoint with its secrets and its whole delivery log (cascade): pending
    deliveries are gone with it, and a task already queued for one finds no row and does nothing."""
    locked = _endpoint_lock(endpoint=endpoint)
    _endpoint_audit(action=AuditAction.WEBHOOK_ENDPOINT_DELETED, endpoint=locked, actor=actor,
                    changes={"before": _endpoint_fields(locked)})
    locked.delete()


@transaction.atomic
def endpoint_pause(*, endpoint: WebhookEndpoint, actor: Any = None) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, is_active=False, actor=actor)


@transaction.atomic
def endpoint_resume(*, endpoint: WebhookEndpoint, actor: Any = None) -> WebhookEndpoint:
    return endpoint_update(endpoint=endpoint, is_active=True, actor=actor)


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint, actor: Any = None) -> WebhookEndpoint:
    """An operator lets an endpoint the platform disabled receive again, with a clean failure record."""
    endpoint = _endpoint_lock(endpoint=endpoint)
    if endpoint.disabled_at is not None:
        _endpoint_audit(action=AuditAction.WEBHOOK_ENDPOINT_CHANGED, endpoint=endpoint, actor=actor,
                        changes={"before": {"disabled": True, "reason": endpoint.disabled_reason},
                                 "after": {"disabled": False}})
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.failing_since = None
    endpoint.save(update_fields=["disabled_at", "disabled_reason", "failing_since", "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, overlap: timedelta | None = None,
                           actor: Any = None) -> EndpointWithSecret:
    """A new secret (returned once). The newest old one keeps signing for `overlap`
    (WEBHOOK_SECRET_OVERLAP_HOURS by default); any older one stops now, so at most two are live
    and a second rotation inside an overlap ends the oldest. Expired secrets are deleted."""
    endpoint = _endpoint_lock(endpoint=endpoint)
    now = timezone.now()
    if overlap is None:
        overlap = timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    live = list(webhook_secrets_live(endpoint=endpoint, now=now))
    previous_expires_at = None
    if live:
        newest, *older = live
        previous_expires_at = now + overlap
        if newest.expires_at is None or newest.expires_at > previous_expires_at:
            newest.expires_at = previous_expires_at
        else:
            previous_expires_at = newest.expires_at
        newest.save(update_fields=["expires_at"])
        WebhookSecret.objects.filter(pk__in=[s.pk for s in older]).update(expires_at=now)
    WebhookSecret.objects.filter(endpoint=endpoint, expires_at__lte=now).exclude(
        pk__in=[s.pk for s in live]).delete()
    secret = WebhookSecret.objects.create(endpoint=endpoint, secret=webhook_secret_generate())
    _endpoint_audit(action=AuditAction.WEBHOOK_SECRET_ROTATED, endpoint=endpoint, actor=actor,
                    changes={"overlap_hours": round(overlap.total_seconds() / 3600, 2),
                             "previous_secret_expires_at": previous_expires_at})
    return EndpointWithSecret(endpoint=endpoint, secret=secret.secret, previous_secret_expires_at=previous_expires_at)


def _live_check(endpoint: WebhookEndpoint) -> None:
    if not endpoint.is_live:
        raise WebhookEndpointNotLive("Resume the endpoint (or ask an operator to enable it) first.",
                                     extra={"endpoint": endpoint.pk})


@transaction.atomic
def endpoint_test_send(*, endpoint: WebhookEndpoint, message: str = "") -> WebhookDelivery:
    """A `webhook.test` message to a live endpoint, delivered and logged like any event (the
    engine's delivery_test_create; `message` replaces its text before the row is committed)."""
    endpoint = _endpoint_lock(endpoint=endpoint)
    _live_check(endpoint)
    delivery = delivery_test_create(endpoint=endpoint)
    if message:
        delivery.test_payload = {**delivery.test_payload, "message": message}
        delivery.save(update_fields=["test_payload", "updated_at"])
    return delivery


@transaction.atomic
def endpoint_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A partner's or an operator's replay of one delivery (the engine's delivery_replay: the same
    webhook-id, the retry schedule from its start, the attempts so far kept in the log), refused
    for an endpoint that is not live and for a discarded delivery."""
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    _live_check(delivery.endpoint)
    if delivery.status == DeliveryStatus.DISCARDED:
        raise WebhookDeliveryNotReplayable("A discarded delivery is not for this endpoint any more.",
                                           extra={"delivery": delivery.pk})
    return delivery_replay(delivery=delivery)


@transaction.atomic
def endpoint_deliveries_replay_failed(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """Replay every failed delivery of a live endpoint created since `since` (the engine's
    deliveries_replay_failed: they become due now and its sweep sends them, a batch at a time);
    the number replayed."""
    _live_check(_endpoint_lock(endpoint=endpoint))
    return deliveries_replay_failed(endpoint=endpoint, since=since)
