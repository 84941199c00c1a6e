"""Settings pointing at the session's fake courier (tests/fakes.py)."""

from __future__ import annotations

import pytest

from tests.fakes import COURIER_API_KEY, COURIER_WEBHOOK_SECRET
from tests.logistics.factories import carriers_seed

NOTIFICATIONS_PATH = "/api/v1/logistics/notifications/"
# The tests call the fake and sign its callbacks with these.
__all__ = ["COURIER_API_KEY", "COURIER_WEBHOOK_SECRET", "NOTIFICATIONS_PATH"]


@pytest.fixture(autouse=True)
def courier_settings(settings, fake_courier):
    settings.COURIER_URL = fake_courier.url
    settings.COURIER_API_KEY = COURIER_API_KEY
    settings.COURIER_WEBHOOK_SECRET = COURIER_WEBHOOK_SECRET
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 0.5
    # Nothing listens here; tests that need the callbacks point it at the live server.
    settings.COURIER_NOTIFICATION_URL = "http://127.0.0.1:9" + NOTIFICATIONS_PATH
    fake_courier.set_faults()
    yield settings
    fake_courier.set_faults()


@pytest.fixture
def carriers(db):
    return carriers_seed()


@pytest.fixture
def callbacks_to_live_server(live_server, settings):
    """Bookings made in this test get their tracking callbacks at our real endpoint."""
    settings.COURIER_NOTIFICATION_URL = live_server.url + NOTIFICATIONS_PATH
    return live_server
