"""Cart rules: minimum order, pack size, available stock, buyable offers; the checkout preview."""

from __future__ import annotations

import pytest

from okto88.errors import InvalidQuantity
from orders import services
from orders.errors import CartLineNotFound, OfferUnavailable, OutOfStock, QuantityBelowMinimum, QuantityNotPackMultiple
from orders.models import CartLine
from suppliers.models import SupplierStatus
from suppliers.services import offer_update, stock_reserve
from tests.orders.factories import buyer_make, offer_in_stock
from tests.suppliers.factories import StockFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def test_add_stores_the_price_seen_and_adds_to_an_existing_line(buyer):
    offer, _ = offer_in_stock(on_hand=10, price=123_000)
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    line = services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=3)
    assert (line.quantity, line.price_seen) == (5, 123_000)
    assert CartLine.objects.filter(cart__workshop=buyer.workshop).count() == 1


def test_minimum_order_and_pack_size(buyer):
    offer, _ = offer_in_stock(on_hand=100, min_order_qty=4, pack_size=2)
    with pytest.raises(QuantityBelowMinimum):
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=2)
    with pytest.raises(QuantityNotPackMultiple):
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=5)
    line = services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=6)
    with pytest.raises(QuantityNotPackMultiple):
        services.cart_line_update(workshop=buyer.workshop, line_id=line.pk, quantity=7)
    with pytest.raises(InvalidQuantity):
        services.cart_line_update(workshop=buyer.workshop, line_id=line.pk, quantity=0)
    assert services.cart_line_update(workshop=buyer.workshop, line_id=line.pk, quantity=8).quantity == 8


def test_available_is_the_sum_over_warehouses_of_on_hand_minus_reserved(buyer):
    offer, stock = offer_in_stock(on_hand=5)
    StockFactory(offer=offer, warehouse=WarehouseFactory(supplier=offer.supplier), on_hand=4)
    stock_reserve(lines=[(stock, 2)], reference="other order")
    with pytest.raises(OutOfStock) as exc:
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=8)
    assert exc.value.extra["available"] == 7
    assert services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=7).quantity == 7


def test_offers_of_inactive_suppliers_or_inactive_offers_cannot_be_added(buyer):
    offer, _ = offer_in_stock()
    offer.supplier.status = SupplierStatus.SUSPENDED
    offer.supplier.save()
    with pytest.raises(OfferUnavailable):
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    inactive, _ = offer_in_stock(is_active=False)
    with pytest.raises(OfferUnavailable):
        services.cart_line_add(workshop=buyer.workshop, offer_id=inactive.pk, quantity=1)


def test_remove_only_from_the_own_cart(buyer):
    offer, _ = offer_in_stock()
    line = services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    with pytest.raises(CartLineNotFound):
        services.cart_line_remove(workshop=buyer_make().workshop, line_id=line.pk)
    services.cart_line_remove(workshop=buyer.workshop, line_id=line.pk)
    assert not CartLine.objects.exists()


def test_preview_groups_by_supplier_flags_changes_and_quotes_shipping(buyer):
    a, stock_a = offer_in_stock(on_hand=10, price=100_000, weight_g=1_200)
    b, _ = offer_in_stock(on_hand=3, price=50_000)
    services.cart_line_add(workshop=buyer.workshop, offer_id=a.pk, quantity=2)
    services.cart_line_add(workshop=buyer.workshop, offer_id=b.pk, quantity=3)
    offer_update(offer=a, data={"price": 110_000})
    stock_reserve(lines=[(b.stocks.get(), 1)], reference="someone else")

    preview = services.cart_checkout_preview(workshop=buyer.workshop, address=buyer.address)

    assert [g.supplier_id for g in preview.groups] == sorted([a.supplier_id, b.supplier_id])
    lines = {line.offer_id: line for g in preview.groups for line in g.lines}
    assert lines[a.pk].price_changed and (lines[a.pk].price_seen, lines[a.pk].price) == (100_000, 110_000)
    assert not lines[a.pk].stock_short
    assert lines[b.pk].stock_short and (lines[b.pk].available, lines[b.pk].quantity) == (2, 3)
    assert not lines[b.pk].price_changed
    assert preview.has_changes
    group_a = next(g for g in preview.groups if g.supplier_id == a.supplier_id)
    assert group_a.warehouse_id == stock_a.warehouse_id and group_a.weight_g == 2_400
    assert group_a.quotes and group_a.choice == group_a.quotes[0]  # the cheapest unless chosen
    group_b = next(g for g in preview.groups if g.supplier_id == b.supplier_id)
    assert group_b.warehouse_id is None and group_b.choice is None  # no warehouse can serve it: no quote
    expected = services.order_totals(subtotal=2 * 110_000 + 3 * 50_000, shipping=group_a.choice.cost,
                                     rate_bp=1100)
    assert preview.totals == expected


def test_preview_uses_the_chosen_service(buyer):
    offer, _ = offer_in_stock()
    services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    quotes = services.cart_checkout_preview(workshop=buyer.workshop, address=buyer.address).groups[0].quotes
    priciest = max(quotes, key=lambda q: q.cost)
    preview = services.cart_checkout_preview(
        workshop=buyer.workshop, address=buyer.address,
        shipping_choices={offer.supplier_id: (priciest.carrier_code, priciest.service_level)})
    assert preview.totals.shipping == priciest.cost
