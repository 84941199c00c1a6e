"""The gateway adapter against the fake gateway over real HTTP: charges, errors, cancel, refund."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.adapters import gateway
from payments.errors import GatewayRejected, GatewayUnavailable
from tests.payments.conftest import wait_for


def charge(reference: str, payment_type: str = "bank_transfer", amount: int = 150_000):
    return gateway.gateway_charge(order_id=reference, gross_amount=amount, payment_type=payment_type,
                                  customer={"first_name": "Bengkel Maju", "email": "maju@example.co.id"},
                                  expires_at=timezone.now() + timedelta(minutes=60))


def test_a_virtual_account_charge_returns_the_bank_and_number(reference, fake_gateway):
    answer = charge(reference)
    assert answer.transaction_status == "pending" and answer.status_code == "201"
    assert answer.bank == "bca" and answer.va_number.isdigit() and len(answer.va_number) >= 10
    assert answer.gross_amount == 150_000 and answer.transaction_id
    seen = fake_gateway.state()["transactions"][reference]
    assert seen["gross_amount"] == 150_000 and seen["customer"]["first_name"] == "Bengkel Maju"
    assert seen["notification_url"].endswith("/_sink")  # from X-Override-Notification


def test_a_qris_charge_returns_a_qr_string_and_its_url(reference):
    answer = charge(reference, "qris")
    assert answer.qr_string.startswith("000201") and answer.payment_url.endswith(f"/pay/{reference}")
    assert answer.va_number == ""


def test_an_ewallet_charge_returns_a_deeplink(reference):
    answer = charge(reference, "gopay")
    assert answer.payment_type == "gopay" and answer.payment_url and answer.qr_string


def test_charging_the_same_order_twice_returns_the_first_charge(reference):
    first = charge(reference)
    again = charge(reference)  # the gateway answers 406 duplicate; the adapter reads it back
    assert again.transaction_id == first.transaction_id and again.va_number == first.va_number


def test_the_same_order_id_with_another_amount_is_rejected(reference):
    charge(reference)
    with pytest.raises(GatewayRejected) as caught:
        charge(reference, amount=99_000)
    assert caught.value.code == "gateway_rejected"


@pytest.mark.parametrize("fault", [{"fail_next": 1}, {"timeout_next": 1, "timeout_ms": 1500}])
def test_server_errors_and_timeouts_are_transient(reference, fake_gateway, fault):
    fake_gateway.set_faults(**fault)
    with pytest.raises(GatewayUnavailable) as caught:
        charge(reference)
    assert caught.value.code == "gateway_unavailable" and caught.value.transient


def test_a_charge_whose_answer_timed_out_is_not_charged_twice(reference, fake_gateway):
    fake_gateway.set_faults(timeout_next=1, timeout_ms=1300)
    with pytest.raises(GatewayUnavailable):
        charge(reference)
    wait_for(lambda: reference in fake_gateway.state()["transactions"], what="the slow charge to land")
    retried = charge(reference)
    assert retried.transaction_id == fake_gateway.state()["transactions"][reference]["transaction_id"]


def test_a_rejected_request_is_permanent(reference, fake_gateway):
    fake_gateway.set_faults(reject_next=1)
    with pytest.raises(GatewayRejected) as caught:
        charge(reference)
    assert caught.value.gateway_status_code == "400" and not caught.value.transient
    assert charge(reference).transaction_status == "pending"  # only the next one was rejected


def test_a_wrong_server_key_is_rejected(reference, settings):
    settings.PAYMENT_GATEWAY_SERVER_KEY = "SB-Mid-server-wrong"
    with pytest.raises(GatewayRejected) as caught:
        charge(reference)
    assert caught.value.gateway_status_code == "401"


def test_a_gateway_that_is_down_is_transient(reference, settings):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.PAYMENT_GATEWAY_URL = f"http://127.0.0.1:{port}"
    with pytest.raises(GatewayUnavailable):
        charge(reference)


def test_cancel_a_pending_charge(reference, fake_gateway):
    charge(reference)
    answer = gateway.gateway_cancel(order_id=reference)
    assert answer.transaction_status == "cancel"
    assert gateway.gateway_cancel(order_id=reference).transaction_status == "cancel"  # again: same answer
    assert gateway.gateway_status(order_id=reference).transaction_status == "cancel"


def test_a_paid_charge_cannot_be_cancelled_but_is_refunded_once(reference, fake_gateway):
    charge(reference)
    fake_gateway.simulate(reference, "settlement")
    with pytest.raises(GatewayRejected) as caught:
        gateway.gateway_cancel(order_id=reference)
    assert caught.value.gateway_status_code == "412"
    refunded = gateway.gateway_refund(order_id=reference, refund_key=f"{reference}-r1", amount=150_000,
                                      reason="order cancelled")
    assert refunded.transaction_status == "refund"
    again = gateway.gateway_refund(order_id=reference, refund_key=f"{reference}-r1", amount=150_000,
                                   reason="order cancelled")
    assert again.transaction_status == "refund"
    assert len(fake_gateway.state()["transactions"][reference]["refunds"]) == 1


def test_an_unknown_order_status_is_rejected(reference):
    with pytest.raises(GatewayRejected) as caught:
        gateway.gateway_status(order_id=reference)
    assert caught.value.gateway_status_code == "404"
