"""Logistics domain errors. The courier adapter raises the first three; services re-export them.

Callers (the order workflow) need one distinction only: CourierUnavailable is transient (retry
with backoff, the same request is safe to repeat), CourierRejected is permanent (compensate).
CourierCircuitOpen is CourierUnavailable when our circuit breaker refused the call without
sending it; `retry_after_seconds` says when the breaker lets a call through again.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError, Conflict, NotificationInvalid, NotificationSignatureInvalid

# The message is formatted when read, in the reader's language (a lazy string, like its title).
_format_lazy = lazy(lambda template, **values: str(template).format(**values), str)


class CourierUnavailable(ApplicationError):
    code = "courier_unavailable"
    status = 503
    title = gettext_lazy("The courier cannot be reached right now; try again later.")


class CourierCircuitOpen(CourierUnavailable):
    code = "courier_circuit_open"
    title = gettext_lazy("The courier is failing; calls to it are paused for a moment.")

    def __init__(self, *, until: datetime, retry_after_seconds: float):
        self.until = until
        self.retry_after_seconds = retry_after_seconds
        at = until.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M:%S")
        message = _format_lazy(gettext_lazy("The courier is failing; calls are paused until {until} WIB."), until=at)
        super().__init__(message, extra={"paused_until": until.isoformat(),
                                         "retry_after": max(1, round(retry_after_seconds))})


class CourierRejected(ApplicationError):
    code = "courier_rejected"
    status = 422
    title = gettext_lazy("The courier refused the request.")


class InvalidShipmentRequest(CourierRejected):
    """Refused before asking the courier: unknown carrier, incomplete address, bad weight."""

    code = "invalid_shipment_request"
    status = 400
    title = gettext_lazy("The shipment request is not valid.")


class ShipmentNotCancellable(Conflict):
    code = "shipment_not_cancellable"
    title = gettext_lazy("The shipment can no longer be cancelled.")


class InvalidTrackingSignature(NotificationSignatureInvalid):
    """A courier tracking notification whose signature does not verify."""


class InvalidTrackingNotification(NotificationInvalid):
    """A courier tracking notification that cannot be read."""
