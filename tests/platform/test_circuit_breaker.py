"""The partner circuit breaker's state machine against the real Redis, with windows and
cool-downs shortened through the settings."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from okto88 import circuit_breaker
from okto88.circuit_breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    PARTNERS_KEY,
    CircuitOpen,
    breaker_permit,
    breaker_report,
    breaker_states,
)
from okto88.partner_calls import call_outcome, partner_call
from okto88.redis_connection import redis_client


@pytest.fixture
def breaker_settings(settings):
    settings.PARTNER_BREAKER_WINDOW_SECONDS = 60
    settings.PARTNER_BREAKER_SLOT_SECONDS = 10
    settings.PARTNER_BREAKER_MIN_CALLS = 4
    settings.PARTNER_BREAKER_FAILURE_PERCENT = 50
    settings.PARTNER_BREAKER_COOL_DOWN_SECONDS = 0.6
    settings.PARTNER_BREAKER_CLOSE_AFTER = 2
    settings.PARTNER_BREAKER_PROBE_TTL_SECONDS = 5
    return settings


@pytest.fixture
def partner(breaker_settings):
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    redis_client().delete(*(f"okto88:breaker:{name}{suffix}" for suffix in ("", ":window", ":probe")))
    redis_client().srem(PARTNERS_KEY, name)


def calls(partner: str, *outcomes: bool) -> list[str | None]:
    """One permitted call per outcome (True: it failed); the breaker's state after each."""
    return [breaker_report(breaker_permit(partner), failed=failed) for failed in outcomes]


def state_of(partner: str) -> dict:
    return breaker_states(partners=(partner,))[partner]


def wait_for_cool_down(partner: str) -> None:
    with pytest.raises(CircuitOpen) as refused:
        breaker_permit(partner)
    time.sleep(refused.value.retry_after_seconds + 0.05)


def test_a_new_partner_is_closed_and_lets_calls_through(partner):
    permit = breaker_permit(partner)
    assert permit.partner == partner and permit.probe_token == ""
    assert state_of(partner) == {"state": CLOSED, "since": None, "until": None, "failure_rate": 0.0, "calls": 0}


def test_it_opens_only_once_the_minimum_of_calls_is_reached(partner):
    assert calls(partner, True, True, True) == [CLOSED] * 3  # 100 % failures, but 3 < 4 calls
    assert calls(partner, True) == [OPEN]

    before = datetime.now(UTC)
    with pytest.raises(CircuitOpen) as refused:
        breaker_permit(partner)
    assert refused.value.partner == partner
    assert before < refused.value.until <= before + timedelta(seconds=0.6)
    state = state_of(partner)
    assert (state["state"], state["calls"], state["failure_rate"]) == (OPEN, 4, 1.0)
    assert state["until"] == refused.value.until


def test_a_failure_rate_under_the_threshold_keeps_it_closed(partner):
    assert calls(partner, False, False, True, False, True) == [CLOSED] * 5  # 2 of 5: 40 %
    assert state_of(partner)["failure_rate"] == pytest.approx(0.4)
    assert calls(partner, True) == [OPEN]  # 3 of 6: 50 %


def test_failures_older_than_the_window_no_longer_count(partner, breaker_settings):
    breaker_settings.PARTNER_BREAKER_WINDOW_SECONDS = 2
    breaker_settings.PARTNER_BREAKER_SLOT_SECONDS = 1
    calls(partner, True, True, True)
    time.sleep(2.1)
    assert calls(partner, True) == [CLOSED]  # one failure in the window, not four
    assert state_of(partner)["calls"] == 1


def test_after_the_cool_down_probes_go_one_at_a_time_and_close_it(partner):
    calls(partner, True, True, True, True)
    wait_for_cool_down(partner)
    assert state_of(partner)["state"] == HALF_OPEN  # shown as half-open: the next call probes

    probe = breaker_permit(partner)
    assert probe.probe_token
    with pytest.raises(CircuitOpen):
        breaker_permit(partner)  # the probe is out: everyone else waits for its answer
    assert breaker_report(probe, failed=False) == HALF_OPEN  # one of two successes

    second = breaker_permit(partner)
    assert second.probe_token
    assert breaker_report(second, failed=False) == CLOSED
    state = state_of(partner)
    assert (state["state"], state["calls"]) == (CLOSED, 0)  # the failures before it are forgotten
    assert state["since"] is not None
    assert breaker_permit(partner).probe_token == ""


