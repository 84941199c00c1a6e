"""Reads for carts and orders, scoped to the actor: a workshop member sees only their
workshop's cart and orders; anybody else gets `no_workshop` (403) and another workshop's
order looks exactly like a missing one (404). A supplier sees its own supplier orders only
(another supplier's looks missing, 404)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from logistics.models import TrackingEvent
from okto88.areas import courier_area
from orders.cart_optimiser import offer_quantity
from orders.errors import OrderNotFound, SupplierOrderNotFound
from orders.models import Cart, CartLine, Notification, Order, OrderEvent, OrderLine, StepRun, SupplierOrder
from suppliers.models import Offer, Stock, Supplier
from suppliers.selectors import BUYABLE_OFFER_Q, PartOffer, offer_is_buyable, part_offers, stock_available
from workshops.models import Workshop
from workshops.selectors import workshop_for_actor


def cart_get(*, workshop: Workshop) -> Cart | None:
    return Cart.objects.filter(workshop=workshop).first()


def cart_line_list(*, workshop: Workshop) -> list[CartLine]:
    """The cart's lines with offer, part and supplier (one query), oldest first."""
    return list(
        CartLine.objects.filter(cart__workshop=workshop)
        .select_related("offer", "offer__part", "offer__part__brand", "offer__supplier")
        .order_by("pk")
    )


def offers_buyable_of_parts(*, part_ids: list[int]) -> list[Offer]:
    """Every buyable offer (suppliers.selectors.BUYABLE_OFFER_Q) of the parts, with part and
    supplier, cheapest first: the cart optimiser's candidates (one query)."""
    return list(Offer.objects.filter(BUYABLE_OFFER_Q, part_id__in=part_ids).select_related("part", "supplier")
                .order_by("part_id", "price", "pk"))


@dataclass(frozen=True)
class StockRow:
    stock_id: int
    offer_id: int
    warehouse_id: int
    available: int
    warehouse_area: dict[str, str]
    warehouse_province: str


def offer_stock_rows(*, offer_ids: list[int]) -> dict[int, list[StockRow]]:
    """Per offer: its stock rows in active warehouses, with what is available (on_hand − reserved). One query."""
    rows: dict[int, list[StockRow]] = defaultdict(list)
    if not offer_ids:
        return rows
    for stock in (Stock.objects.filter(offer_id__in=offer_ids, warehouse__is_active=True)
                  .select_related("warehouse").order_by("pk")):
        wh = stock.warehouse
        rows[stock.offer_id].append(StockRow(
            stock_id=stock.pk, offer_id=stock.offer_id, warehouse_id=wh.pk,
            available=stock_available(stock=stock),
            warehouse_area=courier_area(place=wh),
            warehouse_province=wh.province,
        ))
    return rows


def supplier_warehouse_choose(*, needs: Mapping[int, int], rows: Mapping[int, list[StockRow]],
                              destination_province: str) -> tuple[int, dict[str, str], dict[int, int]] | None:
    """The warehouse one supplier ships `needs` ({offer id: quantity}, the supplier's offers) from:
    an active warehouse that can serve every offer's quantity on its own; the destination's
    province first, then the lowest id (deterministic). Returns (warehouse id, origin area,
    offer → stock id), or None when no warehouse can serve them all.

    The one rule for the origin of a shipment: checkout's plan (orders.services.checkout) and the
    delivery estimates shown on every offer (orders.services.delivery) both call it."""
    by_warehouse: dict[int, dict[int, StockRow]] = defaultdict(dict)
    for offer_id in needs:
        for row in rows.get(offer_id, []):
            by_warehouse[row.warehouse_id][offer_id] = row
    candidates = []
    for warehouse_id, by_offer in by_warehouse.items():
        if all(offer_id in by_offer and by_offer[offer_id].available >= quantity
               for offer_id, quantity in needs.items()):
            any_row = next(iter(by_offer.values()))
            candidates.append((any_row.warehouse_province != destination_province, warehouse_id, any_row, by_offer))
    if not candidates:
        return None
    _, warehouse_id, any_row, by_offer = min(candidates, key=lambda c: (c[0], c[1]))
    return warehouse_id, any_row.warehouse_area, {offer_id: row.stock_id for offer_id, row in by_offer.items()}


def offer_available(*, offer_ids: list[int]) -> dict[int, int]:
    """Available units per offer: the sum over the supplier's active warehouses of on_hand − reserved."""
    return {offer_id: sum(r.available for r in rows)
            for offer_id, rows in offer_stock_rows(offer_ids=offer_ids).items()}


