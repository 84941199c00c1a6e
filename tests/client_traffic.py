"""Per-client traffic in Redis (okto88.client_traffic) emptied around each test of a module that
imports `traffic_clean` (an autouse fixture: importing it is using it)."""

from __future__ import annotations

import pytest

from okto88.client_traffic import KEY_PREFIX, traffic_flush
from okto88.redis_connection import redis_client


def traffic_keys_delete() -> None:
    keys = list(redis_client().scan_iter(match=f"{KEY_PREFIX}*", count=1000))
    if keys:
        redis_client().delete(*keys)


@pytest.fixture(autouse=True)
def traffic_clean():
    traffic_flush()
    traffic_keys_delete()
    yield
    traffic_flush()
    traffic_keys_delete()
