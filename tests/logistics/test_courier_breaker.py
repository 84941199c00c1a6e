"""The courier's circuit breaker, driven by the fake courier's fault injection over real HTTP
and the real Redis: 500s open it, calls then fail fast without reaching the courier, and probes
close it once the fault is gone. A 4xx answer never opens it; timeouts do."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from analytics.selectors.breakers import breaker_figures
from logistics.adapters.courier import courier_client
from logistics.errors import CourierCircuitOpen, CourierRejected, CourierUnavailable
from okto88.api.problems import problem_exception_handler
from okto88.circuit_breaker import CLOSED, HALF_OPEN, OPEN, breaker_states
from tests.logistics.factories import BANDUNG, JAKARTA_SELATAN, JAYAPURA

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def breaker_settings(settings):
    settings.PARTNER_BREAKER_WINDOW_SECONDS = 60
    settings.PARTNER_BREAKER_SLOT_SECONDS = 10
    settings.PARTNER_BREAKER_MIN_CALLS = 4
    settings.PARTNER_BREAKER_FAILURE_PERCENT = 50
    settings.PARTNER_BREAKER_COOL_DOWN_SECONDS = 1.0
    settings.PARTNER_BREAKER_CLOSE_AFTER = 2
    return settings


def rates(destination=BANDUNG):
    return courier_client().rates_get(origin=JAKARTA_SELATAN, destination=destination, weight_g=1_000)


def courier_breaker() -> dict:
    return breaker_states(partners=("courier",))["courier"]


def failures_left(fake_courier) -> int:
    """The 500s the fake still owes: every request that reaches it while failing takes one."""
    return fake_courier.state()["faults"]["fail_next"]


def test_500s_open_the_breaker_then_calls_fail_fast_and_probes_close_it(fake_courier):
    fake_courier.set_faults(fail_next=100)
    for _ in range(4):
        with pytest.raises(CourierUnavailable) as failed:
            rates()
        assert failed.value.code == "courier_unavailable"  # the courier answered 500
    assert courier_breaker()["state"] == OPEN
    assert failures_left(fake_courier) == 96

    started = time.perf_counter()
    for _ in range(20):
        with pytest.raises(CourierCircuitOpen) as refused:
            rates()
    assert time.perf_counter() - started < 1.0  # no request, no timeout: refused at once
    assert failures_left(fake_courier) == 96  # not one request reached the courier
    assert isinstance(refused.value, CourierUnavailable) and refused.value.code == "courier_circuit_open"
    assert 0 < refused.value.retry_after_seconds <= 1.0

    fake_courier.set_faults()  # the courier recovers
    time.sleep(refused.value.retry_after_seconds + 0.05)
    assert rates()  # the first probe
    assert courier_breaker()["state"] == HALF_OPEN
    assert rates()  # the second closes it
    state = courier_breaker()
    assert (state["state"], state["calls"]) == (CLOSED, 0)


def test_a_failed_probe_keeps_the_courier_paused(fake_courier):
    fake_courier.set_faults(fail_next=100)
    for _ in range(4):
        with pytest.raises(CourierUnavailable):
            rates()
    with pytest.raises(CourierCircuitOpen) as refused:
        rates()
    time.sleep(refused.value.retry_after_seconds + 0.05)

    with pytest.raises(CourierUnavailable) as probe:
        rates()  # the probe reaches the still-failing courier
    assert not isinstance(probe.value, CourierCircuitOpen)
    assert failures_left(fake_courier) == 95
    with pytest.raises(CourierCircuitOpen):
        rates()
    assert courier_breaker()["state"] == OPEN


def test_rejections_are_answers_and_do_not_open_the_breaker(fake_courier):
    fake_courier.set_faults(reject_destination_postal_prefix="99")
    for _ in range(6):
        with pytest.raises(CourierRejected):
            rates(destination=JAYAPURA)  # 422 destination not served

    state = courier_breaker()
    assert (state["state"], state["calls"], state["failure_rate"]) == (CLOSED, 6, 0.0)


def test_timeouts_count_as_failures(fake_courier, settings):
    settings.PARTNER_HTTP_TIMEOUT_SECONDS = 0.3
    fake_courier.set_faults(timeout_next=4, timeout_seconds=0.6)
    for _ in range(4):
        with pytest.raises(CourierUnavailable) as failed:
            rates()
        assert not isinstance(failed.value, CourierCircuitOpen)

    assert courier_breaker()["state"] == OPEN
    with pytest.raises(CourierCircuitOpen):
        rates()


def test_every_operation_goes_through_the_breaker(fake_courier):
    fake_courier.set_faults(fail_next=100)
    for _ in range(4):
        with pytest.raises(CourierUnavailable):
            rates()
    client = courier_client()
    destination = {**BANDUNG}
    calls = [
        lambda: client.shipment_create(reference="SO-BREAKER-1", courier="jne", service="REG", origin=JAKARTA_SELATAN,
                                       destination=destination, weight_g=1_000, callback_url="http://127.0.0.1:9/"),
        lambda: client.shipment_find(reference="SO-BREAKER-1"),
        lambda: client.shipment_cancel(waybill="JNE000"),
    ]
    for call in calls:
        with pytest.raises(CourierCircuitOpen):
            call()
    assert failures_left(fake_courier) == 96


def test_the_refusal_reads_well_in_both_languages_and_as_problem_json(fake_courier):
    fake_courier.set_faults(fail_next=4)
    for _ in range(4):
        with pytest.raises(CourierUnavailable):
            rates()
    with pytest.raises(CourierCircuitOpen) as refused:
        rates()
    error = refused.value
    at = error.until.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M:%S")

    with translation.override("en"):
        assert str(error.message) == f"The courier is failing; calls are paused until {at} WIB."
    with translation.override("id"):
        assert at in str(error.message) and "kurir" in str(error.message).lower()

    response = problem_exception_handler(error, {})
    assert response.status_code == 503
    assert response.data["code"] == "courier_circuit_open"
    assert response.data["paused_until"] == error.until.isoformat()
    assert response.data["retry_after"] == 1


def test_the_open_breaker_is_shown_to_operators_and_to_prometheus(fake_courier, client):
    fake_courier.set_faults(fail_next=4)
    for _ in range(4):
        with pytest.raises(CourierUnavailable):
            rates()

    with translation.override("id"):
        [figure] = breaker_figures()
    rows = {row["partner"]: row for row in figure.rows}
    assert set(rows) == {"Kurir", "Gateway pembayaran"}
    assert rows["Kurir"]["state"] == "Terbuka (panggilan dijeda)"
    assert (rows["Kurir"]["failure_rate"], rows["Kurir"]["calls"]) == (100.0, 4)
    assert rows["Kurir"]["since"] <= rows["Kurir"]["paused_until"]
    assert rows["Gateway pembayaran"]["state"] == "Tertutup (panggilan diteruskan)"
    assert rows["Gateway pembayaran"]["since"] is None

    body = client.get("/metrics").content.decode()
    assert 'okto88_partner_breaker_state{partner="courier"} 2.0' in body
    assert 'okto88_partner_breaker_state{partner="gateway"} 0.0' in body
