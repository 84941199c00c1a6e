"""The fake courier over real HTTP for the whole session, and settings pointing at it."""

from __future__ import annotations

import pytest

from logistics.fake_courier import FakeCourierServer, start_fake_courier
from tests.logistics.factories import carriers_seed

COURIER_API_KEY = "courier-test-key"
COURIER_WEBHOOK_SECRET = "courier-test-webhook-secret"
NOTIFICATIONS_PATH = "/api/v1/logistics/notifications/"


@pytest.fixture(scope="session")
def fake_courier() -> FakeCourierServer:
    server = start_fake_courier(port=0, api_key=COURIER_API_KEY, webhook_secret=COURIER_WEBHOOK_SECRET)
    yield server
    server.stop()


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
