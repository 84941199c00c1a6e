"""Orders API from the outside: place, list, detail, cancel; scoping, scopes, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from okto88.models import OutboxEvent, Scope
from orders import services
from orders.models import Order, OrderStatus
from suppliers.models import Stock
from tests.orders.factories import buyer_make, cheapest_shipping, client_for, offer_in_stock, place
from tests.platform.factories import issue_api_key
from tests.problems import assert_problem

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/orders/"



def body_for(buyer, method="terms") -> dict:
    shipping = cheapest_shipping(buyer=buyer)
    return {"address": buyer.address.pk, "payment_method": method,
            "shipping": [{"supplier": s, "carrier_code": c, "service_level": lv} for s, (c, lv) in shipping.items()]}


def cart(buyer, *, suppliers=1):
    for _ in range(suppliers):
        offer, _ = offer_in_stock(on_hand=5)
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)


def test_post_requires_an_idempotency_key(buyer):
    cart(buyer)
    response = client_for(buyer.user).post(ORDERS, body_for(buyer), format="json")
    assert_problem(response, 400, "idempotency_key_required")
    assert not Order.objects.exists()


def test_what_the_cart_is_now_refuses_is_a_409(buyer):
    # A valid request that the cart's current state refuses (nothing in it, a supplier without
    # a shipping choice) conflicts with that state, as cart_changed does.
    client = client_for(buyer.user)
    body = {"address": buyer.address.pk, "payment_method": "terms", "shipping": []}
    assert_problem(client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"), 409, "cart_empty")
    cart(buyer)
    assert_problem(client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="k-2"), 409,
                   "shipping_choice_required")
    assert not Order.objects.exists()


def test_post_places_the_cart_and_a_retry_returns_the_same_order(buyer):
    cart(buyer, suppliers=2)
    body = body_for(buyer)
    client = client_for(buyer.user)
    response = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "paid" and len(data["supplier_orders"]) == 2
    assert data["grand_total"] == data["subtotal"] + data["shipping_total"] + data["tax_total"]
    assert data["payment"]["status"] == "settled"
    assert [e["kind"] for e in data["timeline"]] == ["placed", "status.paid"]

    again = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert again.status_code == 201 and again.json()["number"] == data["number"]
    # Placed once. (One order per key is the unique constraint's to keep: counting orders
    # could not fail.)
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1
    conflict = client.post(ORDERS, {**body, "payment_method": "qris"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert_problem(conflict, 409, "idempotency_conflict")


def test_prepaid_detail_carries_payment_instructions(buyer):
    cart(buyer)
    response = client_for(buyer.user).post(ORDERS, body_for(buyer, "virtual_account"), format="json",
                                           HTTP_IDEMPOTENCY_KEY="va-1")
    assert response.status_code == 201, response.content
    payment = response.json()["payment"]
    assert payment["method"] == "virtual_account" and payment["va_number"] and payment["status"] == "pending"


def test_list_is_the_callers_workshop_only_filtered_and_paginated(buyer):
    for _ in range(3):
        cart(buyer)
        place(buyer=buyer)
    other = buyer_make()
    cart(other)
    place(buyer=other)
    client = client_for(buyer.user)
    response = client.get(ORDERS, {"page_size": 2})
    assert response.status_code == 200
    page = response.json()
    assert len(page["results"]) == 2 and page["next"]
    rest = client.get(page["next"]).json()
    numbers = {o["number"] for o in page["results"] + rest["results"]}
    assert numbers == set(Order.objects.filter(workshop=buyer.workshop).values_list("number", flat=True))
    assert client.get(ORDERS, {"status": "cancelled"}).json()["results"] == []
    assert_problem(client.get(ORDERS, {"status": "nonsense"}), 400, "validation_error")


def test_detail_queries_do_not_grow_with_lines_and_suppliers(buyer):
    cart(buyer, suppliers=1)
    small = place(buyer=buyer)
    cart(buyer, suppliers=4)
    big = place(buyer=buyer)
    client = client_for(buyer.user)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"{ORDERS}{small.number}/").status_code == 200
    with CaptureQueriesContext(connection) as many:
        response = client.get(f"{ORDERS}{big.number}/")
    assert response.status_code == 200 and len(response.json()["supplier_orders"]) == 4
    assert len(many) == len(few) <= 12


def test_list_queries_are_constant(buyer):
    client = client_for(buyer.user)
    cart(buyer)
    place(buyer=buyer)
    with CaptureQueriesContext(connection) as one:
        client.get(ORDERS)
    for _ in range(3):
        cart(buyer)
        place(buyer=buyer)
    with CaptureQueriesContext(connection) as four:
        assert len(client.get(ORDERS).json()["results"]) == 4
    assert len(four) == len(one)


def test_another_workshops_order_is_404_and_cannot_be_cancelled(buyer):
    cart(buyer)
    order = place(buyer=buyer)
    intruder = client_for(buyer_make().user)
    assert_problem(intruder.get(f"{ORDERS}{order.number}/"), 404, "order_not_found")
    assert_problem(intruder.post(f"{ORDERS}{order.number}/cancel/", {}, format="json"), 404, "order_not_found")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_cancel_gives_the_stock_back(buyer):
    cart(buyer)
    order = place(buyer=buyer)
    response = client_for(buyer.user).post(f"{ORDERS}{order.number}/cancel/", {"reason": "salah pesan"},
                                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    assert Stock.objects.get().reserved == 0
    again = client_for(buyer.user).post(f"{ORDERS}{order.number}/cancel/", {}, format="json")
    assert again.status_code == 200


def test_a_key_without_orders_write_gets_403():
    issued = issue_api_key(scopes=[Scope.ORDERS_READ])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    assert_problem(client.post(ORDERS, {}, format="json", HTTP_IDEMPOTENCY_KEY="x"), 403, "insufficient_scope")


def test_a_key_of_a_client_bound_to_no_workshop_is_no_workshop():
    issued = issue_api_key(scopes=[Scope.ORDERS_READ, Scope.ORDERS_WRITE])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    assert_problem(client.get(ORDERS), 403, "no_workshop")
    assert_problem(client.post(ORDERS, {}, format="json", HTTP_IDEMPOTENCY_KEY="x"), 403, "no_workshop")


def test_cart_lines_api(buyer):
    offer, _ = offer_in_stock(on_hand=5, min_order_qty=2)
    client = client_for(buyer.user)
    assert_problem(client.post("/api/v1/cart/lines/", {"offer": offer.pk, "quantity": 1}, format="json"),
                   400, "quantity_below_minimum")
    response = client.post("/api/v1/cart/lines/", {"offer": offer.pk, "quantity": 2}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["price_seen"] == offer.price
    assert [line["offer"] for line in client.get("/api/v1/cart/lines/").json()] == [offer.pk]


def test_an_empty_status_filter_is_a_400_not_every_order(buyer):
    assert_problem(client_for(buyer.user).get(ORDERS, {"status": ""}), 400, "validation_error")


@pytest.mark.parametrize(("body", "field"), [
    ({"quantity": 2**31}, "quantity"), ({"quantity": 2**63}, "quantity"), ({"offer": 2**63}, "offer"),
])
def test_cart_numbers_past_their_columns_are_400s(buyer, body, field):
    offer, _ = offer_in_stock(supplier=None)
    response = client_for(buyer.user).post("/api/v1/cart/lines/", {"offer": offer.pk, "quantity": 1, **body},
                                           format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"][0]["field"] == field
    assert client_for(buyer.user).get("/api/v1/cart/lines/").json() == []


def test_the_order_inputs_document_their_bounds():
    schemas = APIClient().get("/api/v1/schema/?format=json").json()["components"]["schemas"]
    assert schemas["CartLineInRequest"]["properties"]["quantity"]["maximum"] == 2**31 - 1
    assert schemas["CartLineInRequest"]["properties"]["offer"]["maximum"] == 2**63 - 1
    assert schemas["OrderPlaceInRequest"]["properties"]["address"]["maximum"] == 2**63 - 1
