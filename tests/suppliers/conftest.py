"""The parts pages show each offer's delivery cost (orders.services.offer_delivery_estimates), so
these tests ask the session's fake courier (tests/fakes.py), never whatever listens on the
development port."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _courier(settings, fake_courier):
    settings.COURIER_URL = fake_courier.url
    fake_courier.set_faults()
    yield
