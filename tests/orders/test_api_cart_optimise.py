"""POST /api/v1/cart/optimise/ and /apply/: the plan, its errors as problem+json, scopes, and
another workshop's key that cannot see or change this cart."""

from __future__ import annotations

import pytest
from django.db.models import F

from okto88.models import Scope
from orders.models import CartLine
from suppliers.models import Stock
from tests.orders.factories import buyer_make, client_for, two_supplier_cart
from tests.orders.test_api_orders_keys import BOTH, assert_problem, key_client

pytestmark = pytest.mark.django_db
OPTIMISE = "/api/v1/cart/optimise/"
APPLY = "/api/v1/cart/optimise/apply/"


@pytest.fixture
def cart(buyer):
    return two_supplier_cart(buyer=buyer)


def rows(workshop):
    return sorted(CartLine.objects.filter(cart__workshop=workshop).values_list("offer_id", "quantity"))


def test_optimise_then_apply(buyer, cart):
    _p1_a, p1_b, p2_b = cart
    client = client_for(buyer.user)
    response = client.post(OPTIMISE, {"objective": "total"}, format="json")
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["saving"] > 0 and plan["saving"] == plan["as_is_totals"]["grand_total"] - plan["totals"]["grand_total"]
    assert plan["shipments"] == 1 and plan["solver"] == "highs" and plan["time_limit_hit"] is False
    assert plan["changes"][0]["kinds"] == ["moved"]
    body = {"fingerprint": plan["fingerprint"],
            "lines": [{"offer": line["offer"], "quantity": line["quantity"]} for line in plan["lines"]]}
    applied = client.post(APPLY, body, format="json")
    assert applied.status_code == 200, applied.content
    assert sorted((line["offer"], line["quantity"]) for line in applied.json()) == sorted([(p1_b.pk, 2), (p2_b.pk, 1)])
    # The same plan again: the cart changed since, so it is stale.
    assert_problem(client.post(APPLY, body, format="json"), 409, "cart_plan_stale")


def test_errors_are_problems(buyer, cart):
    client = client_for(buyer.user)
    assert_problem(client.post(OPTIMISE, {"objective": "cheapest"}, format="json"), 400, "validation_error")
    assert_problem(client.post(OPTIMISE, {"latest_arrival": "2020-01-01"}, format="json"), 409,
                   "optimise_infeasible")
    p1_a = cart[0]
    Stock.objects.filter(offer__part=p1_a.part).update(reserved=F("on_hand"))
    response = client.post(OPTIMISE, {}, format="json")
    assert_problem(response, 409, "optimise_no_stock")
    assert response.json()["parts"] == [f"{p1_a.part.number} {p1_a.part.name_id}"]
    assert response["Content-Type"].startswith("application/problem+json")
    empty = buyer_make()
    assert_problem(client_for(empty.user).post(OPTIMISE, {}, format="json"), 409, "cart_empty")


def test_scopes_and_another_workshop(buyer, cart):
    reader, _ = key_client(workshop=buyer.workshop, scopes=[Scope.ORDERS_READ])
    plan = reader.post(OPTIMISE, {}, format="json")
    assert plan.status_code == 200, plan.content
    body = {"fingerprint": plan.json()["fingerprint"],
            "lines": [{"offer": line["offer"], "quantity": line["quantity"]} for line in plan.json()["lines"]]}
    assert_problem(reader.post(APPLY, body, format="json"), 403, "insufficient_scope")
    before = rows(buyer.workshop)
    other = buyer_make()
    stranger, _ = key_client(workshop=other.workshop, scopes=BOTH)
    # Another workshop's key acts for its own (empty) cart: it cannot optimise or apply this one.
    assert_problem(stranger.post(OPTIMISE, {}, format="json"), 409, "cart_empty")
    assert_problem(stranger.post(APPLY, body, format="json"), 409, "cart_empty")
    assert_problem(client_for(other.user).post(OPTIMISE, {"address": buyer.address.pk}, format="json"), 404,
                   "address_not_found")
    assert rows(buyer.workshop) == before
    unbound, _ = key_client(workshop=None, scopes=BOTH)
    assert_problem(unbound.post(OPTIMISE, {}, format="json"), 403, "no_workshop")
