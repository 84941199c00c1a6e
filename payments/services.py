"""Payments: intents, the gateway's notifications, cancellations and refunds.

Payments know nothing of orders. An intent carries the order's number as `reference` (the
gateway's order_id); every status change writes an outbox event in the same transaction
(`payment.settled`, `payment.expired`, `payment.cancelled`, `payment.denied`,
`payment.refunded`, `payment.voided`), which the order workflow consumes.

Statuses only move forward: pending → settled | expired | cancelled | denied | voided, and
settled → refunded | voided (terms). Whatever tells us otherwise (a late "pending", a replay)
is recorded and ignored.

Transactions: `payment_notification_receive` is a top-level entry point (durable). The
others are called from the order workflow, possibly inside its own transaction, so they
open a nested one. The gateway calls happen while the intent row is locked: a notification
for the same intent waits until our change is committed and then sees it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from okto88.audit import AuditAction, audit_record
from okto88.services import outbox_event_write
from payments.adapters import gateway
from payments.errors import (
    GatewayRejected,
    GatewayUnavailable,
    InvalidNotification,
    InvalidSignature,
    NotificationStatusMismatch,
    NotificationUnconfirmed,
    PaymentReferenceConflict,
)
from payments.events import payment_status_changed_payload
from payments.lock_objects import (
    payment_intent_lock,
    payment_intent_lock_by_reference,
    payment_intent_lock_or_create,
    refund_lock,
)
from payments.models import PaymentEvent, PaymentIntent, PaymentMethod, PaymentStatus, Refund, RefundStatus

__all__ = [
    "payment_cancel_or_refund",
    "payment_intent_create",
    "payment_intent_expire",
    "payment_intent_refresh",
    "payment_notification_receive",
    "payment_refund_part",
    "payment_refund_send",
    "signature_key_compute",
]

logger = logging.getLogger(__name__)

# Our method → the gateway's payment_type.
PAYMENT_TYPES = {
    PaymentMethod.VIRTUAL_ACCOUNT: "bank_transfer",
    PaymentMethod.QRIS: "qris",
    PaymentMethod.EWALLET: "gopay",
}

# The gateway's transaction_status → ours.
GATEWAY_STATUSES = {
    "pending": PaymentStatus.PENDING,
    "settlement": PaymentStatus.SETTLED,
    "capture": PaymentStatus.SETTLED,
    "expire": PaymentStatus.EXPIRED,
    "cancel": PaymentStatus.CANCELLED,
    "deny": PaymentStatus.DENIED,
    "refund": PaymentStatus.REFUNDED,
    # Part of the money went back (a rejected supplier order's share): the rest is still held.
    "partial_refund": PaymentStatus.SETTLED,
}

FORWARD = {
    PaymentStatus.PENDING: {PaymentStatus.SETTLED, PaymentStatus.EXPIRED, PaymentStatus.CANCELLED,
                            PaymentStatus.DENIED, PaymentStatus.VOIDED},
    PaymentStatus.SETTLED: {PaymentStatus.REFUNDED, PaymentStatus.VOIDED},
}

GATEWAY_CANNOT_MODIFY = "412"
# The status code the gateway signs with each transaction_status (its notification docs).
NOTIFICATION_STATUS_CODES = {
    "pending": "201",
    "settlement": "200", "capture": "200", "refund": "200", "partial_refund": "200",
    "deny": "202", "expire": "202", "cancel": "202",
}
NOTIFICATION_FIELDS = ("order_id", "status_code", "gross_amount", "signature_key", "transaction_status",
                       "transaction_id")


def signature_key_compute(*, order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def _intent_move(*, intent: PaymentIntent, status: str, gateway_transaction_id: str = "") -> bool:
    """Move a locked intent forward and write its outbox event; False if not forward."""
    if status not in FORWARD.get(intent.status, set()):
        return False
    intent.status = status
    fields = ["status", "updated_at"]
    if status == PaymentStatus.SETTLED:
        intent.settled_at = timezone.now()
        fields.append("settled_at")
    if gateway_transaction_id and not intent.gateway_transaction_id:
        intent.gateway_transaction_id = gateway_transaction_id[:64]
        fields.append("gateway_transaction_id")
    intent.save(update_fields=fields)
    _intent_event(intent=intent)
    return True


def _intent_event(*, intent: PaymentIntent) -> None:
    """`payment.<status>` for the intent as it is now."""
    outbox_event_write(
        topic=f"payment.{intent.status}", aggregate_type="payment", aggregate_id=intent.pk,
        payload=payment_status_changed_payload(intent=intent),
    )


# --- Creating -------------------------------------------------------------------------

def payment_intent_create(
    *, reference: str, amount: int, method: str, customer: dict, expires_at: datetime
) -> PaymentIntent:
    """Create the order's payment, or return the one this reference already has.

    terms: settled at once, no gateway call. Prepaid methods: charged at the gateway (the
    charge is idempotent on the reference), pending until its notification says paid. A
    gateway error rolls the new intent back and propagates (GatewayUnavailable: try again).
    """
    if method not in PaymentMethod.values:
        raise ValueError(f"unknown payment method {method!r}")
    # bool is an int subclass: True would otherwise charge Rp 1.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("amount must be a positive number of rupiah")
    if method == PaymentMethod.TERMS:
        # Inside the placement's transaction: no savepoint (two statements on every placement);
        # a conflict ends the caller's transaction, as it ends the placement.
        with transaction.atomic(savepoint=False):
            return _intent_terms(reference=reference, amount=amount, method=method, expires_at=expires_at)
    # A charge runs in a transaction of its own (decision 0001): a gateway error rolls the new
    # intent back.
    with transaction.atomic():
        return _intent_charged(reference=reference, amount=amount, method=method, customer=customer,
                               expires_at=expires_at)


def _intent_terms(*, reference: str, amount: int, method: str, expires_at: datetime | None) -> PaymentIntent:
    """Settled at once: created settled (no gateway), with the event _intent_move writes."""
    intent, created = payment_intent_lock_or_create(
        reference=reference, amount=amount, method=method, status=PaymentStatus.SETTLED,
        expires_at=expires_at, settled_at=timezone.now())
    if created:
        _intent_event(intent=intent)
    else:
        _reference_conflict_check(intent=intent, amount=amount, method=method)
    return intent


def _intent_charged(*, reference: str, amount: int, method: str, customer: dict,
                    expires_at: datetime | None) -> PaymentIntent:
    intent, created = payment_intent_lock_or_create(
        reference=reference, amount=amount, method=method, status=PaymentStatus.PENDING,
        expires_at=expires_at)
    if not created:
        _reference_conflict_check(intent=intent, amount=amount, method=method)
    if intent.status != PaymentStatus.PENDING or intent.gateway_transaction_id:
        return intent  # charged before
    charge = gateway.gateway_charge(
        order_id=reference, gross_amount=amount, payment_type=PAYMENT_TYPES[method],
        customer=customer, expires_at=expires_at,
    )
    intent.gateway_transaction_id = charge.transaction_id[:64]
    intent.bank = charge.bank[:20]
    intent.va_number = charge.va_number[:40]
    intent.qr_string = charge.qr_string
    intent.payment_url = charge.payment_url[:200]
    intent.save(update_fields=["gateway_transaction_id", "bank", "va_number", "qr_string", "payment_url",
                               "updated_at"])
    # A retried charge may find the payment already decided (paid while our first answer
    # was lost); take that over now rather than wait for the notification.
    status = GATEWAY_STATUSES.get(charge.transaction_status)
    if status and status != PaymentStatus.PENDING:
        _intent_move(intent=intent, status=status)
    return intent


def _reference_conflict_check(*, intent: PaymentIntent, amount: int, method: str) -> None:
    if intent.amount != amount or intent.method != method:
        raise PaymentReferenceConflict(
            f"Payment {intent.reference} already exists for Rp {intent.amount} by {intent.method}.",
            extra={"reference": intent.reference},
        )


# --- Ending ---------------------------------------------------------------------------

def _refunded_or_owed(*, intent: PaymentIntent) -> int:
    """What the intent's earlier refunds returned or are returning (requested and sent)."""
    return sum(intent.refunds.exclude(status=RefundStatus.FAILED).values_list("amount", flat=True))


