from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog import services
from catalog.models import Brand, Category, Part
from tests.catalog.factories import BrandFactory, CategoryFactory, PartFactory, VehicleVariantFactory
from vehicles.models import VehicleVariant


@dataclass
class Shop:
    """A small catalog in two languages, two vehicles, OE numbers and their interchange."""

    rem: Category
    kampas_rem: Category
    cakram: Category
    busi: Category
    filter_oli: Category
    aki: Category
    toyota: Brand
    bendix: Brand
    akebono: Brand
    ngk: Brand
    avanza: VehicleVariant
    beat: VehicleVariant
    pad_oe: Part
    pad_old_oe: Part
    pad_bendix: Part
    pad_akebono: Part
    disc: Part
    plug: Part
    oil_filter: Part
    battery: Part


@pytest.fixture
def shop(db) -> Shop:
    rem = CategoryFactory(slug="rem", name_id="Rem", name_en="Brakes", synonyms="rem, brake")
    kampas_rem = CategoryFactory(slug="kampas-rem", parent=rem, name_id="Kampas Rem", name_en="Brake pads",
                                 synonyms="kampas rem, brake pad, pad rem, dakron")
    cakram = CategoryFactory(slug="cakram", parent=rem, name_id="Cakram", name_en="Brake disc",
                             synonyms="piringan cakram, disc rotor")
    mesin = CategoryFactory(slug="mesin", name_id="Mesin", name_en="Engine")
    busi = CategoryFactory(slug="busi", parent=mesin, name_id="Busi", name_en="Spark plug",
                           synonyms="busi, spark plug")
    filter_oli = CategoryFactory(slug="filter-oli", parent=mesin, name_id="Filter Oli", name_en="Oil filter",
                                 synonyms="saringan oli, filter oli, oil filter")
    listrik = CategoryFactory(slug="kelistrikan", name_id="Kelistrikan", name_en="Electrical")
    aki = CategoryFactory(slug="aki", parent=listrik, name_id="Aki", name_en="Battery", synonyms="aki, accu, battery")
    toyota = BrandFactory(name="Toyota Genuine Parts", kind="oem")
    bendix, akebono, ngk = BrandFactory(name="Bendix"), BrandFactory(name="Akebono"), BrandFactory(name="NGK")
    gs = BrandFactory(name="GS Astra")
    avanza, beat = VehicleVariantFactory(), VehicleVariantFactory()

    pad_oe = PartFactory(brand=toyota, category=kampas_rem, number="04465-0K240",
                         name_id="Kampas Rem Depan", name_en="Front Brake Pads")
    pad_old_oe = PartFactory(brand=toyota, category=kampas_rem, number="04465-0K090",
                             name_id="Kampas Rem Depan", name_en="Front Brake Pads")
    services.part_supersede(old=pad_old_oe, new=pad_oe)
    pad_bendix = PartFactory(brand=bendix, category=kampas_rem, number="DB1835", name_id="Kampas Rem Depan",
                             name_en="Front Brake Pads")
    services.cross_reference_add(part=pad_bendix, brand_name="Toyota", number="04465-0K240", is_oe=True)
    services.cross_reference_add(part=pad_bendix, brand_name="Daihatsu", number="04465-BZ010", is_oe=True)
    pad_akebono = PartFactory(brand=akebono, category=kampas_rem, number="AN-731WK", name_id="Kampas Rem Depan",
                              name_en="Front Brake Pads")
    services.cross_reference_add(part=pad_akebono, brand_name="Daihatsu", number="04465 BZ010", is_oe=True)
    disc = PartFactory(brand=toyota, category=cakram, number="43512-0K090", name_id="Piringan Cakram Depan",
                       name_en="Front Brake Disc")
    plug = PartFactory(brand=ngk, category=busi, number="BKR6E", name_id="Busi Standar", name_en="Spark Plug")
    oil_filter = PartFactory(brand=toyota, category=filter_oli, number="90915-YZZE1", name_id="Filter Oli",
                             name_en="Oil Filter")
    battery = PartFactory(brand=gs, category=aki, number="NS40ZL", name_id="Aki Kering", name_en="MF Battery")

    for part, variants in [(pad_oe, [avanza]), (pad_bendix, [avanza]), (pad_akebono, [avanza]),
                           (disc, [avanza]), (plug, [avanza, beat]), (oil_filter, [avanza]), (battery, [beat])]:
        services.fitment_set(part=part, fitments=[{"variant": v, "position": "front" if part.category in (
            kampas_rem, cakram) else ""} for v in variants])
    # The same pad fitted at two positions is still one result.
    services.fitment_set(part=pad_bendix, fitments=[{"variant": avanza, "position": "front_left"},
                                                    {"variant": avanza, "position": "front_right"}])
    return Shop(rem=rem, kampas_rem=kampas_rem, cakram=cakram, busi=busi, filter_oli=filter_oli, aki=aki,
                toyota=toyota, bendix=bendix, akebono=akebono, ngk=ngk, avanza=avanza, beat=beat, pad_oe=pad_oe,
                pad_old_oe=pad_old_oe, pad_bendix=pad_bendix, pad_akebono=pad_akebono, disc=disc, plug=plug,
                oil_filter=oil_filter, battery=battery)
