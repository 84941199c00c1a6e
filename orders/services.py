"""Cart and order writes: cart lines, the checkout preview, order placement, cancel and expiry.

Placement (`order_place`) in three phases, and why:

1. Outside any transaction: read the cart, choose one warehouse per supplier and ask the
   courier for rates (HTTP). No row lock is held while a partner answers.
2. One durable transaction: lock the workshop row (serialises one workshop's placements, so
   the idempotency check and the credit-limit sum cannot race), lock the cart, re-check prices
   and availability, write the order, its supplier orders and price-snapshot lines, reserve
   stock through suppliers.services.stock_reserve (stock rows locked in pk order, conditional
   updates: never oversell; a lost race → `out_of_stock` and nothing is saved), write the
   timeline and `order.placed` to the outbox, empty the cart. `terms` needs no gateway: its
   payment intent is created settled inside this transaction, the order becomes `paid`, and
   the fulfilment chain is enqueued when the transaction commits.
3. Prepaid methods only, after commit: `order_payment_start` charges at the gateway (HTTP)
   and attaches the intent in a short second transaction.

Why the gateway is called after commit rather than inside the transaction: a charge inside
would hold the stock row locks of every line for the gateway's round trip (up to
PARTNER_HTTP_TIMEOUT_SECONDS), serialising every buyer of a popular part behind a partner's
latency; and a transaction that rolls back after a successful charge would leave a charge at
the gateway for an order that does not exist. After commit, the charge's reference always
names a real order. The price is a short window in which an order exists without payment
instructions: if the gateway is down the caller gets 503 `gateway_unavailable` and simply
repeats the request with the same Idempotency-Key (the replay retries the charge; the
gateway is idempotent on the order number); if nobody retries, the order expires after
ORDER_PAYMENT_WINDOW_MINUTES and its stock returns. A gateway that refuses the charge
(permanent) fails the order and releases its stock at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import secrets
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import chain, signature
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from logistics import services as logistics_services
from okto88.areas import courier_area
from okto88.celery import task_send
from okto88.errors import ApplicationError, InvalidQuantity
from okto88.money import rupiah
from okto88.selectors import actor_api_client, actor_person
from orders import selectors
from orders.errors import (
    CartChanged,
    CartEmpty,
    CartLineNotFound,
    CreditLimitExceeded,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    InvalidIdempotencyKey,
    InvalidPaymentMethod,
    OfferUnavailable,
    OrderNotCancellable,
    OutOfStock,
    QuantityBelowMinimum,
    QuantityNotPackMultiple,
    ShippingChoiceInvalid,
    ShippingChoiceRequired,
)
from orders.events import order_placed_payload
from orders.lock_objects import cart_lock, order_lock
from orders.models import Cart, CartLine, Order, OrderEvent, OrderLine, OrderStatus, SupplierOrder
from orders.state import OPEN, TERMINAL, order_outbox_write, order_transition
from orders.timeline import order_event_write
from payments import services as payment_services
from payments.errors import GatewayRejected, GatewayUnavailable
from payments.models import PaymentMethod, PaymentStatus
from suppliers import services as supplier_services
from suppliers.errors import InsufficientStock
from suppliers.models import MovementReason, Offer, StockMovement
from workshops.errors import AddressNotFound
from workshops.lock_objects import workshop_lock
from workshops.models import Address, Workshop
from workshops.selectors import address_snapshot

__all__ = [
    "cart_checkout_preview", "cart_line_add", "cart_line_remove", "cart_line_update", "order_cancel", "order_expire",
    "order_number_generate", "order_payment_start", "order_place", "order_totals",
]

logger = logging.getLogger(__name__)

PREPAID_METHODS = frozenset({PaymentMethod.VIRTUAL_ACCOUNT, PaymentMethod.QRIS, PaymentMethod.EWALLET})
CANCELLABLE = frozenset({OrderStatus.PENDING_PAYMENT, OrderStatus.PAID, OrderStatus.IN_FULFILMENT})


# --- Money -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrderTotals:
    subtotal: int
    shipping: int
    tax: int
    grand_total: int
    rate_bp: int


def order_totals(*, subtotal: int, shipping: int, rate_bp: int | None = None) -> OrderTotals:
    """PPN on goods and shipping, once per order, rounded half up to whole rupiah:
    tax = round_half_up((subtotal + shipping) × rate_bp / 10,000), in integers only.
    E.g. 100 + 50 at 11 % = 16.5 → 17; 123,457 + 18,000 at 11 % = 15,560.27 → 15,560."""
    rate = settings.PPN_RATE_BP if rate_bp is None else rate_bp
    if subtotal < 0 or shipping < 0 or rate < 0:
        raise ValueError("amounts and rate must be ≥ 0")
    base = subtotal + shipping
    tax = (2 * base * rate + 10_000) // 20_000  # floor(x + ½) with x = base × rate / 10,000
    return OrderTotals(subtotal=subtotal, shipping=shipping, tax=tax, grand_total=base + tax, rate_bp=rate)


# --- Cart ------------------------------------------------------------------------------------

def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _buyable_offer(offer_id: Any) -> Offer:
    try:
        offer = Offer.objects.select_related("supplier", "part").get(pk=int(offer_id))
    except (Offer.DoesNotExist, TypeError, ValueError) as exc:
        raise OfferUnavailable(extra={"offer": str(offer_id)[:20]}) from exc
    if not selectors.offer_is_buyable(offer=offer):
        raise OfferUnavailable(extra={"offer": offer.pk})
    return offer


def _quantity_check(*, offer: Offer, quantity: Any) -> int:
    if not _is_int(quantity) or quantity <= 0:
        raise InvalidQuantity(extra={"field": "quantity", "offer": offer.pk})
    if quantity < offer.min_order_qty:
        raise QuantityBelowMinimum(
            f"At least {offer.min_order_qty} of {offer.sku}.",
            extra={"field": "quantity", "offer": offer.pk, "min_order_qty": offer.min_order_qty})
    if quantity % offer.pack_size:
        raise QuantityNotPackMultiple(
            f"{offer.sku} comes in packs of {offer.pack_size}.",
            extra={"field": "quantity", "offer": offer.pk, "pack_size": offer.pack_size})
    available = selectors.offer_available(offer_ids=[offer.pk]).get(offer.pk, 0)
    if quantity > available:
        raise OutOfStock(f"Only {available} of {offer.sku} available.",
                         extra={"field": "quantity", "offer": offer.pk, "available": available})
    return quantity


@transaction.atomic
def cart_line_add(*, workshop: Workshop, offer_id: int, quantity: int) -> CartLine:
    """Add `quantity` of an offer (added to the line if there is one). The line remembers the
    price the workshop saw now; checkout shows any change since."""
    offer = _buyable_offer(offer_id)
    cart = cart_lock(workshop_id=workshop.pk)
    line = CartLine.objects.filter(cart=cart, offer=offer).first()
    total = (line.quantity if line else 0) + quantity if _is_int(quantity) else quantity
    total = _quantity_check(offer=offer, quantity=total)
    if line is None:
        line = CartLine(cart=cart, offer=offer)
    line.quantity, line.price_seen = total, offer.price
    line.save()
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return line


@transaction.atomic
def cart_line_update(*, workshop: Workshop, line_id: int, quantity: int) -> CartLine:
    """Set a line's quantity. price_seen is kept: a price change stays visible until accepted."""
    cart = cart_lock(workshop_id=workshop.pk)
    line = CartLine.objects.filter(cart=cart, pk=line_id).select_related("offer", "offer__supplier").first()
    if line is None:
        raise CartLineNotFound(extra={"line": line_id})
    if not selectors.offer_is_buyable(offer=line.offer):
        raise OfferUnavailable(extra={"offer": line.offer_id})
    line.quantity = _quantity_check(offer=line.offer, quantity=quantity)
    line.save(update_fields=["quantity"])
    return line


