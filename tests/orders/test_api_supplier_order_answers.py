"""A supplier's ERP answers its supplier orders through the API: accept (all, or some lines and
units), reject, ready to ship. Called from outside with real keys: another supplier's supplier
order is a 404, a read-only key a 403, a bad answer a 400 that changes nothing."""

from __future__ import annotations

import pytest

from okto88.models import Scope
from orders import workflow
from orders.models import Order, OrderStatus, SupplierOrder, SupplierOrderStatus
from orders.services.pricing import order_totals
from suppliers.models import Stock
from tests.orders.test_api_supplier_orders import assert_problem, order_from, supplier_key
from tests.suppliers.factories import SupplierFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/suppliers/me/orders/"
WRITE = (Scope.ORDERS_READ, Scope.ORDERS_WRITE)


def opened(order: Order) -> Order:
    """The order's own step, run here as the worker would: its supplier orders wait for answers."""
    assert workflow.step_run(order_id=order.pk, step="open_for_acceptance", task_id="test") == "succeeded"
    order.refresh_from_db()
    return order


@pytest.fixture
def shared(buyer):
    a, b = SupplierFactory(), SupplierFactory()
    order = opened(order_from(buyer, a, b, quantity=3, price=100_001))
    return a, b, order


def test_accepting_all_moves_it_and_another_supplier_cannot_touch_it(shared):
    a, b, order = shared
    mine = SupplierOrder.objects.get(order=order, supplier=a)
    for path, body in (("accept/", {}), ("reject/", {"reason": "out_of_stock"}), ("ready-to-ship/", {})):
        assert_problem(supplier_key(b, WRITE).post(f"{URL}{mine.number}/{path}", body, format="json"), 404,
                       "supplier_order_not_found")
    assert_problem(supplier_key(a).post(f"{URL}{mine.number}/accept/", {}, format="json"), 403, "insufficient_scope")
    mine.refresh_from_db()
    assert mine.status == SupplierOrderStatus.PENDING

    answer = supplier_key(a, WRITE).post(f"{URL}{mine.number}/accept/", {}, format="json")

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "accepted" and answer.json()["decided_at"]
    assert_problem(supplier_key(a, WRITE).post(f"{URL}{mine.number}/accept/", {}, format="json"), 409,
                   "supplier_order_not_pending")
    order.refresh_from_db()
    assert order.refunded_total == 0 and order.status == OrderStatus.IN_FULFILMENT


def test_a_partial_acceptance_refunds_the_rejected_units_share_and_releases_them(shared):
    a, _b, order = shared
    mine = SupplierOrder.objects.get(order=order, supplier=a)
    line = mine.lines.get()
    stock = Stock.objects.get(pk=line.stock_id)
    reserved_before = stock.reserved

    answer = supplier_key(a, WRITE).post(f"{URL}{mine.number}/accept/", {"rejected_lines": [
        {"line": line.pk, "quantity": 2, "reason": "price_error"}]}, format="json")

    assert answer.status_code == 200, answer.content
    (shown,) = answer.json()["lines"]
    assert (shown["rejected_quantity"], shown["rejection_reason"]) == (2, "price_error")
    order.refresh_from_db()
    rest = order_totals(subtotal=order.subtotal - 2 * 100_001, shipping=order.shipping_total,
                        rate_bp=order.tax_rate_bp)
    assert order.refunded_total == order.grand_total - rest.grand_total
    stock.refresh_from_db()
    assert stock.reserved == reserved_before - 2


def test_rejecting_every_supplier_order_cancels_the_order_with_all_of_it_refunded(shared):
    a, b, order = shared
    for supplier in (a, b):
        number = SupplierOrder.objects.get(order=order, supplier=supplier).number
        answer = supplier_key(supplier, WRITE).post(f"{URL}{number}/reject/", {"reason": "discontinued"},
                                                    format="json")
        assert answer.status_code == 200, answer.content
        assert answer.json()["status"] == "rejected" and answer.json()["rejection_reason"] == "discontinued"
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.refunded_total == order.grand_total, "the shares add up to the total to the rupiah"


