"""The order state machine: a table of allowed transitions, and the one service that moves an
order along it. Anything not in the table raises InvalidTransition; every move writes an
OrderEvent (the timeline) and an outbox event `order.<status>` in the same transaction.

    pending_payment ─→ paid ─→ in_fulfilment ─→ shipped ─→ completed
          │              │            │  └──────────────────↗  (the rest rejected after a delivery)
          └→ cancelled   └→ cancelled └→ cancelled  └→ failed
          └→ expired     └→ failed    └→ failed
          └→ failed

in_fulfilment → cancelled only while no shipment is booked (the courier holds the parcel after);
every supplier rejecting its part cancels it too (orders.services.fulfilment).
completed, cancelled, expired and failed are terminal.

A supplier order (one supplier's share) moves along a table of its own, through
supplier_order_transition or, for conditional bulk writes, supplier_orders_move:

    pending ─→ accepted ─→ ready_to_ship ─→ confirmed ─→ shipped ─→ delivered
       │                       │  └──────────────────→ shipped    (the courier's pickup, or its
       │                       │  └──────────────────────────────→ delivered   delivery, can arrive
       │                                                                       before the booking is linked)
       └→ rejected (the supplier accepted nothing, or did not answer in time)
       └→ cancelled (from any but delivered and rejected: its order cancelled, expired or failed,
                     or its own workflow failed)

(confirmed: the courier is booked.) delivered, rejected and cancelled are terminal; a courier
callback that arrives late or twice would move a supplier order backwards or nowhere, which
the table refuses. Every move writes an outbox event `supplier_order.<status>` in the same
transaction, one per supplier order that actually moved (a supplier's ERP follows them).
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Now

from logistics.models import ShipmentStatus
from okto88.errors import InvalidTransition
from okto88.services import NewOutboxEvent, outbox_event_write, outbox_events_write
from orders.errors import ShipmentAlreadyBooked
from orders.events import order_status_changed_payload, supplier_order_payload
from orders.lock_objects import order_lock, supplier_orders_lock
from orders.models import Order, OrderLine, OrderStatus, SupplierOrder, SupplierOrderStatus
from orders.timeline import order_event_write

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED, S.FAILED}),
    S.PAID: frozenset({S.IN_FULFILMENT, S.FAILED, S.CANCELLED}),
    S.IN_FULFILMENT: frozenset({S.SHIPPED, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.COMPLETED, S.FAILED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
    S.FAILED: frozenset(),
}
TERMINAL: frozenset[str] = frozenset(status for status, tos in TRANSITIONS.items() if not tos)
OPEN: frozenset[str] = frozenset(TRANSITIONS) - TERMINAL

# Shipments in these states no longer hold the order back from being cancelled.
_NOT_BOOKED = {ShipmentStatus.CANCELLED}


def transition_allowed(*, from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def order_has_booked_shipment(*, order: Order) -> bool:
    return (SupplierOrder.objects.filter(order=order, shipment__isnull=False)
            .exclude(shipment__status__in=_NOT_BOOKED).exists())



def order_outbox_write(*, order: Order, topic: str, payload: dict) -> None:
    """`payload` comes from the topic's builder in orders.events."""
    outbox_event_write(topic=topic, aggregate_type="order", aggregate_id=order.pk, payload=payload)


@transaction.atomic
def order_transition(*, order: Order, to: str, actor: Any = None, step: str = "", reason: str = "") -> Order:
    """Move `order` to `to` under a row lock; InvalidTransition if the table does not allow it.

    The caller's instance is refreshed from the locked row, so a stale instance cannot move an
    order that another transaction already moved (e.g. expired while the workshop cancels).
    """
    locked = order_lock(order_id=order.pk)
    _order_move(locked=locked, to=to, actor=actor, step=step, reason=reason)
    # Hand the caller the fresh row's values.
    order.status, order.failure_reason, order.updated_at = locked.status, locked.failure_reason, locked.updated_at
    return order


def order_transition_created(*, order: Order, to: str, actor: Any = None, step: str = "", reason: str = "",
                             also: tuple[str, ...] = ()) -> Order:
    """order_transition for an order the caller's transaction created: no other transaction can
    see it, so there is no lock to take and nothing to re-read; the fields in `also` are written
    in the same UPDATE (order_place: the payment intent with the move to paid)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_transition_created must run in the transaction that created the order")
    _order_move(locked=order, to=to, actor=actor, step=step, reason=reason, also=also)
    return order


def order_transition_locked(*, order: Order, to: str, actor: Any = None, step: str = "", reason: str = "") -> Order:
    """order_transition for a caller whose transaction already holds `order`'s row lock and read
    it under that lock (a workflow step): no second lock, no savepoint; an InvalidTransition
    rolls the caller's transaction back."""
    _order_move(locked=order, to=to, actor=actor, step=step, reason=reason)
    return order


