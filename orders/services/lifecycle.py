"""After placement: the charge of a prepaid order, the start of the fulfilment chain, and closing
an order (cancel, expire, fail, close unpaid) with its stock and money given back."""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from typing import Any

from celery import chain, signature
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from okto88.celery import task_send
from orders.errors import OrderNotCancellable
from orders.lock_objects import order_lock
from orders.models import Order, OrderEvent, OrderLine, OrderStatus, SupplierOrder, SupplierOrderStatus
from orders.state import TERMINAL, order_transition, supplier_orders_move
from orders.timeline import order_event_write
from payments import services as payment_services
from payments.errors import GatewayRejected, GatewayUnavailable
from payments.models import PaymentStatus
from suppliers import services as supplier_services
from suppliers.models import MovementReason, StockMovement

logger = logging.getLogger(__name__)

CANCELLABLE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.IN_FULFILMENT})


# --- Charging a prepaid order (placement's phase 3) --------------------------------------------

def order_payment_start(*, order: Order, actor: Any = None) -> Order:
    """Prepaid: create the payment intent at the gateway (HTTP, outside any transaction of ours)
    and attach it to the order. Safe to repeat: the gateway and payment_intent_create are
    idempotent on the order number. GatewayUnavailable propagates (the caller retries with the
    same Idempotency-Key, or the order expires); GatewayRejected fails the order, releases its
    stock, and propagates."""
    if order.payment_intent_id is not None or order.status != OrderStatus.PENDING_PAYMENT:
        return order
    address = order.delivery_address
    try:
        # The intent commits on its own before the order is touched (decision 0001): a cancel
        # that locks the order meanwhile finds it by its reference and cancels it at the gateway,
        # and no transaction holds the intent while waiting for the order (the order → payment
        # intent lock order of every other path).
        intent = payment_services.payment_intent_create(
            reference=order.number, amount=order.grand_total, method=order.payment_method,
            customer={"name": order.workshop.name, "email": getattr(actor, "email", "") or "",
                      "phone": address.get("phone", "")},
            expires_at=order.expires_at)
    except GatewayRejected as exc:
        logger.warning("payment refused for order %s: %s", order.number, exc.message)
        _order_stop(order=order, to=OrderStatus.FAILED, actor=actor,
                    reason=gettext_noop("payment refused by the gateway"), step="payment_start")
        raise
    # The UPDATE takes the order's row lock and attaches only if no intent is attached yet.
    now = timezone.now()
    with transaction.atomic(durable=True):
        if Order.objects.filter(pk=order.pk, payment_intent__isnull=True).update(payment_intent=intent,
                                                                                 updated_at=now):
            order_event_write(order=order, kind="payment.requested", actor=actor, step="payment_start",
                              data={"method": intent.method, "intent": intent.pk})
            order.updated_at = now
    order.payment_intent = intent
    return order

# --- Enqueuing the workflow and payment returns ---------------------------------------------
#
# Only services enqueue tasks, after commit and by task name (orders/tasks.py declares the
# names): orders/workflow.py and orders/tasks.py import this module, never the reverse. The
# steps' order is here because placement starts the chain; what each step does, and how the
# order moves on from there, is in orders/workflow.py.

# The order's own step, once paid: its supplier orders are opened for their suppliers' answers.
STEPS = ["open_for_acceptance"]
STEP_TASKS = {step: f"orders.step_{step}" for step in STEPS}
# Each supplier order's own workflow: started by its supplier's answer (commit_stock) and by
# its supplier marking it ready to ship (book_courier); pickup and delivery come from the courier.
SUPPLIER_ORDER_STEPS = ["commit_stock", "book_courier"]
SUPPLIER_ORDER_STEP_TASKS = {step: f"orders.supplier_order_step_{step}" for step in SUPPLIER_ORDER_STEPS}
# Every step a StepRun may name, in the order an order meets them (the operations view lists them so).
WORKFLOW_STEPS = [*STEPS, *SUPPLIER_ORDER_STEPS]


def workflow_signatures(*, order_id: int, from_step: str = STEPS[0]):
    return [signature(STEP_TASKS[name], kwargs={"order_id": order_id}, immutable=True)
            for name in STEPS[STEPS.index(from_step):]]


