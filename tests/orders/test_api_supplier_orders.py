"""The supplier orders API called by a supplier's ERP with the key of an API client bound to the
supplier: its own supplier orders only, within the key's scopes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from logistics.models import Carrier, Shipment, TrackingEvent
from okto88.models import Scope
from orders import services
from orders.models import Order, SupplierOrder, SupplierOrderStatus
from orders.state import supplier_orders_move
from tests.orders.factories import offer_in_stock, place
from tests.platform.factories import ApiClientFactory, OperatorFactory, issue_api_key
from tests.problems import assert_problem
from tests.suppliers.factories import SupplierApiClientFactory, SupplierFactory, WarehouseFactory
from workshops.services import workshop_api_client_bind

pytestmark = pytest.mark.django_db
URL = "/api/v1/suppliers/me/orders/"


def supplier_key(supplier, scopes=(Scope.ORDERS_READ,)) -> APIClient:
    issued = issue_api_key(scopes=list(scopes))
    SupplierApiClientFactory(api_client=issued.api_key.client, supplier=supplier)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    return client



def order_from(buyer, *suppliers, quantity: int = 2, price: int = 150_000) -> Order:
    """One order with a line from each supplier (a warehouse of its own each)."""
    for supplier in suppliers:
        offer, _ = offer_in_stock(on_hand=10, price=price, supplier=supplier,
                                  warehouse=WarehouseFactory(supplier=supplier))
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    return place(buyer=buyer)


@pytest.fixture
def a_and_b(buyer):
    """Supplier A has a share of one order; B of it and of a second one."""
    a, b = SupplierFactory(), SupplierFactory()
    both = order_from(buyer, a, b)
    only_b = order_from(buyer, b)
    return a, b, both, only_b


def test_a_supplier_key_lists_only_its_own_supplier_orders_with_everything_an_erp_needs(buyer, a_and_b):
    a, b, both, only_b = a_and_b
    response = supplier_key(a).get(URL)
    assert response.status_code == 200, response.content
    (item,) = response.json()["results"]
    mine = SupplierOrder.objects.get(order=both, supplier=a)
    line = mine.lines.get()
    assert item["number"] == mine.number and item["order_number"] == both.number
    assert item["status"] == "pending"
    assert item["paid_at"] is not None  # terms: paid when placed
    assert item["placed_at"] and item["updated_at"]
    assert item["lines"] == [{"id": line.pk, "offer": line.offer_id, "sku": line.sku, "part_number": line.part_number,
                              "name": line.name, "quantity": 2, "unit_price": 150_000, "line_total": 300_000,
                              "rejected_quantity": 0, "rejection_reason": ""}]
    assert (item["subtotal"], item["shipping_cost"]) == (300_000, mine.shipping_cost)
    assert item["tax_rate_bp"] == both.tax_rate_bp
    assert item["warehouse"]["id"] == mine.warehouse_id and item["warehouse"]["code"] == mine.warehouse.code
    assert (item["carrier_code"], item["service_level"], item["weight_g"]) == (
        mine.carrier_code, mine.service_level, mine.weight_g)
    address = both.delivery_address
    assert item["ship_to"]["workshop"] == buyer.workshop.name
    assert item["ship_to"]["phone"] == address["phone"] and item["ship_to"]["city"] == address["city"]
    assert item["ship_to"]["postal_code"] == address["postal_code"]
    assert item["shipments"] == []

    listed_b = [i["number"] for i in supplier_key(b).get(URL).json()["results"]]
    assert listed_b == [SupplierOrder.objects.get(order=only_b).number,  # newest first
                        SupplierOrder.objects.get(order=both, supplier=b).number]


def test_another_suppliers_supplier_order_is_a_404_like_a_missing_one(a_and_b):
    a, b, both, _ = a_and_b
    client = supplier_key(a)
    theirs = SupplierOrder.objects.get(order=both, supplier=b).number
    mine = SupplierOrder.objects.get(order=both, supplier=a).number
    assert client.get(f"{URL}{mine}/").json()["number"] == mine
    other = assert_problem(client.get(f"{URL}{theirs}/"), 404, "supplier_order_not_found")
    missing = assert_problem(client.get(f"{URL}OK-0000-NOPE-1/"), 404, "supplier_order_not_found")
    assert other["title"] == missing["title"] and other["detail"] == missing["detail"]


def test_a_workshop_key_an_operator_and_a_key_without_orders_read_get_403(buyer, a_and_b):
    a, _, both, _ = a_and_b
    number = SupplierOrder.objects.get(order=both, supplier=a).number
    workshop_client = ApiClientFactory()
    workshop_api_client_bind(workshop_id=buyer.workshop.pk, api_client=workshop_client)
    issued = issue_api_key(client=workshop_client, scopes=[Scope.ORDERS_READ])
    workshop_key = APIClient()
    workshop_key.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.raw_key}")
    assert_problem(workshop_key.get(URL), 403, "no_supplier")
    assert_problem(workshop_key.get(f"{URL}{number}/"), 403, "no_supplier")

    stock_only = supplier_key(a, scopes=[Scope.STOCK_WRITE, Scope.CATALOG_READ])
    assert_problem(stock_only.get(URL), 403, "insufficient_scope")
    assert_problem(stock_only.get(f"{URL}{number}/"), 403, "insufficient_scope")

    operator = APIClient()
    operator.force_login(OperatorFactory())
    assert_problem(operator.get(URL), 403, "no_supplier")
    assert APIClient().get(URL).status_code == 401


def test_filters_by_status_change_time_and_placement_time(buyer, a_and_b):
    _, b, both, only_b = a_and_b
    client = supplier_key(b)
    first, second = (SupplierOrder.objects.get(order=both, supplier=b), SupplierOrder.objects.get(order=only_b))
    Order.objects.filter(pk=both.pk).update(created_at=timezone.now() - timedelta(days=3))
    SupplierOrder.objects.filter(pk__in=[first.pk, second.pk]).update(updated_at=timezone.now() - timedelta(days=2))
    checkpoint = timezone.now() - timedelta(days=1)
    supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=first.pk), to=SupplierOrderStatus.CANCELLED)

    def numbers(**params) -> list[str]:
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return [item["number"] for item in response.json()["results"]]

    assert numbers(status="cancelled") == [first.number]
    assert numbers(status="pending") == [second.number]
    assert numbers(updated_after=checkpoint.isoformat()) == [first.number]
    assert numbers(placed_after=checkpoint.isoformat()) == [second.number]
    assert numbers(placed_before=checkpoint.isoformat()) == [first.number]
    assert numbers(placed_after=(checkpoint - timedelta(days=3)).isoformat(),
                   placed_before=timezone.now().isoformat()) == [second.number, first.number]


@pytest.mark.parametrize("params", [{"status": "lost"}, {"status": ""}, {"updated_after": "yesterday"},
                                    {"updated_after": ""}, {"placed_after": "2026-13-01T00:00:00Z"},
                                    {"placed_before": "x"}])
def test_a_bad_filter_is_a_400_problem(a_and_b, params):
    a, *_ = a_and_b
    body = assert_problem(supplier_key(a).get(URL, params), 400, "validation_error")
    assert body["errors"][0]["field"] == next(iter(params))


def test_the_booked_shipment_and_its_tracking_are_shown(a_and_b):
    a, _, both, _ = a_and_b
    mine = SupplierOrder.objects.get(order=both, supplier=a)
    shipment = Shipment.objects.create(reference=mine.number, carrier=Carrier.objects.get(code="jne"),
                                       service_level="REG", origin={}, destination={}, weight_g=500,
                                       waybill="JNE123", status="picked_up")
    SupplierOrder.objects.filter(pk=mine.pk).update(status=SupplierOrderStatus.READY_TO_SHIP)
    supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=mine.pk), to=SupplierOrderStatus.CONFIRMED,
                         shipment=shipment)
    at = timezone.now()
    TrackingEvent.objects.create(shipment=shipment, event_id=uuid.uuid4().hex, waybill="JNE123", status="picked_up",
                                 occurred_at=at, location="Jakarta", signature_valid=True, applied=True, raw_body="{}")
    TrackingEvent.objects.create(shipment=shipment, event_id=uuid.uuid4().hex, waybill="JNE123", status="forged",
                                 occurred_at=at, raw_body="{}")  # not verified, not applied: not shown

    item = supplier_key(a).get(f"{URL}{mine.number}/").json()
    assert item["status"] == "confirmed"
    (shown,) = item["shipments"]
    assert (shown["carrier"], shown["waybill"], shown["status"]) == ("jne", "JNE123", "picked_up")
    assert [(t["status"], t["location"]) for t in shown["tracking"]] == [("picked_up", "Jakarta")]


def booked(supplier_order: SupplierOrder, waybill: str) -> None:
    shipment = Shipment.objects.create(reference=supplier_order.number, carrier=Carrier.objects.get(code="jne"),
                                       service_level="REG", origin={}, destination={}, weight_g=500, waybill=waybill)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SupplierOrderStatus.READY_TO_SHIP)
    supplier_orders_move(supplier_orders=SupplierOrder.objects.filter(pk=supplier_order.pk),
                         to=SupplierOrderStatus.CONFIRMED, shipment=shipment)
    TrackingEvent.objects.create(shipment=shipment, event_id=uuid.uuid4().hex, status="picked_up", applied=True,
                                 raw_body="{}")


def test_the_list_costs_the_same_queries_for_one_supplier_order_or_many(buyer):
    supplier = SupplierFactory()
    client = supplier_key(supplier)
    booked(SupplierOrder.objects.get(order=order_from(buyer, supplier)), "JNE-Q0")
    client.get(URL)  # the key is verified and cached: the next calls read the same things

    with CaptureQueriesContext(connection) as one:
        assert len(client.get(URL).json()["results"]) == 1
    for index in range(1, 4):
        supplier_order = SupplierOrder.objects.get(order=order_from(buyer, supplier))
        if index < 3:
            booked(supplier_order, f"JNE-Q{index}")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).json()["results"]) == 4
    assert len(many.captured_queries) == len(one.captured_queries)
    tables = [q["sql"].split(" FROM ")[1].split()[0] for q in many.captured_queries if q["sql"].startswith("SELECT")]
    # The key's supplier, the page's rows (order, workshop, payment, warehouse, shipment joined),
    # their lines, their shipments' tracking: one query each.
    assert tables == ['"suppliers_supplierapiclient"', '"suppliers_supplier"', '"orders_supplierorder"',
                      '"orders_orderline"', '"logistics_trackingevent"'], tables