def _order_move(*, locked: Order, to: str, actor: Any, step: str, reason: str, also: tuple[str, ...] = ()) -> None:
    from_status = locked.status
    if not transition_allowed(from_status=from_status, to_status=to):
        raise InvalidTransition(
            f"An order cannot go from {from_status} to {to}.",
            extra={"order": locked.number, "from": from_status, "to": str(to)},
        )
    if from_status == S.IN_FULFILMENT and to == S.CANCELLED and order_has_booked_shipment(order=locked):
        raise ShipmentAlreadyBooked(extra={"order": locked.number})
    locked.status = to
    update_fields = ["status", "updated_at", *also]
    if reason and to in (S.FAILED, S.CANCELLED, S.EXPIRED):
        locked.failure_reason = reason[:300]
        update_fields.append("failure_reason")
    locked.save(update_fields=update_fields)
    order_event_write(order=locked, kind=f"status.{to}", message=reason, actor=actor, step=step,
                      data={"from": from_status, "to": str(to)})
    order_outbox_write(order=locked, topic=f"order.{to}",
                       payload=order_status_changed_payload(order=locked, from_status=from_status, reason=reason))


# --- supplier orders ---------------------------------------------------------------------

SO = SupplierOrderStatus

SUPPLIER_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    SO.PENDING: frozenset({SO.ACCEPTED, SO.REJECTED, SO.CANCELLED}),
    SO.ACCEPTED: frozenset({SO.READY_TO_SHIP, SO.CANCELLED}),
    SO.READY_TO_SHIP: frozenset({SO.CONFIRMED, SO.SHIPPED, SO.DELIVERED, SO.CANCELLED}),
    SO.CONFIRMED: frozenset({SO.SHIPPED, SO.DELIVERED, SO.CANCELLED}),
    SO.SHIPPED: frozenset({SO.DELIVERED, SO.CANCELLED}),
    SO.DELIVERED: frozenset(),
    SO.REJECTED: frozenset(),
    SO.CANCELLED: frozenset(),
}


def order_touch(*, order_ids: list[int]) -> None:
    """The orders changed (their supplier orders, their fulfilment timeline) without a status
    move: their updated_at is now, so the read models refreshed by it (analytics.services.sales:
    business figures, funnel) look at them again. The caller holds the orders' row locks."""
    if order_ids:  # the ORM's UPDATE … SET updated_at = Now(), written once (a step's hot path)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE orders_order SET updated_at = STATEMENT_TIMESTAMP() WHERE id = ANY(%s::bigint[])",
                           [list(order_ids)])


def supplier_order_transition_allowed(*, from_status: str, to_status: str) -> bool:
    return to_status in SUPPLIER_ORDER_TRANSITIONS.get(from_status, frozenset())


def supplier_order_event(*, supplier_order: SupplierOrder, order_number: str, workshop_id: int, line_count: int,
                         from_status: str | None = None) -> NewOutboxEvent:
    """The outbox event of a supplier order that was created (`from_status` None) or moved."""
    topic = "supplier_order.created" if from_status is None else f"supplier_order.{supplier_order.status}"
    return NewOutboxEvent(topic=topic, aggregate_type="supplier_order", aggregate_id=supplier_order.pk,
                          payload=supplier_order_payload(supplier_order=supplier_order, order_number=order_number,
                                                         workshop_id=workshop_id, line_count=line_count,
                                                         from_status=from_status))


def _with_event_facts(supplier_orders: QuerySet[SupplierOrder]) -> QuerySet[SupplierOrder]:
    """What a supplier order's event carries from other rows, read in the same query."""
    lines = (OrderLine.objects.filter(supplier_order=OuterRef("pk")).order_by().values("supplier_order")
             .annotate(n=Count("pk")).values("n"))
    return supplier_orders.annotate(event_order_number=F("order__number"), event_workshop_id=F("order__workshop_id"),
                                    event_line_count=Coalesce(Subquery(lines, output_field=IntegerField()), 0))


def _moved_event(supplier_order: SupplierOrder, *, from_status: str) -> NewOutboxEvent:
    return supplier_order_event(supplier_order=supplier_order, order_number=supplier_order.event_order_number,
                                workshop_id=supplier_order.event_workshop_id,
                                line_count=supplier_order.event_line_count, from_status=from_status)