def order_list(*, actor: Any, status: str | None = None, q: str | None = None,
               placed_from: dt.datetime | None = None, placed_before: dt.datetime | None = None) -> QuerySet[Order]:
    """The actor's workshop's orders, newest first: in `status`; whose number, or a line's part
    number, name or SKU, contains `q`; placed from `placed_from` (included) to `placed_before`
    (excluded). A search by line is an EXISTS, so an order with several matching lines is listed once."""
    workshop = workshop_for_actor(actor=actor)
    qs = Order.objects.filter(workshop=workshop)
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        lines = OrderLine.objects.filter(supplier_order__order=OuterRef("pk")).filter(
            Q(part_number__icontains=q) | Q(name__icontains=q) | Q(sku__icontains=q))
        qs = qs.filter(Q(number__icontains=q) | Exists(lines))
    if placed_from is not None:
        qs = qs.filter(created_at__gte=placed_from)
    if placed_before is not None:
        qs = qs.filter(created_at__lt=placed_before)
    return qs.order_by("-pk")


def order_get(*, actor: Any, number: str) -> Order:
    """One of the actor's workshop's orders with everything its detail page shows, in a fixed
    number of queries: supplier orders (+ supplier, warehouse, shipment), lines, payment, events."""
    return _actor_order(actor=actor, number=number, orders=(
        Order.objects.select_related("payment_intent")
        .prefetch_related(
            Prefetch("supplier_orders",
                     queryset=SupplierOrder.objects.select_related("supplier", "warehouse", "shipment",
                                                                   "shipment__carrier").order_by("pk")),
            Prefetch("supplier_orders__lines", queryset=OrderLine.objects.order_by("pk")),
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor", "api_client")
                     .order_by("created_at", "pk")),
        )
    ))


def order_with_payment_get(*, actor: Any, number: str) -> Order:
    """One of the actor's workshop's orders with its payment only: the payment panel, polled
    every few seconds, needs none of the detail page's supplier orders, lines and events."""
    return _actor_order(actor=actor, number=number, orders=Order.objects.select_related("payment_intent"))


def order_for_update_by_number(*, actor: Any, number: str) -> Order:
    """The actor's order by number without prefetching (for services that lock it themselves)."""
    return _actor_order(actor=actor, number=number, orders=Order.objects.all())


def _actor_order(*, actor: Any, number: str, orders: QuerySet[Order]) -> Order:
    order = orders.filter(workshop=workshop_for_actor(actor=actor), number=number).first()
    if order is None:
        raise OrderNotFound(extra={"number": str(number)[:40]})
    return order


def _supplier_orders_shown(*, supplier: Supplier) -> QuerySet[SupplierOrder]:
    """The supplier's supplier orders with all the API shows of each, in a fixed number of
    queries whatever the page's length: the rows with their order, workshop, payment, warehouse
    and shipment (one query), their lines (one), their shipments' applied tracking events (one)."""
    return (SupplierOrder.objects.filter(supplier=supplier)
            .select_related("order", "order__workshop", "order__payment_intent", "warehouse", "shipment",
                            "shipment__carrier")
            .prefetch_related(
                Prefetch("lines", queryset=OrderLine.objects.order_by("pk")),
                Prefetch("shipment__tracking", queryset=TrackingEvent.objects.filter(applied=True)
                         .order_by("occurred_at", "pk")),
            ))


def supplier_order_list(*, supplier: Supplier, status: str | None = None, updated_after: dt.datetime | None = None,
                        placed_after: dt.datetime | None = None,
                        placed_before: dt.datetime | None = None) -> QuerySet[SupplierOrder]:
    """The supplier's supplier orders, newest first: changed after `updated_after`, placed from
    `placed_after` (included) to `placed_before` (excluded)."""
    supplier_orders = _supplier_orders_shown(supplier=supplier)
    if status:
        supplier_orders = supplier_orders.filter(status=status)
    if updated_after is not None:
        supplier_orders = supplier_orders.filter(updated_at__gt=updated_after)
    if placed_after is not None:
        supplier_orders = supplier_orders.filter(order__created_at__gte=placed_after)
    if placed_before is not None:
        supplier_orders = supplier_orders.filter(order__created_at__lt=placed_before)
    return supplier_orders.order_by("-pk")