@transaction.atomic
def cart_line_remove(*, workshop: Workshop, line_id: int) -> None:
    cart = cart_lock(workshop_id=workshop.pk)
    deleted, _ = CartLine.objects.filter(cart=cart, pk=line_id).delete()
    if not deleted:
        raise CartLineNotFound(extra={"line": line_id})


# --- Checkout plan (shared by the preview and the placement) -----------------------------------

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


def _choose_warehouse(*, lines: list[PlanLine], rows: dict[int, list[selectors.StockRow]],
                      destination_province: str) -> tuple[int, dict[str, str], dict[int, int]] | None:
    """One active warehouse of the supplier that can serve every line; the destination's province
    first, then the lowest id (deterministic). Returns (warehouse id, origin area, offer → stock id)."""
    by_warehouse: dict[int, dict[int, selectors.StockRow]] = defaultdict(dict)
    for line in lines:
        for row in rows.get(line.offer_id, []):
            by_warehouse[row.warehouse_id][line.offer_id] = row
    candidates = []
    for warehouse_id, by_offer in by_warehouse.items():
        if all(line.offer_id in by_offer and by_offer[line.offer_id].available >= line.quantity for line in lines):
            any_row = next(iter(by_offer.values()))
            candidates.append((any_row.warehouse_province != destination_province, warehouse_id, any_row, by_offer))
    if not candidates:
        return None
    _, warehouse_id, any_row, by_offer = min(candidates, key=lambda c: (c[0], c[1]))
    return warehouse_id, any_row.warehouse_area, {offer_id: row.stock_id for offer_id, row in by_offer.items()}


