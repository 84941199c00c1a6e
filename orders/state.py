"""The order state machine: a table of allowed transitions, and the one service that moves an
order along it. Anything not in the table raises InvalidTransition; every move writes an
OrderEvent (the timeline) and an outbox event `order.<status>` in the same transaction.

    pending_payment ─→ paid ─→ in_fulfilment ─→ shipped ─→ completed
          │              │            │             │
          └→ cancelled   └→ cancelled └→ cancelled  └→ failed
          └→ expired     └→ failed    └→ failed
          └→ failed

in_fulfilment → cancelled only while no shipment is booked (the courier holds the parcel after).
completed, cancelled, expired and failed are terminal.

A supplier order (one supplier's share) moves along a table of its own, through
supplier_order_transition or, for conditional bulk writes, supplier_orders_move:

    pending ─→ confirmed ─→ shipped ─→ delivered
       │  └──────────────→ shipped       (the courier's pickup can arrive before the booking is linked)
       │  └───────────────────────────→ delivered   (so can its delivery)
       └→ cancelled (from pending, confirmed or shipped: the compensations)

delivered and cancelled are terminal; a courier callback that arrives late or twice would
move a supplier order backwards or nowhere, which the table refuses.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When

from logistics.models import ShipmentStatus
from okto88.errors import InvalidTransition
from okto88.services import outbox_event_write
from orders.errors import ShipmentAlreadyBooked
from orders.events import order_status_changed_payload
from orders.lock_objects import order_lock
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from orders.timeline import order_event_write

S = OrderStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.CANCELLED, S.EXPIRED, S.FAILED}),
    S.PAID: frozenset({S.IN_FULFILMENT, S.FAILED, S.CANCELLED}),
    S.IN_FULFILMENT: frozenset({S.SHIPPED, S.FAILED, S.CANCELLED}),
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
    from_status = locked.status
    if not transition_allowed(from_status=from_status, to_status=to):
        raise InvalidTransition(
            f"An order cannot go from {from_status} to {to}.",
            extra={"order": locked.number, "from": from_status, "to": str(to)},
        )
    if from_status == S.IN_FULFILMENT and to == S.CANCELLED and order_has_booked_shipment(order=locked):
        raise ShipmentAlreadyBooked(extra={"order": locked.number})
    locked.status = to
    update_fields = ["status", "updated_at"]
    if reason and to in (S.FAILED, S.CANCELLED, S.EXPIRED):
        locked.failure_reason = reason[:300]
        update_fields.append("failure_reason")
    locked.save(update_fields=update_fields)
    order_event_write(order=locked, kind=f"status.{to}", message=reason, actor=actor, step=step,
                      data={"from": from_status, "to": str(to)})
    order_outbox_write(order=locked, topic=f"order.{to}",
                       payload=order_status_changed_payload(order=locked, from_status=from_status, reason=reason))
    # Hand the caller the fresh row's values.
    order.status, order.failure_reason, order.updated_at = locked.status, locked.failure_reason, locked.updated_at
    return order


# --- supplier orders ---------------------------------------------------------------------

SO = SupplierOrderStatus

SUPPLIER_ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    SO.PENDING: frozenset({SO.CONFIRMED, SO.SHIPPED, SO.DELIVERED, SO.CANCELLED}),
    SO.CONFIRMED: frozenset({SO.SHIPPED, SO.DELIVERED, SO.CANCELLED}),
    SO.SHIPPED: frozenset({SO.DELIVERED, SO.CANCELLED}),
    SO.DELIVERED: frozenset(),
    SO.CANCELLED: frozenset(),
}


def supplier_order_transition_allowed(*, from_status: str, to_status: str) -> bool:
    return to_status in SUPPLIER_ORDER_TRANSITIONS.get(from_status, frozenset())


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
    supplier_order.save(update_fields=["status"])
    return supplier_order


def supplier_orders_move(*, supplier_orders: QuerySet[SupplierOrder], to: str, **changes: Any) -> int:
    """One UPDATE: each supplier order of the queryset that the table lets go to `to` moves
    there, the others keep their status; `changes` are written to every row. Returns the number
    of rows written. For writes that are conditional anyway (a booking linked once, the
    compensations), where taking each row's lock would buy nothing."""
    sources = [status for status, tos in SUPPLIER_ORDER_TRANSITIONS.items() if to in tos]
    return supplier_orders.update(status=Case(When(status__in=sources, then=Value(str(to))), default=F("status")),
                                  **changes)


__all__ = [
    "OPEN", "SUPPLIER_ORDER_TRANSITIONS", "TERMINAL", "TRANSITIONS",
    "order_has_booked_shipment", "order_outbox_write", "order_transition", "supplier_order_transition",
    "supplier_order_transition_allowed", "supplier_orders_move", "transition_allowed",
]
