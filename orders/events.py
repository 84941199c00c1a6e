"""The orders' events: one payload builder per topic (orders.state writes them all), and the
topics' contract."""

from __future__ import annotations

from typing import Any

from okto88.events import Audience, EventTopic, event_topics_register, prop
from orders.models import Order, OrderStatus
from payments.models import PaymentMethod


def _order_fields(order: Order) -> dict[str, Any]:
    return {"order_id": order.pk, "number": order.number, "workshop": order.workshop_id, "status": order.status,
            "payment_method": order.payment_method, "grand_total": order.grand_total}


def order_placed_payload(*, order: Order) -> dict[str, Any]:
    return _order_fields(order)


def order_status_changed_payload(*, order: Order, from_status: str, reason: str = "") -> dict[str, Any]:
    """The payload of every `order.<status>` topic: the order as it is after the move."""
    return {**_order_fields(order), "from": from_status, "reason": reason[:300]}


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

event_topics_register(ORDER_PLACED, *ORDER_STATUS_TOPICS)
