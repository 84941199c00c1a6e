"""Tracking callbacks: the courier's signed bodies fed to the service, and the whole path over
HTTP (fake courier → our live server)."""

from __future__ import annotations

import json
import uuid

import pytest

from logistics import services
from logistics.errors import CourierUnavailable, InvalidTrackingNotification, InvalidTrackingSignature
from logistics.fake_courier import sign
from logistics.models import Shipment, ShipmentStatus, TrackingEvent
from okto88.models import OutboxEvent
from tests.logistics.conftest import COURIER_WEBHOOK_SECRET
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, new_reference


def book(reference: str | None = None) -> Shipment:
    return services.shipment_request(reference=reference or new_reference(), carrier_code="sicepat",
                                     service_level="REG", origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=1_200)


def topics(shipment: Shipment) -> list[str]:
    return list(OutboxEvent.objects.filter(aggregate_type="shipment", aggregate_id=str(shipment.pk))
                .order_by("id").values_list("topic", flat=True))


def callback(shipment: Shipment, status: str, *, event_id: str | None = None) -> bytes:
    return json.dumps({"event_id": event_id or f"evt_{uuid.uuid4().hex}", "waybill": shipment.waybill,
                       "reference": shipment.reference, "status": status,
                       "occurred_at": "2026-11-25T08:15:00+00:00", "location": "Kota Bandung"}).encode()


def receive(body: bytes, *, secret: str = COURIER_WEBHOOK_SECRET) -> TrackingEvent:
    return services.tracking_notification_receive(raw_body=body, signature=sign(secret, body))


# --- the service, fed signed bodies ------------------------------------------------------------

@pytest.mark.django_db
class TestTrackingService:
    def test_forward_moves_are_applied_with_an_outbox_event_each(self, carriers):
        shipment = book()

        receipts = [receive(callback(shipment, status)).receipt for status in ("picked_up", "in_transit", "delivered")]

        shipment.refresh_from_db()
        assert receipts == ["applied"] * 3
        assert shipment.status == ShipmentStatus.DELIVERED
        assert topics(shipment) == ["shipment.booked", "shipment.picked_up", "shipment.in_transit",
                                    "shipment.delivered"]
        delivered = OutboxEvent.objects.filter(topic="shipment.delivered").get(aggregate_id=str(shipment.pk))
        assert delivered.payload == {"reference": shipment.reference, "shipment_id": shipment.pk,
                                     "waybill": shipment.waybill, "status": "delivered"}
        event = shipment.tracking.get(status="delivered")
        assert event.signature_valid and event.applied and event.location == "Kota Bandung"
        assert event.occurred_at.isoformat() == "2026-11-25T08:15:00+00:00"

    def test_the_same_callback_three_times_changes_once(self, carriers):
        shipment = book()
        body = callback(shipment, "picked_up")

        receipts = [receive(body).receipt for _ in range(3)]

        assert receipts == ["applied", "duplicate", "duplicate"]
        # The one row (the event id is unique) is the applied first delivery.
        assert list(TrackingEvent.objects.filter(shipment=shipment).values_list("applied", flat=True)) == [True]
        assert topics(shipment) == ["shipment.booked", "shipment.picked_up"]

    def test_a_forged_signature_is_refused_recorded_and_changes_nothing(self, carriers):
        shipment = book()
        body = callback(shipment, "delivered")

        with pytest.raises(InvalidTrackingSignature) as caught:
            receive(body, secret="not-the-secret")

        assert caught.value.code == "invalid_signature" and caught.value.status == 403
        recorded = caught.value.event
        assert TrackingEvent.objects.get(pk=recorded.pk).signature_valid is False
        assert recorded.raw_body == body.decode() and not recorded.applied and recorded.waybill == shipment.waybill
        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.BOOKED
        assert topics(shipment) == ["shipment.booked"]

    def test_a_forged_body_cannot_take_the_event_id_of_a_genuine_one(self, carriers):
        shipment = book()
        genuine = callback(shipment, "picked_up", event_id="evt_shared")
        forged = callback(shipment, "returned", event_id="evt_shared")
        with pytest.raises(InvalidTrackingSignature):
            receive(forged, secret="guess")

        assert receive(genuine).receipt == "applied"
        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.PICKED_UP

    def test_a_missing_signature_is_refused(self, carriers):
        shipment = book()
        with pytest.raises(InvalidTrackingSignature):
            services.tracking_notification_receive(raw_body=callback(shipment, "delivered"), signature="")

    def test_late_and_backward_moves_are_recorded_and_ignored(self, carriers):
        shipment = book()
        receive(callback(shipment, "delivered"))

        late = receive(callback(shipment, "in_transit"))
        returned = receive(callback(shipment, "returned"))

        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.DELIVERED
        assert (late.receipt, late.applied, late.signature_valid) == ("ignored", False, True)
        assert "not a forward move" in late.outcome and returned.receipt == "ignored"
        assert topics(shipment) == ["shipment.booked", "shipment.delivered"]

    def test_callbacks_for_a_cancelled_shipment_are_ignored(self, carriers):
        shipment = services.shipment_cancel(shipment=book())

        assert receive(callback(shipment, "picked_up")).receipt == "ignored"
        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.CANCELLED

    def test_an_unknown_waybill_or_status_is_recorded_and_ignored(self, carriers):
        shipment = book()
        unknown = Shipment(reference="SO-NOPE", waybill="JNE000000000000")
        stray = receive(callback(unknown, "delivered"))
        odd = receive(callback(shipment, "lost_in_space"))

        assert (stray.receipt, stray.shipment) == ("ignored", None)
        assert odd.receipt == "ignored" and "unknown status" in odd.outcome
        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.BOOKED

    def test_a_callback_that_overtakes_the_booking_answer_finds_the_shipment_by_reference(self, carriers,
                                                                                          fake_courier):
        reference = new_reference()
        fake_courier.set_faults(timeout_next=1, timeout_seconds=1.5)
        with pytest.raises(CourierUnavailable):
            book(reference)
        [waybill] = [w for w, s in fake_courier.state()["shipments"].items() if s["reference"] == reference]
        requested = Shipment.objects.get(reference=reference)
        requested.waybill = waybill  # only in this test's copy, to build the courier's body

        assert receive(callback(requested, "picked_up")).receipt == "applied"
        shipment = book(reference)
        assert (shipment.status, shipment.waybill) == (ShipmentStatus.PICKED_UP, waybill)
        assert fake_courier.bookings(reference) == 1

    @pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"status": "delivered"}',
                                      json.dumps({"event_id": "x" * 81, "waybill": "JNE1"}).encode()])
    def test_a_signed_body_we_cannot_read_is_recorded_and_refused(self, carriers, body):
        with pytest.raises(InvalidTrackingNotification) as caught:
            receive(body)
        assert caught.value.status == 400
        assert TrackingEvent.objects.filter(pk=caught.value.event.pk, signature_valid=True, applied=False).exists()


