"""Errors of partners' webhook endpoints and the events feed. Codes are stable; see okto88.errors."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError


class WebhookUrlNotAllowed(ApplicationError):
    """An endpoint URL okto88 will not call: not https outside development, or a host that
    resolves to an address that is not public (loopback, private, link-local, metadata, …)."""

    code = "webhook_url_not_allowed"
    status = 400
    title = gettext_lazy("This webhook URL is not allowed.")


class EventTopicNotVisible(ApplicationError):
    """The events feed was asked for event types the caller's API client may not see: its live
    keys lack the topic's scope, or it is bound to no supplier or workshop of the topic's
    audience (okto88.events.Audience)."""

    code = "event_topic_not_visible"
    status = 403
    title = gettext_lazy("Your API client may not see these event types.")



class NoApiClient(ApplicationError):
    """What a partner sees or manages belongs to an API client (its keys' scopes, its supplier or
    workshop binding): a browser session, an operator's too, has none."""

    code = "no_api_client"
    status = 403
    title = gettext_lazy("This is done with an API client's key.")


# --- Endpoint management (partners.services.endpoints) -------------------------------------

class WebhookEndpointNotFound(ApplicationError):
    """No such endpoint, or another client's (the same answer, so ids reveal nothing)."""

    code = "webhook_endpoint_not_found"
    status = 404
    title = gettext_lazy("No such webhook endpoint.")


class WebhookDeliveryNotFound(ApplicationError):
    code = "webhook_delivery_not_found"
    status = 404
    title = gettext_lazy("No such webhook delivery.")


class WebhookEventTypesRequired(ApplicationError):
    code = "webhook_event_types_required"
    status = 400
    title = gettext_lazy("A webhook endpoint subscribes to at least one event type.")


class WebhookEventTypeUnknown(ApplicationError):
    """Event types that are not topics of the event contract (extra `topics` names them)."""

    code = "webhook_event_type_unknown"
    status = 400
    title = gettext_lazy("Unknown event type.")


class WebhookEventTypeNotVisible(ApplicationError):
    """Event types the API client may not see (its keys lack the topic's scope, or it acts for no
    supplier or workshop the topic is about); extra `topics` names them."""

    code = "webhook_event_type_not_visible"
    status = 400
    title = gettext_lazy("This API client may not receive this event type.")


class WebhookEndpointLimitReached(ApplicationError):
    code = "webhook_endpoint_limit_reached"
    status = 409
    title = gettext_lazy("This API client has as many webhook endpoints as it may have.")


class WebhookEndpointNotLive(ApplicationError):
    """A test message or a replay for an endpoint that is paused or disabled: it would only wait."""

    code = "webhook_endpoint_not_live"
    status = 409
    title = gettext_lazy("This webhook endpoint is paused or disabled.")


class WebhookDeliveryNotReplayable(ApplicationError):
    """A discarded delivery (its event is no longer for this client) is not sent again."""

    code = "webhook_delivery_not_replayable"
    status = 409
    title = gettext_lazy("This webhook delivery cannot be sent again.")
