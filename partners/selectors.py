"""What a partner may see of the event stream: one rule for webhooks and the events feed.

A partner is an API client. It sees a topic when one of its live keys holds the topic's
audience scope (okto88.events.Audience) and, for a supplier's or a workshop's topic, when it is
bound to that supplier or workshop; then it sees the events whose payload names its supplier or
workshop. Operators' clients (bound to neither) see only the topics meant for everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from okto88.events import EventTopic, event_topics
from okto88.models import ApiClient, ApiKey
from okto88.selectors import OutboxPage, outbox_events_page
from partners.errors import EventTopicNotVisible, WebhookDeliveryNotFound, WebhookEndpointNotFound
from partners.models import WebhookDelivery, WebhookEndpoint, WebhookSecret
from suppliers.models import SupplierApiClient
from workshops.models import WorkshopApiClient


@dataclass(frozen=True)
class PartnerView:
    """What one API client may see: its live keys' scopes and what it is bound to."""

    client_id: int
    scopes: frozenset[str]
    supplier_id: int | None = None
    workshop_id: int | None = None


def partner_view(*, api_client: ApiClient) -> PartnerView:
    now = timezone.now()
    live = (ApiKey.objects.filter(client=api_client, revoked_at__isnull=True)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)))
    scopes = frozenset(scope for key_scopes in live.values_list("scopes", flat=True) for scope in key_scopes)
    if not api_client.is_active:
        scopes = frozenset()
    supplier_id = (SupplierApiClient.objects.filter(api_client=api_client)
                   .values_list("supplier_id", flat=True).first())
    workshop_id = (WorkshopApiClient.objects.filter(api_client=api_client)
                   .values_list("workshop_id", flat=True).first())
    return PartnerView(client_id=api_client.pk, scopes=scopes, supplier_id=supplier_id, workshop_id=workshop_id)


def topic_visible(*, view: PartnerView, topic: EventTopic) -> bool:
    """Whether `view` may see any event of `topic` (what it may subscribe to)."""
    audience = topic.audience
    if audience is None or audience.scope not in view.scopes:
        return False
    if audience.everyone:
        return True
    return bool((audience.supplier_field and view.supplier_id is not None)
                or (audience.workshop_field and view.workshop_id is not None))


def topics_visible(*, view: PartnerView) -> list[str]:
    """The names of every topic `view` may see, sorted."""
    return [name for name, topic in event_topics().items() if topic_visible(view=view, topic=topic)]


def topics_hidden(*, view: PartnerView, names: list[str]) -> list[str]:
    """Of `names` (registered topics), those `view` may not see, in the given order."""
    registry = event_topics()
    return [name for name in names if not topic_visible(view=view, topic=registry[name])]


def partner_events_page(*, view: PartnerView, topics: list[str] | None, after: int, limit: int) -> OutboxPage:
    """The events feed: the published events `view` may see (of `topics`, if given) after position
    `after`. Asking for a topic it may not see is an EventTopicNotVisible, not an empty page."""
    hidden = topics_hidden(view=view, names=topics) if topics is not None else []
    if hidden:
        registry = event_topics()
        scopes = sorted({registry[name].audience.scope for name in hidden if registry[name].audience})
        raise EventTopicNotVisible(
            f"This API client may not see {', '.join(hidden)}: its live keys need {', '.join(scopes)}, "
            "and a supplier's or a workshop's events need a client bound to one.",
            extra={"types": hidden})
    return outbox_events_page(condition=outbox_events_visible_q(view=view, topics=topics), after=after, limit=limit)


def event_visible(*, view: PartnerView, topic: EventTopic, payload: dict) -> bool:
    """Whether `view` may see this one event of `topic`."""
    if not topic_visible(view=view, topic=topic):
        return False
    audience = topic.audience
    if audience.everyone:
        return True
    if (audience.supplier_field and view.supplier_id is not None
            and payload.get(audience.supplier_field) == view.supplier_id):
        return True
    return bool(audience.workshop_field and view.workshop_id is not None
                and payload.get(audience.workshop_field) == view.workshop_id)


def outbox_events_visible_q(*, view: PartnerView, topics: list[str] | None = None) -> Q:
    """A filter on okto88.models.OutboxEvent for the events `view` may see (of `topics`, if
    given): the same rule as event_visible, in SQL. Matches nothing when it may see nothing."""
    wanted = set(topics) if topics is not None else None
    condition = Q(pk__in=[])
    for name, topic in event_topics().items():
        if (wanted is not None and name not in wanted) or not topic_visible(view=view, topic=topic):
            continue
        audience = topic.audience
        if audience.everyone:
            condition |= Q(topic=name)
            continue
        if audience.supplier_field and view.supplier_id is not None:
            condition |= Q(topic=name, **{f"payload__{audience.supplier_field}": view.supplier_id})
        if audience.workshop_field and view.workshop_id is not None:
            condition |= Q(topic=name, **{f"payload__{audience.workshop_field}": view.workshop_id})
    return condition


# --- Endpoints and the delivery log (the API and admin read them here) ----------------------

class EndpointState:
    ACTIVE = "active"
    PAUSED = "paused"  # by its owner (is_active false)
    DISABLED = "disabled"  # by the platform: 410, days of failure, or an operator


def webhook_endpoint_state(*, endpoint: WebhookEndpoint) -> str:
    if endpoint.disabled_at is not None:
        return EndpointState.DISABLED
    return EndpointState.ACTIVE if endpoint.is_active else EndpointState.PAUSED


def webhook_endpoint_list(*, api_client: ApiClient):
    """The client's endpoints, newest first."""
    return WebhookEndpoint.objects.filter(api_client=api_client).order_by("-pk")


def webhook_endpoint_get(*, api_client: ApiClient, endpoint_id: int) -> WebhookEndpoint:
    """One of the client's endpoints; another client's answers exactly like a missing one."""
    endpoint = WebhookEndpoint.objects.filter(api_client=api_client, pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookEndpointNotFound(extra={"endpoint": endpoint_id})
    return endpoint


def webhook_secrets_live(*, endpoint: WebhookEndpoint, now: datetime | None = None):
    """The endpoint's secrets that still sign, newest first: one, or two during a rotation's overlap."""
    now = now or timezone.now()
    return (WebhookSecret.objects.filter(endpoint=endpoint)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now)).order_by("-created_at", "-id"))


def webhook_delivery_list(*, endpoint: WebhookEndpoint, status: str | None = None):
    """The endpoint's delivery log, newest first, optionally of one status."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-pk")


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id: int) -> WebhookDelivery:
    """One delivery of the endpoint with every attempt, in order."""
    delivery = (WebhookDelivery.objects.filter(endpoint=endpoint, pk=delivery_id)
                .prefetch_related("attempt_log").first())
    if delivery is None:
        raise WebhookDeliveryNotFound(extra={"delivery": delivery_id})
    return delivery
