"""The fake courier keeps the contract the adapter relies on (raw HTTP, no Django involved)."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
import time

import requests
from django.conf import settings

from logistics.fake_courier import FakeCourierServer, sign
from tests.logistics.conftest import COURIER_API_KEY, COURIER_WEBHOOK_SECRET
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, new_reference

HEADERS = {"X-Api-Key": COURIER_API_KEY}


def book(fake: FakeCourierServer, reference: str, **overrides) -> requests.Response:
    body = {"reference": reference, "courier": "jne", "service": "REG", "origin": JAKARTA_SELATAN,
            "destination": BANDUNG, "weight_g": 1_000, "callback_url": "", **overrides}
    return requests.post(f"{fake.url}/v1/shipments", json=body, timeout=5,
                         headers={**HEADERS, "Idempotency-Key": reference})


def test_requests_without_the_api_key_are_refused(fake_courier):
    response = requests.post(f"{fake_courier.url}/v1/rates", json={}, timeout=5)
    assert response.status_code == 401 and response.json()["message"] == "invalid api key"


def test_a_key_replayed_answers_the_first_booking(fake_courier):
    reference = new_reference()

    first, second = book(fake_courier, reference), book(fake_courier, reference)

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json() and first.json()["status"] == "booked"
    assert fake_courier.bookings(reference) == 1


def test_a_key_reused_for_another_service_is_a_conflict(fake_courier):
    reference = new_reference()
    book(fake_courier, reference)

    assert book(fake_courier, reference, service="YES").status_code == 409
    assert fake_courier.bookings(reference) == 1


def test_invalid_bookings_are_422(fake_courier):
    assert book(fake_courier, new_reference(), weight_g=0).status_code == 422
    assert book(fake_courier, new_reference(), courier="pos").status_code == 422
    assert book(fake_courier, new_reference(), destination={"city": "Bandung"}).status_code == 422


def test_advance_controls(fake_courier):
    waybill = book(fake_courier, new_reference()).json()["waybill"]

    assert fake_courier.advance(waybill, "picked_up") == ["no callback_url"]
    assert fake_courier.state()["shipments"][waybill]["status"] == "picked_up"
    control = f"{fake_courier.url}/_advance"
    assert requests.post(f"{control}/NOPE", json={"status": "delivered"}, timeout=5).status_code == 404
    assert requests.post(f"{control}/{waybill}", json={"status": "lost"}, timeout=5).status_code == 400


def test_the_signature_is_hex_hmac_sha256_of_the_raw_body():
    assert sign("secret", b'{"a": 1}') == hmac.new(b"secret", b'{"a": 1}', hashlib.sha256).hexdigest()


def test_latency_is_injected(fake_courier):
    fake_courier.set_faults(latency_ms=300)
    started = time.monotonic()
    requests.post(f"{fake_courier.url}/v1/rates", headers=HEADERS, timeout=5,
                  json={"origin": JAKARTA_SELATAN, "destination": BANDUNG, "weight_g": 500})
    assert time.monotonic() - started >= 0.3


def test_auto_advance_moves_a_booking_to_delivered():
    from logistics.fake_courier import start_fake_courier

    fake = start_fake_courier(port=0, api_key=COURIER_API_KEY, webhook_secret=COURIER_WEBHOOK_SECRET)
    try:
        waybill = book(fake, new_reference()).json()["waybill"]
        fake.auto_advance(0.05)
        deadline = time.monotonic() + 5
        while fake.state()["shipments"][waybill]["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
        shipment = fake.state()["shipments"][waybill]
        assert shipment["status"] == "delivered"
        assert [d["status"] for d in shipment["deliveries"]] == ["picked_up", "in_transit", "delivered"]
    finally:
        fake.stop()


def test_the_management_command_serves_the_fake_courier():
    process = subprocess.Popen([sys.executable, str(settings.BASE_DIR / "manage.py"), "fake_courier", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=settings.BASE_DIR)
    try:
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        assert requests.get(f"{url}/_state", timeout=5).json()["bookings"] == {}
    finally:
        process.terminate()
        process.wait(timeout=10)
