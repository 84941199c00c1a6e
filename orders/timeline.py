"""An order's timeline: the one service that writes its events (OrderEvent rows are written
nowhere else), and the events as people read them, on the workshop's timeline and in admin.
Services store English texts (fixed ones marked with gettext_noop); they are translated here,
when they are read, so one stored event reads right in either language."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from okto88.money import rupiah
from okto88.selectors import actor_api_client, actor_person
from okto88.write_batches import rows_collected, rows_insert
from orders.models import Order, OrderEvent, OrderStatus, RejectionReason


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
    batch = _order_event_batch.get()
    if batch is not None:  # order_events_batched: written with the block's other events at its end
        batch.append(event)
        return event
    event.save(force_insert=True)
    return event


# The events of the outermost order_events_batched block, None outside one.
_order_event_batch: ContextVar[list[OrderEvent] | None] = ContextVar("order_event_batch", default=None)


@contextmanager
def order_events_batched() -> Iterator[None]:
    """Inside the block every order_event_write (of this service and of the ones it calls, such
    as a status move) only collects its event; when the block ends without an error they are
    written with one INSERT, in the order they were written, still in the caller's transaction
    (order_place: `placed` and the move to paid, one statement instead of two). The events
    returned inside the block get their ids when it ends. A nested block adds to the outer one."""
    if _order_event_batch.get() is None and not connection.in_atomic_block:
        raise RuntimeError("order events are batched inside the transaction of the change")
    with rows_collected(_order_event_batch, rows_insert):
        yield


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
    "supplier_order_accepted": gettext_lazy("Supplier accepted"),
    "supplier_order_partly_accepted": gettext_lazy("Supplier accepted part of the order"),
    "supplier_order_rejected": gettext_lazy("Supplier rejected"),
    "supplier_order_packed": gettext_lazy("Packed, ready to ship"),
    "supplier_order_failed": gettext_lazy("Could not be fulfilled"),
    "refund.requested": gettext_lazy("Refund requested"),
}

# Events about one supplier order carry its number (data["supplier_order"]) and, written by the
# services, its supplier's name (data["supplier"]).
_WAYBILL_KINDS = frozenset({"shipment_booked", "supplier_order_shipped", "supplier_order_delivered"})
_REJECTION_KINDS = frozenset({"supplier_order_rejected", "supplier_order_partly_accepted"})

# The workflow's steps (orders.services.STEPS) as a workshop reads them on the timeline.
STEP_TITLES = {
    "commit_stock": gettext_lazy("Take the parts from stock"),
    "request_shipments": gettext_lazy("Book the courier"),
    "notify": gettext_lazy("Notify the workshop and suppliers"),
    "mark_in_fulfilment": gettext_lazy("Start preparing the order"),
    "open_for_acceptance": gettext_lazy("Ask the suppliers to confirm"),
    "book_courier": gettext_lazy("Book the courier"),
}
# What a workshop reads for a step without a title of its own: never the step's internal name.
STEP_TITLE_OTHER = gettext_lazy("Processing")


# What a workshop reads for an event without a title of its own: never the event's internal kind.
EVENT_TITLE_OTHER = gettext_lazy("Order updated")


def order_event_title(*, kind: str, default: str | None = None) -> str:
    """The event's title; an untitled kind is itself, or `default` where people must not read
    internal names (the workshop's timeline)."""
    if kind in EVENT_TITLES:
        return str(EVENT_TITLES[kind])
    if kind.startswith("status."):
        status = kind.removeprefix("status.")
        label = dict(OrderStatus.choices).get(status)
        if label is not None or default is None:
            return _("Status: %(status)s") % {"status": label or status}
    return kind if default is None else str(default)


def _rejected_text(data: dict) -> str:
    reasons = dict(RejectionReason.choices)
    parts = [_("%(quantity)s × %(name)s (%(reason)s)") % {
        "quantity": item.get("quantity", 0), "name": item.get("name") or item.get("sku", ""),
        "reason": reasons.get(item.get("reason", ""), item.get("reason", ""))}
        for item in data.get("rejected") or [] if isinstance(item, dict)]
    text = _("Not supplied: %(lines)s") % {"lines": "; ".join(parts)} if parts else ""
    if data.get("refund"):
        refund = _("refund %(amount)s") % {"amount": rupiah(data["refund"])}
        text = f"{text} · {refund}" if text else refund
    return text


def order_event_text(*, event: OrderEvent) -> str:
    data = event.data or {}
    if event.kind == "placed" and "supplier_orders" in data:
        count = data["supplier_orders"]
        return ngettext("%(count)s supplier order, total %(total)s", "%(count)s supplier orders, total %(total)s",
                        count) % {"count": count, "total": rupiah(data.get("grand_total", 0))}
    if event.kind in _REJECTION_KINDS:
        return _rejected_text(data)
    if event.kind == "refund.requested" and data.get("amount"):
        return rupiah(data["amount"])
    if event.kind in _WAYBILL_KINDS and data.get("waybill"):
        return _("waybill %(waybill)s") % {"waybill": data["waybill"]}
    if event.kind == "supplier_order_packed" and data.get("parcels"):
        return ngettext("%(count)s parcel", "%(count)s parcels", data["parcels"]) % {"count": data["parcels"]}
    return _(event.message) if event.message else ""


def order_event_supplier(*, event: OrderEvent, names: dict[str, str] | None = None) -> str:
    """The supplier an event is about ("" when it is about the whole order): the name the event
    carries, else the name of the supplier of its supplier order in `names` (number → name)."""
    data = event.data or {}
    return str(data.get("supplier") or (names or {}).get(data.get("supplier_order") or "", ""))


def order_step_title(*, step: str, default: str | None = None) -> str:
    """The step's title; an untitled step is its name, or `default` where people must not read
    internal names (the workshop's timeline)."""
    if step in STEP_TITLES:
        return str(STEP_TITLES[step])
    return step if default is None else str(default)
