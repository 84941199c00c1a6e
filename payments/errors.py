"""Payment errors with stable codes (the API renders them as problem+json).

`GatewayUnavailable` is transient (retry later with the same reference: the gateway's
charge, cancel and refund are idempotent on order id / refund key); `GatewayRejected` is
permanent (the gateway said no: fix the request, do not retry).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from okto88.errors import (
    ApplicationError,
    Conflict,
    NotificationInvalid,
    NotificationSignatureInvalid,
    ServiceUnavailable,
)


class GatewayUnavailable(ServiceUnavailable):
    code = "gateway_unavailable"
    title = gettext_lazy("The payment gateway is unavailable; try again later.")
    transient = True


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