def workflow_start(*, order: Order, from_step: str = STEPS[0]) -> None:
    """Enqueue the chain after the current transaction commits (never for uncommitted rows)."""
    signatures = workflow_signatures(order_id=order.pk, from_step=from_step)
    if len(signatures) == 1:
        # A chain of one step is that step's message alone (the chain's is the same but for an
        # empty `chain` list): sent without the chain's bookkeeping, half the time on every
        # placement's path (~1.2 of ~2.5 ms).
        task, kwargs = signatures[0].task, dict(signatures[0].kwargs)
        transaction.on_commit(lambda: task_send(task, kwargs=kwargs))
        return
    transaction.on_commit(lambda: chain(*signatures).apply_async())


def supplier_order_step_start(*, supplier_order: SupplierOrder, step: str) -> None:
    """Enqueue one step of a supplier order's workflow after the current transaction commits."""
    task, supplier_order_id = SUPPLIER_ORDER_STEP_TASKS[step], supplier_order.pk
    transaction.on_commit(lambda: task_send(task, kwargs={"supplier_order_id": supplier_order_id}))


REFUND_SEND_TASK = "orders.refund_send"


def refund_send_schedule(*, refund_id: int, attempt: int = 1, countdown: float = 0.0) -> None:
    """Send a recorded partial refund to the gateway after the current transaction commits."""
    transaction.on_commit(lambda: task_send(REFUND_SEND_TASK, kwargs={"refund_id": refund_id, "attempt": attempt},
                                            countdown=countdown))


PAYMENT_RETURN_TASK = "orders.payment_return"
PAYMENT_RETURN_BACKOFF_BASE_SECONDS = 30.0
PAYMENT_RETURN_BACKOFF_MAX_SECONDS = 3600.0


def payment_return_backoff_seconds(attempt: int) -> float:
    ceiling = min(PAYMENT_RETURN_BACKOFF_MAX_SECONDS, PAYMENT_RETURN_BACKOFF_BASE_SECONDS * (2 ** (attempt - 2)))
    return random.uniform(ceiling / 2, ceiling)


def payment_return_schedule(*, order_id: int, attempt: int) -> None:
    """Retry giving a closed order's money back (order_payment_return), with backoff, after the
    current transaction commits."""
    countdown = payment_return_backoff_seconds(attempt)
    transaction.on_commit(lambda: task_send(PAYMENT_RETURN_TASK, kwargs={"order_id": order_id, "attempt": attempt},
                                            countdown=countdown))


# --- Cancel, expire, fail ---------------------------------------------------------------------

def _order_stock_position(*, order: Order, supplier_order: SupplierOrder | None = None,
                          ) -> tuple[dict[int, int], dict[int, int]]:
    """From the ledger (the truth): per stock row, units still reserved for this order, and units
    that left on_hand for it (shipment) and have not come back (return). Ledger references of an
    order start with its number (the order's own, or its supplier orders' OK-…-1). With
    `supplier_order`, that supplier order's stock rows only (no two supplier orders of an order
    share a stock row: each is one supplier's warehouse)."""
    reserved: dict[int, int] = defaultdict(int)
    shipped: dict[int, int] = defaultdict(int)
    lines = OrderLine.objects.filter(supplier_order__order=order)
    if supplier_order is not None:
        lines = lines.filter(supplier_order=supplier_order)
    stock_ids = sorted(set(lines.values_list("stock_id", flat=True)))
    # stock_id first: the ledger's (stock, created_at) index, not a scan of the whole ledger.
    rows = (StockMovement.objects.filter(stock_id__in=stock_ids, reference__startswith=order.number)
            .values_list("stock_id", "reason", "on_hand_delta", "reserved_delta"))
    for stock_id, reason, on_hand_delta, reserved_delta in rows:
        reserved[stock_id] += reserved_delta
        if reason in (MovementReason.SHIPMENT, MovementReason.RETURN):
            shipped[stock_id] -= on_hand_delta
    return ({k: v for k, v in reserved.items() if v > 0}, {k: v for k, v in shipped.items() if v > 0})


def _order_stock_restore(*, order: Order, actor: Any, supplier_order: SupplierOrder | None = None) -> None:
    """Give back whatever this order (or one supplier order of it) still holds: reserved units
    are released, units already committed out of on_hand are returned. Idempotent: computed
    from the ledger."""
    reserved, shipped = _order_stock_position(order=order, supplier_order=supplier_order)
    reference = supplier_order.number if supplier_order is not None else order.number
    if reserved:
        supplier_services.stock_release(lines=sorted(reserved.items()), reference=reference, actor=actor)
    for stock_id, qty in sorted(shipped.items()):  # pk order, as every stock writer
        supplier_services.stock_return(stock=stock_id, quantity=qty, reference=reference, actor=actor)


