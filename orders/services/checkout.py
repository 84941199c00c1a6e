"""The checkout plan (shared by the preview and the placement): the cart grouped by supplier, one
warehouse per supplier, shipping quotes and the chosen quote, the totals; and the preview."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from logistics import services as logistics_services
from okto88.areas import courier_area
from okto88.errors import ApplicationError
from orders import selectors
from orders.errors import CartEmpty, ShippingChoiceInvalid, ShippingChoiceRequired
from orders.services.pricing import OrderTotals, order_totals
from suppliers.models import SupplierStatus
from workshops.errors import AddressNotFound
from workshops.models import Address, Workshop
from workshops.selectors import address_snapshot


@dataclass
class PlanLine:
    line_id: int
    offer_id: int
    sku: str
    part_number: str
    name: str
    quantity: int
    price_seen: int
    price: int
    available: int
    weight_g: int
    buyable: bool
    supplier_id: int = 0
    stock_id: int | None = None

    @property
    def price_changed(self) -> bool:
        return self.price != self.price_seen

    @property
    def stock_short(self) -> bool:
        return self.available < self.quantity

    @property
    def line_total(self) -> int:
        return self.price * self.quantity

    def change(self) -> dict[str, Any]:
        return {"line": self.line_id, "offer": self.offer_id, "sku": self.sku, "price_seen": self.price_seen,
                "price": self.price, "quantity": self.quantity, "available": self.available,
                "price_changed": self.price_changed, "stock_short": self.stock_short,
                "unavailable": not self.buyable}


@dataclass
class PlanGroup:
    supplier_id: int
    supplier_name: str
    lines: list[PlanLine]
    warehouse_id: int | None = None
    origin: dict[str, str] | None = None
    quotes: list[Any] = field(default_factory=list)
    quote_error: str = ""
    choice: Any = None  # the chosen ShippingQuote

    @property
    def subtotal(self) -> int:
        return sum(line.line_total for line in self.lines)

    @property
    def weight_g(self) -> int:
        # Couriers bill at least one gram's worth; a part without a weight must not make 0.
        return max(sum(line.weight_g * line.quantity for line in self.lines), 1)

    @property
    def shipping_cost(self) -> int:
        return self.choice.cost if self.choice is not None else 0


@dataclass
class CheckoutPreview:
    groups: list[PlanGroup]
    totals: OrderTotals
    address: dict[str, Any]

    @property
    def changed_lines(self) -> list[PlanLine]:
        return [line for g in self.groups for line in g.lines
                if line.price_changed or line.stock_short or not line.buyable]

    @property
    def has_changes(self) -> bool:
        return bool(self.changed_lines)


# The checkout plan's one read: the cart's lines with their offer, supplier and part, and each
# offer's stock rows in active warehouses (pk order) with the warehouse's area. With `take` the
# lines are deleted as they are read (order_place, under the cart's lock: the transaction that
# places the cart empties it, and gives the lines back if it fails).
_PLAN_LINES = {
    False: """SELECT l.id, l.offer_id, l.quantity, l.price_seen FROM orders_cartline l
              JOIN orders_cart c ON c.id = l.cart_id WHERE c.workshop_id = %(workshop)s""",
    True: """DELETE FROM orders_cartline l USING orders_cart c
             WHERE c.id = l.cart_id AND c.workshop_id = %(workshop)s
             RETURNING l.id, l.offer_id, l.quantity, l.price_seen""",
}
_PLAN_SQL = """
WITH cl AS ({lines})
SELECT cl.id, cl.offer_id, cl.quantity, cl.price_seen, o.supplier_id, o.sku, o.price, o.is_active, sup.legal_name,
       sup.status, p.number, p.name_id, p.weight_g,
       (SELECT coalesce(json_agg(json_build_array(s.id, s.warehouse_id, s.on_hand, s.reserved, w.province, w.city,
                                                  w.district, w.postal_code) ORDER BY s.id), '[]')
        FROM suppliers_stock s JOIN suppliers_warehouse w ON w.id = s.warehouse_id
        WHERE s.offer_id = o.id AND w.is_active)
FROM cl JOIN suppliers_offer o ON o.id = cl.offer_id JOIN suppliers_supplier sup ON sup.id = o.supplier_id
     JOIN catalog_part p ON p.id = o.part_id
