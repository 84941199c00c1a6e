"""What the partners' notification endpoints (payment gateway, courier) share: a body bounded
at what a real notification needs, and a throttle per source address.

A notification is a few hundred bytes; NOTIFICATION_MAX_BODY_BYTES (64 KiB) leaves room and
refuses the rest with 413 before it is read (Content-Length) or as soon as reading passes it.
The throttle is generous (a partner sends everything from a few addresses, and a refused
notification is retried) and counts in a window of its own, apart from the API's clients.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from okto88.api.rate_windows import client_address, rate_window, window_count
from okto88.errors import NotificationTooLarge

logger = logging.getLogger(__name__)

NOTIFICATION_SCOPE = "notification"


def _too_large(limit: int) -> NotificationTooLarge:
    detail = _("A notification may be at most %(limit)s bytes.") % {"limit": number_format(limit, force_grouping=True)}
    return NotificationTooLarge(str(detail),
                                extra={"max_bytes": limit})


def notification_body_read(request) -> bytes:
    """The raw body, exactly as received, or NotificationTooLarge past the bound."""
    limit = settings.NOTIFICATION_MAX_BODY_BYTES
    http_request = getattr(request, "_request", request)
    try:
        declared = int(http_request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise _too_large(limit)
    body = http_request.read(limit + 1)
    if len(body) > limit:
        raise _too_large(limit)
    return body


class NotificationSourceThrottle(SimpleRateThrottle):
    """Per source address, in its own window (NOTIFICATION_THROTTLE_RATE)."""

    scope = NOTIFICATION_SCOPE

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # read now: tests change it

    def allow_request(self, request, view) -> bool:
        if self.num_requests is None:
            return True
        now = time.time()
        window = rate_window(ident=f"{NOTIFICATION_SCOPE}:ip:{client_address(request)}",
                             num_requests=self.num_requests, duration=self.duration, now=now)
        self.now, self.window_ends_at = now, window.ends_at
        try:
            count = window_count(key=window.key, ttl=window.ttl)
        except Exception:  # Redis down must not stop payments
            logger.warning("notification throttle unavailable; request allowed", exc_info=True)
            return True
        return count <= window.num_requests

    def wait(self) -> float:
        return max(1.0, self.window_ends_at - self.now)
