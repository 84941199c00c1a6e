"""The vehicles API seen from the outside: filters, pagination, scopes, problems, schema."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from okto88.models import Scope
from tests.platform.factories import UserFactory, issue_api_key
from tests.problems import PROBLEM, assert_problem
from tests.vehicles.factories import MakeFactory, VehicleModelFactory, VehicleVariantFactory

pytestmark = pytest.mark.django_db
LISTS = ["/api/v1/vehicles/makes/", "/api/v1/vehicles/models/", "/api/v1/vehicles/variants/"]
VIN_URL = "/api/v1/vehicles/vin/{}/"


def api(*, scopes: list[str] | None = None) -> APIClient:
    client = APIClient()
    issued = issue_api_key(scopes=[Scope.CATALOG_READ] if scopes is None else scopes)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client



def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def fleet():
    """Two makes with cars and a motorcycle, variants on either side of 2019."""
    toyota, honda, yamaha = (MakeFactory(name=n) for n in ("Toyota", "Honda", "Yamaha"))
    avanza = VehicleModelFactory(make=toyota, name="Avanza")
    brio = VehicleModelFactory(make=honda, name="Brio")
    beat = VehicleModelFactory(make=honda, name="Beat", vehicle_type="motorcycle")
    nmax = VehicleModelFactory(make=yamaha, name="NMAX", vehicle_type="motorcycle")
    return {
        "toyota": toyota, "honda": honda, "yamaha": yamaha,
        "avanza": avanza, "brio": brio, "beat": beat, "nmax": nmax,
        "avanza_f650": VehicleVariantFactory(model=avanza, year_from=2011, year_to=2018),
        "avanza_w100": VehicleVariantFactory(model=avanza, year_from=2019, year_to=None),
        "avanza_facelift": VehicleVariantFactory(model=avanza, year_from=2015, year_to=2019),
        "brio_dd2": VehicleVariantFactory(model=brio, year_from=2018, year_to=None),
        "beat_esp": VehicleVariantFactory(model=beat, year_from=2016, year_to=2019),
        "nmax_gen1": VehicleVariantFactory(model=nmax, year_from=2015, year_to=2019),
    }


# --- filters -----------------------------------------------------------------------------

def test_makes_are_alphabetical_and_filter_by_vehicle_type(fleet):
    client = api()
    names = [row["name"] for row in client.get(LISTS[0]).json()["results"]]
    assert names == ["Honda", "Toyota", "Yamaha"]
    motorcycles = client.get(LISTS[0], {"vehicle_type": "motorcycle"}).json()["results"]
    assert [row["name"] for row in motorcycles] == ["Honda", "Yamaha"]
    assert set(motorcycles[0]) == {"id", "name", "slug", "country"}


def test_models_filter_by_make_and_vehicle_type(fleet):
    client = api()
    honda = fleet["honda"].pk
    assert set(ids(client.get(LISTS[1], {"make": honda}))) == {fleet["brio"].pk, fleet["beat"].pk}
    assert ids(client.get(LISTS[1], {"make": honda, "vehicle_type": "car"})) == [fleet["brio"].pk]
    row = client.get(LISTS[1], {"make": honda, "vehicle_type": "car"}).json()["results"][0]
    assert row == {"id": fleet["brio"].pk, "make": honda, "make_name": "Honda", "name": "Brio",
                   "slug": "brio", "vehicle_type": "car"}


def test_variants_filter_by_model_and_year_with_inclusive_bounds(fleet):
    client = api()
    avanza = fleet["avanza"].pk

    def variants(year):
        return set(ids(client.get(LISTS[2], {"model": avanza, "year": year})))

    assert variants(2018) == {fleet["avanza_f650"].pk, fleet["avanza_facelift"].pk}  # year_to
    assert variants(2019) == {fleet["avanza_w100"].pk, fleet["avanza_facelift"].pk}  # year_from
    assert variants(2020) == {fleet["avanza_w100"].pk}  # year_to + 1 excluded
    assert variants(2040) == {fleet["avanza_w100"].pk}  # still produced: open ended
    assert variants(2010) == set()
    row = client.get(LISTS[2], {"model": avanza, "year": 2020}).json()["results"][0]
    assert row["make_name"] == "Toyota" and row["model_name"] == "Avanza"
    assert row["year_to"] is None and row["engine_code"] == "1NR-VE"


def test_variants_filter_by_make_and_vehicle_type(fleet):
    client = api()
    response = client.get(LISTS[2], {"make": fleet["honda"].pk, "vehicle_type": "motorcycle"})
    assert ids(response) == [fleet["beat_esp"].pk]


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        (LISTS[0], {"vehicle_type": "boat"}, "vehicle_type"),
        (LISTS[1], {"make": "xyz"}, "make"),
        (LISTS[1], {"make": "1.5"}, "make"),
        (LISTS[1], {"make": "99999999999999999999999"}, "make"),
        (LISTS[1], {"vehicle_type": "truck"}, "vehicle_type"),
        (LISTS[2], {"year": "abc"}, "year"),
        (LISTS[2], {"year": "99999"}, "year"),
        (LISTS[2], {"model": "-1"}, "model"),
        (LISTS[2], {"make": "Toyota"}, "make"),
    ],
)
def test_invalid_filter_values_are_400_problems_naming_the_field(url, params, field):
    body = assert_problem(api().get(url, params), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == [field]


def test_an_unknown_make_id_is_an_empty_list_not_an_error(fleet):
    assert ids(api().get(LISTS[1], {"make": 987654321})) == []


# --- pagination and query counts ----------------------------------------------------------

@pytest.mark.parametrize("url", LISTS)
def test_every_list_is_paginated_with_a_next_link(fleet, url):
    client = api()
    first = client.get(url, {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"] and first["previous"] is None
    seen = [row["id"] for row in first["results"]]
    page = first
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert len(seen) == len(set(seen)) == client.get(url).json()["results"].__len__()


def test_the_default_page_is_bounded():
    VehicleVariantFactory.create_batch(51, model=VehicleModelFactory())
    body = api().get(LISTS[2]).json()
    assert len(body["results"]) == 50 and body["next"]


@pytest.mark.parametrize("url", LISTS)
def test_lists_do_not_query_per_row(url, django_assert_max_num_queries):
    for n in range(8):
        model = VehicleModelFactory(make=MakeFactory(name=f"M{n}"))
        VehicleVariantFactory.create_batch(2, model=model)
    client = api()
    client.get(url)  # the key's last_used_at is written on first use
    # auth (key + client) + one page query; no COUNT with a cursor
    with django_assert_max_num_queries(3):
        response = client.get(url)
    assert len(response.json()["results"]) >= 8


# --- VIN -----------------------------------------------------------------------------------

def test_a_vin_is_decoded_with_its_candidate_variants(fleet):
    response = api().get(VIN_URL.format("mh1-jfz110kk123456"))  # Honda Beat eSP, 2019
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["decoded"] | {"model_year": None} == {
        "vin": "MH1JFZ110KK123456", "wmi": "MH1", "vds": "JFZ110", "vis": "KK123456",
        "manufacturer": "PT Astra Honda Motor", "make": "Honda", "makes": ["Honda"],
        "country": "Indonesia", "region": "Asia", "vehicle_type": "motorcycle",
        "model_year": None, "check_digit": "not_applicable", "plant_code": "K",
        "serial_number": "123456", "wmi_certain": True,
    }
    assert body["decoded"]["model_year"] == 2019
    assert [row["id"] for row in body["candidates"]] == [fleet["beat_esp"].pk]
    assert body["candidates_truncated"] is False


def test_a_north_american_vin_reports_an_invalid_check_digit(fleet):
    body = api().get(VIN_URL.format("1HGCM82643A004352")).json()
    assert body["decoded"]["check_digit"] == "invalid"
    assert body["candidates"] == []  # no Honda car variant built in 2003


def test_candidates_are_capped(django_assert_max_num_queries):
    model = VehicleModelFactory(make=MakeFactory(name="Suzuki"))
    VehicleVariantFactory.create_batch(101, model=model, year_from=2010, year_to=2014)
    client = api()
    client.get(VIN_URL.format("MHYKZE81SCJ115045"))
    with django_assert_max_num_queries(3):
        body = client.get(VIN_URL.format("MHYKZE81SCJ115045")).json()
    assert len(body["candidates"]) == 100 and body["candidates_truncated"] is True


@pytest.mark.parametrize("vin", ["1HGCM82633A00435", "1HGCM82633I004352", "1HGCM82633A00435%2A"])
def test_a_bad_vin_is_a_400_problem(vin):
    body = assert_problem(api().get(VIN_URL.format(vin)), 400, "invalid_vin")
    assert body["title"] == "Ini bukan VIN yang valid."  # the title speaks the reader's language, Indonesian first


# --- authentication and scopes ---------------------------------------------------------------

@pytest.mark.parametrize("url", [*LISTS, VIN_URL.format("1HGCM82633A004352")])
def test_without_credentials_it_is_401(url):
    assert_problem(APIClient().get(url), 401, "not_authenticated")


@pytest.mark.parametrize("url", [*LISTS, VIN_URL.format("1HGCM82633A004352")])
def test_a_key_without_catalog_read_is_403(url):
    body = assert_problem(api(scopes=[Scope.ORDERS_READ]).get(url), 403, "insufficient_scope")
    assert "catalog:read" in body["detail"]


@pytest.mark.parametrize("url", [*LISTS, VIN_URL.format("1HGCM82633A004352")])
def test_a_logged_in_user_may_read(url):
    client = APIClient()
    client.force_login(UserFactory())
    assert client.get(url).status_code == 200


# --- schema ------------------------------------------------------------------------------------

def test_every_vehicles_endpoint_is_documented_with_its_filters_and_problems():
    import yaml

    response = APIClient().get("/api/v1/schema/")
    schema = yaml.safe_load(response.content)
    expected = {
        "/api/v1/vehicles/makes/": {"vehicle_type", "cursor", "page_size"},
        "/api/v1/vehicles/models/": {"make", "vehicle_type", "cursor", "page_size"},
        "/api/v1/vehicles/variants/": {
            "model", "make", "year", "vehicle_type", "cursor", "page_size",
        },
        "/api/v1/vehicles/vin/{vin}/": {"vin"},
    }
    for path, params in expected.items():
        operation = schema["paths"][path]["get"]
        assert {p["name"] for p in operation["parameters"]} == params, path
        assert {"200", "400", "401", "403", "429"} <= set(operation["responses"]), path
    vin_responses = schema["paths"]["/api/v1/vehicles/vin/{vin}/"]["get"]["responses"]
    assert "404" in vin_responses
    assert PROBLEM in vin_responses["400"]["content"]


def test_the_schema_gives_the_vin_its_pattern_and_every_filter_its_bounds():
    import re

    schema = APIClient().get("/api/v1/schema/?format=json").json()
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/vehicles/vin/{vin}/"]["get"]["parameters"]}
    pattern = re.compile(params["vin"]["pattern"])
    assert pattern.search("MH1JFZ110KK123456") and pattern.search("mh1-jfz110 kk123456")
    assert not pattern.search("no_supplier") and not pattern.search("1HGCM82633I004352")
    variants = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/vehicles/variants/"]["get"]["parameters"]}
    assert variants["make"] == variants["model"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert (variants["year"]["minimum"], variants["year"]["maximum"]) == (1900, 2100)


@pytest.mark.parametrize("vin", ["no_supplier", "suspended", "ſH1JFZ110KK123456"])
def test_a_vin_outside_the_schema_pattern_is_a_400(vin):
    # "ſ" upper-cases to "S": decodable, yet not what the schema allows, so refused like it.
    assert_problem(api().get(VIN_URL.format(vin)), 400, "invalid_vin")


def test_a_vin_with_separators_and_lower_case_is_decoded(fleet):
    response = api().get(VIN_URL.format("mh1-jfz110 kk123456"))
    assert response.status_code == 200, response.content
    assert response.json()["decoded"]["vin"] == "MH1JFZ110KK123456"
