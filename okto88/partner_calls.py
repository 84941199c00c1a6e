"""The one place an outbound partner call is recorded and guarded by its breaker.

Every adapter (payments/adapters/gateway.py, logistics/adapters/courier.py) makes its HTTP
request inside `partner_call` (the webhook deliveries, a batch of requests to one endpoint at a
time, inside `partner_call_batch`, below):

    with partner_call(partner="courier", operation="book") as call:
        response = session.post(...)
        call.status = response.status_code

The block runs only if the partner's breaker lets the call go (else `CircuitOpen` is raised
before any request, recorded as outcome "open"). Then the call is timed and classified:

    ok        2xx/3xx
    rejected  4xx other than 429: the partner answered no (not a breaker failure)
    error     5xx, 429, connection error, anything else raised before a status was set
    timeout   requests' Timeout

and goes to okto88.recording ("partner", (partner, operation)) and to the breaker (error and
timeout are its failures). Exceptions raised in the block propagate unchanged; a caller that
catches its own exception sets `call.error` instead, and a block that sets neither a status
nor an error counts as an error. Keep the block to the request and reading its status, so the
time is the partner's. `CircuitOpen` is not a domain error: each caller turns it into its own
(the adapters' CourierCircuitOpen, GatewayCircuitOpen).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from okto88.circuit_breaker import CircuitOpen, breaker_permit, breaker_report
from okto88.recording import record

OK, REJECTED, ERROR, TIMEOUT, OPEN = "ok", "rejected", "error", "timeout", "open"
OUTCOMES = (OK, REJECTED, ERROR, TIMEOUT, OPEN)
BREAKER_FAILURES = frozenset({ERROR, TIMEOUT})


@dataclass
class PartnerCall:
    """What the block tells the wrapper: the partner's HTTP status, or the exception it caught."""

    status: int | None = None
    error: BaseException | None = None
    outcome: str = ""  # set when the block ends


def call_outcome(*, status: int | None = None, error: BaseException | None = None) -> str:
    """How a partner call went, from its HTTP status or the exception that ended it."""
    if status is not None:
        if status == 429 or status >= 500:
            return ERROR
        return REJECTED if status >= 400 else OK
    if isinstance(error, requests.Timeout):
        return TIMEOUT
    return ERROR


@contextmanager
def partner_call(*, partner: str, operation: str) -> Iterator[PartnerCall]:
    """Guard, time, classify and record one call to `partner` (see the module docstring).
    Raises CircuitOpen, without running the block, while the partner's breaker is open."""
    try:
        permit = breaker_permit(partner)
    except CircuitOpen:
        record("partner", (partner, operation), 0.0, OPEN)
        raise
    call = PartnerCall()
    started = time.perf_counter()
    try:
        yield call
    except BaseException as exc:
        # A status set before the exception wins (the caller raised its own error after the
        # partner answered); otherwise the exception says what happened.
        call.outcome = call_outcome(status=call.status, error=call.error or exc)
        raise
    else:
        call.outcome = call_outcome(status=call.status, error=call.error)
    finally:
        seconds = time.perf_counter() - started
        record("partner", (partner, operation), seconds, call.outcome or ERROR)
        breaker_report(permit, failed=(call.outcome or ERROR) in BREAKER_FAILURES)


class PartnerCallBatch:
    """The calls of one partner_call_batch; each `call()` is timed, classified and recorded as
    partner_call does."""

    def __init__(self, *, partner: str, operation: str):
        self.partner, self.operation = partner, operation
        self.last_outcome = ""

    @contextmanager
    def call(self) -> Iterator[PartnerCall]:
        call = PartnerCall()
        started = time.perf_counter()
        try:
            yield call
        except BaseException as exc:
            call.outcome = call_outcome(status=call.status, error=call.error or exc)
            raise
        else:
            call.outcome = call_outcome(status=call.status, error=call.error)
        finally:
            self.last_outcome = call.outcome or ERROR
            record("partner", (self.partner, self.operation), time.perf_counter() - started, self.last_outcome)


@contextmanager
def partner_call_batch(*, partner: str, operation: str) -> Iterator[PartnerCallBatch]:
    """Several calls to one partner one after another (a batch of webhook deliveries over one
    connection): each recorded as partner_call records it, but the breaker asked once before the
    first (CircuitOpen raised as partner_call does) and told once after the last — the batch
    counts as one call for it, failed if its last call failed (a batch stops at a failure)."""
    try:
        permit = breaker_permit(partner)
    except CircuitOpen:
        record("partner", (partner, operation), 0.0, OPEN)
        raise
    batch = PartnerCallBatch(partner=partner, operation=operation)
    try:
        yield batch
    finally:
        if batch.last_outcome:  # no call made: nothing to tell (a probe's token expires by itself)
            breaker_report(permit, failed=batch.last_outcome in BREAKER_FAILURES)
