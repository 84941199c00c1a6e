"""The orders' events: one payload builder per topic (orders.state writes them all), and the
topics' contract."""

from __future__ import annotations

from typing import Any

from okto88.events import Audience, EventTopic, event_topics_register, prop
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from payments.models import PaymentMethod


def _order_fields(order: Order) -> dict[str, Any]:
    return {"order_id": order.pk, "number": order.number, "workshop": order.workshop_id, "status": order.status,
            "payment_method": order.payment_method, "grand_total": order.grand_total}


def order_placed_payload(*, order: Order) -> dict[str, Any]:
    return _order_fields(order)


def order_status_changed_payload(*, order: Order, from_status: str, reason: str = "") -> dict[str, Any]:
    """The payload of every `order.<status>` topic: the order as it is after the move."""
    return {**_order_fields(order), "from": from_status, "reason": reason[:300]}


def supplier_order_payload(*, supplier_order: SupplierOrder, order_number: str, workshop_id: int, line_count: int,
                           from_status: str | None = None) -> dict[str, Any]:
    """The payload of `supplier_order.created` (no `from_status`: it had none) and of every
    `supplier_order.<status>` topic (with `from`): the supplier order as it is after the change.
    The caller passes what lives on other rows (the order's number and workshop, the number of
    lines), so that a bulk path reads them for all its rows in one query."""
    payload = {"supplier_order_id": supplier_order.pk, "number": supplier_order.number, "order_number": order_number,
               "supplier": supplier_order.supplier_id, "workshop": workshop_id,
               "warehouse": supplier_order.warehouse_id, "status": str(supplier_order.status),
               "subtotal": supplier_order.subtotal, "shipping_cost": supplier_order.shipping_cost,
               "line_count": line_count}
    if from_status is not None:
        payload["from"] = str(from_status)
    return payload


# --- The contract -------------------------------------------------------------------------

def _order(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "order_id": prop("integer", "The order's id (also the event's aggregate_id)."),
        "number": prop("string", "The order number the workshop sees (also the payment's reference)."),
        "workshop": prop("integer", "The ordering workshop's id."),
        "status": status,
        "payment_method": prop("string", "How it is paid.", enum=list(PaymentMethod.values)),
        "grand_total": prop("integer", "What the workshop pays, in rupiah, shipping and tax included.", minimum=0),
    }


_PRODUCER = "orders.state.order_transition"
# An order: the workshop that placed it (its ERP or fleet system).
WORKSHOP_AUDIENCE = Audience(scope="orders:read", workshop_field="workshop")

ORDER_PLACED = EventTopic(
    name="order.placed", version=1,
    audience=WORKSHOP_AUDIENCE, aggregate_type="order", producer="orders.services.order_place",
    builder="orders.events.order_placed_payload",
    summary="A workshop placed an order (its lines' stock is reserved).",
    payload=_order(prop("string", "The order's status once placed: `pending_payment`, or `paid` for terms.",
                        enum=[OrderStatus.PENDING_PAYMENT, OrderStatus.PAID])),
)
_MEANINGS = {
    OrderStatus.PAID: "The order's payment settled (or it is paid on terms).",
    OrderStatus.IN_FULFILMENT: "The suppliers are preparing the order.",
    OrderStatus.SHIPPED: "Every supplier order of the order has shipped.",
    OrderStatus.COMPLETED: "Every supplier order was delivered.",
    OrderStatus.CANCELLED: "The order was cancelled (its stock released, its payment returned).",
    OrderStatus.EXPIRED: "The order was not paid in time (its stock released).",
    OrderStatus.FAILED: "The order could not be fulfilled (its stock released, its payment returned).",
}
ORDER_STATUS_TOPICS = tuple(
    EventTopic(
        name=f"order.{status}", version=1,
    audience=WORKSHOP_AUDIENCE, aggregate_type="order", producer=_PRODUCER,
        builder="orders.events.order_status_changed_payload", summary=meaning,
        payload={
            **_order(prop("string", "The order's new status.", const=str(status))),
            "from": prop("string", "The status it left.", enum=list(OrderStatus.values)),
            "reason": prop("string", "Why, in English, as the timeline records it (may be empty).", maxLength=300),
        },
    )
    for status, meaning in _MEANINGS.items()
)