def supplier_order_transition(*, supplier_order: SupplierOrder, to: str) -> SupplierOrder:
    """Move one supplier order, whose row the caller holds locked, to `to`; InvalidTransition if
    the table does not allow it (the caller writes the timeline: what moved it says why)."""
    from_status = supplier_order.status
    if not supplier_order_transition_allowed(from_status=from_status, to_status=to):
        raise InvalidTransition(
            f"A supplier order cannot go from {from_status} to {to}.",
            extra={"supplier_order": supplier_order.number, "from": from_status, "to": str(to)},
        )
    supplier_order.status = to
    supplier_order.save(update_fields=["status", "updated_at"])
    order_touch(order_ids=[supplier_order.order_id])
    order_number, workshop_id, line_count = (
        _with_event_facts(SupplierOrder.objects.filter(pk=supplier_order.pk))
        .values_list("event_order_number", "event_workshop_id", "event_line_count").get())
    outbox_events_write(events=[supplier_order_event(supplier_order=supplier_order, order_number=order_number,
                                                     workshop_id=workshop_id, line_count=line_count,
                                                     from_status=from_status)])
    return supplier_order


def supplier_orders_move(*, supplier_orders: QuerySet[SupplierOrder], to: str, **changes: Any) -> int:
    """One UPDATE: each supplier order of the queryset that the table lets go to `to` moves
    there, the others keep their status; `changes` are written to every row. Returns the number
    of rows written. For writes that are conditional anyway (a booking linked once, the
    compensations), where the caller takes no row lock of its own.

    The rows that will move are read first under their row locks (pk order, as every writer),
    with what their events carry: a locked row cannot move meanwhile, and a row that was not
    among them cannot come back to a status the table moves to `to` (it only goes forward), so
    the UPDATE moves exactly those rows and each gets its one event."""
    sources = [status for status, tos in SUPPLIER_ORDER_TRANSITIONS.items() if to in tos]
    with transaction.atomic(savepoint=False):  # the caller's transaction if there is one, else its own
        moving = supplier_orders_lock(supplier_orders=_with_event_facts(supplier_orders.filter(status__in=sources)))
        moving_ids = [supplier_order.pk for supplier_order in moving]
        moves = When(Q(pk__in=moving_ids, status__in=sources), then=Value(str(to)))
        # A row whose status stays and that gets no `changes` is not changed: its updated_at stays.
        updated_at = Now() if changes else Case(When(pk__in=moving_ids, then=Now()), default=F("updated_at"))
        written = supplier_orders.update(status=Case(moves, default=F("status")), updated_at=updated_at, **changes)
        order_touch(order_ids=sorted({supplier_order.order_id for supplier_order in moving}))
        events = []
        for supplier_order in moving:
            from_status, supplier_order.status = supplier_order.status, str(to)
            for name, value in changes.items():
                setattr(supplier_order, name, value)
            events.append(_moved_event(supplier_order, from_status=from_status))
        outbox_events_write(events=events)
    return written


def supplier_order_move_locked(*, supplier_order: SupplierOrder, order: Order, to: str, **changes: Any) -> bool:
    """One UPDATE of one supplier order whose row (and its order's, `order`) the caller's
    transaction holds locked and read under that lock: `changes` (fields of the supplier order)
    are written, and the status moves to `to` if the table lets it, else stays (as
    supplier_orders_move does for a row it is given). A move touches the order and writes its
    one event `supplier_order.<to>`, whose line count the UPDATE returns: no second lock and no
    read of the row, its order or its lines. Returns whether the status moved; the instance
    carries what was written."""
    from_status = supplier_order.status
    moves = supplier_order_transition_allowed(from_status=from_status, to_status=to)
    fields = [SupplierOrder._meta.get_field(name) for name in changes]
    assignments = "".join(f', "{field.column}" = %s' for field in fields)
    values = [field.get_db_prep_save(getattr(value, "pk", value), connection) for field, value
              in zip(fields, changes.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE orders_supplierorder SET status = %s, updated_at = STATEMENT_TIMESTAMP(){assignments}"  # noqa: S608
            " WHERE id = %s RETURNING (SELECT COUNT(*) FROM orders_orderline l"
            " WHERE l.supplier_order_id = orders_supplierorder.id)",
            [str(to) if moves else from_status, *values, supplier_order.pk])
        (line_count,) = cursor.fetchone()
    for name, value in changes.items():
        setattr(supplier_order, name, value)
    if not moves:
        return False
    supplier_order.status = str(to)
    order_touch(order_ids=[order.pk])
    outbox_events_write(events=[supplier_order_event(supplier_order=supplier_order, order_number=order.number,
                                                     workshop_id=order.workshop_id, line_count=line_count,
                                                     from_status=from_status)])
    return True


__all__ = [
    "OPEN",
    "SUPPLIER_ORDER_TRANSITIONS",
    "TERMINAL",
    "TRANSITIONS",
    "order_has_booked_shipment",
    "order_outbox_write",
    "order_touch",
    "order_transition",
    "order_transition_locked",
    "supplier_order_event",
    "supplier_order_move_locked",
    "supplier_order_transition",
    "supplier_order_transition_allowed",
    "supplier_orders_move",
    "transition_allowed",
]
