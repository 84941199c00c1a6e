"""One Redis client per process for the platform's own use (outbox stream, task metrics)."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def redis_client() -> redis.Redis:
    # REDIS_SSL_OPTIONS: a rediss:// URL's certificate checks (settings), empty otherwise.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2,
                                **settings.REDIS_SSL_OPTIONS)
