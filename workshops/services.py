"""Workshop writes: delivery addresses (a real Indonesian area, one default per workshop), the
garage of customer vehicles and the partner API clients that order for a workshop."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction

from okto88.areas import area_resolve
from okto88.audit import AuditAction, audit_record
from okto88.errors import InvalidField
from okto88.models import ApiClient
from vehicles.vin import vin_validate
from workshops.errors import ApiClientBoundElsewhere, DuplicatePlate, UnknownWorkshop
from workshops.lock_objects import workshop_api_client_binding_lock_or_create, workshop_lock
from workshops.models import Address, CustomerVehicle, Workshop, WorkshopApiClient

__all__ = [
    "address_create", "address_set_default",
    "customer_vehicle_save", "plate_normalise", "workshop_api_client_bind", "workshop_credit_limit_set",
]

# The column is a bigint; past this no workshop's credit is meant (Rp 1 quadrillion).
CREDIT_LIMIT_MAX = 10**15


def _required(value: Any, *, field_name: str, max_length: int) -> str:
    text = str(value or "").strip()
    if not text or len(text) > max_length:
        raise InvalidField(f"{field_name} is required (at most {max_length} characters).",
                           extra={"field": field_name})
    return text


@transaction.atomic
def address_create(*, workshop: Workshop, recipient_name: str, phone: str, street: str, province: str, city: str,
                   district: str, postal_code: str, label: str = "Bengkel", is_default: bool = False) -> Address:
    """Raises UnknownArea naming the wrong field. The first address of a workshop is its default;
    a new default takes over from the old one (the workshop row is locked so two requests can
    never both leave a default)."""
    area = area_resolve(province=province, city=city, district=district, postal_code=postal_code)
    address = Address(
        workshop=workshop, label=_required(label, field_name="label", max_length=60),
        recipient_name=_required(recipient_name, field_name="recipient_name", max_length=120),
        phone=_required(phone, field_name="phone", max_length=32),
        street=_required(street, field_name="street", max_length=200),
        province=area.province, city=area.city, district=area.district, postal_code=area.postal_code,
        region_code=area.region_code,
    )
    workshop_lock(workshop_id=workshop.pk)
    has_default = Address.objects.filter(workshop=workshop, is_default=True).exists()
    if is_default and has_default:
        Address.objects.filter(workshop=workshop, is_default=True).update(is_default=False)
    address.is_default = is_default or not has_default
    address.save()
    return address


@transaction.atomic
def address_set_default(*, address: Address) -> Address:
    workshop_lock(workshop_id=address.workshop_id)
    Address.objects.filter(workshop_id=address.workshop_id, is_default=True).exclude(pk=address.pk).update(
        is_default=False)
    # The caller's instance may be stale (another default was set since it was loaded).
    Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True
    return address


def plate_normalise(plate: str) -> str:
    """'b1234xyz' / 'B-1234-XYZ' → 'B 1234 XYZ' (Indonesian plates: region letters, digits, letters)."""
    raw = re.sub(r"[^0-9A-Z]", "", str(plate or "").upper())
    match = re.fullmatch(r"([A-Z]{1,2})([0-9]{1,4})([A-Z]{0,3})", raw)
    if not match:
        raise InvalidField("A plate number looks like B 1234 XYZ.", extra={"field": "plate_number",
                                                                          "value": str(plate or "")[:20]})
    return " ".join(part for part in match.groups() if part)


@transaction.atomic
def customer_vehicle_save(*, workshop: Workshop, plate_number: str, vin: str = "", variant: Any = None,
                          owner_name: str = "", vehicle: CustomerVehicle | None = None) -> CustomerVehicle:
    """Create (vehicle=None) or update a vehicle of the workshop's garage. The VIN, if given, must
    be valid (InvalidVin); the plate is unique per workshop (DuplicatePlate)."""
    if vehicle is not None and vehicle.workshop_id != workshop.pk:
        raise InvalidField("This vehicle belongs to another workshop.", extra={"field": "vehicle"})
    plate = plate_normalise(plate_number)
    clash = CustomerVehicle.objects.filter(workshop=workshop, plate_number=plate)
    if vehicle is not None:
        clash = clash.exclude(pk=vehicle.pk)
    if clash.exists():
        raise DuplicatePlate(extra={"field": "plate_number", "value": plate})
    target = vehicle or CustomerVehicle(workshop=workshop)
    target.plate_number = plate
    target.vin = vin_validate(vin=vin) if (vin or "").strip() else ""
    target.variant = variant
    target.owner_name = str(owner_name or "").strip()[:120]
    target.save()
    return target


# --- API clients -------------------------------------------------------------------------------

@transaction.atomic
def workshop_api_client_bind(*, workshop_id: Any, api_client: ApiClient) -> WorkshopApiClient:
    """Let `api_client` act for the workshop (its keys then see and place only that workshop's
    cart and orders). Binding it again to the same workshop changes nothing; a client acts for
    one workshop only, so another workshop is refused rather than silently moved.

    Whether the client already acts for a supplier is not checked here: workshops may not import
    suppliers (orders.services.api_client_bind checks both)."""
    try:
        workshop = Workshop.objects.get(pk=int(workshop_id))
    except (Workshop.DoesNotExist, TypeError, ValueError) as exc:
        raise UnknownWorkshop(f"No workshop with id {workshop_id}.", extra={"workshop": str(workshop_id)}) from exc
    binding = workshop_api_client_binding_lock_or_create(api_client_id=api_client.pk, workshop=workshop)
    if binding.workshop_id != workshop.pk:
        raise ApiClientBoundElsewhere(
            f"API client {api_client.name} already acts for workshop {binding.workshop_id}.",
            extra={"workshop": binding.workshop_id})
    return binding


@transaction.atomic
def workshop_credit_limit_set(*, workshop: Workshop, credit_limit: Any, actor: Any = None) -> Workshop:
    """Set how much a workshop may owe on terms (whole rupiah, 0 to CREDIT_LIMIT_MAX), under the
    workshop's row lock (which placements take first); an audit entry records before and after."""
    if isinstance(credit_limit, bool) or not isinstance(credit_limit, int) or not 0 <= credit_limit <= CREDIT_LIMIT_MAX:
        raise InvalidField(f"The credit limit is a whole number of rupiah from 0 to {CREDIT_LIMIT_MAX}.",
                           extra={"field": "credit_limit"})
    locked = workshop_lock(workshop_id=workshop.pk)
    before = locked.credit_limit
    if before != credit_limit:
        locked.credit_limit = credit_limit
        locked.save(update_fields=["credit_limit", "updated_at"])
        audit_record(action=AuditAction.CREDIT_LIMIT_CHANGED, actor=actor, target=locked, workshop_id=locked.pk,
                     changes={"credit_limit": {"before": before, "after": credit_limit}})
    workshop.credit_limit = credit_limit
    return workshop
