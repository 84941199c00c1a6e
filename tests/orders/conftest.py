"""The order tests talk to the session's fake courier and gateway (tests/fakes.py)."""

from __future__ import annotations

import pytest

from tests.orders.factories import buyer_make, carriers_ensure


@pytest.fixture(autouse=True)
def _partners(settings, fake_courier, fake_gateway):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    # The gateway's notifications go to its own sink unless a test listens (live server): the
    # session's one fake delivers them one at a time, retrying where nothing answers, and a
    # backlog to nowhere would hold up the notifications another folder's test waits for.
    settings.PAYMENT_NOTIFICATION_URL = f"{fake_gateway.url}/_sink"
    fake_courier.set_faults()
    fake_gateway.set_faults()
    yield


@pytest.fixture
def buyer():
    """A workshop member with an address, and the carriers the quotes need."""
    carriers_ensure()
    return buyer_make()