def _supplier_order(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "supplier_order_id": prop("integer", "The supplier order's id (also the event's aggregate_id)."),
        "number": prop("string", "The supplier order's number (the order's number and a suffix, e.g. "
                                 "`OK-2612-ABC123-1`); `GET /api/v1/suppliers/me/orders/{number}/` shows it whole."),
        "order_number": prop("string", "The number of the workshop's order it is part of."),
        "supplier": prop("integer", "The id of the supplier who ships it."),
        "workshop": prop("integer", "The id of the ordering workshop."),
        "warehouse": prop("integer", "The id of the supplier's warehouse it ships from."),
        "status": status,
        "subtotal": prop("integer", "The supplier order's lines, in rupiah, before shipping and PPN.", minimum=0),
        "shipping_cost": prop("integer", "Its shipping, in rupiah.", minimum=0),
        "line_count": prop("integer", "How many lines it has.", minimum=0),
    }


# A supplier order: the supplier who ships it (its ERP), and the workshop that ordered it.
SUPPLIER_ORDER_AUDIENCE = Audience(scope="orders:read", supplier_field="supplier", workshop_field="workshop")
_SUPPLIER_ORDER_BUILDER = "orders.events.supplier_order_payload"
_SUPPLIER_ORDER_NOTES = ("Every change of a supplier order's status writes one event, in the transaction of the "
                         "change; a bulk change (the compensations) one per supplier order it moved, none for "
                         "those it left alone.")

SUPPLIER_ORDER_CREATED = EventTopic(
    name="supplier_order.created", version=1,
    audience=SUPPLIER_ORDER_AUDIENCE, aggregate_type="supplier_order", producer="orders.services.order_place",
    builder=_SUPPLIER_ORDER_BUILDER, notes=_SUPPLIER_ORDER_NOTES,
    summary="An order was placed: one event per supplier order it was split into, written with `order.placed`.",
    payload=_supplier_order(prop("string", "Always `pending` when created.", const=str(SupplierOrderStatus.PENDING))),
)
_SUPPLIER_ORDER_MEANINGS = {
    SupplierOrderStatus.ACCEPTED: "The supplier accepted the supplier order, in full or in part (the rejected "
                                  "lines are refunded to the workshop; `GET /api/v1/suppliers/me/orders/{number}/` "
                                  "shows them); its stock is committed next.",
    SupplierOrderStatus.READY_TO_SHIP: "The supplier packed the supplier order; the courier is being booked.",
    SupplierOrderStatus.REJECTED: "The supplier accepted none of the supplier order, or did not answer before its "
                                  "deadline; its share is refunded and its stock released.",
    SupplierOrderStatus.CONFIRMED: "The supplier order's shipment is booked with the courier (its label can be "
                                   "printed).",
    SupplierOrderStatus.SHIPPED: "The courier picked the supplier order's parcel up.",
    SupplierOrderStatus.DELIVERED: "The courier delivered the supplier order's parcel.",
    SupplierOrderStatus.CANCELLED: "The supplier order will not ship: its order was cancelled, expired unpaid or "
                                   "failed, or its own fulfilment failed (its stock is given back).",
}
SUPPLIER_ORDER_STATUS_TOPICS = tuple(
    EventTopic(
        name=f"supplier_order.{status}", version=1,
        audience=SUPPLIER_ORDER_AUDIENCE, aggregate_type="supplier_order",
        producer="orders.state.supplier_order_transition, orders.state.supplier_orders_move",
        builder=_SUPPLIER_ORDER_BUILDER, notes=_SUPPLIER_ORDER_NOTES, summary=meaning,
        payload={**_supplier_order(prop("string", "The supplier order's new status.", const=str(status))),
                 "from": prop("string", "The status it left.", enum=list(SupplierOrderStatus.values))},
    )
    for status, meaning in _SUPPLIER_ORDER_MEANINGS.items()
)

event_topics_register(ORDER_PLACED, *ORDER_STATUS_TOPICS, SUPPLIER_ORDER_CREATED, *SUPPLIER_ORDER_STATUS_TOPICS)
