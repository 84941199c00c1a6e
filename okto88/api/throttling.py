"""Per-client throttling in Redis: an API client, a user, or else an IP address.

A fixed-window counter (one INCR per request) instead of DRF's default request-history list,
which costs O(requests in the window) per request and grows with every call of a busy partner.
"""

from __future__ import annotations

import logging
import math
import time

from rest_framework.throttling import SimpleRateThrottle

from okto88 import client_guard
from okto88.api.authentication import ApiClientPrincipal
from okto88.api.rate_windows import SCOPE, client_rate_window, rate_window, tightened_window_wait, window_count
from okto88.errors import ClientThrottled

logger = logging.getLogger(__name__)


class ClientRateThrottle(SimpleRateThrottle):
    """An API client's requests are counted per fixed window. ApiKeyAuthentication usually
    counted this request already, in the round trip that looked its key up (`request.rate_counted`);
    the throttle then only compares. Users and anonymous callers are counted here."""

    scope = SCOPE

    def allow_request(self, request, view) -> bool:
        now = time.time()
        if isinstance(request.user, ApiClientPrincipal):
            client = request.user.api_client
            self._tightened_check(request, ident=f"client:{client.pk}", now=now)
            window = client_rate_window(client_pk=client.pk, rate_limit=client.rate_limit, now=now)
            if window is None:
                return True
            counted = getattr(request, "rate_counted", None)
            count = counted[1] if counted is not None and counted[0] == window.key else None
        else:
            if self.num_requests is None:
                return True
            user = request.user
            ident = f"user:{user.pk}" if user and user.is_authenticated else f"ip:{self.get_ident(request)}"
            window = rate_window(ident=ident, num_requests=self.num_requests, duration=self.duration, now=now)
            count = None
        self.now, self.window_ends_at = now, window.ends_at
        if count is None:
            try:
                count = window_count(key=window.key, ttl=window.ttl)
            except Exception:  # Redis down must not take the API down with it
                logger.warning("throttle unavailable; request allowed", exc_info=True)
                return True
        return count <= window.num_requests

    @staticmethod
    def _tightened_check(request, *, ident: str, now: float) -> None:
        """Security monitoring tightened this client's throttle (okto88.client_guard): past
        SECURITY_TIGHTENED_RATE it gets 429 client_throttled until its window ends."""
        if not client_guard.guard_active() or client_guard.ident_tightened_until(ident, now=now) is None:
            return
        try:
            wait = tightened_window_wait(ident=ident, now=now)
        except Exception:  # Redis down must not take the API down with it
            logger.warning("tightened throttle unavailable; request allowed", exc_info=True)
            return
        if wait is not None:
            request._request.traffic_refused = True
            raise ClientThrottled(retry_after=math.ceil(wait))

    def wait(self) -> float:
        return max(1.0, self.window_ends_at - self.now)