ORDER BY cl.id
"""


def _plan_lines(*, workshop: Workshop, take: bool) -> tuple[list[PlanLine], dict[int, str],
                                                            dict[int, list[selectors.StockRow]]]:
    """The cart's lines as PlanLines (oldest first), supplier names, and each offer's stock rows."""
    with connection.cursor() as cursor:
        cursor.execute(_PLAN_SQL.format(lines=_PLAN_LINES[take]), {"workshop": workshop.pk})
        rows = cursor.fetchall()
    lines, supplier_names, stock_rows = [], {}, {}
    for (line_id, offer_id, quantity, price_seen, supplier_id, sku, price, is_active, legal_name, supplier_status,
         part_number, part_name, weight_g, stocks) in rows:
        stocks = json.loads(stocks) if isinstance(stocks, str) else stocks
        stock_rows[offer_id] = [
            selectors.StockRow(stock_id=stock_id, offer_id=offer_id, warehouse_id=warehouse_id,
                               available=max(on_hand - reserved, 0),  # suppliers.selectors.stock_available
                               warehouse_area=courier_area(place={"province": province, "city": city,
                                                                  "district": district, "postal_code": postal_code}),
                               warehouse_province=province)
            for stock_id, warehouse_id, on_hand, reserved, province, city, district, postal_code in stocks]
        supplier_names[supplier_id] = legal_name
        lines.append(PlanLine(
            line_id=line_id, offer_id=offer_id, sku=sku, part_number=part_number, name=part_name,
            quantity=quantity, price_seen=price_seen, price=price,
            available=sum(r.available for r in stock_rows[offer_id]), weight_g=weight_g,
            buyable=is_active and supplier_status == SupplierStatus.ACTIVE,  # suppliers.selectors.offer_is_buyable
            supplier_id=supplier_id))
    return lines, supplier_names, stock_rows


def checkout_plan(*, workshop: Workshop, address: Address, quote: bool = True, take: bool = False) -> list[PlanGroup]:
    plan_lines, supplier_names, rows = _plan_lines(workshop=workshop, take=take)
    if not plan_lines:
        raise CartEmpty()
    return plan_groups(plan_lines=plan_lines, supplier_names=supplier_names, rows=rows, address=address, quote=quote)


def plan_groups(*, plan_lines: list[PlanLine], supplier_names: dict[int, str],
                 rows: dict[int, list[selectors.StockRow]], address: Address, quote: bool = True) -> list[PlanGroup]:
    """Lines grouped by supplier, each group's warehouse and its shipping quotes: the cart's lines
    at checkout, or the lines of a cart optimiser's plan (orders.services.optimise), the same way."""
    groups: dict[int, PlanGroup] = {}
    for line in plan_lines:
        group = groups.setdefault(line.supplier_id, PlanGroup(
            supplier_id=line.supplier_id, supplier_name=supplier_names[line.supplier_id], lines=[]))
        group.lines.append(line)
    served = []
    for group in groups.values():
        chosen = selectors.supplier_warehouse_choose(
            needs={line.offer_id: line.quantity for line in group.lines}, rows=rows,
            destination_province=address.province)
        if chosen is None:
            continue
        group.warehouse_id, group.origin, stock_by_offer = chosen
        for line in group.lines:
            line.stock_id = stock_by_offer[line.offer_id]
        served.append(group)
    if quote and served:
        destination = courier_area(place=address)
        answers = logistics_services.shipping_quotes_many(routes=[
            logistics_services.QuoteRoute(origin=g.origin, destination=destination, weight_g=g.weight_g)
            for g in served])
        for group, answer in zip(served, answers, strict=True):
            if isinstance(answer, ApplicationError):  # courier down or destination refused: shown, not fatal
                group.quote_error = answer.code
            else:
                group.quotes = answer
    return sorted(groups.values(), key=lambda g: g.supplier_id)


def apply_choices(*, groups: list[PlanGroup], choices: Mapping[int, tuple[str, str]] | None,
                   strict: bool) -> None:
    for group in groups:
        choice = (choices or {}).get(group.supplier_id)
        if choice is None:
            if strict:
                raise ShippingChoiceRequired(extra={"supplier": group.supplier_id})
            group.choice = min(group.quotes, key=lambda q: (q.cost, q.eta_days), default=None)
            continue
        carrier_code, service_level = choice
        match = [q for q in group.quotes if q.carrier_code == carrier_code and q.service_level == service_level]
        if not match:
            if strict:
                raise ShippingChoiceInvalid(
                    extra={"supplier": group.supplier_id, "carrier_code": carrier_code,
                           "service_level": service_level, "quote_error": group.quote_error,
                           "offered": [[q.carrier_code, q.service_level] for q in group.quotes]})
            continue
        group.choice = match[0]


def plan_totals(groups: list[PlanGroup], rate_bp: int | None = None) -> OrderTotals:
    return order_totals(subtotal=sum(g.subtotal for g in groups), shipping=sum(g.shipping_cost for g in groups),
                        rate_bp=rate_bp)


def cart_checkout_preview(*, workshop: Workshop, address: Address,
                          shipping_choices: Mapping[int, tuple[str, str]] | None = None) -> CheckoutPreview:
    """Lines grouped by supplier with the current price against the price seen and what is
    available against the quantity (flags price_changed, stock_short), shipping quotes per
    supplier (origin: the warehouse that can serve all the supplier's lines), and the totals
    computed exactly as order_place will (the chosen quote, else the cheapest)."""
    if address.workshop_id != workshop.pk:
        raise AddressNotFound(extra={"field": "address"})
    groups = checkout_plan(workshop=workshop, address=address)
    apply_choices(groups=groups, choices=shipping_choices, strict=False)
    return CheckoutPreview(groups=groups, totals=plan_totals(groups), address=address_snapshot(address=address))
