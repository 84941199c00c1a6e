"""Reads for logistics: shipments by the reference their owner (a supplier order) gave them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from logistics.models import Carrier, Shipment, TrackingEvent


def carriers_active() -> QuerySet[Carrier]:
    return Carrier.objects.filter(is_active=True).order_by("code")


def shipment_by_reference(*, reference: str) -> Shipment | None:
    return Shipment.objects.select_related("carrier").filter(reference=reference).first()


def shipments_for_references(*, references: Iterable[str]) -> QuerySet[Shipment]:
    return Shipment.objects.select_related("carrier").filter(reference__in=list(references)).order_by("reference")


def tracking_for_shipment(*, shipment: Shipment) -> QuerySet[TrackingEvent]:
    """The events that were applied or ignored for this shipment, oldest first (forged ones excluded)."""
    return shipment.tracking.filter(signature_valid=True).order_by("occurred_at", "pk")
