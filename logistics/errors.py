"""Logistics domain errors. The courier adapter raises the first two; services re-export them.

Callers (the order workflow) need one distinction only: CourierUnavailable is transient (retry
with backoff, the same request is safe to repeat), CourierRejected is permanent (compensate).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import ApplicationError, Conflict, NotificationInvalid, NotificationSignatureInvalid


class CourierUnavailable(ApplicationError):
    code = "courier_unavailable"
    status = 503
    title = gettext_lazy("The courier cannot be reached right now; try again later.")


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
