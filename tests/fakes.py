"""The project's fake partner servers over real HTTP, one of each per test session.

Every test folder uses these fixtures (tests/conftest.py imports them): the fake courier
(logistics/fake_courier.py), the fake payment gateway (payments/fake_gateway.py) and the fake
webhook receiver (partners/fake_receiver.py), each on a free port. They hold the credentials the
settings name, so a Celery worker process started by a test (tests/celery_worker.py) talks to
them with its default settings. A folder's own
autouse fixture points its settings at them (URLs, notification targets, timeouts) and clears
their faults (`set_faults()`) around each test; a test injects faults with `set_faults(...)`.
"""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from logistics.fake_courier import FakeCourierServer, start_fake_courier
from partners.fake_receiver import FakeReceiverServer, start_fake_receiver
from payments.fake_gateway import FakeGatewayServer, start_fake_gateway

# What the fakes expect and sign with: the settings' own values, also a worker process's.
COURIER_API_KEY = django_settings.COURIER_API_KEY
COURIER_WEBHOOK_SECRET = django_settings.COURIER_WEBHOOK_SECRET
PAYMENT_GATEWAY_SERVER_KEY = django_settings.PAYMENT_GATEWAY_SERVER_KEY


@pytest.fixture(scope="session")
def fake_courier() -> FakeCourierServer:
    server = start_fake_courier(port=0, api_key=COURIER_API_KEY, webhook_secret=COURIER_WEBHOOK_SECRET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_gateway() -> FakeGatewayServer:
    server = start_fake_gateway(port=0, server_key=PAYMENT_GATEWAY_SERVER_KEY)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_receiver() -> FakeReceiverServer:
    """A partner's webhook receiver (partners/fake_receiver.py): endpoints at `endpoint_url(name)`."""
    server = start_fake_receiver(port=0)
    yield server
    server.stop()


@pytest.fixture
def courier_for_pages(settings, fake_courier):
    """The parts pages show each offer's delivery cost (orders.services.offer_delivery_estimates):
    a folder whose pages render them imports this as an autouse fixture, so its tests ask the
    session's fake courier, without faults, never whatever listens on the development port."""
    settings.COURIER_URL = fake_courier.url
    fake_courier.set_faults()
    yield
