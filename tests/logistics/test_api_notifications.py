"""POST /api/v1/logistics/notifications/ seen from the outside."""

from __future__ import annotations

import json
import uuid

import pytest
from rest_framework.test import APIClient

from logistics import services
from logistics.fake_courier import sign
from logistics.models import ShipmentStatus, TrackingEvent
from tests.logistics.conftest import COURIER_WEBHOOK_SECRET, NOTIFICATIONS_PATH
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, new_reference

pytestmark = pytest.mark.django_db
PROBLEM = "application/problem+json"


@pytest.fixture
def shipment(carriers):
    return services.shipment_request(reference=new_reference(), carrier_code="jnt", service_level="EZ",
                                     origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=800)


def body_for(shipment, status: str, event_id: str | None = None) -> bytes:
    return json.dumps({"event_id": event_id or f"evt_{uuid.uuid4().hex}", "waybill": shipment.waybill,
                       "reference": shipment.reference, "status": status,
                       "occurred_at": "2026-11-25T08:15:00+00:00", "location": "Kota Bandung"}).encode()


def post(body: bytes, signature: str | None = None, content_type: str = "application/json"):
    headers = {} if signature is None else {"HTTP_X_COURIER_SIGNATURE": signature}
    return APIClient().post(NOTIFICATIONS_PATH, data=body, content_type=content_type, **headers)


def test_a_signed_callback_is_applied_without_an_api_key(shipment):
    body = body_for(shipment, "picked_up")

    response = post(body, sign(COURIER_WEBHOOK_SECRET, body))

    assert response.status_code == 200 and response.json() == {"status": "ok"}
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKED_UP


def test_a_redelivery_answers_duplicate_and_a_late_one_ignored(shipment):
    delivered = body_for(shipment, "delivered")
    late = body_for(shipment, "in_transit")

    statuses = [post(b, sign(COURIER_WEBHOOK_SECRET, b)).json()["status"] for b in (delivered, delivered, late)]

    assert statuses == ["ok", "duplicate", "ignored"]


@pytest.mark.parametrize("signature", [None, "", "00" * 32, "zz", "é"])
def test_a_forged_or_missing_signature_is_403_problem_and_recorded(shipment, signature):
    body = body_for(shipment, "delivered")

    response = post(body, signature)

    assert response.status_code == 403
    assert response["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == "invalid_signature" and problem["status"] == 403
    assert problem["request_id"] == response["X-Request-ID"]
    assert TrackingEvent.objects.filter(waybill=shipment.waybill, signature_valid=False).exists()
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED


@pytest.mark.parametrize("body", [b"{not json", b"", "\x00\u0000".encode(), b'{"event_id": "e\\u0000"}',
                                  b'{"event_id": "e1", "waybill": "JNE1", "weight": NaN}', b"[" * 60_000])
def test_an_unreadable_signed_body_is_400_problem(carriers, body):
    response = post(body, sign(COURIER_WEBHOOK_SECRET, body))

    assert response.status_code == 400
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "invalid_notification"


def test_a_body_of_another_content_type_is_still_verified_on_its_raw_bytes(shipment):
    body = body_for(shipment, "picked_up")

    response = post(body, sign(COURIER_WEBHOOK_SECRET, body), content_type="text/plain")

    assert response.json() == {"status": "ok"}


def test_the_endpoint_is_documented_as_public():
    schema = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    operation = schema.json()["paths"]["/api/v1/logistics/notifications/"]["post"]
    assert operation["operationId"] == "logistics_notifications_create"
    assert {"200", "400", "403"} <= set(operation["responses"])
    assert "401" not in operation["responses"]


@pytest.mark.parametrize("occurred_at", ["2000-01-01T00:00:00+16:00", "0001-01-01T00:00:00+01:00", "yesterday", 17])
def test_odd_times_do_not_break_the_record(shipment, occurred_at):
    body = json.dumps({"event_id": f"evt_{uuid.uuid4().hex}", "waybill": shipment.waybill,
                       "reference": shipment.reference, "status": "picked_up", "occurred_at": occurred_at}).encode()

    for signature in ("forged", sign(COURIER_WEBHOOK_SECRET, body)):
        assert post(body, signature).status_code in (200, 403)


# --- bounds: body size, source throttle, what an unverified callback leaves behind ------------

def test_a_body_above_the_cap_is_413_before_anything_is_stored(shipment, settings):
    body = json.dumps({"event_id": "evt_big", "waybill": shipment.waybill,
                       "padding": "x" * settings.NOTIFICATION_MAX_BODY_BYTES}).encode()

    response = post(body, sign(COURIER_WEBHOOK_SECRET, body))

    assert response.status_code == 413
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["max_bytes"] == settings.NOTIFICATION_MAX_BODY_BYTES
    assert not TrackingEvent.objects.exists()


def test_an_unverified_callback_is_kept_only_as_a_short_excerpt(shipment, settings):
    body = json.dumps({"event_id": "evt_forged", "waybill": shipment.waybill, "status": "delivered",
                       "padding": "x" * 50_000}).encode()

    assert post(body, "0" * 64).status_code == 403

    event = TrackingEvent.objects.get(signature_valid=False)
    assert len(event.raw_body) <= settings.NOTIFICATION_UNVERIFIED_EXCERPT_CHARS
    assert event.raw_body == body.decode()[:len(event.raw_body)]
    assert event.payload is None
    assert event.waybill == shipment.waybill  # still findable by what it claimed


def test_callbacks_are_throttled_by_source_address(shipment, settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "notification": "3/hour"}
    settings.REST_FRAMEWORK = rest
    flooder = APIClient(REMOTE_ADDR="203.0.113.40")
    statuses = [flooder.post(NOTIFICATIONS_PATH, data=b"{}", content_type="application/json").status_code
                for _ in range(4)]

    assert statuses == [403, 403, 403, 429]
    throttled = flooder.post(NOTIFICATIONS_PATH, data=b"{}", content_type="application/json")
    assert throttled["Content-Type"].startswith(PROBLEM) and int(throttled["Retry-After"]) >= 1
    body = body_for(shipment, "picked_up")
    courier = APIClient(REMOTE_ADDR="198.51.100.40")
    response = courier.post(NOTIFICATIONS_PATH, data=body, content_type="application/json",
                            HTTP_X_COURIER_SIGNATURE=sign(COURIER_WEBHOOK_SECRET, body))
    assert response.status_code == 200 and response.json() == {"status": "ok"}
