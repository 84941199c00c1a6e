"""Recording tests start from empty Redis recording keys and an empty buffer."""

from __future__ import annotations

import pytest

from okto88.recording import KEY_PREFIX, recording_flush
from okto88.redis_connection import redis_client


def recording_keys_delete() -> None:
    keys = list(redis_client().scan_iter(match=f"{KEY_PREFIX}*", count=1000))
    if keys:
        redis_client().delete(*keys)


@pytest.fixture(autouse=True)
def recording_clean():
    # What other tests buffered goes to Redis first, then Redis forgets it.
    recording_flush()
    recording_keys_delete()
    yield
    recording_flush()
    recording_keys_delete()
