"""The cache backend (okto88.redis_cache): one Redis client per connection pool, the same answers
as Django's backend, which built a new client on every call."""

from __future__ import annotations

import redis
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCacheClient

from okto88.redis_cache import RedisCache


def test_the_cache_reuses_one_client_for_every_call():
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    first, second = backend._cache.get_client("a"), backend._cache.get_client("b", write=True)
    assert isinstance(first, redis.Redis)
    assert first is second  # one server: one pool, one client
    assert first.connection_pool is backend._cache._get_connection_pool(write=True)
    # Django's own get_client, for contrast: a new client on every call.
    assert RedisCacheClient.get_client(backend._cache, "a") is not RedisCacheClient.get_client(backend._cache, "a")


def test_the_cache_answers_as_before():
    cache.set("redis-cache-probe", {"rates": [1, 2]}, 30)
    cache.set_many({"redis-cache-a": 1, "redis-cache-b": "two"}, 30)
    try:
        assert cache.get("redis-cache-probe") == {"rates": [1, 2]}
        assert cache.get_many(["redis-cache-a", "redis-cache-b", "redis-cache-none"]) == {
            "redis-cache-a": 1, "redis-cache-b": "two"}
        assert cache.incr("redis-cache-a") == 2
        assert cache.add("redis-cache-a", 5, 30) is False
    finally:
        cache.delete_many(["redis-cache-probe", "redis-cache-a", "redis-cache-b"])
    assert cache.get("redis-cache-probe") is None
