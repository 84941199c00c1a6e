"""Django's Redis cache backend with one `redis.Redis` client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` around the pool on every cache call, and
redis-py registers its ~170 response callbacks in each new client: a third of a cached read's
CPU (bench/README.md §5, order_place: a checkout preview and a placement read the courier's
rates from the cache). The client holds no state of its own between commands (its connections
are the pool's), so one per pool answers every call as a new one did."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _ClientPerPool(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ClientPerPool
