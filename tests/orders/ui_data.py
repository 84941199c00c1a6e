"""A small shop for the browser pages: Toyota Avanza 2019, brake pads that fit it (one part
offered by two suppliers), other parts, a workshop member with a default address."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import Category, Part
from tests.catalog.factories import BrandFactory, CategoryFactory, FitmentFactory, PartFactory
from tests.orders.factories import Buyer, buyer_make, carriers_ensure
from tests.suppliers.factories import OfferFactory, StockFactory, SupplierFactory, WarehouseFactory
from tests.vehicles.factories import MakeFactory, VehicleModelFactory, VehicleVariantFactory
from vehicles.models import VehicleVariant


@dataclass
class Shop:
    buyer: Buyer
    variant: VehicleVariant
    other_variant: VehicleVariant
    brake_pads: Category
    pad: Part
    parts: list[Part]


def shop_make(*, extra_parts: int = 3, credit_limit: int = 50_000_000) -> Shop:
    carriers_ensure()
    toyota = MakeFactory(name="Toyota", slug="toyota")
    avanza = VehicleModelFactory(make=toyota, name="Avanza", slug="avanza")
    variant = VehicleVariantFactory(model=avanza, name="1.3 G M/T", year_from=2019, year_to=2021)
    other = VehicleVariantFactory(model=avanza, name="1.5 Veloz A/T", year_from=2015, year_to=2018)
    brakes = CategoryFactory(name_id="Rem", name_en="Brakes", slug="rem", synonyms="brake")
    pads = CategoryFactory(parent=brakes, name_id="Kampas Rem", name_en="Brake Pads", slug="kampas-rem",
                           synonyms="brake pad,kampas rem")
    filters = CategoryFactory(name_id="Filter Oli", name_en="Oil Filter", slug="filter-oli")
    bendix, aisin = BrandFactory(name="Bendix", slug="bendix"), BrandFactory(name="Aisin", slug="aisin")
    pad = PartFactory(brand=bendix, category=pads, number="DB1234", name_id="Kampas Rem Depan",
                      name_en="Front Brake Pad", attributes={"posisi": "depan"})
    FitmentFactory(part=pad, variant=variant, position="front")
    parts = [pad]
    for index in range(extra_parts):
        part = PartFactory(brand=aisin if index % 2 else bendix, category=filters if index % 2 else pads,
                           number=f"AX-{index:03d}", name_id=f"Suku Cadang {index}", name_en=f"Part {index}")
        FitmentFactory(part=part, variant=variant)
        parts.append(part)
    near = SupplierFactory(legal_name="PT Sinar Jaya Parts")
    far = SupplierFactory(legal_name="PT Maju Motor")
    near_wh, far_wh = WarehouseFactory(supplier=near), WarehouseFactory(supplier=far)
    for supplier, warehouse, price, lead in ((near, near_wh, 185_000, 1), (far, far_wh, 172_500, 3)):
        offer = OfferFactory(supplier=supplier, part=pad, price=price, lead_time_days=lead)
        StockFactory(offer=offer, warehouse=warehouse, on_hand=20)
    for index, part in enumerate(parts[1:], start=1):
        offer = OfferFactory(supplier=near, part=part, price=50_000 * index, lead_time_days=index)
        StockFactory(offer=offer, warehouse=near_wh, on_hand=5 * index)
    return Shop(buyer=buyer_make(credit_limit=credit_limit), variant=variant, other_variant=other,
                brake_pads=pads, pad=pad, parts=parts)
