"""Partners authenticate with `Authorization: Api-Key <key>`; the browser with its session."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from okto88 import client_guard, services
from okto88.api.rate_windows import auth_failure_count, auth_failures_refuse, client_rate_window
from okto88.errors import ApiKeySuspended, InvalidApiKey
from okto88.models import ApiClient, ApiKey

API_KEY_KEYWORD = "Api-Key"

# Digest of a raw key → (client pk, rate limit), for keys that verified in this process and
# were not refused since: as many entries as live keys. Keyed by the whole key's digest, not
# its public prefix, so that nobody can spend a partner's quota with a made-up key.
_client_of_key: dict[str, tuple[int, str]] = {}


@dataclass(frozen=True)
class ApiClientPrincipal:
    """Stands in for `request.user` when a partner system calls with an API key."""

    api_client: ApiClient
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    is_staff: bool = False
    is_superuser: bool = False

    @property
    def pk(self) -> str:
        return f"client:{self.api_client.pk}"

    def __str__(self) -> str:
        return f"API client {self.api_client.name}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        keyword, _, raw_key = header.partition(" ")
        if keyword != API_KEY_KEYWORD:
            raw_key = request.headers.get("X-API-Key", "")
        raw_key = raw_key.strip()
        if not raw_key:
            return None
        # The key's client (fixed for its life) and rate as last seen: the client's rate counter
        # is moved on in the same Redis round trip as the key's lookup (the throttle compares).
        digest = services.api_key_digest(raw_key)
        seen = _client_of_key.get(digest)
        if seen is None:
            auth_failures_refuse(request)  # before the database is asked about a key never seen
        window = client_rate_window(client_pk=seen[0], rate_limit=seen[1], now=time.time()) if seen else None
        counter = services.RateCounter(key=window.key, ttl=window.ttl) if window else None
        try:
            authenticated = services.api_key_authenticate(raw_key=raw_key, counter=counter)
        except InvalidApiKey as exc:
            _client_of_key.pop(digest, None)  # a revoked key stops counting against its client
            auth_failure_count(request)
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        api_key: ApiKey = authenticated.api_key
        _client_of_key[digest] = (api_key.client_id, api_key.client.rate_limit)
        # Per-client traffic counts this request for the key's client (okto88.client_watch).
        request._request.traffic_api_key = (api_key.client_id, api_key.pk)
        if client_guard.guard_active() and client_guard.api_key_suspended_until(api_key.pk) is not None:
            request._request.traffic_refused = True
            raise ApiKeySuspended()
        if window is not None and authenticated.counted is not None:
            request.rate_counted = (window.key, authenticated.counted)
        return ApiClientPrincipal(api_client=api_key.client, scopes=frozenset(api_key.scopes)), api_key

    def authenticate_header(self, request) -> str:
        return f'{API_KEY_KEYWORD} realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, issued by an operator in admin",
        }
