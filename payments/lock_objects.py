"""Row locks for payment intents. One intent per transaction today; should a service ever
lock several, it locks them in primary-key order like every other app's lock helpers."""

from __future__ import annotations

from typing import Any

from payments.models import PaymentIntent, Refund


def payment_intent_lock(*, intent_id: int) -> PaymentIntent:
    """Lock the intent (FOR UPDATE) and return it fresh. Must run inside a transaction."""
    return PaymentIntent.objects.select_for_update().get(pk=intent_id)


def payment_intent_lock_by_reference(*, reference: str) -> PaymentIntent | None:
    return PaymentIntent.objects.select_for_update().filter(reference=reference).first()


def payment_intent_lock_or_create(*, reference: str, defaults: dict[str, Any]) -> tuple[PaymentIntent, bool]:
    """The intent of this reference, locked, created with `defaults` if there is none yet."""
    return PaymentIntent.objects.select_for_update().get_or_create(reference=reference, defaults=defaults)


def refund_lock(*, refund_id: int) -> Refund:
    """Lock one refund (FOR UPDATE), with its intent read alongside (not locked)."""
    return Refund.objects.select_for_update(of=("self",)).select_related("intent").get(pk=refund_id)
