"""Order placement: the workshop's cart becomes one order, split per supplier.

Placement (`order_place`) in three phases, and why:

1. Outside any transaction: read the cart, choose one warehouse per supplier and ask the
   courier for rates (HTTP). No row lock is held while a partner answers.
2. One durable transaction: lock the workshop row and its cart (serialises one workshop's
   placements, so the credit-limit sum cannot race), re-read the cart while emptying it and
   re-check prices and availability, write the order, its supplier orders and price-snapshot
   lines and the timeline; `terms` needs no gateway: its payment intent is created settled
   inside this transaction, the order becomes `paid`, and the fulfilment chain is enqueued when
   the transaction commits. Last, reserve stock through suppliers.services.stock_reserve (stock
   rows locked in pk order, one all-or-nothing conditional update: never oversell; a lost race
   → `out_of_stock` and nothing is saved), so that the rows every buyer of a part needs are
   held for the shortest time. `order.placed`, a `supplier_order.created` per supplier order,
   the payment's and the stock's events go to the outbox in one INSERT, the order's timeline
   events (placed, paid) to its table in another (orders.timeline.order_events_batched).
3. Prepaid methods only, after commit: `order_payment_start` charges at the gateway (HTTP)
   and attaches the intent in a short second transaction.

A repeated Idempotency-Key costs nothing on the usual path: the key's order is looked for only
when a request cannot be placed (an emptied or changed cart, any refusal) or when the order's
unique constraint on (workshop, key) refuses the INSERT (a concurrent identical request that
committed first); then the key's order is returned, or IdempotencyConflict if the request
differs. tests/orders/test_place_statements.py keeps a typical placement at ≤ 20 statements.

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
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from okto88.errors import ApplicationError
from okto88.money import rupiah
from okto88.selectors import actor_api_client, actor_person
from okto88.services import NewOutboxEvent, outbox_events_batched, outbox_events_write
from okto88.write_batches import rows_insert
from orders.errors import (
    CartChanged,
    CreditLimitExceeded,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    InvalidIdempotencyKey,
    InvalidPaymentMethod,
    OutOfStock,
)
from orders.events import order_placed_payload
from orders.lock_objects import workshop_cart_lock
from orders.models import Order, OrderLine, OrderStatus, SupplierOrder
from orders.services.checkout import PlanGroup, PlanLine, apply_choices, checkout_plan, plan_totals
from orders.services.lifecycle import order_payment_start, workflow_start
from orders.state import OPEN, order_transition_created, supplier_order_event
from orders.timeline import order_event_write, order_events_batched
from payments import services as payment_services
from payments.models import PaymentMethod, PaymentStatus
from suppliers import services as supplier_services
from suppliers.errors import InsufficientStock
from workshops.errors import AddressNotFound
from workshops.models import Address, Workshop
from workshops.selectors import address_snapshot

PREPAID_METHODS = frozenset({PaymentMethod.VIRTUAL_ACCOUNT, PaymentMethod.QRIS, PaymentMethod.EWALLET})


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
    """What the workshop owes on pay-later orders that are still open: their totals less what was
    released for parts their suppliers rejected (Order.refunded_total). Completed orders leave the
    exposure (invoicing and collection are outside okto88 for now).

    One plain statement (every terms placement sends it, under the workshop's lock) that reads
    the index made for it (`order_workshop_terms`: the workshop's terms orders by status, with
    both amounts): without it, and without fresh statistics, the planner also read the status
    index, i.e. every open order of every workshop (bench/README.md §5)."""
    with connection.cursor() as cursor:
        cursor.execute(_CREDIT_EXPOSURE_SQL, [workshop.pk, PaymentMethod.TERMS, sorted(OPEN)])
        return cursor.fetchone()[0]


_CREDIT_EXPOSURE_SQL = (f"SELECT coalesce(sum(grand_total - refunded_total), 0)::bigint FROM {Order._meta.db_table}"  # noqa: S608
                        " WHERE workshop_id = %s AND payment_method = %s AND status = ANY(%s)")


class _NumberTaken(Exception):
    """The random order number was taken: the placement is tried again with another."""


def _order_create(**fields: Any) -> Order:
    # No savepoint around the INSERT (two statements on every placement for a collision that
    # comes once in 10⁹): a taken number ends the transaction, and order_place runs it again.
    try:
        (order,) = rows_insert([Order(number=order_number_generate(), **fields)])
        return order
    except IntegrityError as exc:
        if _constraint(exc) == "order_idempotency_key_unique":
            raise
        if "number" in (_constraint(exc) or ""):  # the number's unique constraint
            raise _NumberTaken() from exc
        raise


def _constraint(exc: IntegrityError) -> str | None:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)


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
    # The key's earlier order is looked for only when this request cannot be placed: a refused
    # request (an emptied cart, a changed one, any other error) or the key's unique constraint.
    # A new key, the usual case, costs no look-up; a repeated one finds its order as before.
    try:
        order = _order_place_new(workshop=workshop, actor=actor, address=address, payment_method=payment_method,
                                 choices=choices, key=key, request_hash=request_hash, accept_changes=accept_changes)
    except (ApplicationError, IntegrityError) as exc:
        if isinstance(exc, IntegrityError) and _constraint(exc) != "order_idempotency_key_unique":
            raise
        existing = _existing_order(workshop=workshop, key=key, request_hash=request_hash)
        if existing is None:
            raise
        return _order_replay(order=existing, actor=actor)
    if payment_method in PREPAID_METHODS:
        order_payment_start(order=order, actor=actor)  # phase 3: after commit
    return order


def _order_place_new(*, workshop: Workshop, actor: Any, address: Address, payment_method: str,
                     choices: Mapping[int, tuple[str, str]], key: str, request_hash: str,
                     accept_changes: bool) -> Order:
    if payment_method not in PaymentMethod.values:
        raise InvalidPaymentMethod(extra={"field": "payment_method", "value": str(payment_method)[:40]})
    if address.workshop_id != workshop.pk:
        raise AddressNotFound(extra={"field": "address"})

    groups = checkout_plan(workshop=workshop, address=address)  # phase 1: reads and courier HTTP
    _refuse_changes(groups=groups, accept_changes=accept_changes)  # fail fast, before any lock
    apply_choices(groups=groups, choices=choices, strict=True)
    for _attempt in range(8):
        try:
            return _order_place_atomic(workshop=workshop, actor=actor, address=address, groups=groups,
                                       payment_method=payment_method, key=key, request_hash=request_hash,
                                       accept_changes=accept_changes)
        except _NumberTaken:
            continue
    raise RuntimeError("could not find a free order number")  # 8 collisions in 10⁹: something is wrong


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
                        payment_method: str, key: str, request_hash: str, accept_changes: bool) -> Order:
    # Lock order: workshop → cart (one statement) → stock (pk). A concurrent identical request
    # that committed first is found by the key's unique constraint (order_place then returns it).
    locked_workshop, _cart = workshop_cart_lock(workshop_id=workshop.pk)

    # Re-read under the cart lock (the plan was made without locks), taking the lines out of the
    # cart: if anything below fails, the transaction gives them back.
    fresh = {g.supplier_id: g for g in checkout_plan(workshop=workshop, address=address, quote=False, take=True)}
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

    totals = plan_totals(groups)
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
    supplier_orders = rows_insert([
        SupplierOrder(order=order, supplier_id=group.supplier_id, warehouse_id=group.warehouse_id,
                      number=f"{order.number}-{index}", subtotal=group.subtotal, shipping_cost=group.shipping_cost,
                      carrier_code=group.choice.carrier_code, service_level=group.choice.service_level,
                      weight_g=group.weight_g)
        for index, group in enumerate(groups, start=1)])
    order_lines: list[OrderLine] = []
    reserve: list[tuple[int, int]] = []
    for supplier_order, group in zip(supplier_orders, groups, strict=True):
        for line in group.lines:
            order_lines.append(OrderLine(
                supplier_order=supplier_order, offer_id=line.offer_id, stock_id=line.stock_id, sku=line.sku,
                part_number=line.part_number, name=line.name[:200], quantity=line.quantity,
                unit_price=line.price, line_total=line.line_total))
            reserve.append((line.stock_id, line.quantity))
    rows_insert(order_lines)

    # Every outbox event of the placement (order, supplier orders, payment, stock) in one INSERT,
    # in the order they are written here; its two timeline events (placed, the move to paid) in
    # another, before the stock is reserved.
    with outbox_events_batched():
        with order_events_batched():
            order_event_write(order=order, kind="placed", actor=actor,
                              message=f"{len(groups)} supplier order(s), total {rupiah(order.grand_total)}",
                              data={"grand_total": order.grand_total, "supplier_orders": len(groups),
                                    "accepted_changes": [c.change() for c in changed]})
            # `order.placed` and each supplier order's `supplier_order.created` (its supplier's ERP
            # follows them).
            outbox_events_write(events=[
                NewOutboxEvent(topic="order.placed", aggregate_type="order", aggregate_id=order.pk,
                               payload=order_placed_payload(order=order)),
                *(supplier_order_event(supplier_order=supplier_order, order_number=order.number,
                                       workshop_id=order.workshop_id, line_count=len(group.lines))
                  for supplier_order, group in zip(supplier_orders, groups, strict=True))])
            if payment_method == PaymentMethod.TERMS:
                # No gateway: the intent is settled at once (payments writes `payment.settled`), in
                # this same transaction, so a terms order is never placed without its payment.
                intent = payment_services.payment_intent_create(
                    reference=order.number, amount=order.grand_total, method=payment_method,
                    customer=_customer(workshop=workshop, actor=actor, address=address), expires_at=None)
                order.payment_intent = intent
                if intent.status == PaymentStatus.SETTLED:
                    order_transition_created(order=order, to=OrderStatus.PAID, actor=actor, step="order_place",
                                             reason=gettext_noop("pay later (terms)"), also=("payment_intent",))
                    # Paid at once: fulfilment starts when this transaction commits, not after the
                    # outbox relay has carried `payment.settled` to the workflow (a queue's length
                    # later).
                    workflow_start(order=order)
                else:
                    order.save(update_fields=["payment_intent", "updated_at"])
        # Last, so that the stock rows (and their parts' best offers) stay locked for as short a
        # time as possible: placements of the same parts queue on them until this one commits.
        try:
            supplier_services.stock_reserve(lines=reserve, reference=order.number, actor=actor)
        except InsufficientStock as exc:
            # Another order took the last units between the plan and the lock: nothing is saved.
            raise OutOfStock(extra={"stock": exc.extra.get("stock")}) from exc
    return order
