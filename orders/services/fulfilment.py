"""A paid order's supplier orders, each on its own: the supplier answers (accepts every line,
some lines or quantities, or none), packs and marks the parcel ready to ship; a part that will
not ship is refunded and its reservation released; the order follows its supplier orders.

    pending ──answer──▶ accepted ──ready to ship──▶ ready_to_ship ──booked──▶ confirmed ─▶ shipped ─▶ delivered
       │  (no answer by accept_by: rejected for it)
       └──answer: nothing accepted──▶ rejected

One rule decides every refund (orders.services.pricing.order_refund_due): what the workshop
paid and has not had back, less what the parts still coming cost. A rejection, a supplier
order that failed (supplier_order_fail) and the last supplier order ending all call
_order_refund_settle, so the refunds of an order add up to its total when nothing ships.

The order follows its supplier orders (order_follow_supplier_orders): shipped when every one
still going is on its way, completed when every one has ended (delivered, rejected, cancelled)
and something was delivered, cancelled with the rest of its money back when nothing was.

Lock order, as everywhere after placement: the order row, then its supplier order rows, then
stock rows (pk order), then the payment intent.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from okto88.working_hours import working_hours_add
from orders.errors import InvalidSupplierOrderAnswer, SupplierOrderNotAnswerable, SupplierOrderNotReady
from orders.lock_objects import order_lock, supplier_order_lock
from orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    RejectionReason,
    SupplierOrder,
    SupplierOrderStatus,
)
from orders.notifications import SupplierOrderNotice, notify_supplier_order_changed, notify_supplier_orders_opened
from orders.services.lifecycle import (
    order_payment_return,
    refund_send_schedule,
    supplier_order_step_start,
    supplier_order_stock_restore,
)
from orders.services.pricing import order_refund_due
from orders.state import order_transition, supplier_order_transition, supplier_orders_move
from orders.timeline import order_event_write
from payments import services as payment_services
from suppliers import services as supplier_services

logger = logging.getLogger(__name__)

SO = SupplierOrderStatus
ENDED = frozenset({SO.DELIVERED, SO.REJECTED, SO.CANCELLED})
# A supplier order is answered only while its order is being fulfilled (paid and opened).
ANSWERABLE_ORDER = frozenset({OrderStatus.IN_FULFILMENT, OrderStatus.SHIPPED})
# Reasons a supplier gives; the others are the platform's own (no answer, a failed step).
SUPPLIER_REASONS = frozenset({RejectionReason.OUT_OF_STOCK, RejectionReason.DISCONTINUED,
                              RejectionReason.PRICE_ERROR})
MAX_PARCELS = 50
MAX_WEIGHT_G = 1_000_000


# --- opening -----------------------------------------------------------------------------

def supplier_order_accept_by(*, paid_at: dt.datetime) -> dt.datetime:
    """When a supplier must have answered: SUPPLIER_ACCEPT_WORKING_HOURS working hours
    (Asia/Jakarta, okto88.working_hours) after the order was paid."""
    return working_hours_add(start=paid_at, hours=settings.SUPPLIER_ACCEPT_WORKING_HOURS)


def supplier_orders_open(*, order: Order, now: dt.datetime | None = None) -> int:
    """The paid order's supplier orders wait for their suppliers from now on (order locked by
    the caller): each gets its answer deadline, and its supplier is told. Returns how many."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_OPEN_SQL, {"order": order.pk, "pending": SO.PENDING, "now": now, "updated_at": timezone.now(),
                                   "accept_by": supplier_order_accept_by(paid_at=now)})
        rows = cursor.fetchall()
    notify_supplier_orders_opened(order=order, supplier_orders=[
        SupplierOrderNotice(supplier_id=supplier_id, number=number, subtotal=subtotal, accept_by=accept_by,
                            line_count=line_count) for supplier_id, number, subtotal, accept_by, line_count, _ in rows])
    return sum(1 for *_, was_opened in rows if was_opened)


