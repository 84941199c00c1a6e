"""Addresses (real areas, one default), the garage, and scoping to the actor's workshop."""

from __future__ import annotations

import pytest

from okto88.errors import InvalidField, UnknownArea
from tests.platform.factories import ApiClientFactory, OperatorFactory, UserFactory
from tests.workshops.factories import AddressFactory, WorkshopFactory, WorkshopMemberFactory
from vehicles.errors import InvalidVin
from workshops import selectors, services
from workshops.errors import AddressNotFound, ApiClientBoundElsewhere, DuplicatePlate, NoWorkshop, UnknownWorkshop
from workshops.models import Address, WorkshopApiClient

pytestmark = pytest.mark.django_db

BEKASI = {"province": "jawa barat", "city": "Bekasi", "district": "bekasi selatan", "postal_code": "17148"}


def address(workshop, **overrides):
    fields = {"recipient_name": "Budi", "phone": "0812", "street": "Jl. Ahmad Yani 12", **BEKASI, **overrides}
    return services.address_create(workshop=workshop, **fields)


def test_address_is_stored_in_official_spelling_and_first_one_is_default():
    workshop = WorkshopFactory()
    first = address(workshop, city="Kota Bekasi")
    assert (first.province, first.city, first.district, first.region_code) == (
        "Jawa Barat", "Kota Bekasi", "Bekasi Selatan", "32.75.04")
    assert first.is_default


def test_a_new_default_address_takes_over_and_only_one_stays_default():
    workshop = WorkshopFactory()
    first = address(workshop, city="Kota Bekasi")
    second = address(workshop, city="Kota Bekasi", label="Gudang")
    assert not second.is_default
    third = address(workshop, city="Kota Bekasi", is_default=True)
    assert list(Address.objects.filter(workshop=workshop, is_default=True)) == [third]
    services.address_set_default(address=first)
    assert list(Address.objects.filter(workshop=workshop, is_default=True)) == [first]


@pytest.mark.parametrize("field,value", [("province", "Atlantis"), ("district", "Menteng"),
                                         ("postal_code", "10110")])
def test_unknown_area_names_the_wrong_field(field, value):
    with pytest.raises(UnknownArea) as exc:
        address(WorkshopFactory(), **{"city": "Kota Bekasi", field: value})
    assert exc.value.field == field
    assert not Address.objects.exists()


def test_customer_vehicle_plate_normalised_unique_and_vin_checked():
    workshop = WorkshopFactory()
    vehicle = services.customer_vehicle_save(workshop=workshop, plate_number="b-1234-xyz", owner_name="Siti")
    assert vehicle.plate_number == "B 1234 XYZ"
    with pytest.raises(DuplicatePlate):
        services.customer_vehicle_save(workshop=workshop, plate_number="B1234XYZ")
    services.customer_vehicle_save(workshop=WorkshopFactory(), plate_number="B 1234 XYZ")  # another garage
    with pytest.raises(InvalidVin):
        services.customer_vehicle_save(workshop=workshop, plate_number="D 1 A", vin="SHORT")
    updated = services.customer_vehicle_save(workshop=workshop, plate_number="B 1234 XYZ", vehicle=vehicle,
                                             vin="mhfxw42g8c2512345")
    assert updated.vin == "MHFXW42G8C2512345"
    with pytest.raises(InvalidField):
        services.customer_vehicle_save(workshop=workshop, plate_number="not a plate!")


def test_selectors_show_a_member_only_their_workshop():
    mine = WorkshopMemberFactory()
    AddressFactory(workshop=mine.workshop)
    AddressFactory(workshop=WorkshopFactory())
    assert selectors.workshop_for_actor(actor=mine.user) == mine.workshop
    assert [a.workshop_id for a in selectors.address_list(actor=mine.user)] == [mine.workshop.pk]
    other = AddressFactory(workshop=WorkshopFactory())
    with pytest.raises(AddressNotFound):
        selectors.address_get(workshop=mine.workshop, address_id=other.pk)


@pytest.mark.parametrize("make_actor", [UserFactory, OperatorFactory, lambda: None])
def test_non_members_are_refused(make_actor):
    with pytest.raises(NoWorkshop):
        selectors.workshop_for_actor(actor=make_actor())


def test_api_clients_bound_to_no_workshop_are_no_workshop():
    from okto88.api.authentication import ApiClientPrincipal

    with pytest.raises(NoWorkshop):
        selectors.workshop_for_actor(actor=ApiClientPrincipal(api_client=ApiClientFactory()))


def test_demo_workshop_has_a_default_address_in_bekasi():
    from workshops.demo import demo_load

    demo_load()
    demo_load()  # idempotent
    address = Address.objects.get(workshop__name="Bengkel Maju Jaya")
    assert address.is_default and address.city == "Kota Bekasi"


# --- API clients -------------------------------------------------------------------------------

def test_an_api_client_bound_to_a_workshop_acts_for_it_and_is_not_moved_to_another():
    from okto88.api.authentication import ApiClientPrincipal

    first, second = WorkshopFactory(), WorkshopFactory()
    api_client = ApiClientFactory()
    principal = ApiClientPrincipal(api_client=api_client)
    with pytest.raises(NoWorkshop):
        selectors.workshop_for_actor(actor=principal)

    binding = services.workshop_api_client_bind(workshop_id=str(first.pk), api_client=api_client)
    assert services.workshop_api_client_bind(workshop_id=first.pk, api_client=api_client) == binding  # again: no change
    assert selectors.workshop_for_actor(actor=principal) == first
    with pytest.raises(ApiClientBoundElsewhere) as elsewhere:
        services.workshop_api_client_bind(workshop_id=second.pk, api_client=api_client)
    assert elsewhere.value.code == "api_client_bound_elsewhere" and elsewhere.value.extra == {"workshop": first.pk}
    for wrong in (999999, "abc", None):
        with pytest.raises(UnknownWorkshop):
            services.workshop_api_client_bind(workshop_id=wrong, api_client=api_client)
    assert list(WorkshopApiClient.objects.values_list("workshop_id", flat=True)) == [first.pk]

    first.is_active = False
    first.save(update_fields=["is_active"])
    with pytest.raises(NoWorkshop):
        selectors.workshop_for_actor(actor=principal)
