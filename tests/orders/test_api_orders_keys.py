"""The cart and orders API called by a partner (a fleet system) with the key of an API client
bound to one workshop: it acts for that workshop only, within its key's scopes."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from okto88.models import Scope
from orders import services
from orders.models import Order, OrderEvent
from suppliers.models import Stock
from tests.orders.factories import buyer_make, cheapest_shipping, offer_in_stock, place
from tests.platform.factories import ApiClientFactory, issue_api_key
from tests.problems import assert_problem
from workshops.models import WorkshopApiClient
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db
ORDERS = "/api/v1/orders/"
CART = "/api/v1/cart/lines/"
BOTH = [Scope.ORDERS_READ, Scope.ORDERS_WRITE]


def key_client(*, workshop, scopes) -> tuple[APIClient, object]:
    api_client = ApiClientFactory()
    if workshop is not None:
        workshop_api_client_bind(workshop_id=workshop.pk, api_client=api_client)
    issued = issue_api_key(client=api_client, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client, api_client



def test_a_key_sees_only_its_workshops_orders():
    a, b = buyer_make(), buyer_make()
    for buyer in (a, b):
        offer, _ = offer_in_stock(on_hand=5)
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order_a, order_b = place(buyer=a), place(buyer=b)
    client, _ = key_client(workshop=a.workshop, scopes=[Scope.ORDERS_READ])

    listed = client.get(ORDERS)
    assert listed.status_code == 200, listed.content
    assert [o["number"] for o in listed.json()["results"]] == [order_a.number]
    assert client.get(f"{ORDERS}{order_a.number}/").status_code == 200
    assert_problem(client.get(f"{ORDERS}{order_b.number}/"), 404, "order_not_found")
    assert_problem(client.post(f"{ORDERS}{order_b.number}/cancel/", {}, format="json"), 403, "insufficient_scope")
    writer, _ = key_client(workshop=a.workshop, scopes=BOTH)
    assert_problem(writer.post(f"{ORDERS}{order_b.number}/cancel/", {}, format="json"), 404, "order_not_found")
    order_b.refresh_from_db()
    assert order_b.status != "cancelled"


def test_a_key_fills_the_cart_places_and_cancels_and_is_recorded_as_the_api_client():
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    client, api_client = key_client(workshop=buyer.workshop, scopes=BOTH)

    added = client.post(CART, {"offer": offer.pk, "quantity": 2}, format="json")
    assert added.status_code == 201, added.content
    assert [line["offer"] for line in client.get(CART).json()] == [offer.pk]

    shipping = cheapest_shipping(buyer=buyer)
    body = {"address": buyer.address.pk, "payment_method": "terms",
            "shipping": [{"supplier": s, "carrier_code": c, "service_level": lv} for s, (c, lv) in shipping.items()]}
    assert_problem(client.post(ORDERS, body, format="json"), 400, "idempotency_key_required")
    placed = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="fleet-1")
    assert placed.status_code == 201, placed.content
    again = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="fleet-1")
    assert again.status_code == 201 and again.json()["number"] == placed.json()["number"]

    order = Order.objects.get()
    assert order.workshop == buyer.workshop
    assert order.placed_by is None and order.placed_by_client == api_client
    placed_event = OrderEvent.objects.get(order=order, kind="placed")
    assert placed_event.actor is None and placed_event.api_client == api_client
    assert placed.json()["timeline"][0]["by"] == f"API client {api_client.name}"

    cancelled = client.post(f"{ORDERS}{order.number}/cancel/", {"reason": "fleet plan changed"}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert Stock.objects.get().reserved == 0
    assert OrderEvent.objects.get(order=order, kind="status.cancelled").api_client == api_client


def test_a_read_only_key_cannot_write_and_a_write_only_key_cannot_read():
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    reader, _ = key_client(workshop=buyer.workshop, scopes=[Scope.ORDERS_READ])
    writer, _ = key_client(workshop=buyer.workshop, scopes=[Scope.ORDERS_WRITE])
    assert_problem(reader.post(CART, {"offer": offer.pk, "quantity": 1}, format="json"), 403, "insufficient_scope")
    assert_problem(reader.post(ORDERS, {}, format="json", HTTP_IDEMPOTENCY_KEY="x"), 403, "insufficient_scope")
    assert_problem(writer.get(ORDERS), 403, "insufficient_scope")
    assert_problem(writer.get(CART), 403, "insufficient_scope")
    assert reader.get(ORDERS).status_code == 200 and reader.get(CART).status_code == 200


def test_an_unbound_key_or_an_inactive_workshops_key_is_no_workshop():
    unbound, _ = key_client(workshop=None, scopes=BOTH)
    assert_problem(unbound.get(ORDERS), 403, "no_workshop")
    assert_problem(unbound.get(CART), 403, "no_workshop")

    buyer = buyer_make()
    bound, _ = key_client(workshop=buyer.workshop, scopes=BOTH)
    assert bound.get(ORDERS).status_code == 200
    buyer.workshop.is_active = False
    buyer.workshop.save(update_fields=["is_active"])
    assert_problem(bound.get(ORDERS), 403, "no_workshop")


def test_a_session_placed_order_still_records_the_person():
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    order = place(buyer=buyer)
    assert order.placed_by == buyer.user and order.placed_by_client is None
    assert WorkshopApiClient.objects.count() == 0


def test_a_key_places_a_prepaid_order_without_a_persons_email():
    buyer = buyer_make()
    offer, _ = offer_in_stock(on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    client, api_client = key_client(workshop=buyer.workshop, scopes=BOTH)
    shipping = cheapest_shipping(buyer=buyer)
    body = {"address": buyer.address.pk, "payment_method": "qris",
            "shipping": [{"supplier": s, "carrier_code": c, "service_level": lv} for s, (c, lv) in shipping.items()]}
    placed = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="fleet-qris")
    assert placed.status_code == 201, placed.content
    assert placed.json()["status"] == "pending_payment" and placed.json()["payment"]["qr_string"]
    assert Order.objects.get().placed_by_client == api_client


def test_the_schema_documents_key_auth_and_the_scope_of_every_cart_and_orders_operation():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    scopes = {("/api/v1/orders/", "get"): "orders:read", ("/api/v1/orders/", "post"): "orders:write",
              ("/api/v1/orders/{number}/", "get"): "orders:read",
              ("/api/v1/orders/{number}/cancel/", "post"): "orders:write",
              ("/api/v1/cart/lines/", "get"): "orders:read", ("/api/v1/cart/lines/", "post"): "orders:write"}
    for (path, method), scope in scopes.items():
        operation = paths[path][method]
        assert {"ApiKeyAuth": []} in operation["security"], (path, method)
        assert f"Needs the scope {scope}." in operation["description"], (path, method)
        assert "Api-Key" in operation["description"]