def supplier_order_stock_restore(*, supplier_order: SupplierOrder, actor: Any = None) -> None:
    """What one supplier order still holds goes back (a supplier order that failed)."""
    _order_stock_restore(order=supplier_order.order, actor=actor, supplier_order=supplier_order)


def _supplier_orders_cancel(*, order: Order) -> None:
    """A closed order's supplier orders will not ship: they are cancelled with it (delivered
    ones stay), and each supplier's ERP hears of it (`supplier_order.cancelled`). After the
    order's lock, before the stock rows': the lock order of everything after placement."""
    supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(order=order), to=SupplierOrderStatus.CANCELLED)


@transaction.atomic(durable=True)
def _order_stop_atomic(*, order: Order, to: str, actor: Any, reason: str, step: str,
                       allowed_from: frozenset[str] | None) -> Order:
    locked = order_lock(order_id=order.pk)  # order first, then stock rows (pk order)
    if allowed_from is not None and locked.status not in allowed_from:
        raise OrderNotCancellable(f"A {locked.status} order cannot be cancelled.",
                                  extra={"order": locked.number, "order_status": locked.status})
    order_transition(order=locked, to=to, actor=actor, step=step, reason=reason)
    _supplier_orders_cancel(order=locked)
    _order_stock_restore(order=locked, actor=actor)
    order.status, order.failure_reason = locked.status, locked.failure_reason
    return order


def _payment_undo(*, order: Order, reason: str) -> None:
    intent = order.payment_intent
    if intent is not None:
        payment_services.payment_cancel_or_refund(intent=intent, reason=reason[:200])


def _order_stop(*, order: Order, to: str, actor: Any, reason: str, step: str,
                allowed_from: frozenset[str] | None = None) -> Order:
    _order_stop_atomic(order=order, to=to, actor=actor, reason=reason, step=step, allowed_from=allowed_from)
    order_payment_return(order=order, reason=reason)
    return order


# A closed order whose payment is in one of these still holds the workshop's money (or its
# claim on it): order_payment_return gives it back.
PAYMENT_OPEN = frozenset({PaymentStatus.PENDING, PaymentStatus.SETTLED})
PAYMENT_RETURN_FROM = frozenset({OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.EXPIRED})


def order_payment_return(*, order: Order, reason: str = "", attempt: int = 1, retry: bool = True) -> bool:
    """Give a closed order's money back: its pending payment is cancelled at the gateway, a
    settled one refunded, terms voided. True when nothing is left to give back.

    Runs after a compensation (order_fail, order_close_unpaid) has closed the order and given
    its stock back, and for a payment that settled on an order already closed. The order
    cannot wait for the gateway here (nobody is there to tell, and the stock must come back),
    so a refusal or an outage does not leave the money kept silently: it is written on the
    order's timeline (`payment.return_failed`, with the gateway's code: the workshop and the
    operators see it, in admin too) and retried with backoff (orders.payment_return, with
    `retry`), and by the sweep (workflow.payment_returns_sweep) should a retry be lost, until
    the money is back (`payment.returned`). Each attempt is idempotent at the gateway.
    """
    order.refresh_from_db(fields=["status", "payment_intent"])
    intent = order.payment_intent
    if intent is None or order.status not in PAYMENT_RETURN_FROM or intent.status not in PAYMENT_OPEN:
        return True
    reason = reason or f"order {order.number} is {order.status}"
    try:
        intent = payment_services.payment_cancel_or_refund(intent=intent, reason=reason[:200])
    except (GatewayRejected, GatewayUnavailable) as exc:
        logger.warning("payment of closed order %s not returned (attempt %s): %s", order.number, attempt,
                       exc.message, extra={"order": order.number, "code": exc.code})
        with transaction.atomic():
            order_event_write(order=order, kind="payment.return_failed", step="payment_return",
                              message=gettext_noop("The payment could not be returned yet; it is retried."),
                              data={"code": exc.code, "detail": str(exc.message)[:200], "attempt": attempt,
                                    "payment_status": intent.status})
            if retry:
                payment_return_schedule(order_id=order.pk, attempt=attempt + 1)
        return False
    if OrderEvent.objects.filter(order=order, kind="payment.return_failed").exists():
        order_event_write(order=order, kind="payment.returned", step="payment_return",
                          data={"attempt": attempt, "payment_status": intent.status})
    return intent.status not in PAYMENT_OPEN