def _checkout_plan(*, workshop: Workshop, address: Address, quote: bool = True) -> list[PlanGroup]:
    cart_lines = selectors.cart_line_list(workshop=workshop)
    if not cart_lines:
        raise CartEmpty()
    offer_ids = [line.offer_id for line in cart_lines]
    rows = selectors.offer_stock_rows(offer_ids=offer_ids)
    groups: dict[int, PlanGroup] = {}
    for cl in cart_lines:
        offer = cl.offer
        group = groups.setdefault(offer.supplier_id, PlanGroup(
            supplier_id=offer.supplier_id, supplier_name=offer.supplier.legal_name, lines=[]))
        group.lines.append(PlanLine(
            line_id=cl.pk, offer_id=offer.pk, sku=offer.sku, part_number=offer.part.number,
            name=offer.part.name_id, quantity=cl.quantity, price_seen=cl.price_seen, price=offer.price,
            available=sum(r.available for r in rows.get(offer.pk, [])), weight_g=offer.part.weight_g,
            buyable=selectors.offer_is_buyable(offer=offer),
        ))
    served = []
    for group in groups.values():
        chosen = _choose_warehouse(lines=group.lines, rows=rows, destination_province=address.province)
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


def _apply_choices(*, groups: list[PlanGroup], choices: Mapping[int, tuple[str, str]] | None,
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


def _plan_totals(groups: list[PlanGroup], rate_bp: int | None = None) -> OrderTotals:
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
    groups = _checkout_plan(workshop=workshop, address=address)
    _apply_choices(groups=groups, choices=shipping_choices, strict=False)
    return CheckoutPreview(groups=groups, totals=_plan_totals(groups), address=address_snapshot(address=address))


# --- Placement -------------------------------------------------------------------------------

NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def order_number_generate(*, now=None) -> str:
    """OK-YYMM-XXXXXX: the month (Jakarta time) a person can read out, six random base32
    characters (32⁶ ≈ 10⁹ per month) a person can type; the caller retries on a collision."""
    local = timezone.localtime(now or timezone.now())
    return f"OK-{local:%y%m}-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(6))


def _idempotency_key_clean(key: Any) -> str:
    key = str(key or "").strip()
    if not key:
        raise IdempotencyKeyRequired(extra={"field": "Idempotency-Key"})
    if len(key) > 100 or not key.isprintable():
        raise InvalidIdempotencyKey(extra={"field": "Idempotency-Key"})
    return key


def _request_hash(*, address: Address, payment_method: str, shipping_choices: Mapping[int, tuple[str, str]],
                  accept_changes: bool) -> str:
    # The request as the caller sent it, not the cart: a retry after the cart was emptied by
    # the first placement must still match.
    canonical = json.dumps({
        "address": address.pk, "payment_method": str(payment_method), "accept_changes": bool(accept_changes),
        "shipping": sorted([int(s), str(c), str(lv)] for s, (c, lv) in shipping_choices.items()),
    }, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _existing_order(*, workshop: Workshop, key: str, request_hash: str) -> Order | None:
    order = Order.objects.filter(workshop=workshop, idempotency_key=key).first()
    if order is not None and order.request_hash != request_hash:
        raise IdempotencyConflict(extra={"order": order.number})
    return order


def _credit_exposure(*, workshop: Workshop) -> int:
    """What the workshop owes on pay-later orders that are still open. Completed orders leave the
    exposure (invoicing and collection are outside okto88 for now)."""
    return Order.objects.filter(workshop=workshop, payment_method=PaymentMethod.TERMS, status__in=OPEN).aggregate(
        total=Sum("grand_total"))["total"] or 0


def _order_create(**fields: Any) -> Order:
    for _attempt in range(8):
        try:
            with transaction.atomic():  # a savepoint: a colliding number must not abort the placement
                return Order.objects.create(number=order_number_generate(), **fields)
        except IntegrityError as exc:
            if "order_idempotency_key_unique" in str(exc):
                raise
    raise RuntimeError("could not find a free order number")  # 8 collisions in 10⁹: something is wrong


def _customer(*, workshop: Workshop, actor: Any, address: Address) -> dict[str, str]:
    return {"name": workshop.name, "email": getattr(actor, "email", "") or "", "phone": address.phone}


def order_place(*, workshop: Workshop, actor: Any, address: Address, payment_method: str,
                shipping_choices: Mapping[int, tuple[str, str]], idempotency_key: str,
                accept_changes: bool = False) -> Order:
    """Place the workshop's cart as one order, split per supplier. See the module docstring for
    the three phases. Same key + same request → the existing order, nothing else happens (but a
    prepaid order whose charge failed is charged now); same key + another request →
    IdempotencyConflict."""
    key = _idempotency_key_clean(idempotency_key)
    choices = {int(s): (str(c), str(lv)) for s, (c, lv) in (shipping_choices or {}).items()}
    request_hash = _request_hash(address=address, payment_method=payment_method, shipping_choices=choices,
                                 accept_changes=accept_changes)
    existing = _existing_order(workshop=workshop, key=key, request_hash=request_hash)
    if existing is not None:
        return _order_replay(order=existing, actor=actor)
    if payment_method not in PaymentMethod.values:
        raise InvalidPaymentMethod(extra={"field": "payment_method", "value": str(payment_method)[:40]})
    if address.workshop_id != workshop.pk:
        raise AddressNotFound(extra={"field": "address"})

    groups = _checkout_plan(workshop=workshop, address=address)  # phase 1: reads and courier HTTP
    _refuse_changes(groups=groups, accept_changes=accept_changes)  # fail fast, before any lock
    _apply_choices(groups=groups, choices=choices, strict=True)
    order, replay = _order_place_atomic(workshop=workshop, actor=actor, address=address, groups=groups,
                                        payment_method=payment_method, key=key, request_hash=request_hash,
                                        accept_changes=accept_changes)
    if replay:
        return _order_replay(order=order, actor=actor)
    if payment_method in PREPAID_METHODS:
        order_payment_start(order=order, actor=actor)  # phase 3: after commit
    return order


def _refuse_changes(*, groups: list[PlanGroup], accept_changes: bool) -> list[PlanLine]:
    """What changed since the lines were added. A price change is refused unless accepted
    (`cart_changed`); a line that can no longer be bought is refused (`cart_changed`: remove it);
    a shortage cannot be accepted away (`out_of_stock`, listing the lines)."""
    lines = [line for g in groups for line in g.lines]
    short = [line for line in lines if line.stock_short]
    if short:
        raise OutOfStock(extra={"lines": [line.change() for line in short]})
    gone = [line for line in lines if not line.buyable]
    if gone:
        raise CartChanged("Some parts can no longer be bought; remove them from the cart.",
                          extra={"lines": [line.change() for line in gone]})
    repriced = [line for line in lines if line.price_changed]
    if repriced and not accept_changes:
        raise CartChanged(extra={"lines": [line.change() for line in repriced]})
    for group in groups:
        if group.warehouse_id is None:
            raise OutOfStock("No single warehouse of this supplier has every part in stock.",
                             extra={"supplier": group.supplier_id, "lines": [line.change() for line in group.lines]})
    return repriced


def _order_replay(*, order: Order, actor: Any) -> Order:
    if order.payment_method in PREPAID_METHODS and order.payment_intent_id is None \
            and order.status == OrderStatus.PENDING_PAYMENT:
        order_payment_start(order=order, actor=actor)
    return order


@transaction.atomic(durable=True)
def _order_place_atomic(*, workshop: Workshop, actor: Any, address: Address, groups: list[PlanGroup],
                        payment_method: str, key: str, request_hash: str,
                        accept_changes: bool) -> tuple[Order, bool]:
    locked_workshop = workshop_lock(workshop_id=workshop.pk)  # lock order: workshop → cart → stock (pk)
    existing = _existing_order(workshop=workshop, key=key, request_hash=request_hash)
    if existing is not None:  # a concurrent identical request committed first
        return existing, True
    cart = cart_lock(workshop_id=workshop.pk)

    # Re-read under the cart lock: the plan was made without locks.
    fresh = {g.supplier_id: g for g in _checkout_plan(workshop=workshop, address=address, quote=False)}
    planned = {(line.line_id, line.offer_id, line.quantity) for g in groups for line in g.lines}
    current = {(line.line_id, line.offer_id, line.quantity) for g in fresh.values() for line in g.lines}
    if planned != current:
        raise CartChanged("The cart changed while the order was being placed; review it and try again.",
                          extra={"lines": []})
    changed = _refuse_changes(groups=list(fresh.values()), accept_changes=accept_changes)
    for group in groups:  # today's prices go into the snapshot
        fresh_lines = {line.line_id: line for line in fresh[group.supplier_id].lines}
        for line in group.lines:
            line.price = fresh_lines[line.line_id].price

    totals = _plan_totals(groups)
    if payment_method == PaymentMethod.TERMS:
        exposure = _credit_exposure(workshop=locked_workshop)
        if exposure + totals.grand_total > locked_workshop.credit_limit:
            raise CreditLimitExceeded(extra={"credit_limit": locked_workshop.credit_limit, "open": exposure,
                                             "grand_total": totals.grand_total})

    now = timezone.now()
    order = _order_create(
        workshop=workshop, placed_by=actor_person(actor=actor), placed_by_client=actor_api_client(actor=actor),
        payment_method=payment_method, idempotency_key=key,
        request_hash=request_hash, delivery_address=address_snapshot(address=address), subtotal=totals.subtotal,
        shipping_total=totals.shipping, tax_rate_bp=totals.rate_bp, tax_total=totals.tax,
        grand_total=totals.grand_total,
        expires_at=now + timedelta(minutes=settings.ORDER_PAYMENT_WINDOW_MINUTES)
        if payment_method in PREPAID_METHODS else None,
    )
    order_lines: list[OrderLine] = []
    reserve: list[tuple[int, int]] = []
    for index, group in enumerate(groups, start=1):
        supplier_order = SupplierOrder.objects.create(
            order=order, supplier_id=group.supplier_id, warehouse_id=group.warehouse_id,
            number=f"{order.number}-{index}", subtotal=group.subtotal, shipping_cost=group.shipping_cost,
            carrier_code=group.choice.carrier_code, service_level=group.choice.service_level,
            weight_g=group.weight_g,
        )
        for line in group.lines:
            order_lines.append(OrderLine(
                supplier_order=supplier_order, offer_id=line.offer_id, stock_id=line.stock_id, sku=line.sku,
                part_number=line.part_number, name=line.name[:200], quantity=line.quantity,
                unit_price=line.price, line_total=line.line_total))
            reserve.append((line.stock_id, line.quantity))
    OrderLine.objects.bulk_create(order_lines)
    try:
        supplier_services.stock_reserve(lines=reserve, reference=order.number, actor=actor)
    except InsufficientStock as exc:
        # Another order took the last units between the plan and the lock: nothing is saved.
        raise OutOfStock(extra={"stock": exc.extra.get("stock")}) from exc

    order_event_write(order=order, kind="placed", actor=actor,
                      message=f"{len(groups)} supplier order(s), total {rupiah(order.grand_total)}",
                      data={"grand_total": order.grand_total, "supplier_orders": len(groups),
                            "accepted_changes": [c.change() for c in changed]})
    order_outbox_write(order=order, topic="order.placed", payload=order_placed_payload(order=order))
    if payment_method == PaymentMethod.TERMS:
        # No gateway: the intent is settled at once (payments writes `payment.settled`), in this
        # same transaction, so a terms order is never placed without its payment.
        intent = payment_services.payment_intent_create(
            reference=order.number, amount=order.grand_total, method=payment_method,
            customer=_customer(workshop=workshop, actor=actor, address=address), expires_at=None)
        order.payment_intent = intent
        order.save(update_fields=["payment_intent", "updated_at"])
        if intent.status == PaymentStatus.SETTLED:
            order_transition(order=order, to=OrderStatus.PAID, actor=actor, step="order_place",
                             reason=gettext_noop("pay later (terms)"))
            # Paid at once: fulfilment starts when this transaction commits, not after the
            # outbox relay has carried `payment.settled` to the workflow (a queue's length later).
            workflow_start(order=order)
    CartLine.objects.filter(cart=cart).delete()
    return order, False


def order_payment_start(*, order: Order, actor: Any = None) -> Order:
    """Prepaid: create the payment intent at the gateway (HTTP, outside any transaction of ours)
    and attach it to the order. Safe to repeat: the gateway and payment_intent_create are
    idempotent on the order number. GatewayUnavailable propagates (the caller retries with the
    same Idempotency-Key, or the order expires); GatewayRejected fails the order, releases its
    stock, and propagates."""
    if order.payment_intent_id is not None or order.status != OrderStatus.PENDING_PAYMENT:
        return order
    address = order.delivery_address
    try:
        intent = payment_services.payment_intent_create(
            reference=order.number, amount=order.grand_total, method=order.payment_method,
            customer={"name": order.workshop.name, "email": getattr(actor, "email", "") or "",
                      "phone": address.get("phone", "")},
            expires_at=order.expires_at)
    except GatewayRejected as exc:
        logger.warning("payment refused for order %s: %s", order.number, exc.message)
        _order_stop(order=order, to=OrderStatus.FAILED, actor=actor,
                    reason=gettext_noop("payment refused by the gateway"), step="payment_start")
        raise
    with transaction.atomic(durable=True):
        locked = order_lock(order_id=order.pk)
        if locked.payment_intent_id is None:
            locked.payment_intent = intent
            locked.save(update_fields=["payment_intent", "updated_at"])
            order_event_write(order=locked, kind="payment.requested", actor=actor, step="payment_start",
                              data={"method": intent.method, "intent": intent.pk})
    order.payment_intent = intent
    return order


# --- Enqueuing the workflow and payment returns ---------------------------------------------
#
# Only services enqueue tasks, after commit and by task name (orders/tasks.py declares the
# names): orders/workflow.py and orders/tasks.py import this module, never the reverse. The
# steps' order is here because placement starts the chain; what each step does, and how the
# order moves on from there, is in orders/workflow.py.

STEPS = ["commit_stock", "request_shipments", "notify", "mark_in_fulfilment"]
STEP_TASKS = {step: f"orders.step_{step}" for step in STEPS}


def workflow_signatures(*, order_id: int, from_step: str = STEPS[0]):
    return [signature(STEP_TASKS[name], kwargs={"order_id": order_id}, immutable=True)
            for name in STEPS[STEPS.index(from_step):]]


def workflow_start(*, order: Order, from_step: str = STEPS[0]) -> None:
    """Enqueue the chain after the current transaction commits (never for uncommitted rows)."""
    signatures = workflow_signatures(order_id=order.pk, from_step=from_step)
    transaction.on_commit(lambda: chain(*signatures).apply_async())


PAYMENT_RETURN_TASK = "orders.payment_return"
PAYMENT_RETURN_BACKOFF_BASE_SECONDS = 30.0
PAYMENT_RETURN_BACKOFF_MAX_SECONDS = 3600.0


def payment_return_backoff_seconds(attempt: int) -> float:
    ceiling = min(PAYMENT_RETURN_BACKOFF_MAX_SECONDS, PAYMENT_RETURN_BACKOFF_BASE_SECONDS * (2 ** (attempt - 2)))
    return random.uniform(ceiling / 2, ceiling)


def payment_return_schedule(*, order_id: int, attempt: int) -> None:
    """Retry giving a closed order's money back (order_payment_return), with backoff, after the
    current transaction commits."""
    countdown = payment_return_backoff_seconds(attempt)
    transaction.on_commit(lambda: task_send(PAYMENT_RETURN_TASK, kwargs={"order_id": order_id, "attempt": attempt},
                                            countdown=countdown))


# --- Cancel, expire, fail ---------------------------------------------------------------------

def _order_stock_position(*, order: Order) -> tuple[dict[int, int], dict[int, int]]:
    """From the ledger (the truth): per stock row, units still reserved for this order, and units
    that left on_hand for it (shipment) and have not come back (return). Ledger references of an
    order start with its number (the order's own, or its supplier orders' OK-…-1)."""
    reserved: dict[int, int] = defaultdict(int)
    shipped: dict[int, int] = defaultdict(int)
    stock_ids = sorted(set(OrderLine.objects.filter(supplier_order__order=order).values_list("stock_id", flat=True)))
    # stock_id first: the ledger's (stock, created_at) index, not a scan of the whole ledger.
    rows = (StockMovement.objects.filter(stock_id__in=stock_ids, reference__startswith=order.number)
            .values_list("stock_id", "reason", "on_hand_delta", "reserved_delta"))
    for stock_id, reason, on_hand_delta, reserved_delta in rows:
        reserved[stock_id] += reserved_delta
        if reason in (MovementReason.SHIPMENT, MovementReason.RETURN):
            shipped[stock_id] -= on_hand_delta
    return ({k: v for k, v in reserved.items() if v > 0}, {k: v for k, v in shipped.items() if v > 0})


def _order_stock_restore(*, order: Order, actor: Any) -> None:
    """Give back whatever this order still holds: reserved units are released, units already
    committed out of on_hand are returned. Idempotent: computed from the ledger."""
    reserved, shipped = _order_stock_position(order=order)
    if reserved:
        supplier_services.stock_release(lines=sorted(reserved.items()), reference=order.number, actor=actor)
    for stock_id, qty in sorted(shipped.items()):  # pk order, as every stock writer
        supplier_services.stock_return(stock=stock_id, quantity=qty, reference=order.number, actor=actor)


@transaction.atomic(durable=True)
def _order_stop_atomic(*, order: Order, to: str, actor: Any, reason: str, step: str,
                       allowed_from: frozenset[str] | None) -> Order:
    locked = order_lock(order_id=order.pk)  # order first, then stock rows (pk order)
    if allowed_from is not None and locked.status not in allowed_from:
        raise OrderNotCancellable(f"A {locked.status} order cannot be cancelled.",
                                  extra={"order": locked.number, "order_status": locked.status})
    order_transition(order=locked, to=to, actor=actor, step=step, reason=reason)
    _order_stock_restore(order=locked, actor=actor)
    order.status, order.failure_reason = locked.status, locked.failure_reason
    return order


def _payment_undo(*, order: Order, reason: str) -> None:
    intent = order.payment_intent
    if intent is not None:
        payment_services.payment_cancel_or_refund(intent=intent, reason=reason[:200])


def _order_stop(*, order: Order, to: str, actor: Any, reason: str, step: str,
                allowed_from: frozenset[str] | None = None) -> Order:
    _order_stop_atomic(order=order, to=to, actor=actor, reason=reason, step=step, allowed_from=allowed_from)
    order_payment_return(order=order, reason=reason)
    return order


# A closed order whose payment is in one of these still holds the workshop's money (or its
# claim on it): order_payment_return gives it back.
PAYMENT_OPEN = frozenset({PaymentStatus.PENDING, PaymentStatus.SETTLED})
PAYMENT_RETURN_FROM = frozenset({OrderStatus.CANCELLED, OrderStatus.FAILED, OrderStatus.EXPIRED})


def order_payment_return(*, order: Order, reason: str = "", attempt: int = 1, retry: bool = True) -> bool:
    """Give a closed order's money back: its pending payment is cancelled at the gateway, a
    settled one refunded, terms voided. True when nothing is left to give back.

    Runs after a compensation (order_fail, order_close_unpaid) has closed the order and given
    its stock back, and for a payment that settled on an order already closed. The order
    cannot wait for the gateway here (nobody is there to tell, and the stock must come back),
    so a refusal or an outage does not leave the money kept silently: it is written on the
    order's timeline (`payment.return_failed`, with the gateway's code: the workshop and the
    operators see it, in admin too) and retried with backoff (orders.payment_return, with
    `retry`), and by the sweep (workflow.payment_returns_sweep) should a retry be lost, until
    the money is back (`payment.returned`). Each attempt is idempotent at the gateway.
    """
    order.refresh_from_db(fields=["status", "payment_intent"])
    intent = order.payment_intent
    if intent is None or order.status not in PAYMENT_RETURN_FROM or intent.status not in PAYMENT_OPEN:
        return True
    reason = reason or f"order {order.number} is {order.status}"
    try:
        intent = payment_services.payment_cancel_or_refund(intent=intent, reason=reason[:200])
    except (GatewayRejected, GatewayUnavailable) as exc:
        logger.warning("payment of closed order %s not returned (attempt %s): %s", order.number, attempt,
                       exc.message, extra={"order": order.number, "code": exc.code})
        with transaction.atomic():
            order_event_write(order=order, kind="payment.return_failed", step="payment_return",
                              message=gettext_noop("The payment could not be returned yet; it is retried."),
                              data={"code": exc.code, "detail": str(exc.message)[:200], "attempt": attempt,
                                    "payment_status": intent.status})
            if retry:
                payment_return_schedule(order_id=order.pk, attempt=attempt + 1)
        return False
    if OrderEvent.objects.filter(order=order, kind="payment.return_failed").exists():
        order_event_write(order=order, kind="payment.returned", step="payment_return",
                          data={"attempt": attempt, "payment_status": intent.status})
    return intent.status not in PAYMENT_OPEN


def order_cancel(*, order: Order, actor: Any, reason: str = "") -> Order:
    """The workshop cancels before any shipment is booked; safe to repeat and to race.

    One durable transaction under the order's row lock: the order moves to `cancelled`, its
    stock comes back (release, or return if already committed) and its payment is cancelled at
    the gateway (pending), refunded (settled prepaid) or voided (terms). Should the gateway
    refuse (GatewayRejected) or not answer (GatewayUnavailable), all of it rolls back and the
    error propagates: the order stays as it was, with its stock and its payment, so an order is
    never cancelled with the money kept. The gateway is called while the order is locked
    (each call bounded by PARTNER_HTTP_TIMEOUT_SECONDS): a concurrent cancel waits, then finds
    the order cancelled and answers as the first did; a workflow step waits, then finds it
    cancelled and stops. The gateway's cancel and refund are idempotent (order id, refund
    key), so a commit that fails after the gateway said yes is repeated without paying twice.
    """
    reason = reason or gettext_noop("cancelled by the workshop")
    with transaction.atomic(durable=True):
        locked = order_lock(order_id=order.pk)  # order first, then stock rows (pk order), then the intent
        if locked.status == OrderStatus.CANCELLED:
            # A repeat: the money is back already, unless a payment settled after the cancel
            # (on_payment_event refunds it; this does it again if that has not happened yet).
            _payment_undo(order=locked, reason=reason)
        elif locked.status not in CANCELLABLE:
            raise OrderNotCancellable(f"A {locked.status} order cannot be cancelled.",
                                      extra={"order": locked.number, "order_status": locked.status})
        else:
            order_transition(order=locked, to=OrderStatus.CANCELLED, actor=actor, step="cancel", reason=reason)
            _order_stock_restore(order=locked, actor=actor)
            _payment_undo(order=locked, reason=reason)
    order.status, order.failure_reason = locked.status, locked.failure_reason
    return order


def _expiry_due(*, order: Order, now) -> bool:
    return order.status == OrderStatus.PENDING_PAYMENT and order.expires_at is not None and order.expires_at <= now


def order_expire(*, order: Order, now=None) -> Order | None:
    """An unpaid prepaid order past its deadline → expired, stock released. Returns None when
    there is nothing to do (paid meanwhile, not yet due, already expired): safe for a periodic
    sweeper to call again and again.

    Ordering: the payment is stopped at the gateway first (payments.payment_intent_expire, HTTP,
    outside our transaction). If the gateway says it was paid in the meantime, the intent is
    settled (its `payment.settled` event moves the order on) and the order is not expired; a
    payment can therefore never land on an expired order through this path. Then one durable
    transaction re-checks under the order lock, expires the order and releases its stock.
    """
    now = now or timezone.now()
    order.refresh_from_db(fields=["status", "expires_at", "payment_intent"])
    if not _expiry_due(order=order, now=now):
        return None
    if order.payment_intent_id is not None:
        intent = payment_services.payment_intent_expire(intent=order.payment_intent)
        if intent.status == PaymentStatus.SETTLED:
            return None
    with transaction.atomic(durable=True):
        locked = order_lock(order_id=order.pk)
        if not _expiry_due(order=locked, now=now):
            return None
        order_transition(order=locked, to=OrderStatus.EXPIRED, step="expire",
                         reason=gettext_noop("not paid in time"))
        _order_stock_restore(order=locked, actor=None)
    order.status, order.failure_reason = locked.status, locked.failure_reason
    return order


def order_fail(*, order: Order, reason: str, step: str) -> Order:
    """A workflow step failed for good: the order fails with a reason the workshop can read,
    its stock comes back (from the ledger) and the payment is voided or refunded after commit."""
    if order.status in TERMINAL:
        return order
    return _order_stop(order=order, to=OrderStatus.FAILED, actor=None, reason=reason, step=step)


def order_close_unpaid(*, order: Order, reason: str, step: str = "payment") -> Order | None:
    """The gateway expired, cancelled or denied the payment of an unpaid order: it expires and
    its stock comes back. Nothing to do for an order that is no longer waiting for payment."""
    order.refresh_from_db(fields=["status"])
    if order.status != OrderStatus.PENDING_PAYMENT:
        return None
    return _order_stop(order=order, to=OrderStatus.EXPIRED, actor=None, reason=reason, step=step,
                       allowed_from=frozenset({OrderStatus.PENDING_PAYMENT}))
