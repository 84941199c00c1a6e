"""Per-client throttling in the Redis cache: an API client, a user, or else an IP address."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from okto88.api.authentication import ApiClientPrincipal


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.user, ApiClientPrincipal):
            ident = f"client:{request.user.api_client.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        # A partner may have its own contract rate (e.g. "1200/min") set by an operator.
        if isinstance(request.user, ApiClientPrincipal) and request.user.api_client.rate_limit:
            self.rate = request.user.api_client.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)
