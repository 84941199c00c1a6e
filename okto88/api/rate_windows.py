"""The fixed windows the API counts requests in (okto88.api.throttling), shared with
ApiKeyAuthentication, which moves an API client's counter on while it looks the key up.

Failed authentication (an unknown, wrong or revoked key; no credentials where the view needs
them) is counted per client address in a window of its own, AUTH_FAILURE_SCOPE's rate: past
it the address gets 429 instead of 401, and an unknown key is refused before the database
is asked about it. A genuine key seen before is never held up by that check.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework import exceptions
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from okto88.redis_connection import redis_client

logger = logging.getLogger(__name__)

SCOPE = "client"
AUTH_FAILURE_SCOPE = "auth_failure"
CACHE_FORMAT = "throttle:%(scope)s:%(ident)s"

# INCR and, for a window's first request, EXPIRE: one command (EVALSHA) instead of a
# MULTI/INCR/EXPIRE/EXEC pipeline, on the path of every API request.
_WINDOW_INCR_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_window_incr: list = []  # the registered Script (its SHA is computed once)


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


def window_count(*, key: str, ttl: int) -> int:
    """Count one request in a window's counter; its new value."""
    client = redis_client()
    if not _window_incr:
        _window_incr.append(client.register_script(_WINDOW_INCR_LUA))
    script = _window_incr[0]
    return int(script(keys=[key], args=[ttl], client=client))


def client_address(request) -> str:
    """REMOTE_ADDR, or the address a trusted proxy forwarded (REST_FRAMEWORK NUM_PROXIES)."""
    return BaseThrottle().get_ident(request)


def _auth_failure_window(*, request, now: float) -> RateWindow | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(AUTH_FAILURE_SCOPE)
    if not rate:
        return None
    num_requests, duration = SimpleRateThrottle.parse_rate(None, rate)
    return rate_window(ident=f"{AUTH_FAILURE_SCOPE}:ip:{client_address(request)}", num_requests=num_requests,
                       duration=duration, now=now)


def auth_failures_refuse(request) -> None:
    """Raise Throttled if the caller's address used up its failed authentications."""
    now = time.time()
    window = _auth_failure_window(request=request, now=now)
    if window is None:
        return
    try:
        count = int(redis_client().get(window.key) or 0)
    except Exception:  # Redis down must not take the API down with it
        logger.warning("authentication failure throttle unavailable; request allowed", exc_info=True)
        return
    if count >= window.num_requests:
        raise exceptions.Throttled(wait=max(1.0, window.ends_at - now))


def auth_failure_count(request) -> None:
    """Count a failed authentication from the caller's address; raise Throttled past its rate."""
    now = time.time()
    window = _auth_failure_window(request=request, now=now)
    if window is None:
        return
    try:
        count = window_count(key=window.key, ttl=window.ttl)
    except Exception:  # Redis down must not take the API down with it
        logger.warning("authentication failure throttle unavailable; request allowed", exc_info=True)
        return
    if count > window.num_requests:
        raise exceptions.Throttled(wait=max(1.0, window.ends_at - now))


def tightened_window_wait(*, ident: str, now: float) -> float | None:
    """Count a request of `ident`, whose throttle security monitoring tightened (okto88.client_guard),
    in a window of SECURITY_TIGHTENED_RATE; the seconds to wait when it is used up, else None."""
    num_requests, duration = SimpleRateThrottle.parse_rate(None, settings.SECURITY_TIGHTENED_RATE)
    window = rate_window(ident=f"tightened:{ident}", num_requests=num_requests, duration=duration, now=now)
    if window_count(key=window.key, ttl=window.ttl) <= window.num_requests:
        return None
    return max(1.0, window.ends_at - now)