def _refund_audit(*, refund: Refund, intent: PaymentIntent) -> None:
    """One entry per refund, when it is recorded (in the transaction that records it); the actor
    is whoever's request made it (an operator's or a workshop's cancel), else the workflow."""
    audit_record(action=AuditAction.REFUND_ISSUED, target=("payments.refund", refund.pk),
                 changes={"payment": intent.reference, "method": intent.method, "amount": refund.amount,
                          "reason": refund.reason})


def _refund(*, intent: PaymentIntent, reason: str) -> None:
    """Refund what is left of a locked, settled prepaid intent through the gateway: its amount
    less the parts refunded before (payment_refund_part)."""
    # The key is the same on every attempt for this intent's final refund: a retry after a lost
    # answer refunds once at the gateway.
    refund_key = f"{intent.reference}-refund"[:64]
    refund = Refund.objects.filter(gateway_refund_key=refund_key).first()
    if refund is None:
        remainder = intent.amount - _refunded_or_owed(intent=intent)
        if remainder <= 0:
            _intent_move(intent=intent, status=PaymentStatus.REFUNDED)
            return
        refund = Refund.objects.create(gateway_refund_key=refund_key, intent=intent, amount=remainder,
                                       reason=reason[:200])
        _refund_audit(refund=refund, intent=intent)
    gateway.gateway_refund(order_id=intent.reference, refund_key=refund_key, amount=refund.amount, reason=reason)
    refund.status = RefundStatus.SUCCEEDED
    refund.save(update_fields=["status", "updated_at"])
    _intent_move(intent=intent, status=PaymentStatus.REFUNDED)


