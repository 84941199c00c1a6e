"""Operator admin for carriers, shipments and tracking events."""

from __future__ import annotations

import pytest
from django.test import Client

from logistics import services
from logistics.models import Shipment, ShipmentStatus
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, new_reference
from tests.platform.factories import OperatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(OperatorFactory())
    return client


@pytest.fixture
def shipment(carriers) -> Shipment:
    return services.shipment_request(reference=new_reference(), carrier_code="anteraja", service_level="REG",
                                     origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_000)


@pytest.mark.parametrize("url", ["/admin/logistics/carrier/", "/admin/logistics/shipment/",
                                 "/admin/logistics/trackingevent/", "/admin/logistics/shipment/?q=SO-"])
def test_changelists_load(staff, shipment, url):
    assert staff.get(url).status_code == 200


def test_a_shipment_is_shown_read_only_with_its_tracking(staff, shipment):
    response = staff.get(f"/admin/logistics/shipment/{shipment.pk}/change/")
    assert response.status_code == 200
    assert shipment.waybill in response.content.decode()
    assert b'name="status"' not in response.content  # nothing to edit
    assert staff.get("/admin/logistics/shipment/add/").status_code == 403


def test_operators_cancel_shipments_through_the_service(staff, shipment, fake_courier):
    response = staff.post("/admin/logistics/shipment/", {"action": "cancel_shipments",
                                                          "_selected_action": [shipment.pk]})
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.CANCELLED
    assert fake_courier.state()["shipments"][shipment.waybill]["status"] == "cancelled"
