"""The read-through cache of the part searches: served from Redis until the catalog changes,
never stale after a catalog write, never caching supplier offers, off when configured so."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from catalog import selectors, services
from okto88.models import Scope
from tests.catalog_import.csv_files import csv_bytes
from tests.platform.factories import issue_api_key

pytestmark = pytest.mark.django_db

OFFERS: dict[int, dict] = {}


def offers_provider(*, part_ids: list[int]) -> dict[int, dict]:
    return {pk: OFFERS[pk] for pk in part_ids if pk in OFFERS}


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issue_api_key(scopes=[Scope.CATALOG_READ]).raw_key}")
    return client


def catalog_queries(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "catalog_" in q["sql"] or "vehicles_" in q["sql"]]


def get(api, path: str, params: dict):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path, params)
    assert response.status_code == 200, response.content
    return response.json(), catalog_queries(queries)


@pytest.mark.parametrize("path, params", [
    ("/api/v1/parts/", {"vehicle": "avanza", "category": "rem"}),
    ("/api/v1/parts/", {"q": "kampas rem"}),
    ("/api/v1/parts/lookup/", {"number": "044650k240"}),
])
def test_a_repeated_search_is_served_without_catalog_queries(api, shop, path, params):
    params = {k: (getattr(shop, v).pk if k in ("vehicle", "category") else v) for k, v in params.items()}
    first, first_queries = get(api, path, params)
    second, second_queries = get(api, path, params)
    assert first_queries and not second_queries
    assert second == first


def test_a_first_request_reads_the_versions_and_the_joined_page_only(api, shop, monkeypatch):
    from okto88 import redis_connection

    client_class = type(redis_connection.redis_client())
    reads: list[str] = []  # the search entries read: "bodies" (the joined page), "pages" (the rendered one)

    def spied(original):
        def read(self, keys, *args, **kwargs):
            reads.extend(key.split("catalog:search:")[1].split(":")[0]
                         for key in ([keys] if isinstance(keys, str) else keys) if "catalog:search:" in key)
            return original(self, keys, *args, **kwargs)
        return read

    monkeypatch.setattr(client_class, "get", spied(client_class.get))
    monkeypatch.setattr(client_class, "mget", spied(client_class.mget))
    params = {"vehicle": shop.avanza.pk, "category": shop.rem.pk}

    first, queries = get(api, "/api/v1/parts/", params)
    assert queries and reads == ["bodies"]  # without the joined page the rendered one is not there: not asked

    reads.clear()
    services.best_offer_cache_version_bump()
    second, queries = get(api, "/api/v1/parts/", params)
    assert not queries and reads == ["bodies", "pages"]  # the joined page is stale: the rendered one is read
    assert second == first


def test_a_catalog_write_is_visible_to_the_next_request(api, shop):
    params = {"vehicle": shop.avanza.pk, "category": shop.rem.pk}
    before, _ = get(api, "/api/v1/parts/", params)
    assert {row["name_en"] for row in before["results"] if row["id"] == shop.disc.pk} == {"Front Brake Disc"}

    services.part_update(part=shop.disc, data={"name_en": "Front Brake Rotor"})
    after, queries = get(api, "/api/v1/parts/", params)
    assert queries
    assert {row["name_en"] for row in after["results"] if row["id"] == shop.disc.pk} == {"Front Brake Rotor"}

    services.fitment_set(part=shop.disc, fitments=[])
    gone, _ = get(api, "/api/v1/parts/", params)
    assert shop.disc.pk not in {row["id"] for row in gone["results"]}


def test_the_version_moves_on_with_every_kind_of_catalog_write(shop):
    versions = [selectors.catalog_cache_version()]

    def moved() -> bool:
        versions.append(selectors.catalog_cache_version())
        return versions[-1] != versions[-2]

    services.cross_reference_add(part=shop.disc, brand_name="Brembo", number="09.A123.11")
    assert moved()
    services.part_supersede(old=shop.plug, new=shop.battery)
    assert moved()
    shop.ngk.name = "NGK Spark Plugs"
    services.brand_save(brand=shop.ngk)
    assert moved()
    shop.aki.synonyms = "aki, accu, battery, baterai"
    services.category_save(category=shop.aki)
    assert moved()


def test_a_committed_import_moves_the_version_on(shop):
    from catalog.imports import catalog_import

    before = selectors.catalog_cache_version()
    report = catalog_import(kind="crossrefs", file=csv_bytes(
        "brand,part_number,ref_brand,ref_number,is_oe",
        f"{shop.ngk.name},BKR6E,Denso,W20EPR-U,false"))
    assert report.committed, report.errors
    assert selectors.catalog_cache_version() != before


@pytest.fixture
def offers():
    """OFFERS as the catalog's best-offer source, in place of the suppliers' one."""
    OFFERS.clear()
    with selectors.best_offer_source_using(offers_provider):
        yield OFFERS
    OFFERS.clear()


def test_best_offers_are_cached_until_the_best_offer_version_moves_on(api, shop, offers):
    params = {"vehicle": shop.avanza.pk, "category": shop.rem.pk}
    first, _ = get(api, "/api/v1/parts/", params)
    assert all(row["best_offer"] is None for row in first["results"])

    OFFERS[shop.disc.pk] = {"supplier_id": 7, "price": 250_000, "lead_time_days": 1}
    unchanged, _ = get(api, "/api/v1/parts/", params)
    assert unchanged == first  # the provider's owner did not say its offers changed
    services.best_offer_cache_version_bump()
    second, queries = get(api, "/api/v1/parts/", params)
    assert not queries  # the catalog part came from the cache ...
    row = next(r for r in second["results"] if r["id"] == shop.disc.pk)
    assert row["best_offer"] == OFFERS[shop.disc.pk]  # ... the offer did not

    lookup, _ = get(api, "/api/v1/parts/lookup/", {"number": shop.disc.number})
    assert lookup["results"][0]["part"]["best_offer"] == OFFERS[shop.disc.pk]
    OFFERS.clear()


def test_no_cache_when_it_is_switched_off(api, shop, settings):
    settings.CATALOG_SEARCH_CACHE_SECONDS = 0
    params = {"vehicle": shop.avanza.pk}
    assert get(api, "/api/v1/parts/", params)[1]
    assert get(api, "/api/v1/parts/", params)[1]


def test_the_cache_needs_the_same_absolute_url(api, shop):
    params = {"vehicle": shop.avanza.pk, "page_size": 2}
    first, _ = get(api, "/api/v1/parts/", params)
    assert first["next"]
    # Another host would get page links to the first one's host: not the same entry.
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/parts/", params, HTTP_HOST="localhost")
    assert catalog_queries(queries)
    assert response.json()["next"].startswith("http://localhost/")


@pytest.mark.parametrize(("params", "status"), [({"vehicle": "abc"}, 400), ({"vehicle": 987654321}, 404)])
def test_a_bad_request_is_not_cached(api, shop, params, status):
    response = api.get("/api/v1/parts/", params)
    assert response.status_code == status
    assert api.get("/api/v1/parts/", params).status_code == status


def test_a_page_sorted_by_price_is_sorted_again_when_the_offers_change(api, shop, offers):
    params = {"vehicle": shop.avanza.pk, "category": shop.kampas_rem.pk, "sort": "price"}
    offers.update({shop.pad_oe.pk: {"supplier_id": 1, "price": 300_000, "lead_time_days": 1},
                   shop.pad_bendix.pk: {"supplier_id": 1, "price": 200_000, "lead_time_days": 1}})
    services.best_offer_cache_version_bump()
    first, _ = get(api, "/api/v1/parts/", params)
    assert [row["id"] for row in first["results"]] == [shop.pad_bendix.pk, shop.pad_oe.pk, shop.pad_akebono.pk]

    offers[shop.pad_akebono.pk] = {"supplier_id": 2, "price": 100_000, "lead_time_days": 5}
    assert get(api, "/api/v1/parts/", params)[0] == first  # not told yet
    services.best_offer_cache_version_bump()
    second, _ = get(api, "/api/v1/parts/", params)
    assert [row["id"] for row in second["results"]] == [shop.pad_akebono.pk, shop.pad_bendix.pk, shop.pad_oe.pk]
    assert second["results"][0]["best_offer"] == offers[shop.pad_akebono.pk]
