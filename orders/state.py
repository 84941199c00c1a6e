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
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from logistics.models import ShipmentStatus
from okto88.errors import InvalidTransition
from okto88.selectors import actor_person
from okto88.services import outbox_event_write
from orders.errors import ShipmentAlreadyBooked
from orders.events import order_status_changed_payload
from orders.lock_objects import order_lock
from orders.models import Order, OrderEvent, OrderStatus, SupplierOrder

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



def order_event_write(*, order: Order, kind: str, message: str = "", actor: Any = None, step: str = "",
                      data: dict | None = None) -> OrderEvent:
    # The timeline records people; an API client or a workflow step is recorded as `step`.
    return OrderEvent.objects.create(order=order, kind=kind, message=str(message)[:300],
                                     actor=actor_person(actor=actor), step=step[:40], data=data or {})


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


__all__ = [
    "OPEN", "TERMINAL", "TRANSITIONS", "order_event_write", "order_has_booked_shipment",
    "order_outbox_write", "order_transition", "transition_allowed",
]