def payment_refund_part(*, intent: PaymentIntent, amount: int, refund_key: str, reason: str) -> Refund | None:
    """Record that `amount` of a prepaid intent goes back (part of an order that will not ship),
    in the caller's transaction; payment_refund_send sends it to the gateway after commit. The
    same key twice records one refund. A terms intent holds no money: None (the order's credit
    exposure shrinks by itself). A pending intent is cancelled whole when its order closes."""
    if amount <= 0:
        raise ValueError("a refund is a positive amount")
    intent = payment_intent_lock(intent_id=intent.pk)
    if intent.method == PaymentMethod.TERMS or intent.status != PaymentStatus.SETTLED:
        return None
    if _refunded_or_owed(intent=intent) + amount > intent.amount:
        raise ValueError(f"refunds of {intent.reference} would exceed what was paid")
    refund, created = Refund.objects.get_or_create(
        gateway_refund_key=refund_key[:64], defaults={"intent": intent, "amount": amount, "reason": reason[:200]})
    if created:
        _refund_audit(refund=refund, intent=intent)
    return refund


def payment_refund_send(*, refund_id: int) -> Refund:
    """Send a requested refund to the gateway (HTTP; idempotent on its key, so a retry after a
    lost answer refunds once). GatewayUnavailable and GatewayRejected propagate: the refund stays
    requested and the caller retries (payments.tasks.refund_send, and its sweep)."""
    with transaction.atomic():
        refund = refund_lock(refund_id=refund_id)
        if refund.status != RefundStatus.REQUESTED:
            return refund
        gateway.gateway_refund(order_id=refund.intent.reference, refund_key=refund.gateway_refund_key,
                               amount=refund.amount, reason=refund.reason)
        refund.status = RefundStatus.SUCCEEDED
        refund.save(update_fields=["status", "updated_at"])
        return refund


def _gateway_cancel(*, intent: PaymentIntent) -> str | None:
    """Cancel a locked pending intent at the gateway; return the gateway's final status if it
    had already moved on (paid, expired, ...), None when the cancel went through."""
    try:
        gateway.gateway_cancel(order_id=intent.reference)
    except GatewayRejected as exc:
        if exc.gateway_status_code not in {GATEWAY_CANNOT_MODIFY, "404"}:
            raise
        if exc.gateway_status_code == "404":
            return None  # never charged there (a charge that failed): nothing to cancel
        current = gateway.gateway_status(order_id=intent.reference)
        return GATEWAY_STATUSES.get(current.transaction_status)
    return None


