"""Reads for workshops, scoped to the actor: a workshop member sees only their own workshop.

`workshop_for_actor` is the one place that decides which workshop an actor acts for: a member
acts for their workshop, an API client for the workshop it is bound to (WorkshopApiClient);
unbound API clients and operators (who act for the platform) are refused with `no_workshop`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from okto88.areas import courier_area
from workshops.errors import AddressNotFound, NoWorkshop
from workshops.models import Address, CustomerVehicle, Workshop, WorkshopApiClient, WorkshopMember


def workshop_for_actor(*, actor: Any) -> Workshop:
    """The active workshop `actor` belongs to or its API client is bound to; NoWorkshop for anybody
    else (unbound API clients, operators)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not getattr(actor, "is_active", False):
        raise NoWorkshop()
    api_client = getattr(actor, "api_client", None)
    if api_client is not None:  # an ApiClientPrincipal
        access = WorkshopApiClient.objects.select_related("workshop").filter(api_client_id=api_client.pk).first()
        if access is None:
            raise NoWorkshop("This API client is not bound to a workshop.")
        if not access.workshop.is_active:
            raise NoWorkshop("This workshop is not active.")
        return access.workshop
    try:
        member = WorkshopMember.objects.select_related("workshop").get(user_id=actor.pk)
    except (WorkshopMember.DoesNotExist, TypeError, ValueError) as exc:
        raise NoWorkshop("This user is not a member of a workshop.") from exc
    if not member.workshop.is_active:
        raise NoWorkshop("This workshop is not active.")
    return member.workshop


def address_list(*, actor: Any) -> QuerySet[Address]:
    """The actor's workshop's addresses, the default first."""
    workshop = workshop_for_actor(actor=actor)
    return Address.objects.filter(workshop=workshop).order_by("-is_default", "pk")


def address_get(*, workshop: Workshop, address_id: Any) -> Address:
    """One of this workshop's addresses; another workshop's looks exactly like a missing one."""
    try:
        return Address.objects.get(workshop=workshop, pk=int(address_id))
    except (Address.DoesNotExist, TypeError, ValueError) as exc:
        raise AddressNotFound(extra={"field": "address"}) from exc


def address_default(*, workshop: Workshop) -> Address | None:
    return Address.objects.filter(workshop=workshop, is_default=True).first()


def address_snapshot(*, address: Address) -> dict[str, Any]:
    """Everything an order keeps of its delivery address, whatever happens to the address later."""
    return {
        "id": address.pk, "label": address.label, "recipient_name": address.recipient_name,
        "phone": address.phone, "street": address.street, **courier_area(place=address),
        "region_code": address.region_code,
    }


def customer_vehicle_list(*, actor: Any) -> QuerySet[CustomerVehicle]:
    workshop = workshop_for_actor(actor=actor)
    return (CustomerVehicle.objects.filter(workshop=workshop)
            .select_related("variant", "variant__model", "variant__model__make").order_by("plate_number"))


__all__ = [
    "address_default", "address_get", "address_list",
    "address_snapshot", "customer_vehicle_list", "workshop_for_actor",
]