def test_a_failed_probe_opens_it_for_another_cool_down(partner):
    calls(partner, True, True, True, True)
    wait_for_cool_down(partner)
    probe = breaker_permit(partner)

    assert breaker_report(probe, failed=True) == OPEN

    with pytest.raises(CircuitOpen) as refused:
        breaker_permit(partner)
    assert refused.value.retry_after_seconds > 0.3


def test_a_probe_that_never_answers_frees_its_turn_after_its_ttl(partner, breaker_settings):
    breaker_settings.PARTNER_BREAKER_PROBE_TTL_SECONDS = 0.3
    calls(partner, True, True, True, True)
    wait_for_cool_down(partner)
    breaker_permit(partner)  # a probe whose process dies before reporting
    with pytest.raises(CircuitOpen) as refused:
        breaker_permit(partner)
    assert refused.value.retry_after_seconds <= 0.3 + 1e-3  # the clock is read as a float: a microsecond over

    time.sleep(0.35)
    assert breaker_permit(partner).probe_token


def test_calls_let_through_before_it_opened_do_not_move_it(partner):
    early = breaker_permit(partner)
    calls(partner, True, True, True, True)
    assert breaker_report(early, failed=False) == OPEN  # only probes decide now
    assert state_of(partner)["calls"] == 4


def test_when_redis_is_down_calls_go_through_and_it_is_logged_once(partner, settings, monkeypatch, caplog):
    working_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    monkeypatch.setattr(circuit_breaker, "_health", circuit_breaker._RedisHealth())
    monkeypatch.setattr(circuit_breaker, "REDIS_DOWN_PAUSE_SECONDS", 0.0)  # ask Redis on every call
    redis_client.cache_clear()
    circuit_breaker._scripts.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="okto88.circuit_breaker"):
            for _ in range(3):
                permit = breaker_permit(partner)
                assert breaker_report(permit, failed=True) is None
        assert breaker_states(partners=(partner,)) == {}
    finally:
        settings.REDIS_URL = working_url
        redis_client.cache_clear()
        circuit_breaker._scripts.cache_clear()
    unavailable = [r for r in caplog.records if "partner calls go through unchecked" in r.getMessage()]
    assert len(unavailable) == 1


# --- the partner call wrapper (okto88/partner_calls.py) -------------------------------------

@pytest.mark.parametrize(("status", "outcome"), [
    (200, "ok"), (201, "ok"), (302, "ok"), (400, "rejected"), (404, "rejected"), (409, "rejected"),
    (422, "rejected"), (429, "error"), (500, "error"), (502, "error"), (503, "error"),
])
def test_an_answer_is_classified_by_its_status(status, outcome):
    assert call_outcome(status=status) == outcome


@pytest.mark.parametrize(("error", "outcome"), [
    (requests.ReadTimeout(), "timeout"), (requests.ConnectTimeout(), "timeout"),
    (requests.ConnectionError(), "error"), (ValueError("unreadable"), "error"),
])
def test_a_call_that_raised_is_classified_by_its_exception(error, outcome):
    assert call_outcome(error=error) == outcome


def test_a_refused_call_never_runs_its_block(partner):
    calls(partner, True, True, True, True)
    ran = []
    with pytest.raises(CircuitOpen), partner_call(partner=partner, operation="book"):
        ran.append("sent")
    assert ran == []


def test_the_wrapper_tells_the_breaker_what_each_call_was(partner, breaker_settings):
    breaker_settings.PARTNER_BREAKER_MIN_CALLS = 5
    with partner_call(partner=partner, operation="book") as call:
        call.status = 422
    assert call.outcome == "rejected"
    with pytest.raises(requests.ConnectionError), partner_call(partner=partner, operation="book") as call:
        raise requests.ConnectionError("refused")
    assert call.outcome == "error"
    with pytest.raises(KeyError), partner_call(partner=partner, operation="book") as call:
        call.status = 200  # the partner answered; the caller could not read the answer
        raise KeyError("waybill")
    assert call.outcome == "ok"
    with partner_call(partner=partner, operation="book") as call:
        call.error = requests.ReadTimeout()  # a caller that catches its own exceptions
    assert call.outcome == "timeout"

    state = state_of(partner)
    assert (state["state"], state["calls"], state["failure_rate"]) == (CLOSED, 4, 0.5)
