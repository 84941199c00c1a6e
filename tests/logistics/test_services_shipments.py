"""Booking and cancelling shipments at the courier (the fake courier over real HTTP)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from logistics import services
from logistics.errors import CourierRejected, CourierUnavailable, InvalidShipmentRequest, ShipmentNotCancellable
from logistics.models import Shipment, ShipmentStatus
from okto88.models import OutboxEvent
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, JAYAPURA, new_reference

pytestmark = pytest.mark.django_db


def request(reference: str, **overrides) -> Shipment:
    fields = {"carrier_code": "jne", "service_level": "REG", "origin": JAKARTA_SELATAN, "destination": BANDUNG,
              "weight_g": 2_500, **overrides}
    return services.shipment_request(reference=reference, **fields)


def topics(shipment: Shipment) -> list[str]:
    return list(OutboxEvent.objects.filter(aggregate_type="shipment", aggregate_id=str(shipment.pk))
                .order_by("id").values_list("topic", flat=True))


def test_a_booking_returns_the_couriers_waybill_and_price(carriers, fake_courier):
    reference = new_reference()
    quote = next(q for q in services.shipping_quotes(origin=JAKARTA_SELATAN, destination=BANDUNG, weight_g=2_500)
                 if (q.carrier_code, q.service_level) == ("jne", "REG"))

    shipment = request(reference)

    assert shipment.status == ShipmentStatus.BOOKED
    assert shipment.waybill.startswith("JNE")
    assert shipment.cost == quote.cost
    assert fake_courier.bookings(reference) == 1
    booked = fake_courier.state()["shipments"][shipment.waybill]
    assert (booked["reference"], booked["courier"], booked["service"]) == (reference, "jne", "REG")
    event = OutboxEvent.objects.get(aggregate_type="shipment", aggregate_id=str(shipment.pk))
    assert event.topic == "shipment.booked"
    assert event.payload == {"reference": reference, "shipment_id": shipment.pk, "waybill": shipment.waybill,
                             "status": "booked"}


def test_the_same_reference_twice_books_once(carriers, fake_courier):
    reference = new_reference()

    first = request(reference)
    fake_courier.set_faults(fail_next=1)  # a second call to the courier would fail the request
    second = request(reference)

    assert second.pk == first.pk and second.waybill == first.waybill
    assert fake_courier.bookings(reference) == 1
    # The second request answered from the stored booking without calling the courier. (One
    # row per reference is the unique constraint's to keep: counting them could never fail.)
    assert fake_courier.state()["faults"]["fail_next"] == 1
    assert topics(first) == ["shipment.booked"]


def test_a_courier_failure_leaves_the_shipment_requested_and_a_retry_books_once(carriers, fake_courier):
    reference = new_reference()
    fake_courier.set_faults(fail_next=1)

    with pytest.raises(CourierUnavailable):
        request(reference)

    shipment = Shipment.objects.get(reference=reference)
    assert shipment.status == ShipmentStatus.REQUESTED and shipment.waybill is None
    assert fake_courier.bookings(reference) == 0
    assert topics(shipment) == []

    retried = request(reference)

    assert retried.pk == shipment.pk and retried.status == ShipmentStatus.BOOKED
    assert fake_courier.bookings(reference) == 1
    assert topics(retried) == ["shipment.booked"]


def test_a_lost_answer_is_retried_with_the_same_key_and_the_courier_books_once(carriers, fake_courier):
    # The courier books, but answers after our timeout: we do not know it booked.
    reference = new_reference()
    fake_courier.set_faults(timeout_next=1, timeout_seconds=1.5)

    with pytest.raises(CourierUnavailable):
        request(reference)

    assert Shipment.objects.get(reference=reference).status == ShipmentStatus.REQUESTED
    assert fake_courier.bookings(reference) == 1

    retried = request(reference)

    [waybill] = [w for w, s in fake_courier.state()["shipments"].items() if s["reference"] == reference]
    assert retried.status == ShipmentStatus.BOOKED and retried.waybill == waybill
    assert fake_courier.bookings(reference) == 1


def test_a_rejected_destination_is_a_permanent_error(carriers, fake_courier):
    reference = new_reference()
    fake_courier.set_faults(reject_destination_postal_prefix="99")

    with pytest.raises(CourierRejected, match="destination not served") as caught:
        request(reference, destination=JAYAPURA)

    assert not isinstance(caught.value, CourierUnavailable)
    assert Shipment.objects.get(reference=reference).status == ShipmentStatus.REQUESTED
    assert fake_courier.bookings(reference) == 0


def test_a_wrong_api_key_is_rejected(carriers, settings):
    settings.COURIER_API_KEY = "not-the-key"

    with pytest.raises(CourierRejected, match="invalid api key"):
        request(new_reference())


def test_an_unknown_or_inactive_carrier_is_refused_before_asking_the_courier(carriers, fake_courier):
    reference = new_reference()
    carriers["anteraja"].is_active = False
    carriers["anteraja"].save()

    for code in ("pos", "anteraja"):
        with pytest.raises(InvalidShipmentRequest) as caught:
            request(reference, carrier_code=code)
        assert isinstance(caught.value, CourierRejected)
        assert caught.value.extra["field"] == "carrier_code"
    assert not Shipment.objects.filter(reference=reference).exists()


def test_cancel_a_booked_shipment_at_the_courier_once(carriers, fake_courier):
    shipment = request(new_reference())

    cancelled = services.shipment_cancel(shipment=shipment)
    again = services.shipment_cancel(shipment=shipment)

    assert cancelled.status == again.status == ShipmentStatus.CANCELLED
    assert fake_courier.state()["shipments"][shipment.waybill]["status"] == "cancelled"
    assert topics(shipment) == ["shipment.booked", "shipment.cancelled"]


def test_cancel_a_shipment_whose_booking_answer_was_lost_cancels_it_at_the_courier(carriers, fake_courier):
    reference = new_reference()
    fake_courier.set_faults(timeout_next=1, timeout_seconds=1.5)
    with pytest.raises(CourierUnavailable):
        request(reference)
    shipment = Shipment.objects.get(reference=reference)

    cancelled = services.shipment_cancel(shipment=shipment)

    [booked] = [s for s in fake_courier.state()["shipments"].values() if s["reference"] == reference]
    assert booked["status"] == "cancelled"
    assert cancelled.status == ShipmentStatus.CANCELLED and cancelled.waybill == booked["waybill"]
    # A later retry of the request does not book again.
    assert request(reference).status == ShipmentStatus.CANCELLED
    assert fake_courier.bookings(reference) == 1


def test_cancel_a_shipment_the_courier_never_booked(carriers, fake_courier):
    reference = new_reference()
    fake_courier.set_faults(fail_next=1)
    with pytest.raises(CourierUnavailable):
        request(reference)

    cancelled = services.shipment_cancel(shipment=Shipment.objects.get(reference=reference))

    assert cancelled.status == ShipmentStatus.CANCELLED and cancelled.waybill is None
    assert fake_courier.bookings(reference) == 0
    assert topics(cancelled) == ["shipment.cancelled"]


def test_cancel_while_the_courier_is_down_still_cancels_here(carriers, fake_courier):
    # Compensation must not wait on a courier outage for a shipment that never got a waybill.
    reference = new_reference()
    fake_courier.set_faults(fail_next=2)
    with pytest.raises(CourierUnavailable):
        request(reference)

    cancelled = services.shipment_cancel(shipment=Shipment.objects.get(reference=reference))

    assert cancelled.status == ShipmentStatus.CANCELLED


def test_a_picked_up_shipment_cannot_be_cancelled(carriers, fake_courier):
    shipment = request(new_reference())
    fake_courier.advance(shipment.waybill, "picked_up")  # the callback goes nowhere here

    with pytest.raises(ShipmentNotCancellable, match="picked up"):
        services.shipment_cancel(shipment=shipment)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED


def test_cancelling_a_booked_shipment_while_the_courier_is_down_can_be_retried(carriers, fake_courier):
    shipment = request(new_reference())
    fake_courier.set_faults(fail_next=1)

    with pytest.raises(CourierUnavailable):
        services.shipment_cancel(shipment=shipment)

    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.BOOKED
    assert services.shipment_cancel(shipment=shipment).status == ShipmentStatus.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_for_one_reference_book_once(fake_courier):
    from tests.logistics.factories import carriers_seed

    carriers_seed()
    reference = new_reference()
    fake_courier.set_faults(latency_ms=200)  # both calls are at the courier at the same time
    results, errors = [], []

    def worker():
        try:
            results.append(request(reference))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {s.waybill for s in results} == {Shipment.objects.get(reference=reference).waybill}
    assert fake_courier.bookings(reference) == 1
    assert topics(results[0]) == ["shipment.booked"]
