"""Demo vehicles: idempotent, and named the way the WMI table and the catalog demo expect."""

from __future__ import annotations

import pytest

from vehicles import demo
from vehicles.models import Make, VehicleModel, VehicleVariant
from vehicles.selectors import variant_candidates_for_vin
from vehicles.services import vin_decode
from vehicles.wmi import WMI_TABLE

pytestmark = pytest.mark.django_db

CATALOG_MODELS = {
    "Toyota": {"Avanza", "Innova", "Rush", "Agya"},
    "Daihatsu": {"Xenia", "Ayla", "Terios", "Gran Max"},
    "Honda": {"Brio", "HR-V", "Jazz", "Beat", "Vario", "Scoopy"},
    "Mitsubishi": {"Xpander"},
    "Suzuki": {"Ertiga", "Carry", "Satria"},
    "Yamaha": {"NMAX", "Aerox", "Mio"},
    "Kawasaki": {"Ninja 250"},
}


def counts() -> tuple[int, int, int]:
    return Make.objects.count(), VehicleModel.objects.count(), VehicleVariant.objects.count()


def test_loading_twice_changes_nothing(django_assert_max_num_queries):
    lines = demo.demo_load()
    first = counts()
    with django_assert_max_num_queries(10):
        assert demo.demo_load() == lines
    assert counts() == first
    assert lines == [f"vehicles: {first[0]} makes, {first[1]} models, {first[2]} variants"]
    assert first[2] >= 100


def test_the_models_the_catalog_demo_looks_up_exist():
    demo.demo_load()
    for make, models in CATALOG_MODELS.items():
        found = set(VehicleModel.objects.filter(make__name=make, name__in=models)
                    .values_list("name", flat=True))
        assert found == models, make
        variants = VehicleVariant.objects.filter(model__make__name=make, model__name__in=models)
        assert variants.values("model").distinct().count() == len(models), make


def test_every_demo_make_is_a_make_the_wmi_table_decodes_to():
    wmi_makes = {make for entry in WMI_TABLE.values() for make in entry.makes}
    assert set(demo.MAKES) <= wmi_makes


def test_variants_agree_with_their_model_on_vehicle_type():
    demo.demo_load()
    for variant in VehicleVariant.objects.select_related("model"):
        assert variant.vehicle_type == variant.model.vehicle_type, variant


def test_an_indonesian_avanza_vin_finds_the_demo_avanza_of_its_year():
    demo.demo_load()
    decoded = vin_decode(vin="MHKA1BA1JMJ012345")  # Astra Daihatsu, model year 2021
    names = {(v.model.make.name, v.model.name, v.generation)
             for v in variant_candidates_for_vin(decoded=decoded)}
    assert ("Toyota", "Avanza", "W100") in names and ("Daihatsu", "Xenia", "W100") in names
    assert ("Toyota", "Avanza", "F600") not in names
    assert all(make in {"Toyota", "Daihatsu"} for make, _, _ in names)
