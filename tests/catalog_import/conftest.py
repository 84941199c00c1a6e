"""A small catalog to import into: brands, a category tree, Toyota Avanza and Honda Beat."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from catalog.models import Brand, BrandKind, Category
from tests.read_models import read_models_checked_after
from vehicles.models import Make, VehicleModel, VehicleType, VehicleVariant


@pytest.fixture(autouse=True)
def _read_models_exact(request):
    """Every test that wrote through the catalog import leaves every read model exact."""
    yield from read_models_checked_after(request)


@dataclass
class Catalog:
    toyota: Brand
    aisin: Brand
    denso: Brand
    brake_pads: Category
    oil_filters: Category
    spark_plugs: Category
    avanza_2019: VehicleVariant
    avanza_2022: VehicleVariant
    beat: VehicleVariant


@pytest.fixture
def catalog(db) -> Catalog:
    toyota = Brand.objects.create(name="Toyota", slug="toyota", kind=BrandKind.OEM, country="Japan")
    aisin = Brand.objects.create(name="Aisin", slug="aisin", kind=BrandKind.AFTERMARKET)
    denso = Brand.objects.create(name="Denso", slug="denso", kind=BrandKind.AFTERMARKET)
    brakes = Category.objects.create(slug="rem", name_id="Rem", name_en="Brakes")
    brake_pads = Category.objects.create(
        parent=brakes, slug="kampas-rem", name_id="Kampas rem", name_en="Brake pads",
        synonyms="brake pad, kanvas rem",
    )
    oil_filters = Category.objects.create(slug="saringan-oli", name_id="Saringan oli", name_en="Oil filter")
    spark_plugs = Category.objects.create(slug="busi", name_id="Busi", name_en="Spark plug")
    make = Make.objects.create(name="Toyota", slug="toyota", country="Japan")
    avanza = VehicleModel.objects.create(make=make, name="Avanza", slug="avanza", vehicle_type=VehicleType.CAR)
    honda = Make.objects.create(name="Honda", slug="honda", country="Japan")
    beat_model = VehicleModel.objects.create(
        make=honda, name="Beat", slug="beat", vehicle_type=VehicleType.MOTORCYCLE
    )
    return Catalog(
        toyota=toyota, aisin=aisin, denso=denso, brake_pads=brake_pads, oil_filters=oil_filters,
        spark_plugs=spark_plugs,
        avanza_2019=VehicleVariant.objects.create(
            model=avanza, generation="F650", name="1.3 E M/T", year_from=2019, year_to=2021,
            vehicle_type=VehicleType.CAR,
        ),
        avanza_2022=VehicleVariant.objects.create(
            model=avanza, generation="W100", name="1.3 E M/T", year_from=2022,
            vehicle_type=VehicleType.CAR,
        ),
        beat=VehicleVariant.objects.create(
            model=beat_model, name="eSP CBS", year_from=2020, vehicle_type=VehicleType.MOTORCYCLE,
        ),
    )


@pytest.fixture(autouse=True)
def _english_messages(client, settings):
    """These tests read the English texts; Indonesian is the default everywhere else."""
    from django.utils import translation

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield
