"""The payments' events: one payload builder for the `payment.<status>` topics (payments.services
writes them as an intent moves forward), and the topics' contract."""

from __future__ import annotations

from typing import Any

from okto88.events import EventTopic, event_topics_register, prop
from payments.models import PaymentIntent, PaymentMethod, PaymentStatus


def payment_status_changed_payload(*, intent: PaymentIntent) -> dict[str, Any]:
    return {"reference": intent.reference, "intent_id": intent.pk, "amount": intent.amount,
            "status": intent.status, "method": intent.method}


_ON_PAYMENT = ("orders.on_payment_event",)
_MEANINGS = {
    PaymentStatus.SETTLED: ("The payment was received (or the order is paid on terms).", _ON_PAYMENT),
    PaymentStatus.EXPIRED: ("The payment window closed unpaid.", _ON_PAYMENT),
    PaymentStatus.CANCELLED: ("The payment was cancelled before it was paid.", _ON_PAYMENT),
    PaymentStatus.DENIED: ("The gateway denied the payment.", _ON_PAYMENT),
    PaymentStatus.REFUNDED: ("A settled payment was refunded.", ()),
    PaymentStatus.VOIDED: ("The payment was voided at the gateway.", ()),
}
PAYMENT_TOPICS = tuple(
    EventTopic(
        name=f"payment.{status}", version=1, aggregate_type="payment", producer="payments.services",
        builder="payments.events.payment_status_changed_payload", summary=meaning, consumers=consumers,
        payload={
            "reference": prop("string", "What the payment is for: the order number."),
            "intent_id": prop("integer", "The payment intent's id (also the event's aggregate_id)."),
            "amount": prop("integer", "The amount in rupiah.", minimum=0),
            "status": prop("string", "The payment's new status.", const=str(status)),
            "method": prop("string", "The payment method.", enum=list(PaymentMethod.values)),
        },
    )
    for status, (meaning, consumers) in _MEANINGS.items()
)

event_topics_register(*PAYMENT_TOPICS)
