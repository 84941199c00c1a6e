"""The payment gateway's circuit breaker, against the fake gateway over real HTTP and the real
Redis: 500s open it and calls then fail fast without reaching the gateway (a transient error
the callers already retry), rejections never open it, probes close it."""

from __future__ import annotations

import time

import pytest

from okto88.circuit_breaker import CLOSED, OPEN, breaker_states
from payments.adapters import gateway
from payments.errors import GatewayCircuitOpen, GatewayRejected, GatewayUnavailable


@pytest.fixture(autouse=True)
def breaker_settings(settings):
    settings.PARTNER_BREAKER_WINDOW_SECONDS = 60
    settings.PARTNER_BREAKER_SLOT_SECONDS = 10
    settings.PARTNER_BREAKER_MIN_CALLS = 3
    settings.PARTNER_BREAKER_FAILURE_PERCENT = 50
    settings.PARTNER_BREAKER_COOL_DOWN_SECONDS = 1.0
    settings.PARTNER_BREAKER_CLOSE_AFTER = 1
    return settings


def gateway_breaker() -> dict:
    return breaker_states(partners=("gateway",))["gateway"]


def failures_left(fake_gateway) -> int:
    return fake_gateway.state()["faults"]["fail_next"]


def test_500s_open_it_every_operation_then_fails_fast_and_a_probe_closes_it(reference, fake_gateway):
    fake_gateway.set_faults(fail_next=50)
    for _ in range(3):
        with pytest.raises(GatewayUnavailable) as failed:
            gateway.gateway_status(order_id=reference)
        assert failed.value.code == "gateway_unavailable"
    assert gateway_breaker()["state"] == OPEN

    operations = [
        lambda: gateway.gateway_charge(order_id=reference, gross_amount=150_000, payment_type="qris"),
        lambda: gateway.gateway_status(order_id=reference),
        lambda: gateway.gateway_cancel(order_id=reference),
        lambda: gateway.gateway_refund(order_id=reference, refund_key=f"{reference}-R1", amount=1, reason="test"),
    ]
    for operation in operations:
        with pytest.raises(GatewayCircuitOpen) as refused:
            operation()
        assert refused.value.code == "gateway_circuit_open" and refused.value.transient
        assert isinstance(refused.value, GatewayUnavailable)
    assert failures_left(fake_gateway) == 47  # not one of them reached the gateway
    assert reference not in fake_gateway.state()["transactions"]

    fake_gateway.set_faults()
    time.sleep(refused.value.retry_after_seconds + 0.05)
    answer = gateway.gateway_charge(order_id=reference, gross_amount=150_000, payment_type="qris")  # the probe
    assert answer.transaction_status == "pending"
    assert gateway_breaker()["state"] == CLOSED


def test_rejections_do_not_open_it(reference, fake_gateway):
    fake_gateway.set_faults(reject_next=5)
    for _ in range(5):
        with pytest.raises(GatewayRejected):
            gateway.gateway_status(order_id=reference)
    state = gateway_breaker()
    assert (state["state"], state["calls"], state["failure_rate"]) == (CLOSED, 5, 0.0)


def test_timeouts_open_it(reference, fake_gateway, settings):
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 0.3
    fake_gateway.set_faults(timeout_next=3, timeout_ms=600)
    for _ in range(3):
        with pytest.raises(GatewayUnavailable) as failed:
            gateway.gateway_status(order_id=reference)
        assert not isinstance(failed.value, GatewayCircuitOpen)
    with pytest.raises(GatewayCircuitOpen):
        gateway.gateway_status(order_id=reference)
