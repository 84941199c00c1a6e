"""Suppliers: create, update, delete (NPWP normalised), and binding an API client to act for one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from lokal.npwp import parse_npwp

from okto88.errors import InvalidField
from okto88.models import ApiClient
from suppliers.errors import ApiClientBoundElsewhere, InvalidNpwp, UnknownSupplier
from suppliers.lock_objects import offer_lock, supplier_api_client_binding_lock_or_create
from suppliers.models import Offer, Supplier, SupplierApiClient, SupplierStatus
from suppliers.services.best_offers import part_best_offer_refresh


def npwp_normalise(npwp: str) -> str:
    """The 16-digit NPWP DJP uses today; a legacy 15-digit NPWP gets its leading 0.
    Accepts dots, dashes and spaces. Raises InvalidNpwp."""
    info = parse_npwp(str(npwp or ""))
    if not info.valid or not info.npwp16:
        detail = "; ".join(issue.message for issue in info.errors) or "NPWP is not valid."
        raise InvalidNpwp(detail, extra={"field": "npwp", "value": str(npwp or "")})
    return info.npwp16


@transaction.atomic
def supplier_create(*, legal_name: str, npwp: str, contact_name: str = "", contact_email: str = "",
                    contact_phone: str = "", status: str = SupplierStatus.PENDING) -> Supplier:
    legal_name = (legal_name or "").strip()
    if not legal_name:
        raise InvalidField("The legal name is required.", extra={"field": "legal_name"})
    return Supplier.objects.create(
        legal_name=legal_name, npwp=npwp_normalise(npwp), contact_name=contact_name.strip(),
        contact_email=contact_email.strip(), contact_phone=contact_phone.strip(), status=status,
    )


SUPPLIER_UPDATABLE = {"legal_name", "npwp", "contact_name", "contact_email", "contact_phone", "status"}


@transaction.atomic
def supplier_update(*, supplier: Supplier, data: Mapping[str, Any]) -> Supplier:
    unknown = set(data) - SUPPLIER_UPDATABLE
    if unknown:
        raise InvalidField(f"Cannot change: {', '.join(sorted(unknown))}.", extra={"fields": sorted(unknown)})
    # From the row: an admin form has already set the new values on `supplier`.
    old_status = Supplier.objects.filter(pk=supplier.pk).values_list("status", flat=True).first()
    for name, value in data.items():
        setattr(supplier, name, npwp_normalise(value) if name == "npwp" else value)
    supplier.save()
    if supplier.status != old_status:  # only an active supplier's offers can be bought
        part_best_offer_refresh(supplier_id=supplier.pk)
    return supplier


@transaction.atomic
def supplier_delete(*, supplier: Supplier) -> None:
    """Delete a supplier with its offers (protected while any stock has a ledger), refreshing
    the best offers of every part it offered."""
    offers = offer_lock(offer_ids=Offer.objects.filter(supplier=supplier).values_list("pk", flat=True))
    supplier.delete()
    part_best_offer_refresh(part_ids={offer.part_id for offer in offers.values()})



# --- API clients -------------------------------------------------------------------------------

@transaction.atomic
def supplier_api_client_bind(*, supplier_id: Any, api_client: ApiClient) -> SupplierApiClient:
    """Let `api_client` act for the supplier (its keys then see and change only that supplier's
    offers and stock). Binding it again to the same supplier changes nothing; a client acts for
    one supplier only, so another supplier is refused rather than silently moved.

    Whether the client already acts for a workshop is not checked here: suppliers may not import
    workshops (orders.services.api_client_bind checks both)."""
    try:
        supplier = Supplier.objects.get(pk=int(supplier_id))
    except (Supplier.DoesNotExist, TypeError, ValueError) as exc:
        raise UnknownSupplier(f"No supplier with id {supplier_id}.", extra={"supplier": str(supplier_id)}) from exc
    binding = supplier_api_client_binding_lock_or_create(api_client_id=api_client.pk, supplier=supplier)
    if binding.supplier_id != supplier.pk:
        raise ApiClientBoundElsewhere(
            f"API client {api_client.name} already acts for supplier {binding.supplier_id}.",
            extra={"supplier": binding.supplier_id})
    return binding
