"""Supplier API from the outside: PUT stock, my offers, a part's offers, and scoping."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from okto88.models import Scope
from suppliers.models import Stock, StockMovement
from suppliers.services import stock_adjust
from tests.catalog.factories import FitmentFactory, PartFactory
from tests.platform.factories import OperatorFactory, UserFactory, issue_api_key
from tests.problems import PROBLEM, assert_problem
from tests.suppliers.factories import (
    OfferFactory,
    StockFactory,
    SupplierApiClientFactory,
    SupplierMemberFactory,
    WarehouseFactory,
)

pytestmark = pytest.mark.django_db
STOCK_URL = "/api/v1/suppliers/me/stock/"
OFFERS_URL = "/api/v1/suppliers/me/offers/"


def api_for(supplier=None, scopes=None) -> APIClient:
    issued = issue_api_key(scopes=scopes or [Scope.STOCK_WRITE, Scope.CATALOG_READ])
    if supplier is not None:
        SupplierApiClientFactory(api_client=issued.api_key.client, supplier=supplier)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client



@pytest.fixture
def supplier_a():
    offer = OfferFactory(sku="A-1")
    WarehouseFactory(supplier=offer.supplier, code="JKT1")
    return offer.supplier


def test_put_stock_sets_counts_and_writes_the_ledger(supplier_a):
    response = api_for(supplier_a).put(STOCK_URL, {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 12}]},
                                       format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"rows": 1, "changed": 1, "created": 1}
    stock = Stock.objects.get(offer__sku="A-1")
    assert stock.on_hand == 12
    movement = StockMovement.objects.get(stock=stock)
    assert movement.reason == "import" and movement.reference.startswith("api:")


def test_put_stock_with_a_bad_row_is_all_or_nothing(supplier_a):
    response = api_for(supplier_a).put(STOCK_URL, {"rows": [
        {"sku": "A-1", "warehouse": "JKT1", "on_hand": 12},
        {"sku": "A-1", "warehouse": "JKT1", "on_hand": 13},
        {"sku": "missing", "warehouse": "JKT1", "on_hand": 1},
        {"sku": "A-1", "warehouse": "JKT1", "on_hand": 1.5},
    ]}, format="json")
    body = assert_problem(response, 400, "invalid_stock_rows")
    assert {(e["field"], e["code"]) for e in body["errors"]} == {
        ("rows.1", "duplicate_row"), ("rows.2.sku", "unknown_sku"), ("rows.3.on_hand", "invalid_integer")}
    assert not Stock.objects.exists() and not StockMovement.objects.exists()


@pytest.mark.parametrize("payload", [[], {"rows": "x"}, {"nope": 1}, {"rows": [1, None]}, "text"])
def test_put_stock_with_a_malformed_body_is_400_not_500(supplier_a, payload):
    response = api_for(supplier_a).put(STOCK_URL, payload, format="json")
    assert response.status_code == 400 and response["Content-Type"].startswith(PROBLEM)


def test_put_stock_refuses_more_than_10000_rows(supplier_a):
    rows = [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 1}] * 10_001
    assert_problem(api_for(supplier_a).put(STOCK_URL, {"rows": rows}, format="json"), 400, "validation_error")


def test_callers_without_a_supplier_get_403_no_supplier(supplier_a):
    assert_problem(api_for(None).put(STOCK_URL, {"rows": []}, format="json"), 403, "no_supplier")
    assert_problem(api_for(None).get(OFFERS_URL), 403, "no_supplier")
    for user in (UserFactory(), OperatorFactory()):
        client = APIClient()
        client.force_login(user)
        response = client.get(OFFERS_URL)
        assert response.status_code == 403


def test_missing_scope_is_403(supplier_a):
    client = api_for(supplier_a, scopes=[Scope.CATALOG_READ])
    assert_problem(client.put(STOCK_URL, {"rows": []}, format="json"), 403, "insufficient_scope")


def test_a_supplier_cannot_touch_another_suppliers_stock_through_the_api(supplier_a):
    foreign = StockFactory(offer=OfferFactory(sku="B-1"), warehouse=WarehouseFactory(code="JKT9"), on_hand=3)
    foreign.warehouse.supplier = foreign.offer.supplier
    foreign.warehouse.save()
    response = api_for(supplier_a).put(STOCK_URL, {"rows": [{"sku": "B-1", "warehouse": "JKT9", "on_hand": 0}]},
                                       format="json")
    body = assert_problem(response, 404, "invalid_stock_rows")
    assert {e["code"] for e in body["errors"]} == {"unknown_sku", "unknown_warehouse"}
    foreign.refresh_from_db()
    assert foreign.on_hand == 3
    listed = api_for(supplier_a).get(OFFERS_URL).json()["results"]
    assert [o["sku"] for o in listed] == ["A-1"]


def test_put_stock_below_what_is_reserved_is_a_409_and_changes_nothing(supplier_a):
    offer = supplier_a.offers.get(sku="A-1")
    stock = StockFactory(offer=offer, warehouse=supplier_a.warehouses.get(code="JKT1"), on_hand=5, reserved=4)
    movements = StockMovement.objects.count()
    response = api_for(supplier_a).put(STOCK_URL, {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 3}]},
                                       format="json")
    body = assert_problem(response, 409, "invalid_stock_rows")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("rows.0.on_hand", "insufficient_stock")]
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (5, 4) and StockMovement.objects.count() == movements


def test_a_logged_in_member_acts_for_their_supplier(supplier_a):
    client = APIClient()
    client.force_login(SupplierMemberFactory(supplier=supplier_a).user)
    response = client.put(STOCK_URL, {"rows": [{"sku": "A-1", "warehouse": "JKT1", "on_hand": 4}]}, format="json")
    assert response.status_code == 200
    assert StockMovement.objects.get().actor is not None


def test_offers_list_has_stock_per_warehouse_without_n_plus_1(supplier_a, django_assert_max_num_queries):
    for i in range(15):
        offer = OfferFactory(supplier=supplier_a, sku=f"S-{i:02d}")
        StockFactory(offer=offer, warehouse=supplier_a.warehouses.get(code="JKT1"), on_hand=i)
        StockFactory(offer=offer, on_hand=1, reserved=1)
    client = api_for(supplier_a)
    with django_assert_max_num_queries(8):
        response = client.get(OFFERS_URL, {"page_size": 20})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 16 and body["next"] is None
    s03 = next(o for o in body["results"] if o["sku"] == "S-03")
    assert {(s["warehouse"], s["on_hand"], s["available"]) for s in s03["stock"]} >= {("JKT1", 3, 3)}
    assert len(s03["stock"]) == 2


def test_part_offers_for_workshops():
    part = PartFactory()
    offer = OfferFactory(part=part, price=75_000, lead_time_days=3)
    StockFactory(offer=offer, on_hand=4, reserved=1)
    client = api_for(None, scopes=[Scope.CATALOG_READ])
    response = client.get(f"/api/v1/parts/{part.pk}/offers/")
    assert response.status_code == 200
    [row] = response.json()
    assert (row["offer_id"], row["price"], row["available"], row["lead_time_days"]) == (offer.pk, 75_000, 3, 3)
    assert row["supplier_name"] == offer.supplier.legal_name and row["warehouse_cities"]
    assert_problem(client.get("/api/v1/parts/999999999/offers/"), 404, "not_found")


def test_a_cached_search_page_shows_a_stock_change_on_the_next_request(django_assert_num_queries):
    fitment = FitmentFactory()
    offer = OfferFactory(part=fitment.part, price=75_000)
    stock = StockFactory(offer=offer, on_hand=4)
    client = api_for(None, scopes=[Scope.CATALOG_READ])
    params = {"vehicle": fitment.variant_id}

    def best_offer(max_queries: int) -> dict:
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/parts/", params)
        assert response.status_code == 200
        offer_queries = [q for q in queries.captured_queries if "suppliers_partbestoffer" in q["sql"]]
        assert len(offer_queries) <= max_queries, offer_queries
        return response.json()["results"][0]["best_offer"]

    assert best_offer(max_queries=1)["available"] == 4
    assert best_offer(max_queries=0)["available"] == 4  # nothing changed: the stored page, offers and all
    stock_adjust(stock=stock, delta=-3, reference="counted")
    assert best_offer(max_queries=1)["available"] == 1  # the change moved the best-offer version on
    assert best_offer(max_queries=0)["available"] == 1
