"""Workshop factories. Addresses are real Indonesian areas (as address_create would store them)."""

from __future__ import annotations

import factory

from tests.platform.factories import UserFactory
from workshops.models import Address, CustomerVehicle, MemberRole, Workshop, WorkshopMember

__all__ = ["AddressFactory", "CustomerVehicleFactory", "WorkshopFactory", "WorkshopMemberFactory"]


class WorkshopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workshop

    name = factory.Sequence(lambda n: f"Bengkel Sumber Rejeki {n}")
    npwp = factory.Sequence(lambda n: f"0{n % 10**12:012d}000")
    phone = "+6281234567890"
    credit_limit = 50_000_000


class WorkshopMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkshopMember

    user = factory.SubFactory(UserFactory)
    workshop = factory.SubFactory(WorkshopFactory)
    role = MemberRole.OWNER


class AddressFactory(factory.django.DjangoModelFactory):
    """Bekasi Selatan, Kota Bekasi (a real Kemendagri area), the workshop's default."""

    class Meta:
        model = Address

    workshop = factory.SubFactory(WorkshopFactory)
    label = "Bengkel"
    recipient_name = "Budi Santoso"
    phone = "+6281234567890"
    street = "Jl. Ahmad Yani No. 12"
    province = "Jawa Barat"
    city = "Kota Bekasi"
    district = "Bekasi Selatan"
    postal_code = "17148"
    region_code = "32.75.04"
    is_default = True


class CustomerVehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerVehicle

    workshop = factory.SubFactory(WorkshopFactory)
    plate_number = factory.Sequence(lambda n: f"B {1000 + n % 9000} ABC")
    owner_name = "Siti"
