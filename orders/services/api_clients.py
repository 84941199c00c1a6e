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
from okto88.models import ApiClient, ApiKey, Scope
from orders.errors import ScopeNotForPartner
from suppliers.models import SupplierApiClient
from suppliers.services import supplier_api_client_bind
from workshops.models import WorkshopApiClient
from workshops.services import workshop_api_client_bind

# Scopes that read every supplier's and workshop's data: never on a key of a client acting for one.
OPERATOR_ONLY_SCOPES = frozenset({Scope.OPS_READ})


def api_client_acts_for_partner(*, api_client: ApiClient) -> bool:
    return (SupplierApiClient.objects.filter(api_client=api_client).exists()
            or WorkshopApiClient.objects.filter(api_client=api_client).exists())


def api_client_scopes_check(*, api_client: ApiClient, scopes: list[str]) -> None:
    """Refuse operator-only scopes for a key of `api_client` when it acts for a supplier or workshop."""
    refused = sorted(OPERATOR_ONLY_SCOPES.intersection(scopes))
    if refused and api_client_acts_for_partner(api_client=api_client):
        raise ScopeNotForPartner(f"API client {api_client.name} acts for a supplier or a workshop; its keys cannot "
                                 f"hold {', '.join(refused)}, which reads every supplier's and workshop's figures.",
                                 extra={"scopes": refused})


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
    operator_keys = ApiKey.objects.filter(client=client, revoked_at__isnull=True,
                                          scopes__overlap=sorted(OPERATOR_ONLY_SCOPES))
    if operator_keys.exists():
        scopes = ", ".join(sorted(OPERATOR_ONLY_SCOPES))
        raise ScopeNotForPartner(f"API client {client.name} holds a key with {scopes}; revoke it before the client "
                                 f"acts for a supplier or a workshop.",
                                 extra={"scopes": sorted(OPERATOR_ONLY_SCOPES)})
    if other is not None:
        raise ApiClientActsElsewhere(f"API client {client.name} already acts for {kind} {other}; a client acts "
                                     f"for one supplier or one workshop.", extra={kind: other})
    if supplier_id is not None:
        return supplier_api_client_bind(supplier_id=supplier_id, api_client=client)
    return workshop_api_client_bind(workshop_id=workshop_id, api_client=client)
