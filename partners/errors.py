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