def payment_cancel_or_refund(*, intent: PaymentIntent, reason: str) -> PaymentIntent:
    """Give the money back or stop waiting for it, whichever applies; idempotent.

    pending → cancelled at the gateway; settled prepaid → refunded through the gateway;
    terms → voided. Anything already ended is returned as it is. Should the gateway say a
    pending payment was paid meanwhile, it is refunded.
    """
    with transaction.atomic():
        intent = payment_intent_lock(intent_id=intent.pk)
        if intent.method == PaymentMethod.TERMS:
            _intent_move(intent=intent, status=PaymentStatus.VOIDED)
            return intent
        if intent.status == PaymentStatus.PENDING:
            moved_on = _gateway_cancel(intent=intent)
            if moved_on is None or moved_on == PaymentStatus.CANCELLED:
                _intent_move(intent=intent, status=PaymentStatus.CANCELLED)
                return intent
            _intent_move(intent=intent, status=moved_on)
        if intent.status == PaymentStatus.SETTLED:
            _refund(intent=intent, reason=reason)
        return intent


def payment_intent_expire(*, intent: PaymentIntent) -> PaymentIntent:
    """The order's time to pay is up: stop the payment; idempotent.

    A pending prepaid intent is cancelled at the gateway and becomes expired. If the gateway
    says it was paid in the meantime, the intent becomes settled (with its `payment.settled`
    event) and is returned so: the caller must then not expire the order.
    """
    with transaction.atomic():
        intent = payment_intent_lock(intent_id=intent.pk)
        if intent.status != PaymentStatus.PENDING:
            return intent
        if intent.method != PaymentMethod.TERMS:
            moved_on = _gateway_cancel(intent=intent)
            if moved_on is not None and moved_on not in {PaymentStatus.CANCELLED, PaymentStatus.EXPIRED}:
                _intent_move(intent=intent, status=moved_on)
                return intent
        _intent_move(intent=intent, status=PaymentStatus.EXPIRED)
        return intent


def payment_intent_refresh(*, intent: PaymentIntent) -> PaymentIntent:
    """Ask the gateway and take over a status we missed (a lost notification)."""
    with transaction.atomic():
        intent = payment_intent_lock(intent_id=intent.pk)
        if intent.method == PaymentMethod.TERMS:
            return intent
        try:
            current = gateway.gateway_status(order_id=intent.reference)
        except GatewayRejected as exc:
            if exc.gateway_status_code == "404":
                return intent
            raise
        status = GATEWAY_STATUSES.get(current.transaction_status)
        if status:
            _intent_move(intent=intent, status=status, gateway_transaction_id=current.transaction_id)
        return intent


# --- Notifications --------------------------------------------------------------------

def _notification_parse(raw_body: bytes) -> dict | None:
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    if any(not isinstance(payload.get(name), str) or not payload.get(name) for name in NOTIFICATION_FIELDS):
        return None
    return payload


