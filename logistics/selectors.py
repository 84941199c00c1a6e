"""Reads for logistics: shipments by the reference their owner (a supplier order) gave them."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from logistics.models import Carrier, Shipment, TrackingEvent


def carrier_names_active() -> dict[str, str]:
    """Code → name of the active carriers, by code, read with one plain statement:
    every checkout preview and placement asks it (logistics.services.shipping_quotes_many), and
    building the queryset cost more than the read (bench/README.md §5)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code, name FROM {Carrier._meta.db_table} WHERE is_active ORDER BY code")  # noqa: S608
        return dict(cursor.fetchall())


def shipment_by_reference(*, reference: str) -> Shipment | None:
    return Shipment.objects.select_related("carrier").filter(reference=reference).first()


def shipments_for_references(*, references: Iterable[str]) -> QuerySet[Shipment]:
    return Shipment.objects.select_related("carrier").filter(reference__in=list(references)).order_by("reference")


def tracking_for_shipment(*, shipment: Shipment) -> QuerySet[TrackingEvent]:
    """The events that were applied or ignored for this shipment, oldest first (forged ones excluded)."""
    return shipment.tracking.filter(signature_valid=True).order_by("occurred_at", "pk")