@pytest.mark.parametrize("body", [
    {"rejected_lines": [{"line": 0, "quantity": 1, "reason": "out_of_stock"}]},
    {"rejected_lines": [{"line": "LINE", "quantity": 4, "reason": "out_of_stock"}]},
    {"rejected_lines": [{"line": "LINE", "quantity": 4, "reason": "out_of_stock"}]},
    {"rejected_lines": [{"line": "LINE", "quantity": -1, "reason": "out_of_stock"}]},
    {"rejected_lines": [{"line": "LINE", "quantity": 1, "reason": "no_answer"}]},
    {"rejected_lines": [{"line": "LINE", "quantity": 1, "reason": "out_of_stock"},
                        {"line": "LINE", "quantity": 1, "reason": "out_of_stock"}]},
    {"rejected_lines": "all"},
])
def test_a_bad_answer_is_a_400_and_changes_nothing(shared, body):
    a, _b, order = shared
    mine = SupplierOrder.objects.get(order=order, supplier=a)
    line = mine.lines.get()
    if isinstance(body["rejected_lines"], list):
        for rejection in body["rejected_lines"]:
            rejection["line"] = line.pk if rejection["line"] == "LINE" else rejection["line"]

    answer = supplier_key(a, WRITE).post(f"{URL}{mine.number}/accept/", body, format="json")

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] in {"invalid_supplier_order_answer", "validation_error"}
    mine.refresh_from_db()
    line.refresh_from_db()
    assert (mine.status, line.rejected_quantity) == (SupplierOrderStatus.PENDING, 0)


def test_the_list_of_rejected_lines_is_bounded_before_it_is_read(shared):
    a, _b, order = shared
    mine = SupplierOrder.objects.get(order=order, supplier=a)
    body = {"rejected_lines": [{"line": index, "quantity": 0, "reason": "out_of_stock"} for index in range(501)]}

    answer = supplier_key(a, WRITE).post(f"{URL}{mine.number}/accept/", body, format="json")

    problem = assert_problem(answer, 400, "validation_error")
    assert [(error["field"], error["code"]) for error in problem["errors"]] == [
        ("rejected_lines.non_field_errors", "max_length")]


def test_an_order_not_yet_paid_cannot_be_answered(buyer):
    a = SupplierFactory()
    order = order_from(buyer, a)  # terms: paid, but its step has not opened it yet
    number = SupplierOrder.objects.get(order=order).number
    assert_problem(supplier_key(a, WRITE).post(f"{URL}{number}/accept/", {}, format="json"), 409,
                   "supplier_order_not_pending")


def test_ready_to_ship_needs_an_accepted_supplier_order_and_valid_parcels(shared):
    a, _b, order = shared
    mine = SupplierOrder.objects.get(order=order, supplier=a)
    key = supplier_key(a, WRITE)
    assert_problem(key.post(f"{URL}{mine.number}/ready-to-ship/", {}, format="json"), 409,
                   "supplier_order_not_accepted")
    key.post(f"{URL}{mine.number}/accept/", {}, format="json")
    for bad in ({"parcel_count": 0}, {"parcel_count": 51}, {"weight_g": -5}, {"parcel_count": "two"}):
        assert key.post(f"{URL}{mine.number}/ready-to-ship/", bad, format="json").status_code == 400

    answer = key.post(f"{URL}{mine.number}/ready-to-ship/", {"parcel_count": 3, "weight_g": 2500}, format="json")

    assert answer.status_code == 200, answer.content
    assert (answer.json()["status"], answer.json()["parcel_count"], answer.json()["weight_g"]) == (
        "ready_to_ship", 3, 2500)
    again = key.post(f"{URL}{mine.number}/ready-to-ship/", {"parcel_count": 9}, format="json")
    assert again.status_code == 200 and again.json()["parcel_count"] == 3, "a repeat answers as the first time"


def test_a_line_named_twice_is_refused_with_its_own_code_in_indonesian(shared):
    a, _b, order = shared
    mine = SupplierOrder.objects.get(order=order, supplier=a)
    line = mine.lines.get()
    twice = [{"line": line.pk, "quantity": 1, "reason": "out_of_stock"}] * 2

    answer = supplier_key(a, WRITE).post(f"{URL}{mine.number}/accept/", {"rejected_lines": twice}, format="json")

    problem = assert_problem(answer, 400, "validation_error")
    assert [(error["field"], error["code"]) for error in problem["errors"]] == [("rejected_lines", "duplicate_line")]
    assert problem["errors"][0]["detail"] == f"Baris {line.pk} disebut lebih dari sekali."