# --- the whole path over HTTP: fake courier → live server → service ---------------------------

def test_tracking_callbacks_from_the_courier_move_the_shipment_to_delivered(carriers, fake_courier,
                                                                            callbacks_to_live_server):
    shipment = book()

    deliveries = [fake_courier.advance(shipment.waybill, s) for s in ("picked_up", "in_transit", "delivered")]

    assert deliveries == [[200], [200], [200]]
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert topics(shipment) == ["shipment.booked", "shipment.picked_up", "shipment.in_transit",
                                "shipment.delivered"]
    assert list(shipment.tracking.order_by("pk").values_list("status", "applied")) == [
        ("picked_up", True), ("in_transit", True), ("delivered", True)]


def test_a_callback_delivered_three_times_changes_the_shipment_once(carriers, fake_courier,
                                                                    callbacks_to_live_server):
    shipment = book()
    fake_courier.set_faults(duplicate_callbacks=2)

    assert fake_courier.advance(shipment.waybill, "picked_up") == [200, 200, 200]

    # The one row (the event id is unique) is the applied first delivery.
    assert list(shipment.tracking.values_list("applied", flat=True)) == [True]
    assert topics(shipment) == ["shipment.booked", "shipment.picked_up"]


def test_out_of_order_callbacks_are_recorded_and_the_late_one_ignored(carriers, fake_courier,
                                                                      callbacks_to_live_server):
    shipment = book()
    fake_courier.set_faults(out_of_order=True)

    assert fake_courier.advance(shipment.waybill, "in_transit") == []  # held back by the courier
    assert fake_courier.advance(shipment.waybill, "delivered") == [200, 200]  # delivered, then in_transit

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    assert list(shipment.tracking.order_by("pk").values_list("status", "applied")) == [
        ("delivered", True), ("in_transit", False)]
    assert topics(shipment) == ["shipment.booked", "shipment.delivered"]


def test_callbacks_signed_with_another_secret_are_refused_over_http(carriers, fake_courier,
                                                                    callbacks_to_live_server, settings):
    shipment = book()
    settings.COURIER_WEBHOOK_SECRET = "rotated-secret"  # ours no longer matches the courier's

    assert fake_courier.advance(shipment.waybill, "delivered") == [403]

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert TrackingEvent.objects.filter(waybill=shipment.waybill, signature_valid=False).count() == 1
