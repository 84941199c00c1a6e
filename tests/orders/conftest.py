"""The fake courier and gateway over real HTTP for the order tests (one each per session)."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from logistics.fake_courier import start_fake_courier
from payments.fake_gateway import start_fake_gateway
from tests.orders.factories import buyer_make, carriers_ensure


@pytest.fixture(scope="session")
def fake_courier():
    server = start_fake_courier(api_key=django_settings.COURIER_API_KEY,
                                webhook_secret=django_settings.COURIER_WEBHOOK_SECRET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gateway():
    server = start_fake_gateway(server_key=django_settings.PAYMENT_GATEWAY_SERVER_KEY)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _partners(settings, fake_courier, fake_gateway):
    settings.COURIER_URL = fake_courier.url
    settings.PAYMENT_GATEWAY_URL = fake_gateway.url
    fake_courier.set_faults()
    fake_gateway.set_faults()
    yield


@pytest.fixture
def buyer():
    """A workshop member with an address, and the carriers the quotes need."""
    carriers_ensure()
    return buyer_make()