# The pending supplier orders without a deadline get theirs (the ORM's conditional UPDATE), and
# every supplier order of the order is read back for the notices in the same statement: a row
# the UPDATE wrote shows its new deadline (the outer SELECT sees the table as it was before).
_OPEN_SQL = """
    WITH opened AS (
        UPDATE orders_supplierorder SET accept_by = %(accept_by)s, opened_at = %(now)s, updated_at = %(updated_at)s
        WHERE order_id = %(order)s AND status = %(pending)s AND accept_by IS NULL
        RETURNING id, accept_by)
    SELECT so.supplier_id, so.number, so.subtotal, COALESCE(opened.accept_by, so.accept_by),
           (SELECT COUNT(*) FROM orders_orderline l WHERE l.supplier_order_id = so.id), opened.id IS NOT NULL
    FROM orders_supplierorder so LEFT JOIN opened ON opened.id = so.id
    WHERE so.order_id = %(order)s ORDER BY so.id"""


# --- the supplier's answer ---------------------------------------------------------------

@dataclass(frozen=True)
class LineRejection:
    quantity: int
    reason: str


def _rejections_check(*, supplier_order: SupplierOrder, rejections: Mapping[int, LineRejection],
                      platform_reason: bool) -> dict[int, OrderLine]:
    lines = {line.pk: line for line in supplier_order.lines.all()}
    unknown = sorted(set(rejections) - set(lines))
    if unknown:
        raise InvalidSupplierOrderAnswer(f"Lines {unknown} are not lines of supplier order {supplier_order.number}.",
                                         extra={"lines": unknown})
    allowed = set(RejectionReason.values) if platform_reason else set(SUPPLIER_REASONS)
    for line_id, rejection in rejections.items():
        quantity = rejection.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= lines[line_id].quantity:
            raise InvalidSupplierOrderAnswer(
                f"Line {line_id}: a rejected quantity is a whole number from 0 to {lines[line_id].quantity}.",
                extra={"line": line_id, "field": "quantity"})
        if quantity and rejection.reason not in allowed:
            raise InvalidSupplierOrderAnswer(
                f"Line {line_id}: a rejection needs a reason, one of {sorted(allowed)}.",
                extra={"line": line_id, "field": "reason", "allowed": sorted(allowed)})
    return lines


