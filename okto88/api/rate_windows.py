"""The fixed windows the API counts requests in (okto88.api.throttling), shared with
ApiKeyAuthentication, which moves an API client's counter on while it looks the key up."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

SCOPE = "client"
CACHE_FORMAT = "throttle:%(scope)s:%(ident)s"


@dataclass(frozen=True)
class RateWindow:
    key: str  # the window's counter in Redis
    ttl: int
    num_requests: int
    ends_at: float


def rate_window(*, ident: str, num_requests: int, duration: int, now: float) -> RateWindow:
    """The fixed window `now` falls in for the caller `ident` ("client:5", "user:7", "ip:…")."""
    index = int(now // duration)
    key = CACHE_FORMAT % {"scope": SCOPE, "ident": ident}
    return RateWindow(key=f"{key}:{index}", ttl=duration + 1, num_requests=num_requests,
                      ends_at=(index + 1) * duration)


def client_rate_window(*, client_pk: int, rate_limit: str, now: float) -> RateWindow | None:
    """The window `now` falls in for an API client: its own contract rate (set by an operator)
    or the default one. None when there is no limit."""
    rate = rate_limit or api_settings.DEFAULT_THROTTLE_RATES.get(SCOPE)
    if not rate:
        return None
    num_requests, duration = SimpleRateThrottle.parse_rate(None, rate)
    return rate_window(ident=f"client:{client_pk}", num_requests=num_requests, duration=duration, now=now)
