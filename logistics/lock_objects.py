"""Row locks for logistics, in one place. A transaction locks at most one shipment, so there is
no cross-row order to keep; take it before reading the state you are about to change."""

from __future__ import annotations

from typing import Any

from logistics.models import Shipment


def shipment_lock(*, pk: int) -> Shipment:
    return Shipment.objects.select_for_update().select_related("carrier").get(pk=pk)


def shipment_lock_or_create(*, reference: str, defaults: dict[str, Any]) -> tuple[Shipment, bool]:
    """The shipment of this reference, locked, created with `defaults` if there is none yet."""
    return Shipment.objects.select_for_update().get_or_create(reference=reference, defaults=defaults)
