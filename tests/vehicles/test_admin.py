"""Staff admin pages for vehicles load, search and filter in a bounded number of queries."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.platform.factories import OperatorFactory
from tests.vehicles.factories import MakeFactory, VehicleModelFactory, VehicleVariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(OperatorFactory())
    return client


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/admin/vehicles/make/", {}),
        ("/admin/vehicles/vehiclemodel/", {"q": "Model"}),
        ("/admin/vehicles/vehiclemodel/", {"vehicle_type__exact": "car"}),
        ("/admin/vehicles/vehiclevariant/", {}),
        ("/admin/vehicles/vehiclevariant/", {"q": "1NR"}),
        ("/admin/vehicles/vehiclevariant/", {"fuel__exact": "petrol", "vehicle_type": "car"}),
    ],
)
def test_changelists_load_without_a_query_per_row(staff, url, params,
                                                  django_assert_max_num_queries):
    for n in range(10):
        model = VehicleModelFactory(make=MakeFactory(name=f"Make {n}"))
        VehicleVariantFactory.create_batch(3, model=model)
    staff.get(url, params)  # warm up session and content types
    with django_assert_max_num_queries(12):
        response = staff.get(url, params)
    assert response.status_code == 200


def test_the_variant_autocomplete_for_models_answers(staff):
    VehicleModelFactory(make=MakeFactory(name="Toyota"), name="Avanza")
    response = staff.get("/admin/autocomplete/", {
        "term": "Ava", "app_label": "vehicles", "model_name": "vehiclevariant",
        "field_name": "model",
    })
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Toyota Avanza"]


def test_the_variant_list_filters_by_make(staff):
    toyota, honda = MakeFactory(name="Toyota"), MakeFactory(name="Honda")
    avanza = VehicleVariantFactory(model=VehicleModelFactory(make=toyota, name="Avanza"))
    VehicleVariantFactory(model=VehicleModelFactory(make=honda, name="Brio"))
    response = staff.get("/admin/vehicles/vehiclevariant/", {"model__make__id__exact": toyota.pk})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [avanza]
