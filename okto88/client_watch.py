"""Per-client traffic on the request path: counts every answered request for its caller
(okto88.client_traffic) and refuses, for a cool-off, a user or an address whose throttle
security monitoring tightened (okto88.client_guard). API keys are checked where the key is
known: ApiKeyAuthentication (a suspended key) and ClientRateThrottle (a tightened client).

Placed after AuthenticationMiddleware, so the session's user is known. Not counted: /metrics,
/healthz, /readyz and static files. Neither the count nor the check ever fails a request.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

from okto88 import client_guard
from okto88.api.problems import PROBLEM_CONTENT_TYPE, is_api_request, problem_body
from okto88.api.rate_windows import client_address, tightened_window_wait
from okto88.client_traffic import ident_clean, traffic_count
from okto88.errors import ClientThrottled

logger = logging.getLogger(__name__)

UNCOUNTED_PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
# Set on the request by ApiKeyAuthentication: (ApiClient pk, ApiKey pk) of a verified key.
API_KEY_ATTRIBUTE = "traffic_api_key"
# Set when a guard refused the request itself: its 403/429 is no probe of object ids.
REFUSED_ATTRIBUTE = "traffic_refused"


def _has_api_key(request) -> bool:
    return request.headers.get("Authorization", "").startswith("Api-Key ") or "X-API-Key" in request.headers


def _session_ident(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return ident_clean(f"ip:{client_address(request)}")


def throttled_response(request, *, wait: float):
    retry_after = max(1, math.ceil(wait))
    error = ClientThrottled()
    if is_api_request(request):
        body = problem_body(status_code=429, code=error.code, detail=str(error.title), title=str(error.title),
                            instance=request.get_full_path(), retry_after=retry_after)
        response = JsonResponse(body, status=429, content_type=PROBLEM_CONTENT_TYPE)
    else:
        response = render(request, "errors/429.html", {"retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


class ClientTrafficMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        path = request.path
        if path in UNCOUNTED_PATHS or path.startswith(self.static_prefix):
            return self.get_response(request)
        refused = self._refusal(request)
        response = refused or self.get_response(request)
        try:
            self._count(request, response, refused=refused is not None)
        except Exception:  # counting never fails a request
            logger.warning("request not counted", exc_info=True)
        return response

    def _refusal(self, request):
        """429 client_throttled for a user or address whose throttle is tightened and used up."""
        if not settings.SECURITY_TRAFFIC_ENABLED or not client_guard.guard_active() or _has_api_key(request):
            return None
        try:
            ident = _session_ident(request)
            if client_guard.ident_tightened_until(ident) is None:
                return None
            wait = tightened_window_wait(ident=ident, now=time.time())
        except Exception:  # Redis away: let it through
            logger.warning("client guard check failed; request allowed", exc_info=True)
            return None
        return throttled_response(request, wait=wait) if wait is not None else None

    def _count(self, request, response, *, refused: bool) -> None:
        api_key = getattr(request, API_KEY_ATTRIBUTE, None)
        if api_key is not None:
            ident, api_key_id = f"client:{api_key[0]}", api_key[1]
        else:
            ident, api_key_id = _session_ident(request), None
        match = getattr(request, "resolver_match", None)
        endpoint = object_id = None
        if match is not None and match.kwargs:
            endpoint = match.route or "unmatched"
            object_id = "/".join(str(value) for value in match.kwargs.values())
        refused = refused or getattr(request, REFUSED_ATTRIBUTE, False)
        traffic_count(ident=ident, status=response.status_code, endpoint=endpoint, object_id=object_id,
                      api_key_id=api_key_id, ids_counted=not refused, refused=refused)