def order_cancel(*, order: Order, actor: Any, reason: str = "") -> Order:
    """The workshop cancels before any shipment is booked; safe to repeat and to race.

    One durable transaction under the order's row lock: the order moves to `cancelled`, its
    stock comes back (release, or return if already committed) and its payment is cancelled at
    the gateway (pending), refunded (settled prepaid) or voided (terms). Should the gateway
    refuse (GatewayRejected) or not answer (GatewayUnavailable), all of it rolls back and the
    error propagates: the order stays as it was, with its stock and its payment, so an order is
    never cancelled with the money kept. The gateway is called while the order is locked
    (each call bounded by PARTNER_HTTP_TIMEOUT_SECONDS): a concurrent cancel waits, then finds
    the order cancelled and answers as the first did; a workflow step waits, then finds it
    cancelled and stops. The gateway's cancel and refund are idempotent (order id, refund
    key), so a commit that fails after the gateway said yes is repeated without paying twice.
    """
    reason = reason or gettext_noop("cancelled by the workshop")
    with transaction.atomic(durable=True):
        locked = order_lock(order_id=order.pk)  # order first, then stock rows (pk order), then the intent
        if locked.status == OrderStatus.CANCELLED:
            # A repeat: the money is back already, unless a payment settled after the cancel
            # (on_payment_event refunds it; this does it again if that has not happened yet).
            _payment_undo(order=locked, reason=reason)
        elif locked.status not in CANCELLABLE:
            raise OrderNotCancellable(f"A {locked.status} order cannot be cancelled.",
                                      extra={"order": locked.number, "order_status": locked.status})
        else:
            order_transition(order=locked, to=OrderStatus.CANCELLED, actor=actor, step="cancel", reason=reason)
            _supplier_orders_cancel(order=locked)
            _order_stock_restore(order=locked, actor=actor)
            _payment_undo(order=locked, reason=reason)
    order.status, order.failure_reason = locked.status, locked.failure_reason
    return order


def _expiry_due(*, order: Order, now) -> bool:
    return order.status == OrderStatus.PENDING_PAYMENT and order.expires_at is not None and order.expires_at <= now


def order_expire(*, order: Order, now=None) -> Order | None:
    """An unpaid prepaid order past its deadline → expired, stock released. Returns None when
    there is nothing to do (paid meanwhile, not yet due, already expired): safe for a periodic
    sweeper to call again and again.

    Ordering: the payment is stopped at the gateway first (payments.payment_intent_expire, HTTP,
    outside our transaction). If the gateway says it was paid in the meantime, the intent is
    settled (its `payment.settled` event moves the order on) and the order is not expired; a
    payment can therefore never land on an expired order through this path. Then one durable
    transaction re-checks under the order lock, expires the order and releases its stock.
    """
    now = now or timezone.now()
    order.refresh_from_db(fields=["status", "expires_at", "payment_intent"])
    if not _expiry_due(order=order, now=now):
        return None
    if order.payment_intent_id is not None:
        intent = payment_services.payment_intent_expire(intent=order.payment_intent)
        if intent.status == PaymentStatus.SETTLED:
            return None
    with transaction.atomic(durable=True):
        locked = order_lock(order_id=order.pk)
        if not _expiry_due(order=locked, now=now):
            return None
        order_transition(order=locked, to=OrderStatus.EXPIRED, step="expire",
                         reason=gettext_noop("not paid in time"))
        _supplier_orders_cancel(order=locked)
        _order_stock_restore(order=locked, actor=None)
    order.status, order.failure_reason = locked.status, locked.failure_reason
    return order


def order_fail(*, order: Order, reason: str, step: str) -> Order:
    """A workflow step failed for good: the order fails with a reason the workshop can read,
    its stock comes back (from the ledger) and the payment is voided or refunded after commit."""
    if order.status in TERMINAL:
        return order
    return _order_stop(order=order, to=OrderStatus.FAILED, actor=None, reason=reason, step=step)


def order_close_unpaid(*, order: Order, reason: str, step: str = "payment") -> Order | None:
    """The gateway expired, cancelled or denied the payment of an unpaid order: it expires and
    its stock comes back. Nothing to do for an order that is no longer waiting for payment."""
    order.refresh_from_db(fields=["status"])
    if order.status != OrderStatus.PENDING_PAYMENT:
        return None
    return _order_stop(order=order, to=OrderStatus.EXPIRED, actor=None, reason=reason, step=step,
                       allowed_from=frozenset({OrderStatus.PENDING_PAYMENT}))