def supplier_order_answer(*, supplier_order: SupplierOrder, rejections: Mapping[int, LineRejection],
                          actor: Any = None, platform_reason: bool = False,
                          now: dt.datetime | None = None) -> SupplierOrder:
    """The supplier's answer to a pending supplier order: `rejections` maps the line ids it
    cannot supply to how many units and why; every other unit is accepted. Accepting nothing
    rejects the supplier order. One transaction: the rejected units' reservation is released,
    their share refunded (_order_refund_settle), the supplier order accepted (its stock
    commitment enqueued) or rejected, the order follows. InvalidSupplierOrderAnswer for a bad
    answer, SupplierOrderNotAnswerable when it is not pending or its order not yet paid; the
    data stay as they were."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        order = order_lock(order_id=supplier_order.order_id)
        locked = supplier_order_lock(supplier_order_id=supplier_order.pk)
        if locked.status != SO.PENDING or locked.accept_by is None or order.status not in ANSWERABLE_ORDER:
            raise SupplierOrderNotAnswerable(
                extra={"supplier_order": locked.number, "supplier_order_status": locked.status,
                       "order_status": order.status})
        lines = _rejections_check(supplier_order=locked, rejections=rejections, platform_reason=platform_reason)
        rejected = {line_id: r for line_id, r in rejections.items() if r.quantity}
        changed = []
        for line_id, rejection in rejected.items():
            line = lines[line_id]
            line.rejected_quantity, line.rejection_reason = rejection.quantity, rejection.reason
            changed.append(line)
        OrderLine.objects.bulk_update(changed, ["rejected_quantity", "rejection_reason"])
        if changed:
            supplier_services.stock_release(
                lines=sorted((line.stock_id, line.rejected_quantity) for line in changed),
                reference=locked.number, actor=actor)
        nothing_accepted = all(line.rejected_quantity == line.quantity for line in lines.values())
        locked.decided_at = now
        if nothing_accepted:
            locked.rejection_reason = next(iter(rejected.values())).reason
            locked.save(update_fields=["decided_at", "rejection_reason"])
            supplier_order_transition(supplier_order=locked, to=SO.REJECTED)
        else:
            locked.save(update_fields=["decided_at"])
            supplier_order_transition(supplier_order=locked, to=SO.ACCEPTED)
            supplier_order_step_start(supplier_order=locked, step="commit_stock")
        kind = ("supplier_order_rejected" if nothing_accepted
                else "supplier_order_partly_accepted" if changed else "supplier_order_accepted")
        refund = _order_refund_settle(order=order, reason=f"rejected by the supplier ({locked.number})")
        order_event_write(order=order, kind=kind, actor=actor, step="answer", data={
            "supplier_order": locked.number, "supplier": locked.supplier.legal_name, "refund": refund,
            "rejected": [{"sku": line.sku, "name": line.name, "quantity": line.rejected_quantity,
                          "reason": line.rejection_reason, "offer": line.offer_id} for line in changed]})
        notify_supplier_order_changed(supplier_order=locked, kind=kind, refund=refund)
        order_follow_supplier_orders(order=order)
    supplier_order.refresh_from_db()
    return supplier_order


def supplier_order_accept(*, supplier_order: SupplierOrder, actor: Any = None) -> SupplierOrder:
    """Accept every line."""
    return supplier_order_answer(supplier_order=supplier_order, rejections={}, actor=actor)


def supplier_order_reject(*, supplier_order: SupplierOrder, reason: str, actor: Any = None) -> SupplierOrder:
    """Reject every line for one reason."""
    rejections = {pk: LineRejection(quantity=quantity, reason=reason)
                  for pk, quantity in supplier_order.lines.values_list("pk", "quantity")}
    return supplier_order_answer(supplier_order=supplier_order, rejections=rejections, actor=actor)


def supplier_orders_reject_overdue(*, now: dt.datetime | None = None, limit: int = 200,
                                   supplier_order_ids: list[int] | None = None) -> list[str]:
    """Celery beat: pending supplier orders past their answer deadline are rejected for their
    supplier (reason no_answer), their share refunded. Safe to run again and again."""
    now = now or timezone.now()
    overdue = SupplierOrder.objects.filter(status=SO.PENDING, accept_by__lt=now)
    if supplier_order_ids is not None:
        overdue = overdue.filter(pk__in=supplier_order_ids)
    overdue = overdue.order_by("accept_by")[:limit]
    rejected = []
    for supplier_order in overdue:
        rejections = {pk: LineRejection(quantity=quantity, reason=RejectionReason.NO_ANSWER)
                      for pk, quantity in supplier_order.lines.values_list("pk", "quantity")}
        try:
            supplier_order_answer(supplier_order=supplier_order, rejections=rejections, platform_reason=True, now=now)
        except SupplierOrderNotAnswerable:
            continue  # answered (or its order closed) meanwhile
        rejected.append(supplier_order.number)
    return rejected


# --- packing and handing over --------------------------------------------------------------

def supplier_order_mark_ready(*, supplier_order: SupplierOrder, parcel_count: int | None = None,
                              weight_g: int | None = None, actor: Any = None) -> SupplierOrder:
    """The supplier packed the parcels: the courier is booked now (the book_courier step),
    with the parcel count and weight corrected if given. Marking it again is answered as the
    first time; any other status is SupplierOrderNotReady."""
    for name, value, ceiling in (("parcel_count", parcel_count, MAX_PARCELS), ("weight_g", weight_g, MAX_WEIGHT_G)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling):
            raise InvalidSupplierOrderAnswer(f"{name} is a whole number from 1 to {ceiling}.", extra={"field": name})
    with transaction.atomic(durable=True):
        order = order_lock(order_id=supplier_order.order_id)
        locked = supplier_order_lock(supplier_order_id=supplier_order.pk)
        if locked.status in {SO.READY_TO_SHIP, SO.CONFIRMED, SO.SHIPPED, SO.DELIVERED}:
            supplier_order.refresh_from_db()
            return supplier_order
        if locked.status != SO.ACCEPTED:
            raise SupplierOrderNotReady(extra={"supplier_order": locked.number, "supplier_order_status": locked.status})
        locked.ready_at = timezone.now()
        locked.parcel_count = parcel_count or locked.parcel_count
        locked.weight_g = weight_g or locked.weight_g
        locked.save(update_fields=["ready_at", "parcel_count", "weight_g"])
        supplier_order_transition(supplier_order=locked, to=SO.READY_TO_SHIP)
        order_event_write(order=order, kind="supplier_order_packed", actor=actor, step="ready_to_ship",
                          data={"supplier_order": locked.number, "supplier": locked.supplier.legal_name,
                                "parcels": locked.parcel_count, "weight_g": locked.weight_g})
        supplier_order_step_start(supplier_order=locked, step="book_courier")
    supplier_order.refresh_from_db()
    return supplier_order


# --- a supplier order that could not be fulfilled -----------------------------------------

def supplier_order_fail(*, supplier_order: SupplierOrder, reason: str, step: str) -> None:
    """A step of one supplier order failed for good (its booking was already cancelled at the
    courier by the caller): it is cancelled, its stock given back, its share refunded; the
    order and its other supplier orders go on."""
    with transaction.atomic(durable=True):
        order = order_lock(order_id=supplier_order.order_id)
        moved = supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=supplier_order.pk),
                                     to=SO.CANCELLED, rejection_reason=RejectionReason.FULFILMENT_FAILED)
        if not moved:
            return
        locked = SupplierOrder.objects.select_related("order", "supplier").get(pk=supplier_order.pk)
        if locked.status != SO.CANCELLED:
            return  # delivered or ended otherwise meanwhile
        supplier_order_stock_restore(supplier_order=locked)
        refund = _order_refund_settle(order=order, reason=f"could not be fulfilled ({locked.number})")
        order_event_write(order=order, kind="supplier_order_failed", step=step, message=reason,
                          data={"supplier_order": locked.number, "supplier": locked.supplier.legal_name,
                                "refund": refund})
        notify_supplier_order_changed(supplier_order=locked, kind="supplier_order_failed", refund=refund)
        order_follow_supplier_orders(order=order)


# --- money and the order's status ------------------------------------------------------------

def _order_remaining(*, order: Order) -> tuple[int, int]:
    """(goods, shipping) of the parts still coming or delivered: every supplier order but the
    rejected and cancelled ones, less rejected units."""
    live = SupplierOrder.objects.filter(order=order).exclude(status__in=[SO.REJECTED, SO.CANCELLED])
    goods = OrderLine.objects.filter(supplier_order__in=live).aggregate(
        total=Sum((F("quantity") - F("rejected_quantity")) * F("unit_price")))["total"] or 0
    shipping = live.aggregate(total=Sum("shipping_cost"))["total"] or 0
    return int(goods), int(shipping)


def _order_refund_settle(*, order: Order, reason: str) -> int:
    """Give back (order locked by the caller) what order_refund_due says is due now: recorded on
    the order (refunded_total, which also frees a terms order's credit) and, for a paid prepaid
    order, as a refund the gateway gets after commit. Returns the amount (0: nothing due)."""
    goods, shipping = _order_remaining(order=order)
    due = order_refund_due(grand_total=order.grand_total, refunded_total=order.refunded_total,
                           remaining_subtotal=goods, remaining_shipping=shipping, rate_bp=order.tax_rate_bp)
    if due <= 0:
        return 0
    Order.objects.filter(pk=order.pk).update(refunded_total=F("refunded_total") + due, updated_at=timezone.now())
    order.refresh_from_db(fields=["refunded_total", "updated_at"])
    if order.payment_intent_id is not None:
        number = order.payment_intent.refunds.count() + 1
        refund = payment_services.payment_refund_part(intent=order.payment_intent, amount=due,
                                                      refund_key=f"{order.number}-part-{number}", reason=reason)
        if refund is not None:
            refund_send_schedule(refund_id=refund.pk)
    order_event_write(order=order, kind="refund.requested", step="refund", data={"amount": due})
    return due


def order_follow_supplier_orders(*, order: Order) -> Order:
    """The order's status from its supplier orders' (order locked by the caller): shipped when
    every one still going is shipped; completed when all have ended and one was delivered;
    cancelled, with the rest of the money back after commit, when all ended and none was."""
    statuses = set(SupplierOrder.objects.filter(order=order).values_list("status", flat=True))
    if not statuses:
        return order
    if statuses <= ENDED:
        if SO.DELIVERED in statuses:
            if order.status in {OrderStatus.IN_FULFILMENT, OrderStatus.SHIPPED}:
                order_transition(order=order, to=OrderStatus.COMPLETED, step="tracking")
        elif order.status == OrderStatus.IN_FULFILMENT:
            order_transition(order=order, to=OrderStatus.CANCELLED, step="answer",
                             reason=gettext_noop("no supplier could supply the parts"))
            order_id = order.pk
            transaction.on_commit(lambda: order_payment_return(order=Order.objects.get(pk=order_id)))
        return order
    going = statuses - ENDED
    if order.status == OrderStatus.IN_FULFILMENT and going <= {SO.SHIPPED}:
        order_transition(order=order, to=OrderStatus.SHIPPED, step="tracking")
    return order

