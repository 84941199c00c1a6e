"""The cart optimiser's service: a plan over real offers, stock and the fake courier's quotes, its
exact totals against the cart as it is, substitutes only when allowed, locks, and applying it
in one transaction (or not at all)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db.models import F

from catalog.models import Part
from orders import services
from orders.errors import (
    CartEmpty,
    CartOptimiseInfeasible,
    CartOptimiseNoStock,
    CartPlanInvalid,
    CartPlanStale,
    OutOfStock,
)
from orders.models import CartLine
from suppliers.models import Stock
from tests.catalog.factories import PartFactory
from tests.orders.factories import buyer_make, cart_with_a_cheaper_substitute, offer_in_stock, two_supplier_cart
from tests.suppliers.factories import OfferFactory, StockFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def cart_rows(workshop):
    return sorted(CartLine.objects.filter(cart__workshop=workshop).values_list("offer_id", "quantity", "locked"))


@pytest.fixture
def two_suppliers(buyer):
    """tests.orders.factories.two_supplier_cart: moving part 1 to B saves a parcel."""
    return two_supplier_cart(buyer=buyer)


def test_a_line_moves_to_the_supplier_already_shipping_and_the_saving_is_checkouts(buyer, two_suppliers):
    _p1_a, p1_b, p2_b = two_suppliers
    plan = services.cart_optimise(workshop=buyer.workshop)
    assert {(line.offer_id, line.quantity) for line in plan.lines} == {(p1_b.pk, 2), (p2_b.pk, 1)}
    assert plan.shipments == 1 and plan.as_is_shipments == 2
    preview = services.cart_checkout_preview(workshop=buyer.workshop, address=buyer.address)
    assert plan.as_is_totals == preview.totals  # the cart as it is: checkout's own figures
    assert plan.saving == preview.totals.grand_total - plan.totals.grand_total > 0
    (change,) = plan.changes
    assert change.kinds == ["moved"] and change.before["quantity"] == 2
    assert plan.solver == "highs" and plan.status == "optimal" and not plan.time_limit_hit

    services.cart_optimise_apply(workshop=buyer.workshop, fingerprint=plan.fingerprint,
                                 lines=[(line.offer_id, line.quantity) for line in plan.lines])
    assert cart_rows(buyer.workshop) == sorted([(p1_b.pk, 2, False), (p2_b.pk, 1, False)])
    after = services.cart_checkout_preview(workshop=buyer.workshop, address=buyer.address)
    assert after.totals == plan.totals  # what the plan promised is what checkout now shows


def test_the_shipments_objective_and_a_pack_that_rounds_the_quantity_up(buyer):
    wh = WarehouseFactory()
    cheap_elsewhere, _ = offer_in_stock(price=10_000, on_hand=10)
    packed = OfferFactory(supplier=wh.supplier, part=cheap_elsewhere.part, price=12_000, pack_size=4)
    StockFactory(offer=packed, warehouse=wh, on_hand=8)
    other, _ = offer_in_stock(price=40_000, warehouse=wh, on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=cheap_elsewhere.pk, quantity=3)
    services.cart_line_add(workshop=buyer.workshop, offer_id=other.pk, quantity=1)
    plan = services.cart_optimise(workshop=buyer.workshop, objective="shipments")
    assert plan.shipments == 1
    assert {(line.offer_id, line.quantity) for line in plan.lines} == {(packed.pk, 4), (other.pk, 1)}
    change = next(c for c in plan.changes if c.before["sku"] == cheap_elsewhere.sku)
    assert set(change.kinds) == {"moved", "quantity_rounded"}


def test_two_lines_of_one_part_combined_on_one_offer_say_so_and_are_not_called_rounded(buyer):
    wh = WarehouseFactory()
    dear_a, _ = offer_in_stock(price=120_000, on_hand=5)
    dear_b = OfferFactory(part=dear_a.part, price=125_000)
    StockFactory(offer=dear_b, on_hand=5)
    cheap = OfferFactory(supplier=wh.supplier, part=dear_a.part, price=80_000)
    StockFactory(offer=cheap, warehouse=wh, on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=dear_a.pk, quantity=1)
    services.cart_line_add(workshop=buyer.workshop, offer_id=dear_b.pk, quantity=1)
    plan = services.cart_optimise(workshop=buyer.workshop)
    assert [(line.offer_id, line.quantity) for line in plan.lines] == [(cheap.pk, 2)]
    assert len(plan.changes) == 2
    for change in plan.changes:
        assert set(change.kinds) == {"moved", "combined"}  # not quantity_rounded: nothing bought beyond need
        assert change.after == [{"supplier": cheap.supplier.legal_name, "sku": cheap.sku, "quantity": 1,
                                  "offer_quantity": 2, "substitute": False}]


def test_a_cart_whose_offers_are_out_of_stock_gets_a_clear_message(buyer):
    offer, stock = offer_in_stock(on_hand=3)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    Stock.objects.filter(pk=stock.pk).update(reserved=F("on_hand"))  # another workshop bought it all
    with pytest.raises(CartOptimiseNoStock) as caught:
        services.cart_optimise(workshop=buyer.workshop)
    assert caught.value.extra["parts"] == [f"{offer.part.number} {offer.part.name_id}"]
    assert str(caught.value) == f"No offer has stock for: {offer.part.number} {offer.part.name_id}."


def test_a_latest_arrival_no_offer_meets_is_refused(buyer, two_suppliers):
    yesterday = dt.date.today() - dt.timedelta(days=1)
    with pytest.raises(CartOptimiseInfeasible):
        services.cart_optimise(workshop=buyer.workshop, latest_arrival=yesterday)


def test_a_locked_line_keeps_its_offer_and_quantity(buyer, two_suppliers):
    p1_a, _p1_b, p2_b = two_suppliers
    line = CartLine.objects.get(cart__workshop=buyer.workshop, offer=p1_a)
    services.cart_line_lock_set(workshop=buyer.workshop, line_id=line.pk, locked=True)
    plan = services.cart_optimise(workshop=buyer.workshop)
    assert {(pl.offer_id, pl.quantity) for pl in plan.lines} == {(p1_a.pk, 2), (p2_b.pk, 1)}
    assert plan.changes == [] and plan.saving == 0
    # A plan that would change the locked line is refused whole.
    with pytest.raises(CartPlanInvalid):
        services.cart_optimise_apply(workshop=buyer.workshop, fingerprint=plan.fingerprint,
                                     lines=[(p2_b.pk, 1)])
    assert cart_rows(buyer.workshop) == sorted([(p1_a.pk, 2, True), (p2_b.pk, 1, False)])


def test_a_stale_plan_is_refused_and_the_cart_is_unchanged(buyer, two_suppliers):
    p1_a, _p1_b, p2_b = two_suppliers
    plan = services.cart_optimise(workshop=buyer.workshop)
    line = CartLine.objects.get(cart__workshop=buyer.workshop, offer=p2_b)
    services.cart_line_update(workshop=buyer.workshop, line_id=line.pk, quantity=3)
    before = cart_rows(buyer.workshop)
    with pytest.raises(CartPlanStale):
        services.cart_optimise_apply(workshop=buyer.workshop, fingerprint=plan.fingerprint,
                                     lines=[(pl.offer_id, pl.quantity) for pl in plan.lines])
    assert cart_rows(buyer.workshop) == before == sorted([(p1_a.pk, 2, False), (p2_b.pk, 3, False)])


def test_apply_is_all_or_nothing(buyer, two_suppliers):
    _p1_a, p1_b, p2_b = two_suppliers
    plan = services.cart_optimise(workshop=buyer.workshop)
    before = cart_rows(buyer.workshop)
    # The second line asks for more than is in stock: the first line's change is not kept either.
    with pytest.raises(OutOfStock):
        services.cart_optimise_apply(workshop=buyer.workshop, fingerprint=plan.fingerprint,
                                     lines=[(p1_b.pk, 2), (p2_b.pk, 11)])
    assert cart_rows(buyer.workshop) == before


def test_substitutes_only_when_allowed_and_always_marked(buyer):
    wanted, substitute = cart_with_a_cheaper_substitute(buyer=buyer)

    plain = services.cart_optimise(workshop=buyer.workshop)
    assert [(pl.offer_id, pl.substitute) for pl in plain.lines] == [(wanted.pk, False)]

    allowed = services.cart_optimise(workshop=buyer.workshop, allow_substitutes=True)
    assert [(pl.offer_id, pl.substitute) for pl in allowed.lines] == [(substitute.pk, True)]
    (change,) = allowed.changes
    assert change.kinds == ["substitute"] and change.after[0]["substitute"] is True
    assert allowed.saving > 0


def test_the_part_that_replaces_a_cart_part_is_a_substitute_and_the_part_it_replaced_is_not(buyer):
    wh = WarehouseFactory()
    wanted, _ = offer_in_stock(price=90_000, on_hand=5)
    newer = PartFactory(weight_g=500)
    older = PartFactory(weight_g=500)
    # The cart's part replaced `older`, and was replaced in turn by `newer`.
    Part.objects.filter(pk=older.pk).update(superseded_by=wanted.part)
    Part.objects.filter(pk=wanted.part.pk).update(superseded_by=newer)
    newer_offer = OfferFactory(supplier=wh.supplier, part=newer, price=70_000)
    older_offer = OfferFactory(supplier=wh.supplier, part=older, price=40_000)
    StockFactory(offer=newer_offer, warehouse=wh, on_hand=5)
    StockFactory(offer=older_offer, warehouse=wh, on_hand=5)
    services.cart_line_add(workshop=buyer.workshop, offer_id=wanted.pk, quantity=1)

    plan = services.cart_optimise(workshop=buyer.workshop, allow_substitutes=True)
    assert [(pl.offer_id, pl.substitute) for pl in plan.lines] == [(newer_offer.pk, True)]
    assert services.cart_optimise(workshop=buyer.workshop).lines[0].offer_id == wanted.pk


def test_a_supplier_the_courier_cannot_quote_is_left_out(buyer, two_suppliers, fake_courier):
    # The courier refuses every quote: no warehouse can ship, so no plan.
    fake_courier.set_faults(fail_next=1000)
    try:
        with pytest.raises(CartOptimiseInfeasible):
            services.cart_optimise(workshop=buyer.workshop)
    finally:
        fake_courier.set_faults()


def test_a_slow_courier_holds_the_plan_at_most_the_quote_wait_and_the_plan_says_so(
        settings, buyer, two_suppliers, fake_courier):
    p1_a, _p1_b, p2_b = two_suppliers
    services.cart_optimise(workshop=buyer.workshop)  # A's and B's quotes are now cached
    # Supplier C, new, sells part 1 cheapest: its warehouse, in Bekasi, has never been quoted.
    c_wh = WarehouseFactory(province="Jawa Barat", city="Kota Bekasi", district="Bekasi Selatan",
                            postal_code="17148", region_code="32.75.04")
    p1_c = OfferFactory(supplier=c_wh.supplier, part=p1_a.part, price=60_000)
    StockFactory(offer=p1_c, warehouse=c_wh, on_hand=10)
    settings.CART_OPTIMISE_QUOTE_WAIT_SECONDS = 0.3
    fake_courier.set_faults(latency_ms=900)
    started = time.monotonic()
    partial = services.cart_optimise(workshop=buyer.workshop)
    waited = time.monotonic() - started
    fake_courier.set_faults()
    assert waited < 0.9  # not the courier's 0.9 s per quote
    assert partial.notes == ["quotes_incomplete"]
    assert p1_c.pk not in {line.offer_id for line in partial.lines}  # C was not quoted in time: left out

    time.sleep(1.2)  # C's late answers arrive and are cached
    full = services.cart_optimise(workshop=buyer.workshop)
    assert full.notes == []
    assert {(line.offer_id, line.quantity) for line in full.lines} >= {(p1_c.pk, 2)}
    assert p2_b.pk in {line.offer_id for line in full.lines}


def test_another_workshops_plan_cannot_touch_this_cart(buyer, two_suppliers):
    other = buyer_make()
    plan = services.cart_optimise(workshop=buyer.workshop)
    before = cart_rows(buyer.workshop)
    with pytest.raises(CartEmpty):  # the other workshop acts on its own (empty) cart only
        services.cart_optimise_apply(workshop=other.workshop, fingerprint=plan.fingerprint,
                                     lines=[(pl.offer_id, pl.quantity) for pl in plan.lines])
    assert cart_rows(buyer.workshop) == before
    assert cart_rows(other.workshop) == []