def supplier_order_get(*, supplier: Supplier, number: str) -> SupplierOrder:
    """One of the supplier's supplier orders by number; another supplier's is SupplierOrderNotFound,
    exactly like a missing one."""
    supplier_order = _supplier_orders_shown(supplier=supplier).filter(number=number).first()
    if supplier_order is None:
        raise SupplierOrderNotFound(extra={"number": str(number)[:40]})
    return supplier_order


def order_supplier_order_get(*, actor: Any, order_number: str, number: str) -> SupplierOrder:
    """One supplier order of one of the actor's workshop's orders, with what its documents print
    (order, workshop, supplier, warehouse, shipment, lines). Another workshop's order is
    OrderNotFound, exactly like a missing one; a number that is not this order's is
    SupplierOrderNotFound."""
    order = _actor_order(actor=actor, number=order_number, orders=Order.objects.select_related("workshop"))
    supplier_order = (SupplierOrder.objects.filter(order=order, number=number)
                      .select_related("supplier", "warehouse", "shipment", "shipment__carrier")
                      .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))
                      .first())
    if supplier_order is None:
        raise SupplierOrderNotFound(extra={"number": str(number)[:40]})
    supplier_order.order = order
    return supplier_order


def order_step_runs(*, order: Order) -> list[StepRun]:
    """The workflow's step attempts of one order, oldest first, with the supplier order (and its
    supplier) each ran for (one query)."""
    return list(StepRun.objects.filter(order=order).select_related("supplier_order__supplier")
                .order_by("started_at", "pk"))


def order_line_get(*, actor: Any, number: str, line_id: int) -> OrderLine:
    """One line of one of the actor's workshop's orders, with its offer; a line of another
    workshop's order, or of another order, is OrderNotFound, exactly like a missing one."""
    line = (OrderLine.objects.select_related("offer", "supplier_order", "supplier_order__supplier")
            .filter(pk=line_id, supplier_order__order__number=number,
                    supplier_order__order__workshop=workshop_for_actor(actor=actor)).first())
    if line is None:
        raise OrderNotFound(extra={"number": str(number)[:40]})
    return line


def order_lines(*, order: Order) -> list[OrderLine]:
    """Every line of an order with its offer, in the order they were placed (one query)."""
    return list(OrderLine.objects.filter(supplier_order__order=order).select_related("offer")
                .order_by("supplier_order_id", "pk"))


def offer_quantity_fit(*, offer: PartOffer, quantity: int) -> int:
    """The smallest quantity of at least `quantity` that the offer sells: its minimum, in whole packs."""
    return offer_quantity(needed=max(quantity, 1), min_qty=offer.min_order_qty, pack_size=max(offer.pack_size, 1))


def part_offers_instead(*, part_id: int, quantity: int, exclude_supplier_id: int | None = None,
                        exclude_offer_id: int | None = None) -> list[tuple[PartOffer, int]]:
    """The part's other offers that can sell `quantity` now, best first, each with the quantity
    to put in the cart (rounded up to its minimum and packs): the part page's own ranking
    (suppliers.selectors.part_offers), less the excluded supplier or offer and those short of stock."""
    candidates = []
    for offer in part_offers(part_id=part_id):
        if offer.supplier_id == exclude_supplier_id or offer.offer_id == exclude_offer_id:
            continue
        fitted = offer_quantity_fit(offer=offer, quantity=quantity)
        if 0 < fitted <= offer.available:
            candidates.append((offer, fitted))
    return candidates


def cart_line_count(*, workshop: Workshop) -> int:
    return CartLine.objects.filter(cart__workshop=workshop).count()


def notification_unread_count(*, actor: Any) -> int:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient_id=actor.pk, read_at__isnull=True).count()


def notification_list(*, actor: Any, limit: int = 50) -> list[Notification]:
    """The actor's newest notifications (bounded), with their orders (one query)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    return list(Notification.objects.filter(recipient_id=actor.pk).select_related("order")
                .order_by("-created_at", "-pk")[:limit])


__all__ = [
    "StockRow",
    "cart_get",
    "cart_line_count",
    "cart_line_list",
    "notification_list",
    "notification_unread_count",
    "offer_available",
    "offer_is_buyable",
    "offer_quantity_fit",
    "offer_stock_rows",
    "order_for_update_by_number",
    "order_get",
    "order_line_get",
    "order_lines",
    "order_list",
    "order_step_runs",
    "order_supplier_order_get",
    "part_offers_instead",
    "supplier_order_get",
    "supplier_order_list",
    "supplier_warehouse_choose",
]
