"""Payment errors with stable codes (the API renders them as problem+json).

`GatewayUnavailable` is transient (retry later with the same reference: the gateway's
charge, cancel and refund are idempotent on order id / refund key); `GatewayRejected` is
permanent (the gateway said no: fix the request, do not retry). `GatewayCircuitOpen` is
GatewayUnavailable when our circuit breaker refused the call without sending it;
`retry_after_seconds` says when the breaker lets a call through again.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy

from okto88.errors import (
    ApplicationError,
    Conflict,
    NotificationInvalid,
    NotificationSignatureInvalid,
    ServiceUnavailable,
)

# The message is formatted when read, in the reader's language (a lazy string, like its title).
_format_lazy = lazy(lambda template, **values: str(template).format(**values), str)


class GatewayUnavailable(ServiceUnavailable):
    code = "gateway_unavailable"
    title = gettext_lazy("The payment gateway is unavailable; try again later.")
    transient = True


class GatewayCircuitOpen(GatewayUnavailable):
    code = "gateway_circuit_open"
    title = gettext_lazy("The payment gateway is failing; calls to it are paused for a moment.")

    def __init__(self, *, until: datetime, retry_after_seconds: float):
        self.until = until
        self.retry_after_seconds = retry_after_seconds
        at = until.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M:%S")
        message = _format_lazy(gettext_lazy("The payment gateway is failing; calls are paused until {until} WIB."),
                               until=at)
        super().__init__(message, extra={"paused_until": until.isoformat(),
                                         "retry_after": max(1, round(retry_after_seconds))})


class GatewayRejected(ApplicationError):
    code = "gateway_rejected"
    status = 502
    title = gettext_lazy("The payment gateway rejected the request.")
    transient = False

    def __init__(self, message: str | None = None, *, gateway_status_code: str = "", extra: dict | None = None):
        self.gateway_status_code = gateway_status_code
        super().__init__(message, extra={"gateway_status_code": gateway_status_code, **(extra or {})})


class PaymentReferenceConflict(Conflict):
    code = "payment_reference_conflict"
    title = gettext_lazy("A payment with this reference already exists with a different amount or method.")


class InvalidNotification(NotificationInvalid):
    title = gettext_lazy("The payment notification could not be read.")

    def __init__(self, message: str | None = None, *, event=None):
        self.event = event
        super().__init__(message)


class InvalidSignature(NotificationSignatureInvalid):
    title = gettext_lazy("The payment notification's signature is not valid.")

    def __init__(self, message: str | None = None, *, event=None):
        self.event = event
        super().__init__(message)


class NotificationStatusMismatch(InvalidNotification):
    code = "notification_status_mismatch"
    title = gettext_lazy("The notification's transaction_status does not go with its status_code.")


class NotificationUnconfirmed(ServiceUnavailable):
    """The gateway's status request, which confirms every notification, failed: the
    notification is stored but not applied; the gateway sends it again."""

    code = "notification_unconfirmed"
    title = gettext_lazy("The payment gateway could not confirm the notification now; send it again later.")
    transient = True

    def __init__(self, message: str | None = None, *, event=None):
        self.event = event
        super().__init__(message)
