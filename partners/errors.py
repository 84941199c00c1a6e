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
