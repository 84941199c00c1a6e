"""Row locks for workshop data. Must run inside a transaction.

The workshop row is the first lock an order placement takes (before the cart and the stock
rows, which suppliers lock in pk order): it serialises one workshop's placements, so the
idempotency check, the credit-limit sum and the default address never race.
"""

from __future__ import annotations

from workshops.models import Workshop, WorkshopApiClient


def workshop_lock(*, workshop_id: int) -> Workshop:
    """Lock one workshop row (FOR UPDATE) and return it fresh."""
    return Workshop.objects.select_for_update(of=("self",)).get(pk=workshop_id)


def workshop_api_client_binding_lock_or_create(*, api_client_id: int, workshop: Workshop) -> WorkshopApiClient:
    """The API client's workshop binding, locked (created for `workshop` when it has none)."""
    binding, _created = WorkshopApiClient.objects.select_for_update().get_or_create(
        api_client_id=api_client_id, defaults={"workshop": workshop})
    return binding
