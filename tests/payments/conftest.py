"""Every test in tests/payments talks to the session's fake payment gateway (tests/fakes.py):
PAYMENT_GATEWAY_URL points at it, faults are cleared before and after each test, and
notifications go to the fake's own `/_sink` unless a test points PAYMENT_NOTIFICATION_URL at
live_server.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest

from payments.fake_gateway import FakeGatewayServer


@pytest.fixture(autouse=True)
def _gateway_settings(fake_gateway, settings):
    fake_gateway.set_faults()
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 1.0
    yield
    # Nothing of this test may arrive during the next one.
    fake_gateway.wait_idle()
    fake_gateway.set_faults()


@pytest.fixture
def reference() -> str:
    return f"OK-T-{uuid.uuid4().hex[:12].upper()}"


def wait_for(predicate: Callable[[], object], *, timeout: float = 10, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sent_notifications(gateway: FakeGatewayServer, order_id: str, *, count: int) -> list[bytes]:
    """Wait until the fake has sent `count` notifications for order_id; their raw bodies, in order."""
    found = wait_for(lambda: len(gateway.notifications(order_id)) >= count and gateway.notifications(order_id),
                     what=f"{count} notifications for {order_id}")
    return [n["body"].encode() for n in found]


def statuses_of(bodies: list[bytes]) -> list[str]:
    return [json.loads(body)["transaction_status"] for body in bodies]
