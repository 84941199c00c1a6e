"""Row locks for logistics, in one place. A transaction locks at most one shipment, so there is
no cross-row order to keep; take it before reading the state you are about to change."""

from __future__ import annotations

from logistics.models import Shipment


def shipment_lock(*, pk: int) -> Shipment:
    return Shipment.objects.select_for_update().select_related("carrier").get(pk=pk)
