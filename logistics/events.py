"""The logistics events: one payload builder for the `shipment.<status>` topics (logistics.services
writes them on booking, cancelling and each forward tracking move), and the topics' contract."""

from __future__ import annotations

from typing import Any

from logistics.models import Shipment, ShipmentStatus
from okto88.events import EventTopic, event_topics_register, nullable, prop


def shipment_status_changed_payload(*, shipment: Shipment) -> dict[str, Any]:
    return {"reference": shipment.reference, "shipment_id": shipment.pk, "waybill": shipment.waybill,
            "status": shipment.status}


_ON_SHIPMENT = ("orders.on_shipment_event",)
_MEANINGS = {
    ShipmentStatus.BOOKED: ("The carrier accepted the shipment.", ()),
    ShipmentStatus.PICKED_UP: ("The carrier picked the parcel up.", _ON_SHIPMENT),
    ShipmentStatus.IN_TRANSIT: ("The parcel is on its way.", _ON_SHIPMENT),
    ShipmentStatus.DELIVERED: ("The parcel was delivered.", _ON_SHIPMENT),
    ShipmentStatus.RETURNED: ("The parcel went back to the sender.", ()),
    ShipmentStatus.CANCELLED: ("The shipment was cancelled.", ()),
}
SHIPMENT_TOPICS = tuple(
    EventTopic(
        name=f"shipment.{status}", version=1, aggregate_type="shipment",
        producer="logistics.services",
        builder="logistics.events.shipment_status_changed_payload", summary=meaning, consumers=consumers,
        payload={
            "reference": prop("string", "What the shipment is for: the supplier order number."),
            "shipment_id": prop("integer", "The shipment's id (also the event's aggregate_id)."),
            "waybill": nullable("string", "The carrier's waybill number; null until the carrier booked it."),
            "status": prop("string", "The shipment's new status.", const=str(status)),
        },
    )
    for status, (meaning, consumers) in _MEANINGS.items()
)

event_topics_register(*SHIPMENT_TOPICS)
