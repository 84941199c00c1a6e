"""A partner API client's binding to the supplier or the workshop it acts for.

It lives in orders, the lowest app that may import both suppliers and workshops: a client acts
for one supplier or one workshop, never both, and only here can both bindings be seen (the bind
services each guard their own side, since workshops and suppliers may not import each other).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from okto88.errors import ApiClientActsElsewhere
from okto88.lock_objects import api_client_lock
from okto88.models import ApiClient
from suppliers.models import SupplierApiClient
from suppliers.services import supplier_api_client_bind
from workshops.models import WorkshopApiClient
from workshops.services import workshop_api_client_bind


@transaction.atomic
def api_client_bind(*, api_client: ApiClient, supplier_id: Any = None,
                    workshop_id: Any = None) -> SupplierApiClient | WorkshopApiClient:
    """Let `api_client` act for the supplier or the workshop (give one of the two ids). A client
    already acting for the other kind is refused; the client row is locked first, so two bindings
    of one client queue on it instead of both passing that check."""
    if (supplier_id is None) == (workshop_id is None):
        raise TypeError("api_client_bind takes supplier_id or workshop_id, exactly one.")
    client = api_client_lock(api_client_id=api_client.pk)
    if supplier_id is not None:
        other = WorkshopApiClient.objects.filter(api_client=client).values_list("workshop_id", flat=True).first()
        kind = "workshop"
    else:
        other = SupplierApiClient.objects.filter(api_client=client).values_list("supplier_id", flat=True).first()
        kind = "supplier"
    if other is not None:
        raise ApiClientActsElsewhere(f"API client {client.name} already acts for {kind} {other}; a client acts "
                                     f"for one supplier or one workshop.", extra={kind: other})
    if supplier_id is not None:
        return supplier_api_client_bind(supplier_id=supplier_id, api_client=client)
    return workshop_api_client_bind(workshop_id=workshop_id, api_client=client)
