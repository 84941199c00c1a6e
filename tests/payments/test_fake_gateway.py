"""The fake gateway itself: its notifications, pay page and fault switches."""

from __future__ import annotations

import json

import requests

from payments.fake_gateway import notification_body, sign_notification
from payments.services import signature_key_compute
from tests.payments.conftest import sent_notifications, statuses_of


def charge(gateway_url: str, reference: str, server_key: str, notify: str) -> requests.Response:
    return requests.post(
        f"{gateway_url}/v2/charge", auth=(server_key, ""), headers={"X-Override-Notification": notify},
        json={"payment_type": "bank_transfer", "bank_transfer": {"bank": "bca"},
              "transaction_details": {"order_id": reference, "gross_amount": 1_250_000}}, timeout=5,
    )


def test_notifications_are_signed_as_the_gateway_documents(fake_gateway, reference):
    charge(fake_gateway.url, reference, fake_gateway.server_key, f"{fake_gateway.url}/_sink")
    fake_gateway.simulate(reference, "settlement")
    bodies = [json.loads(b) for b in sent_notifications(fake_gateway, reference, count=2)]
    assert [b["transaction_status"] for b in bodies] == ["pending", "settlement"]
    assert [b["status_code"] for b in bodies] == ["201", "200"]
    for body in bodies:
        assert body["gross_amount"] == "1250000.00"
        assert body["signature_key"] == signature_key_compute(
            order_id=reference, status_code=body["status_code"], gross_amount="1250000.00",
            server_key=fake_gateway.server_key)


def test_the_signer_matches_the_services_verifier():
    assert sign_notification(order_id="A", status_code="200", gross_amount="1.00", server_key="k") == \
        signature_key_compute(order_id="A", status_code="200", gross_amount="1.00", server_key="k")
    body = json.loads(notification_body(order_id="A", transaction_status="expire", gross_amount=5, server_key="k"))
    assert body["status_code"] == "202" and body["gross_amount"] == "5.00"


def test_the_pay_page_shows_the_amount_and_pays(fake_gateway, reference):
    charge(fake_gateway.url, reference, fake_gateway.server_key, f"{fake_gateway.url}/_sink")
    page = requests.get(f"{fake_gateway.url}/pay/{reference}", timeout=5)
    assert page.status_code == 200
    assert "Rp 1.250.000" in page.text and "Bayar sekarang / Pay now" in page.text
    assert fake_gateway.state()["transactions"][reference]["va_number"] in page.text
    paid = requests.post(f"{fake_gateway.url}/pay/{reference}", timeout=5)
    assert "Pembayaran berhasil / Payment successful" in paid.text
    assert fake_gateway.state()["transactions"][reference]["status"] == "settlement"
    assert statuses_of(sent_notifications(fake_gateway, reference, count=2)) == ["pending", "settlement"]


def test_duplicate_and_out_of_order_notifications_can_be_injected(fake_gateway, reference):
    response = requests.post(f"{fake_gateway.url}/_faults", json={"duplicate_notifications": 2, "out_of_order": True},
                             timeout=5)
    assert response.json()["out_of_order"] is True
    charge(fake_gateway.url, reference, fake_gateway.server_key, f"{fake_gateway.url}/_sink")
    fake_gateway.simulate(reference, "settlement")
    bodies = sent_notifications(fake_gateway, reference, count=4)
    assert statuses_of(bodies) == ["settlement", "settlement", "pending", "pending"]


def test_the_state_can_be_inspected_over_http(fake_gateway, reference):
    charge(fake_gateway.url, reference, fake_gateway.server_key, "")
    state = requests.get(f"{fake_gateway.url}/_state", timeout=5).json()
    assert state["transactions"][reference]["status"] == "pending"
    simulated = requests.post(f"{fake_gateway.url}/_simulate/{reference}", json={"status": "expire"}, timeout=5)
    assert simulated.json()["transaction_status"] == "expire"


def test_the_fake_refuses_a_boolean_amount_as_the_gateway_does(fake_gateway, reference):
    response = requests.post(
        f"{fake_gateway.url}/v2/charge", auth=(fake_gateway.server_key, ""),
        json={"payment_type": "bank_transfer", "bank_transfer": {"bank": "bca"},
              "transaction_details": {"order_id": reference, "gross_amount": True}}, timeout=5)
    assert response.status_code == 400 and reference not in fake_gateway.state()["transactions"]
