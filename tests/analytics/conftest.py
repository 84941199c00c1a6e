"""The analytics tests build orders through the order services, which talk to the session's
fake courier and gateway (tests/fakes.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _partners(settings, fake_courier, fake_gateway):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    fake_courier.set_faults()
    fake_gateway.set_faults()
    yield
