"""Supplier factories. Rows are written directly with values the services would accept (a real
NPWP, a real Indonesian area), and stock is written together with its ledger rows so that
on_hand == sum(on_hand_delta) holds for factory-made stock as for service-made stock, and each
part's best offer (the PartBestOffer read model) is refreshed as the services do."""

from __future__ import annotations

import factory
from django.db import transaction

from suppliers.models import (
    MemberRole,
    MovementReason,
    Offer,
    Stock,
    StockMovement,
    Supplier,
    SupplierApiClient,
    SupplierMember,
    SupplierStatus,
    Warehouse,
)
from suppliers.services import part_best_offer_refresh
from tests.catalog.factories import PartFactory
from tests.platform.factories import ApiClientFactory, UserFactory

__all__ = [
    "OfferFactory", "StockFactory", "SupplierApiClientFactory", "SupplierFactory", "SupplierMemberFactory",
    "WarehouseFactory",
]


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    legal_name = factory.Sequence(lambda n: f"PT Suku Cadang {n}")
    # 16-digit normalised form (legacy 15-digit number prefixed with 0), as supplier_create stores it.
    npwp = factory.Sequence(lambda n: f"0{n % 10**12:012d}000")
    contact_name = "Budi Santoso"
    contact_email = factory.Sequence(lambda n: f"sales{n}@supplier.co.id")
    status = SupplierStatus.ACTIVE


class SupplierMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierMember

    user = factory.SubFactory(UserFactory)
    supplier = factory.SubFactory(SupplierFactory)
    role = MemberRole.OWNER


class SupplierApiClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierApiClient

    api_client = factory.SubFactory(ApiClientFactory)
    supplier = factory.SubFactory(SupplierFactory)


class WarehouseFactory(factory.django.DjangoModelFactory):
    """Kebayoran Baru, Jakarta Selatan by default (a real Kemendagri area)."""

    class Meta:
        model = Warehouse

    supplier = factory.SubFactory(SupplierFactory)
    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Gudang {o.code}")
    province = "Daerah Khusus Ibukota Jakarta"
    city = "Kota Administrasi Jakarta Selatan"
    district = "Kebayoran Baru"
    postal_code = "12110"
    region_code = "31.74.07"
    address_line = "Jl. Panglima Polim No. 10"


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    supplier = factory.SubFactory(SupplierFactory)
    part = factory.SubFactory(PartFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    price = 150_000
    lead_time_days = 2
    is_active = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with transaction.atomic():
            offer = super()._create(model_class, *args, **kwargs)
            part_best_offer_refresh(part_ids=[offer.part_id])
        return offer


class StockFactory(factory.django.DjangoModelFactory):
    """`StockFactory(on_hand=10, reserved=2)` also writes the ledger rows that explain those numbers.
    Pass `warehouse` of the offer's supplier, or let it make one for that supplier."""

    class Meta:
        model = Stock

    offer = factory.SubFactory(OfferFactory)
    warehouse = factory.LazyAttribute(lambda o: WarehouseFactory(supplier=o.offer.supplier))
    on_hand = 0
    reserved = 0

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        stock = super()._create(model_class, *args, **kwargs)
        if stock.on_hand:
            StockMovement.objects.create(
                stock=stock, reason=MovementReason.IMPORT, on_hand_delta=stock.on_hand, reserved_delta=0,
                on_hand_after=stock.on_hand, reserved_after=0, reference="factory",
            )
        if stock.reserved:
            StockMovement.objects.create(
                stock=stock, reason=MovementReason.RESERVATION, on_hand_delta=0, reserved_delta=stock.reserved,
                on_hand_after=stock.on_hand, reserved_after=stock.reserved, reference="factory",
            )
        with transaction.atomic():
            part_best_offer_refresh(offer_ids=[stock.offer_id])
        return stock