def _storable(value):
    """PostgreSQL text and jsonb cannot hold NUL; anything else is stored as received."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _unverified_excerpt(text: str) -> str:
    """Of a body that does not verify, only its beginning is kept: enough to see what it was."""
    return text[:settings.NOTIFICATION_UNVERIFIED_EXCERPT_CHARS]


def _body_digest(raw_body: bytes) -> str:
    return hashlib.sha256(raw_body).hexdigest()


def _dedupe_key(*parts: str) -> str:
    key = ":".join(parts)
    if len(key) > 200:  # still unique, still stable for the same notification
        key = f"{key[:130]}:{hashlib.sha256(key.encode()).hexdigest()}"
    return key


def _amount_matches(gross_amount: str, amount: int) -> bool:
    try:
        return float(gross_amount) == amount
    except ValueError:
        return False


def _notification_precheck(*, intent: PaymentIntent | None, payload: dict) -> str:
    """Why a verified notification is ignored without asking the gateway ("" if it must be
    confirmed). Read without the lock: statuses only move forward, so a notification that
    would not move the intent now never will; _notification_apply re-checks under the lock."""
    status = GATEWAY_STATUSES.get(payload["transaction_status"])
    if intent is None:
        return "ignored: no payment with this reference"
    if status is None:
        return f"ignored: unknown transaction_status {payload['transaction_status'][:40]}"
    if not _amount_matches(payload["gross_amount"], intent.amount):
        logger.warning("payment notification amount mismatch", extra={"reference": intent.reference})
        return f"ignored: amount {payload['gross_amount'][:30]} is not Rp {intent.amount}"
    if intent.status == status:
        return f"ignored: already {status}"
    if status not in FORWARD.get(intent.status, set()):
        return f"ignored: {intent.status} does not move to {status}"
    return ""


def _notification_confirm(*, intent: PaymentIntent, payload: dict) -> str:
    """Ask the gateway for the transaction (its documented practice: a notification is only a
    hint) and return why the notification disagrees with the answer ("" when it agrees).
    GatewayUnavailable (and an unexpected rejection) propagates: nothing is confirmed."""
    try:
        current = gateway.gateway_status(order_id=intent.reference)
    except GatewayRejected as exc:
        if exc.gateway_status_code != "404":
            raise GatewayUnavailable(exc.message) from exc
        return "the gateway has no transaction for this order"
    if current.transaction_id != payload["transaction_id"]:
        return f"the gateway's transaction is {current.transaction_id[:64]}, not {payload['transaction_id'][:64]}"
    if current.gross_amount != intent.amount:
        return f"the gateway's amount is Rp {current.gross_amount}, not Rp {intent.amount}"
    if current.transaction_status != payload["transaction_status"]:
        return f"the gateway says {current.transaction_status[:20]}, not {payload['transaction_status'][:20]}"
    return ""


def _notification_apply(*, event: PaymentEvent, payload: dict) -> None:
    """Apply a new, verified and confirmed notification to its intent (locked); note the outcome."""
    intent = payment_intent_lock_by_reference(reference=payload["order_id"])
    status = GATEWAY_STATUSES.get(payload["transaction_status"])
    skipped = _notification_precheck(intent=intent, payload=payload)
    if skipped:
        event.outcome = skipped
    elif _intent_move(intent=intent, status=status, gateway_transaction_id=payload["transaction_id"]):
        event.applied = True
        event.outcome = f"{intent.status}"
    else:  # _notification_precheck saw it forward; only a concurrent move changes that
        event.outcome = f"ignored: {intent.status} does not move to {status}"
    event.intent = intent
    event.save(update_fields=["intent", "applied", "outcome"])


def _event_record(*, dedupe_key: str, fields: dict, outcome: str) -> tuple[PaymentEvent, bool]:
    with transaction.atomic(durable=True):
        intent = PaymentIntent.objects.filter(reference=fields.get("reference") or None).first()
        return PaymentEvent.objects.get_or_create(dedupe_key=dedupe_key,
                                                  defaults={**fields, "intent": intent, "outcome": outcome})


def payment_notification_receive(*, raw_body: bytes) -> PaymentEvent:
    """Record a gateway notification and apply it if it is genuine, confirmed, new and forward.

    Returns the PaymentEvent; `event.is_duplicate` is True when this notification had
    been received before (nothing was done again), `event.is_refused` when the gateway's own
    status request disagrees with it (its status, transaction id or amount): stored, logged,
    not applied. Raises, after recording the attempt in its own committed row:
    InvalidNotification (unreadable), InvalidSignature (forged), NotificationStatusMismatch
    (transaction_status does not go with the signed status_code: relabelled), and
    NotificationUnconfirmed (the status request failed; the gateway sends it again).

    The signature covers order_id, status_code and gross_amount only, not transaction_status
    or transaction_id; so the status must agree with the status code, and every change is
    confirmed with GET /v2/{order_id}/status before it is applied (outside any transaction:
    no lock is held over HTTP; the apply re-checks under the intent's lock).

    Dedupe: a confirmed notification is keyed by transaction_id + transaction_status under
    the unique `dedupe_key`. Unverified or refused bodies are keyed by their digest instead,
    so a forged notification can never take the key of the genuine one and have it discarded
    as a duplicate. A valid one for an unknown reference (our intent not committed yet), and
    one that could not be confirmed, are keyed uniquely: a redelivery must still be applied.
    """
    payload = _notification_parse(raw_body)
    text = _storable(raw_body.decode("utf-8", errors="replace"))
    digest = _body_digest(raw_body)
    if payload is None:
        event, _ = _event_record(dedupe_key=_dedupe_key("unreadable", digest),
                                 fields={"raw_body": _unverified_excerpt(text)},
                                 outcome="refused: unreadable notification")
        raise InvalidNotification("The notification is not JSON with order_id, status_code, gross_amount, "
                                  "signature_key, transaction_status and transaction_id.", event=event)
    expected = signature_key_compute(
        order_id=payload["order_id"], status_code=payload["status_code"],
        gross_amount=payload["gross_amount"], server_key=settings.PAYMENT_GATEWAY_SERVER_KEY,
    )
    valid = hmac.compare_digest(expected.encode(), payload["signature_key"].encode())
    stored = _storable(payload)
    fields = {"reference": stored["order_id"][:40], "transaction_status": stored["transaction_status"][:20],
              "raw_body": text, "payload": stored, "signature_valid": valid}
    log_extra = {"reference": fields["reference"], "transaction_status": fields["transaction_status"]}
    if not valid:
        event, _ = _event_record(dedupe_key=_dedupe_key("forged", digest),
                                 fields={**fields, "raw_body": _unverified_excerpt(text), "payload": None},
                                 outcome="refused: invalid signature")
        logger.warning("forged payment notification", extra=log_extra)
        raise InvalidSignature(event=event)
    status_code = NOTIFICATION_STATUS_CODES.get(payload["transaction_status"])
    if status_code is not None and status_code != payload["status_code"]:
        event, _ = _event_record(
            dedupe_key=_dedupe_key("refused", digest), fields=fields,
            outcome=f"refused: transaction_status {fields['transaction_status']} does not go with status_code "
                    f"{payload['status_code'][:10]} (it is {status_code})")
        logger.warning("relabelled payment notification refused", extra=log_extra)
        raise NotificationStatusMismatch(
            f"A {fields['transaction_status']} notification has status_code {status_code}, not "
            f"{payload['status_code'][:10]}.", event=event)

    key = _dedupe_key(stored["transaction_id"], stored["transaction_status"])
    intent = PaymentIntent.objects.filter(reference=payload["order_id"]).first()
    if intent is None:
        key = _dedupe_key(key, "unmatched", uuid.uuid4().hex)
    elif not PaymentEvent.objects.filter(dedupe_key=key).exists() and not _notification_precheck(
            intent=intent, payload=payload):
        try:
            disagreement = _notification_confirm(intent=intent, payload=payload)
        except GatewayUnavailable as exc:
            event, _ = _event_record(dedupe_key=_dedupe_key(key, "unconfirmed", uuid.uuid4().hex), fields=fields,
                                     outcome=f"deferred: the gateway's status request failed: {exc.message}"[:200])
            logger.warning("payment notification not confirmed: status request failed", extra=log_extra)
            raise NotificationUnconfirmed(event=event) from exc
        if disagreement:
            event, _ = _event_record(dedupe_key=_dedupe_key("refused", digest), fields=fields,
                                     outcome=f"refused: {disagreement}"[:200])
            logger.warning("payment notification refused: %s", disagreement, extra=log_extra)
            event.is_duplicate, event.is_refused = False, True
            return event
    with transaction.atomic(durable=True):
        event, created = PaymentEvent.objects.get_or_create(dedupe_key=key, defaults=fields)
        event.is_duplicate, event.is_refused = not created, False
        if created:
            _notification_apply(event=event, payload=payload)
    return event
