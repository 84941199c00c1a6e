"""An order's timeline: the one service that writes its events (OrderEvent rows are written
nowhere else), and the events as people read them, on the workshop's timeline and in admin.
Services store English texts (fixed ones marked with gettext_noop); they are translated here,
when they are read, so one stored event reads right in either language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from okto88.money import rupiah
from okto88.selectors import actor_api_client, actor_person
from orders.models import Order, OrderEvent, OrderStatus


@dataclass(frozen=True)
class NewOrderEvent:
    kind: str
    message: str = ""
    step: str = ""
    data: dict = field(default_factory=dict)


def _order_event(*, order: Order, event: NewOrderEvent, person: Any, api_client: Any = None) -> OrderEvent:
    return OrderEvent(order=order, kind=event.kind, message=str(event.message)[:300], actor=person,
                      api_client=api_client, step=event.step[:40], data=event.data or {})


def order_event_write(*, order: Order, kind: str, message: str = "", actor: Any = None, step: str = "",
                      data: dict | None = None) -> OrderEvent:
    """One event on the order's timeline, in the caller's transaction."""
    # Who did it: a person (actor), a partner's API client (api_client) or a workflow step (step).
    event = _order_event(order=order, event=NewOrderEvent(kind=kind, message=message, step=step, data=data or {}),
                         person=actor_person(actor=actor), api_client=actor_api_client(actor=actor))
    event.save(force_insert=True)
    return event


def order_events_write(*, order: Order, events: Sequence[NewOrderEvent], actor: Any = None) -> list[OrderEvent]:
    """Several events of one order in one INSERT (a step that books several shipments)."""
    if not events:
        return []
    person, api_client = actor_person(actor=actor), actor_api_client(actor=actor)
    return OrderEvent.objects.bulk_create([_order_event(order=order, event=event, person=person, api_client=api_client)
                                           for event in events])

EVENT_TITLES = {
    "placed": gettext_lazy("Order placed"),
    "payment.requested": gettext_lazy("Payment requested"),
    "stock_committed": gettext_lazy("Stock taken from the warehouse"),
    "shipment_booked": gettext_lazy("Courier booked"),
    "order_confirmed": gettext_lazy("Order confirmed"),
    "workflow_redriven": gettext_lazy("Processing resumed"),
    "supplier_order_shipped": gettext_lazy("A supplier's parts are on their way"),
    "supplier_order_delivered": gettext_lazy("A supplier's parts were delivered"),
    "payment.return_failed": gettext_lazy("Refund not done yet: retrying"),
    "payment.returned": gettext_lazy("Payment returned"),
}

# The workflow's steps (orders.services.STEPS) as a workshop reads them on the timeline.
STEP_TITLES = {
    "commit_stock": gettext_lazy("Take the parts from stock"),
    "request_shipments": gettext_lazy("Book the courier"),
    "notify": gettext_lazy("Notify the workshop and suppliers"),
    "mark_in_fulfilment": gettext_lazy("Start preparing the order"),
}


def order_event_title(*, kind: str) -> str:
    if kind in EVENT_TITLES:
        return str(EVENT_TITLES[kind])
    if kind.startswith("status."):
        status = kind.removeprefix("status.")
        label = dict(OrderStatus.choices).get(status, status)
        return _("Status: %(status)s") % {"status": label}
    return kind


def order_event_text(*, event: OrderEvent) -> str:
    if event.kind == "placed" and "supplier_orders" in event.data:
        count = event.data["supplier_orders"]
        return ngettext("%(count)s supplier order, total %(total)s", "%(count)s supplier orders, total %(total)s",
                        count) % {"count": count, "total": rupiah(event.data.get("grand_total", 0))}
    return _(event.message) if event.message else ""


def order_step_title(*, step: str) -> str:
    return str(STEP_TITLES.get(step, step))
