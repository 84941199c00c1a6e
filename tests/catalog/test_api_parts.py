"""The catalog API from the outside: searches, detail, lookup, pagination, errors, query counts."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog import services
from okto88.models import Scope
from tests.catalog.factories import PartFactory, VehicleVariantFactory, parts_bulk
from tests.platform.factories import UserFactory, issue_api_key
from tests.problems import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issue_api_key(scopes=[Scope.CATALOG_READ]).raw_key}")
    return client



def result_ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- search by vehicle ----------------------------------------------------------------------

def test_parts_by_vehicle_with_facets(api, shop):
    response = api.get("/api/v1/parts/", {"vehicle": shop.avanza.pk, "category": shop.rem.pk})
    assert result_ids(response) == {shop.pad_oe.pk, shop.pad_bendix.pk, shop.pad_akebono.pk, shop.disc.pk}
    body = response.json()
    assert {f["name"]: f["count"] for f in body["facets"]["categories"]} == {
        "Kampas Rem": 3, "Cakram": 1, "Busi": 1, "Filter Oli": 1}
    assert {f["name"]: f["count"] for f in body["facets"]["brands"]} == {
        "Toyota Genuine Parts": 2, "Bendix": 1, "Akebono": 1}
    row = next(r for r in body["results"] if r["id"] == shop.pad_oe.pk)
    assert row["brand"]["name"] == "Toyota Genuine Parts" and row["category"]["name_en"] == "Brake pads"
    assert row["number_key"] == "044650K240" and row["best_offer"] is None


def test_parts_by_vehicle_and_words_intersect(api, shop):
    response = api.get("/api/v1/parts/", {"vehicle": shop.avanza.pk, "q": "kampas rem"})
    assert result_ids(response) == {shop.pad_oe.pk, shop.pad_bendix.pk, shop.pad_akebono.pk}
    assert {f["name"]: f["count"] for f in response.json()["facets"]["categories"]} == {"Kampas Rem": 3}
    assert response.json()["results"][0]["match"] == "full_text"


@pytest.mark.parametrize("q", ["kampas rem", "brake pad", "kampas rm"])
def test_parts_by_words(api, shop, q):
    ids = result_ids(api.get("/api/v1/parts/", {"q": q}))
    assert {shop.pad_oe.pk, shop.pad_bendix.pk, shop.pad_akebono.pk} <= ids
    assert shop.plug.pk not in ids


def test_parts_without_search_are_a_plain_filtered_list(api, shop):
    assert result_ids(api.get("/api/v1/parts/", {"brand": shop.ngk.pk})) == {shop.plug.pk}
    assert result_ids(api.get("/api/v1/parts/", {"category": shop.aki.pk})) == {shop.battery.pk}
    assert "facets" not in api.get("/api/v1/parts/").json()


# --- pagination ---------------------------------------------------------------------------

@pytest.fixture
def many(db):
    from tests.catalog.factories import BrandFactory, CategoryFactory

    category = CategoryFactory(name_id="Busi", name_en="Spark plug", synonyms="busi, spark plug")
    parts = parts_bulk(brand=BrandFactory(name="NGK"), category=category, count=250, name_id="Busi",
                       name_en="Spark plug")
    variant = VehicleVariantFactory()
    from catalog.models import Fitment

    Fitment.objects.bulk_create([Fitment(part=p, variant=variant, part_category_id=p.category_id) for p in parts])
    services.variant_facet_rebuild(variant_ids=[variant.pk])
    return variant, parts


def test_plain_and_vehicle_lists_page_by_cursor_and_never_return_everything(api, many):
    variant, parts = many
    for params in ({}, {"vehicle": variant.pk}):
        first = api.get("/api/v1/parts/", params).json()
        assert len(first["results"]) == 50 and first["next"] and "cursor=" in first["next"]
        seen, url = set(), "/api/v1/parts/?" + "&".join(f"{k}={v}" for k, v in params.items())
        while url:
            page = api.get(url).json()
            seen |= {row["id"] for row in page["results"]}
            url = page["next"]
        assert seen == {p.pk for p in parts}
    assert len(api.get("/api/v1/parts/", {"page_size": 1000}).json()["results"]) == 200


def test_vehicle_pages_forward_and_back_within_category_and_brand(api, many):
    """Each page's ids come from a query of their own (LIMIT next to the fitment index): the
    pages still tile the filtered list exactly, both ways, and a part fitted at two positions
    is listed once."""
    from catalog.models import Fitment
    from tests.catalog.factories import BrandFactory, CategoryFactory

    variant, parts = many
    other_category = CategoryFactory(name_id="Aki", name_en="Battery")
    other_brand = BrandFactory(name="GS Astra")
    others = parts_bulk(brand=other_brand, category=other_category, count=7, name_id="Aki", prefix="AKI")
    Fitment.objects.bulk_create([Fitment(part=p, variant=variant, position="front", part_category_id=p.category_id)
                                 for p in others]
                                + [Fitment(part=others[0], variant=variant, position="rear",
                                          part_category_id=others[0].category_id)])
    services.variant_facet_rebuild(variant_ids=[variant.pk])
    wanted = {"vehicle": variant.pk, "category": parts[0].category_id, "page_size": 40}
    for params, expected in ((wanted, [p.pk for p in parts]),
                             ({"vehicle": variant.pk, "brand": other_brand.pk, "page_size": 3},
                              [p.pk for p in others])):
        pages, url = [], "/api/v1/parts/?" + "&".join(f"{k}={v}" for k, v in params.items())
        while url:
            page = api.get(url).json()
            pages.append([row["id"] for row in page["results"]])
            url = page["next"]
        assert [pk for page in pages for pk in page] == sorted(expected)
        assert all(len(page) == params["page_size"] for page in pages[:-1])
        back, url = [], page["previous"]
        while url:
            page = api.get(url).json()
            back.insert(0, [row["id"] for row in page["results"]])
            url = page["previous"]
        assert back == pages[:-1]


def test_ranked_search_pages_by_bounded_limit_and_offset(api, many):
    first = api.get("/api/v1/parts/", {"q": "busi"}).json()
    assert len(first["results"]) == 20 and "offset=20" in first["next"] and first["previous"] is None
    second = api.get(first["next"]).json()
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert len(api.get("/api/v1/parts/", {"q": "busi", "limit": 100}).json()["results"]) == 100
    assert_problem(api.get("/api/v1/parts/", {"q": "busi", "limit": 101}), 400, "validation_error")
    assert_problem(api.get("/api/v1/parts/", {"q": "busi", "offset": 1001}), 400, "validation_error")
    last = api.get("/api/v1/parts/", {"q": "busi", "limit": 100, "offset": 200}).json()
    assert len(last["results"]) == 50 and last["next"] is None


def test_categories_and_brands_are_paginated_lists(api, shop):
    body = api.get("/api/v1/categories/").json()
    assert {"next", "previous", "results"} <= set(body)
    row = next(r for r in body["results"] if r["id"] == shop.kampas_rem.pk)
    assert row["parent_id"] == shop.rem.pk and "dakron" in row["synonyms"] and row["name_en"] == "Brake pads"
    assert {r["id"] for r in api.get("/api/v1/categories/", {"parent": shop.rem.pk}).json()["results"]} == {
        shop.kampas_rem.pk, shop.cakram.pk}
    small = api.get("/api/v1/categories/", {"page_size": 2}).json()
    assert len(small["results"]) == 2 and small["next"]
    assert {r["name"] for r in api.get("/api/v1/brands/").json()["results"]} >= {"NGK", "Bendix"}


# --- detail and lookup --------------------------------------------------------------------

def test_part_detail_has_fitment_cross_references_and_supersession(api, shop):
    body = api.get(f"/api/v1/parts/{shop.pad_bendix.pk}/").json()
    assert {(r["brand_name"], r["number_key"], r["is_oe"]) for r in body["cross_references"]} == {
        ("Toyota", "044650K240", True), ("Daihatsu", "04465BZ010", True)}
    assert body["fitment_count"] == 2
    fit = body["fitments"][0]
    assert fit["variant_id"] == shop.avanza.pk and fit["make"] == shop.avanza.model.make.name
    assert fit["model"] == shop.avanza.model.name and fit["year_from"] == shop.avanza.year_from
    assert {f["position"] for f in body["fitments"]} == {"front_left", "front_right"}
    old = api.get(f"/api/v1/parts/{shop.pad_old_oe.pk}/").json()
    assert old["status"] == "superseded" and old["superseded_by"]["id"] == shop.pad_oe.pk
    assert [p["id"] for p in api.get(f"/api/v1/parts/{shop.pad_oe.pk}/").json()["supersedes"]] == [shop.pad_old_oe.pk]
    fitments = api.get(f"/api/v1/parts/{shop.pad_bendix.pk}/fitments/").json()
    assert len(fitments["results"]) == 2


def test_part_detail_lists_the_parts_the_number_lookup_finds_with_it(api, shop):
    # The Toyota OE pad carries no cross reference; Bendix names its number.
    body = api.get(f"/api/v1/parts/{shop.pad_oe.pk}/").json()
    assert body["cross_references"] == []
    assert [(p["id"], p["brand"], p["number"]) for p in body["interchangeable"]] == [
        (shop.pad_bendix.pk, "Bendix", "DB1835")]
    lookup = api.get("/api/v1/parts/lookup/", {"number": shop.pad_oe.number}).json()["results"]
    assert {r["part"]["id"] for r in lookup if r["kind"] in ("exact", "interchangeable")} - {shop.pad_oe.pk} == {
        p["id"] for p in body["interchangeable"]}
    bendix = api.get(f"/api/v1/parts/{shop.pad_bendix.pk}/").json()
    assert {p["id"] for p in bendix["interchangeable"]} == {shop.pad_oe.pk, shop.pad_akebono.pk}


def test_unknown_part_is_404_problem(api, db):
    assert_problem(api.get("/api/v1/parts/987654/"), 404, "not_found")
    assert_problem(api.get("/api/v1/parts/987654/fitments/"), 404, "not_found")


def test_lookup_labels_each_match(api, shop):
    body = api.get("/api/v1/parts/lookup/", {"number": "04465 0k240"}).json()
    assert body["number_key"] == "044650K240" and body["truncated"] is False
    labelled = {r["part"]["id"]: (r["kind"], r["via"]) for r in body["results"]}
    assert labelled == {shop.pad_oe.pk: ("exact", None), shop.pad_bendix.pk: ("interchangeable", None),
                        shop.pad_old_oe.pk: ("superseded_by", shop.pad_oe.pk)}
    similar = api.get("/api/v1/parts/lookup/", {"number": "04465-0K24"}).json()["results"]
    assert similar[0]["kind"] == "similar" and similar[0]["similarity"] >= 0.4
    limited = api.get("/api/v1/parts/lookup/", {"number": "04465-0K240", "limit": 1}).json()
    assert len(limited["results"]) == 1 and limited["truncated"] is True


# --- errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"vehicle": "abc"}, {"vehicle": ""}, {"category": "x"}, {"category": 2**63}, {"brand": "-1"}, {"brand": "0"},
    {"q": "x" * 201},
    # Each paging's parameters are checked even when the other paging applies.
    {"limit": 0}, {"offset": -1}, {"limit": ""}, {"q": "busi", "page_size": 0}, {"q": "busi", "limit": 101},
])
def test_bad_search_parameters_are_400_problems(api, shop, params):
    body = assert_problem(api.get("/api/v1/parts/", params), 400, "validation_error")
    assert body["errors"][0]["field"] in params


_SEARCH_QUERIES = [
    "vehicle=12&category=3&brand=9", "vehicle=01&category=%203&brand=9.0", "vehicle=9223372036854775807",
    "vehicle=9223372036854775808", "category=0", "brand=-4", "vehicle=", "vehicle=1&vehicle=2", "vehicle=١٢",
    "q=%20%20kampas%20rem%20", "q=" + "x" * 200, "q=%20" + "x" * 200 + "%20", "q=" + "x" * 201, "q=a%00b", "q=",
    "q=busi&position=front", "q=busi&sort=price", "q=busi&sort=", "vehicle=5&position=", "_nonce=7&page_size=3",
]
_LOOKUP_QUERIES = [
    "number=04465-0K240", "number=%2004465%200k240%20", "number=" + "x" * 80, "number=%20" + "x" * 80 + "%20",
    "number=" + "x" * 81, "number=a%00b", "number=", "number=%20%20", "", "limit=3",
    "number=X&limit=1", "number=X&limit=100", "number=X&limit=101", "number=X&limit=0", "number=X&limit=05",
    "number=X&limit=", "number=X&limit=-1", "number=X&limit=١٢", "number=X&vehicle=7",
    "number=X&vehicle=9223372036854775808", "number=X&vehicle=0", "number=X&vehicle=abc",
    "number=X&vehicle=1&vehicle=2", "number=X&_nonce=9",
]


@pytest.mark.parametrize("path, filterset, clean, query", [
    *[("/api/v1/parts/", "PartSearchFilter", "_part_search_params", query) for query in _SEARCH_QUERIES],
    *[("/api/v1/parts/lookup/", "PartLookupFilter", "_part_lookup_params", query) for query in _LOOKUP_QUERIES],
])
def test_search_parameters_clean_as_the_filterset_cleans_them(rf, path, filterset, clean, query):
    # The plain spellings are cleaned without building the FilterSet: the same values, or the same 400.
    from rest_framework.exceptions import ValidationError
    from rest_framework.request import Request

    from catalog import api

    filterset_class, fast = getattr(api, filterset), getattr(api, clean)

    def cleaned(clean):
        try:
            params = clean()
        except ValidationError as exc:
            return exc.detail
        return {name: params.get(name) or None for name in filterset_class.base_filters}

    request = Request(rf.get(f"{path}?{query}"))
    assert cleaned(lambda: fast(request)) == cleaned(lambda: api._validated(filterset_class, request))


def test_several_ids_that_name_nothing_are_a_404_for_the_first(api, shop):
    # Checked in one statement, answered in a fixed order: vehicle, category, brand.
    def detail(params):
        return assert_problem(api.get("/api/v1/parts/", params), 404, "not_found")["detail"]

    assert "vehicle variant with id 987654" in detail({"vehicle": 987654, "category": 987655, "brand": 987656})
    assert "category with id 987655" in detail({"vehicle": shop.avanza.pk, "category": 987655, "brand": 987656})
    assert "brand with id 987656" in detail({"vehicle": shop.avanza.pk, "category": shop.rem.pk, "brand": 987656})
    found = api.get("/api/v1/parts/", {"vehicle": shop.avanza.pk, "category": shop.rem.pk, "brand": shop.toyota.pk})
    assert found.status_code == 200 and {p["brand"]["id"] for p in found.json()["results"]} == {shop.toyota.pk}


@pytest.mark.parametrize("name", ["vehicle", "category", "brand"])
def test_an_id_that_names_nothing_is_a_404(api, shop, name):
    # Not a 400: the schema bounds an id but cannot know which ids exist.
    body = assert_problem(api.get("/api/v1/parts/", {name: 987654}), 404, "not_found")
    assert "987654" in body["detail"]


def test_a_forged_cursor_is_a_404_problem(api, db):
    assert_problem(api.get("/api/v1/parts/", {"cursor": "not-a-cursor"}), 404, "invalid_cursor")


@pytest.mark.parametrize("params", [{}, {"number": ""}, {"number": "X", "limit": 0}, {"number": "X", "limit": "many"},
                                    {"number": "X", "limit": ""}])
def test_bad_lookup_parameters_are_400_problems(api, db, params):
    assert_problem(api.get("/api/v1/parts/lookup/", params), 400, "validation_error")


def test_the_lookup_schema_says_a_number_is_not_empty(db):
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    number = next(p for p in schema["paths"]["/api/v1/parts/lookup/"]["get"]["parameters"] if p["name"] == "number")
    assert number["required"] is True and number["schema"]["minLength"] == 1


def test_a_page_without_q_has_every_field_its_schema_requires(api, shop):
    schema = APIClient().get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    row_schema = schema[schema["PartPage"]["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[1]]
    for params in ({}, {"vehicle": shop.avanza.pk}, {"q": "kampas rem"}):
        rows = api.get("/api/v1/parts/", params).json()["results"]
        assert rows, params
        for row in rows:
            assert set(row_schema["required"]) <= set(row), (params, set(row_schema["required"]) - set(row))
    assert not {"match", "rank", "similarity"} & set(row_schema["required"])


def test_bad_category_parent_is_400(api, db):
    assert_problem(api.get("/api/v1/categories/", {"parent": "abc"}), 400, "validation_error")


@pytest.mark.parametrize("url", ["/api/v1/parts/", "/api/v1/parts/lookup/?number=1", "/api/v1/categories/",
                                 "/api/v1/brands/", "/api/v1/parts/1/"])
def test_a_key_without_catalog_read_is_403_and_no_key_is_401(db, url):
    client = APIClient()
    assert_problem(client.get(url), 401, "not_authenticated")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issue_api_key(scopes=[Scope.ORDERS_READ]).raw_key}")
    assert_problem(client.get(url), 403, "insufficient_scope")


def test_a_logged_in_user_may_search(shop):
    client = APIClient()
    client.force_login(UserFactory())
    assert client.get("/api/v1/parts/", {"q": "busi"}).status_code == 200


# --- no N+1 -------------------------------------------------------------------------------

def query_count(api, django_assert_max_num_queries, url, params) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(12):
        assert api.get(url, params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("search", ["vehicle", "words", "vehicle_words", "lookup", "list"])
def test_search_query_count_does_not_grow_with_results(api, db, django_assert_max_num_queries, search):
    from catalog.models import Fitment
    from tests.catalog.factories import BrandFactory, CategoryFactory

    category = CategoryFactory(name_id="Kampas Rem", name_en="Brake pads", synonyms="kampas rem")
    one_variant, many_variant = VehicleVariantFactory(), VehicleVariantFactory()
    one = PartFactory(category=category, number="ONE-1", name_id="Kampas rem satu")
    services.cross_reference_add(part=one, brand_name="Toyota", number="OE-ONE")
    Fitment.objects.create(part=one, variant=one_variant, part_category_id=one.category_id)
    brands = [BrandFactory() for _ in range(5)]
    many = [p for b in brands for p in parts_bulk(brand=b, category=category, count=8, name_id="Kampas rem",
                                                  prefix=f"M{b.pk}")]
    Fitment.objects.bulk_create([Fitment(part=p, variant=many_variant, part_category_id=p.category_id) for p in many])
    services.variant_facet_rebuild(variant_ids=[one_variant.pk, many_variant.pk])
    for p in many[:10]:
        services.cross_reference_add(part=p, brand_name="Toyota", number="OE-MANY")

    def params(which):
        variant = one_variant if which == "one" else many_variant
        return {
            "vehicle": ("/api/v1/parts/", {"vehicle": variant.pk}),
            "words": ("/api/v1/parts/", {"q": "satu" if which == "one" else "kampas rem"}),
            "vehicle_words": ("/api/v1/parts/", {"vehicle": variant.pk, "q": "kampas rem"}),
            "lookup": ("/api/v1/parts/lookup/", {"number": "OE-ONE" if which == "one" else "OE-MANY"}),
            "list": ("/api/v1/parts/", {"category": category.pk, "page_size": 1 if which == "one" else 200}),
        }[search]

    api.get("/api/v1/me/")  # the key's once-a-minute last_used_at touch happens here, not below
    few = query_count(api, django_assert_max_num_queries, *params("one"))
    lots = query_count(api, django_assert_max_num_queries, *params("many"))
    assert few == lots


def test_part_detail_query_count_is_constant(api, shop, django_assert_max_num_queries):
    variants = [VehicleVariantFactory() for _ in range(5)]
    services.fitment_set(part=shop.plug, fitments=[{"variant": v} for v in variants])
    with django_assert_max_num_queries(10):
        assert api.get(f"/api/v1/parts/{shop.plug.pk}/").status_code == 200


def test_the_schema_documents_the_catalog_endpoints(db):
    import yaml

    response = APIClient().get("/api/v1/schema/")
    schema = yaml.safe_load(response.content)
    for path in ["/api/v1/parts/", "/api/v1/parts/lookup/", "/api/v1/parts/{id}/", "/api/v1/categories/"]:
        assert path in schema["paths"], path
    parameters = {p["name"] for p in schema["paths"]["/api/v1/parts/"]["get"]["parameters"]}
    assert {"vehicle", "category", "brand", "q", "limit", "offset", "cursor"} <= parameters


@pytest.mark.parametrize("params", [{"sort": "cheapest"}, {"sort": ""}, {"position": "roof"}, {"position": ""}])
def test_a_sort_or_position_the_search_does_not_know_is_a_400_problem(api, shop, params):
    body = assert_problem(api.get("/api/v1/parts/", params), 400, "validation_error")
    assert body["errors"][0]["field"] in params


def test_a_part_number_in_q_is_looked_up_as_a_number(api, shop):
    rows = api.get("/api/v1/parts/", {"q": "04465 0k240", "vehicle": shop.beat.pk}).json()["results"]
    # What /parts/lookup/ finds, in its order: a number names parts whatever the vehicle.
    lookup = api.get("/api/v1/parts/lookup/", {"number": "04465 0k240"}).json()["results"]
    assert [(r["id"], r["match"]) for r in rows] == [(r["part"]["id"], r["kind"]) for r in lookup]
    assert rows[0]["id"] == shop.pad_oe.pk and rows[0]["match"] == "exact" and rows[0]["rank"] is None
    # Mixed text whose number is not there is words: close numbers do not count.
    words = api.get("/api/v1/parts/", {"q": "kampas rem 2019"}).json()["results"]
    assert all(row["match"] in ("full_text", "similar_category", "similar_text") for row in words)


@pytest.mark.parametrize("filters", [{}, {"category": "rem"}, {"category": "kampas_rem"}, {"brand": "toyota"},
                                     {"category": "rem", "brand": "toyota"}])
def test_a_vehicle_search_reads_its_facets_with_its_references(api, shop, settings, filters):
    # Facets, ids, the subtree and the first page in one round trip, the offers in a second.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog import selectors
    from catalog.api import _facets_data

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    params = {"vehicle": shop.avanza.pk, **{name: getattr(shop, value).pk for name, value in filters.items()}}
    with CaptureQueriesContext(connection) as queries:
        body = api.get("/api/v1/parts/", params).json()
    category_ids = (selectors.category_descendant_ids(category_id=params["category"]) if "category" in params
                    else None)
    expected = selectors.part_facets_for_vehicle(variant_id=shop.avanza.pk, category_ids=category_ids,
                                                 brand_id=params.get("brand"))
    assert body["facets"] == _facets_data(expected) and expected.categories and expected.brands
    catalog = [q["sql"] for q in queries.captured_queries if "catalog_" in q["sql"]]
    assert len(catalog) == 1 and "catalog_variantfacet" in catalog[0] and "catalog_fitment" in catalog[0]
    rows = selectors.part_rows_by_vehicle(variant_id=shop.avanza.pk, category_ids=category_ids,
                                          brand_id=params.get("brand"), limit=51)
    assert [row["id"] for row in body["results"]] == [row.id for row in rows] and rows


@pytest.mark.parametrize("filters", [{}, {"category": "rem"}, {"brand": "toyota"}])
def test_a_vehicle_searchs_first_page_read_with_its_references_is_the_page_read_on_its_own(api, shop, settings,
                                                                                          monkeypatch, filters):
    # Every page size around the number of parts (a short page, a full one, one with a next page),
    # then the next pages by cursor (read on their own): the bytes of the first page as the
    # pager reads it from VehicleParts without the rows read ahead.
    from catalog import selectors

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    read_ahead = selectors.search_references

    def read_alone(**kwargs):
        return read_ahead(**{**kwargs, "vehicle_rows": None})

    params = {"vehicle": shop.avanza.pk, **{name: getattr(shop, value).pk for name, value in filters.items()}}
    for page_size in (1, 2, 3, 5, 6, 7, 50):
        wanted = {**params, "page_size": page_size}
        ahead = api.get("/api/v1/parts/", wanted)
        with monkeypatch.context() as patched:
            patched.setattr(selectors, "search_references", read_alone)
            alone = api.get("/api/v1/parts/", wanted)
        assert ahead.status_code == alone.status_code == 200
        assert ahead.content == alone.content
        body = ahead.json()
        seen = [row["id"] for row in body["results"]]
        while body["next"]:
            body = api.get(body["next"]).json()
            seen += [row["id"] for row in body["results"]]
        category_ids = (selectors.category_descendant_ids(category_id=params["category"])
                        if "category" in params else None)
        everything = selectors.part_rows_by_vehicle(variant_id=shop.avanza.pk, category_ids=category_ids,
                                                    brand_id=params.get("brand"), limit=1000)
        assert seen == [row.id for row in everything]


def test_facets_rendered_by_postgresql_are_the_bytes_drf_renders(api, shop, settings):
    # Names with what JSON escapes (quotes, backslashes, control characters, U+2028), non-ASCII
    # and emoji; a null English name is impossible (NOT NULL), a parent_id null is not.
    import json

    from rest_framework.renderers import JSONRenderer

    from catalog import selectors
    from catalog.api import _facets_data
    from tests.catalog.factories import BrandFactory, CategoryFactory, FitmentFactory

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    names = ['Rem "depan"', "back\\slash", "tab\tnew\nline\x01\x1f\x7f", "line\u2028sep\u2029",
             "Kaca spion kiri/kanan", "Ékor 🚗 ß", "</script>"]
    for index, name in enumerate(names):
        category = CategoryFactory(name_id=name, name_en=name[::-1], parent=shop.rem if index % 2 else None)
        brand = BrandFactory(name=f"{name} {index}", slug=f"hostile-{index}")
        FitmentFactory(part=PartFactory(category=category, brand=brand), variant=shop.avanza)
    for params in ({"vehicle": shop.avanza.pk}, {"vehicle": shop.avanza.pk, "category": shop.rem.pk},
                   {"vehicle": shop.avanza.pk, "brand": shop.toyota.pk}):
        response = api.get("/api/v1/parts/", params)
        category_ids = (selectors.category_descendant_ids(category_id=params["category"]) if "category" in params
                        else None)
        facets = _facets_data(selectors.part_facets_for_vehicle(variant_id=shop.avanza.pk, category_ids=category_ids,
                                                                brand_id=params.get("brand")))
        rendered = JSONRenderer().render({"facets": facets})[1:-1]  # '"facets":{…}' as DRF writes it
        assert rendered in response.content
        assert json.loads(response.content)["facets"] == facets
        if "category" not in params and "brand" not in params:  # every hostile name is there
            assert {f["name"] for f in facets["categories"]} >= set(names)


@pytest.mark.parametrize("params", [
    {"q": "kampas rem"}, {"q": "kampas rem", "limit": 2}, {"q": "kampas rem", "limit": 3, "offset": 1},
    {"q": "kampas rm"}, {"q": "kampas rem", "vehicle": "avanza"}, {"q": "brake pad", "category": "rem"},
    {"q": "kampas", "brand": "toyota"}, {"q": "xyzzy qqq"}, {"q": "rem", "vehicle": "avanza", "position": "front"},
])
def test_a_words_page_is_its_parts_rendered_as_drf_renders_them(api, shop, settings, params):
    """The API reads a words page as plain rows in one statement (selectors.RankedWords.as_rows) and the
    page's best offers once (those of the demand check): the same bytes as the parts of the ranked query,
    rendered field by field by DRF with their best offers read for the page."""
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    from catalog import selectors
    from catalog.serializers import RankedPartSerializer
    from tests.catalog.factories import parts_bulk

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    parts_bulk(brand=shop.toyota, category=shop.rem, count=4, name_id="Kampas rem ekstra", name_en="Brake pad extra")
    named = {"avanza": shop.avanza.pk, "rem": shop.rem.pk, "toyota": shop.toyota.pk}
    params = {name: named[value] if name in ("vehicle", "category", "brand") else value
              for name, value in params.items()}
    offers = {shop.pad_oe.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2, "note": "ö"}}
    looked_up = []

    def source(*, part_ids):
        looked_up.append(list(part_ids))
        return {pk: offers[pk] for pk in part_ids if pk in offers}

    with selectors.best_offer_source_using(source):
        response = api.get("/api/v1/parts/", params)
        assert response.status_code == 200, response.content
        lookups = len(looked_up)
        words = selectors.part_search_by_words(
            q=params["q"], variant_id=params.get("vehicle"), brand_id=params.get("brand"),
            category_id=params.get("category"))
        if "position" in params:
            words = words.filter(pk__in=selectors.part_ids_at_position(variant_id=params["vehicle"],
                                                                       position=params["position"]))
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        parts = list(words[offset:offset + limit])
        context = {"best_offers": source(part_ids=[part.pk for part in parts])}
    rows = [serializers.ModelSerializer.to_representation(RankedPartSerializer(context=context), part)
            for part in parts]
    assert JSONRenderer().render(rows)[1:-1] in response.content
    assert [row["id"] for row in response.json()["results"]] == [part.pk for part in parts]
    if params["q"] != "xyzzy qqq":
        assert parts
    if parts and params.get("limit", 20) == 20 and "position" not in params:
        assert lookups == 1  # the demand check's offers serve the first page


@pytest.mark.parametrize("params", [
    {"q": "04465 0k240"}, {"q": "04465-0K240", "vehicle": "avanza"}, {"q": "04465-0K24"}, {"q": "db-1835"},
    {"q": "04465-0K240", "limit": 1, "offset": 1}, {"q": "04465-0K240", "vehicle": "beat", "limit": 2},
])
def test_a_number_page_is_its_matches_rendered_as_drf_renders_them(api, shop, settings, params):
    """The API reads a part number's matches as rows (part_search(rows=True)); the workshop page reads
    Parts: the same bytes as those Parts rendered field by field by DRF, with their best offers."""
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer

    from catalog import selectors
    from catalog.serializers import RankedPartSerializer

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    shop.pad_bendix.attributes = {"sisi": "depan", "isi": 4}
    shop.pad_bendix.save(update_fields=["attributes"])
    params = {name: getattr(shop, value).pk if name == "vehicle" else value for name, value in params.items()}
    offers = {shop.pad_oe.pk: {"supplier_id": 1, "price": 1000, "lead_time_days": 2, "note": "ö"}}

    def source(*, part_ids):
        return {pk: offers[pk] for pk in part_ids if pk in offers}

    with selectors.best_offer_source_using(source):
        response = api.get("/api/v1/parts/", params)
        assert response.status_code == 200, response.content
        search = selectors.part_search(q=params["q"], variant_id=params.get("vehicle"))
        assert search.kind == selectors.SearchKind.NUMBER
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 20))
        parts = list(search.parts[offset:offset + limit])
        context = {"best_offers": source(part_ids=[part.pk for part in parts])}
    rows = [serializers.ModelSerializer.to_representation(RankedPartSerializer(context=context), part)
            for part in parts]
    if "vehicle" in params:
        rows = [{**row, "fits_vehicle": part.fits_vehicle} for row, part in zip(rows, parts, strict=True)]
    assert parts
    assert JSONRenderer().render(rows)[1:-1] in response.content
    assert len(response.json()["results"]) == len(parts)


def test_words_read_a_page_in_one_statement(api, shop, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    api.get("/api/v1/me/")
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/parts/", {"q": "kampas rem"}).status_code == 200
    catalog = [q["sql"] for q in queries.captured_queries if "catalog_part" in q["sql"]]
    assert len(catalog) == 1 and "ts_rank" in catalog[0] and "catalog_brand" in catalog[0]


@pytest.mark.parametrize("params", [{"q": "kampas rem"}, {"vehicle": "avanza"}])
def test_best_offers_joined_into_a_page_are_escaped_as_drf_escapes_them(api, shop, settings, params):
    """A best offer is encoded apart from the page it is joined into: U+2028 and U+2029 in it (a
    supplier's name, say) come out as DRF writes them, \\u escapes, never as raw line separators."""
    from rest_framework.renderers import JSONRenderer

    from catalog import selectors

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    params = {name: shop.avanza.pk if value == "avanza" else value for name, value in params.items()}
    offer = {"supplier_name": "Toko\u2028Rem\u2029Jaya", "price": 1000, "note": "ö \"q\" </script>"}

    def source(*, part_ids):
        return {pk: offer for pk in part_ids}

    with selectors.best_offer_source_using(source):
        response = api.get("/api/v1/parts/", params)
    assert response.status_code == 200, response.content
    assert response.json()["results"] and all(row["best_offer"] == offer for row in response.json()["results"])
    assert "\u2028".encode() not in response.content and "\u2029".encode() not in response.content
    assert JSONRenderer().render(offer) in response.content


def test_a_number_searched_with_a_vehicle_says_which_parts_fit_it(api, shop):
    """A number lists its parts whatever the vehicle (issue 18): with one chosen, each says whether it fits."""
    from catalog.models import Fitment

    rows = api.get("/api/v1/parts/", {"q": "04465 0k240", "vehicle": shop.avanza.pk}).json()["results"]
    fitted = set(Fitment.objects.filter(variant=shop.avanza).values_list("part_id", flat=True))
    expected = {row["id"]: row["id"] in fitted for row in rows}
    assert expected[shop.pad_oe.pk] and expected[shop.pad_bendix.pk] and not expected[shop.pad_old_oe.pk]
    assert {row["id"]: row["fits_vehicle"] for row in rows} == expected
    looked_up = api.get("/api/v1/parts/lookup/", {"number": "04465 0k240", "vehicle": shop.avanza.pk}).json()
    assert {r["part"]["id"]: r["fits_vehicle"] for r in looked_up["results"]} == expected
    # Another vehicle: the same parts in the same order, none fits it.
    other = api.get("/api/v1/parts/", {"q": "04465 0k240", "vehicle": shop.beat.pk}).json()["results"]
    assert [row["id"] for row in other] == [row["id"] for row in rows]
    assert not any(row["fits_vehicle"] for row in other)
    # Without a vehicle the parts list does not say, and the lookup says null.
    assert all("fits_vehicle" not in row for row in api.get("/api/v1/parts/", {"q": "04465 0k240"}).json()["results"])
    plain = api.get("/api/v1/parts/lookup/", {"number": "04465 0k240"}).json()["results"]
    assert plain and all(r["fits_vehicle"] is None for r in plain)
    # Words with a vehicle list only parts that fit it: no field to say so.
    assert all("fits_vehicle" not in row
               for row in api.get("/api/v1/parts/", {"q": "kampas rem", "vehicle": shop.avanza.pk}).json()["results"])


def test_a_lookup_with_a_vehicle_reads_no_facets(api, shop, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/parts/lookup/", {"number": "04465 0k240", "vehicle": shop.avanza.pk})
    assert response.status_code == 200 and response.json()["results"]
    assert not [q["sql"] for q in queries.captured_queries if "catalog_variantfacet" in q["sql"]]


def test_a_lookup_for_a_vehicle_that_is_not_there_is_a_404_problem(api, shop):
    assert_problem(api.get("/api/v1/parts/lookup/", {"number": "04465 0k240", "vehicle": 987654}), 404, "not_found")
    assert_problem(api.get("/api/v1/parts/lookup/", {"number": "04465 0k240", "vehicle": "avanza"}), 400,
                   "validation_error")


def test_pages_built_without_serializers_or_responses_are_the_bytes_drf_builds(api, many, settings, monkeypatch):
    # PartListApi renders a page's PartRows with part_row_data and takes the pager's links without
    # building its Response: the same bytes as PartSerializer(many=True) and get_paginated_response,
    # on the first page by vehicle (rows read with the references), the pages after it and back by
    # cursor, a ranked page with both links and a plain list.
    from catalog import api as catalog_api
    from catalog.serializers import PartSerializer

    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    variant, _parts = many
    urls = [f"/api/v1/parts/?vehicle={variant.pk}&page_size=7", "/api/v1/parts/?q=busi&limit=5&offset=10",
            "/api/v1/parts/?page_size=3"]
    first = api.get(urls[0]).json()
    urls.append(first["next"])
    urls.append(api.get(first["next"]).json()["previous"])
    built = [api.get(url) for url in urls]
    with monkeypatch.context() as patched:
        patched.setattr(catalog_api, "part_row_data", lambda row: PartSerializer(context={}).to_representation(row))
        patched.setattr(catalog_api, "_paginated_data",
                        lambda paginator, results: dict(paginator.get_paginated_response(results).data))
        drf = [api.get(url) for url in urls]
    for ours, theirs in zip(built, drf, strict=True):
        assert ours.status_code == theirs.status_code == 200
        assert ours.content == theirs.content
    assert all(url for url in urls) and len(first["results"]) == 7
