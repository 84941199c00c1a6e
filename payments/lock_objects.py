"""Row locks for payment intents. One intent per transaction today; should a service ever
lock several, it locks them in primary-key order like every other app's lock helpers."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from payments.models import PaymentIntent, Refund


def payment_intent_lock(*, intent_id: int) -> PaymentIntent:
    """Lock the intent (FOR UPDATE) and return it fresh. Must run inside a transaction."""
    return PaymentIntent.objects.select_for_update().get(pk=intent_id)


def payment_intent_lock_by_reference(*, reference: str) -> PaymentIntent | None:
    return PaymentIntent.objects.select_for_update().filter(reference=reference).first()


# One statement for the usual case (no intent yet): the new row is the transaction's own, so
# locked; a reference that has one already inserts nothing, and that row is then locked.
_INTENT_INSERT_SQL = """
INSERT INTO payments_paymentintent
    (reference, amount, method, status, bank, va_number, qr_string, payment_url, gateway_transaction_id,
     expires_at, settled_at, created_at, updated_at)
VALUES (%s, %s, %s, %s, '', '', '', '', '', %s, %s, %s, %s)
ON CONFLICT (reference) DO NOTHING
RETURNING id
"""


def payment_intent_lock_or_create(*, reference: str, amount: int, method: str, status: str,
                                  expires_at: datetime | None,
                                  settled_at: datetime | None = None) -> tuple[PaymentIntent, bool]:
    """The intent of this reference, locked, created with these fields if there is none yet
    (and then True). Must run inside a transaction."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_INTENT_INSERT_SQL, [reference, amount, method, status, expires_at, settled_at, now, now])
        row = cursor.fetchone()
    if row is None:
        return PaymentIntent.objects.select_for_update().get(reference=reference), False
    intent = PaymentIntent(pk=row[0], reference=reference, amount=amount, method=method, status=status,
                           expires_at=expires_at, settled_at=settled_at, created_at=now, updated_at=now)
    intent._state.adding, intent._state.db = False, connection.alias
    return intent, True


def refund_lock(*, refund_id: int) -> Refund:
    """Lock one refund (FOR UPDATE), with its intent read alongside (not locked)."""
    return Refund.objects.select_for_update(of=("self",)).select_related("intent").get(pk=refund_id)

