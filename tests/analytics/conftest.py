"""Operations tests: recording starts from empty Redis keys and an empty buffer, and tests that
place real orders talk to the session's fake courier and gateway."""

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


@pytest.fixture(autouse=True)
def _partners(settings, fake_courier, fake_gateway):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    fake_courier.set_faults()
    fake_gateway.set_faults()
    yield
