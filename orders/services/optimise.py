"""The cart optimiser: the offers across suppliers that serve the cart's parts best (the total with
shipping, the number of shipments or the arrival date), and applying that plan in one step.

`cart_optimise` reads the cart (each line a demand; a locked line keeps its offer and quantity),
the buyable offers of its parts (and of their substitutes when substitutes are allowed:
catalog.selectors.part_substitutes: cross references both ways, and the parts that replace
them), their stock per active warehouse, and for each warehouse the courier's quotes at a few
parcel weights (weight bands, through logistics.services.shipping_quotes_many and its cache); it solves the model of
orders/cart_optimiser.py and then prices the chosen plan exactly as checkout prices a cart
(orders.services.checkout: one warehouse per supplier, the cheapest quote, order_totals), next to
the cart as it is (cart_checkout_preview). A warehouse the courier gives no quote for is left
out: checkout could not ship from it either (order_place needs a quote per supplier).

`cart_optimise_apply` replaces the cart's lines with the plan's in one transaction, under the
cart's lock, if the cart is still the one the plan was computed for (its fingerprint), checking
every line as cart_line_add does; otherwise nothing changes. docs/cart-optimiser.md tells the
whole story.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog import selectors as catalog_selectors
from logistics import services as logistics_services
from logistics.errors import CourierUnavailable
from okto88.areas import courier_area
from okto88.errors import ApplicationError
from okto88.working_hours import JAKARTA, arrival_date
from orders import cart_optimiser as model
from orders import selectors
from orders.errors import (
    CartEmpty,
    CartOptimiseInfeasible,
    CartOptimiseNoStock,
    CartPlanInvalid,
    CartPlanStale,
)
from orders.lock_objects import cart_lock
from orders.models import Cart, CartLine
from orders.services.cart import buyable_offer, quantity_check
from orders.services.checkout import (
    CheckoutPreview,
    PlanLine,
    apply_choices,
    cart_checkout_preview,
    plan_groups,
    plan_totals,
)
from orders.services.pricing import OrderTotals
from workshops.errors import AddressNotFound
from workshops.models import Address, Workshop
from workshops.selectors import address_default

OBJECTIVES = model.OBJECTIVES
# Parcels are quoted at these shares of the heaviest parcel a warehouse could send for this cart,
# rounded up to whole kilograms (couriers bill by the started kilogram): a band's cost is the
# quote at its upper weight, so it never under-states a parcel inside it.
BAND_SHARES = (0.25, 0.5, 1.0)


def cart_fingerprint(lines: Iterable[tuple[int, int, int, bool]]) -> str:
    """What a plan was computed for: the cart's (line, offer, quantity, locked), in line order."""
    text = ";".join(f"{line}:{offer}:{quantity}:{int(locked)}" for line, offer, quantity, locked in sorted(lines))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class PlannedLine:
    offer_id: int
    sku: str
    supplier_id: int
    supplier_name: str
    part_id: int
    part_number: str
    part_name: str
    quantity: int
    price: int
    substitute: bool  # of another part than the cart line(s) it serves (interchangeable)
    serves: list[int]  # the cart lines it serves
    locked: bool = False

    @property
    def line_total(self) -> int:
        return self.price * self.quantity


@dataclass
class PlanChange:
    """What would change for one cart line: kind is "moved" (another supplier's offer of the same
    part), "substitute" (an interchangeable part), "split" (several offers), "combined" (the
    offer also serves another line of the cart: they become one line), "quantity_rounded" (more
    than the lines need: the offer's pack size or minimum forces it)."""

    line_id: int
    kinds: list[str]
    part_number: str
    part_name: str
    before: dict[str, Any]  # supplier, sku, quantity
    # per offer: supplier, sku, quantity (the units for this line), offer_quantity (the units
    # bought of the offer: other lines' and a pack's rounding included), substitute
    after: list[dict[str, Any]]


@dataclass
class CartPlan:
    fingerprint: str
    objective: str
    lines: list[PlannedLine]
    totals: OrderTotals
    as_is_totals: OrderTotals | None  # None when the cart as it is cannot be checked out
    changes: list[PlanChange]
    solver: str
    status: str
    time_limit_hit: bool
    solve_ms: float
    shipments: int
    as_is_shipments: int
    arrival: dt.date | None
    as_is_arrival: dt.date | None
    notes: list[str] = field(default_factory=list)

    @property
    def saving(self) -> int | None:
        return None if self.as_is_totals is None else self.as_is_totals.grand_total - self.totals.grand_total

    @property
    def changed(self) -> bool:
        return bool(self.changes)


# Why a plan may not be the whole story (CartPlan.notes, the API's `notes`):
AS_IS_CHEAPER_AT_CHECKOUT = "as_is_cheaper_at_checkout"  # checkout's warehouses made the plan dearer: it is the cart
QUOTES_INCOMPLETE = "quotes_incomplete"  # the courier did not quote some warehouses in time: they were left out


@dataclass
class _Read:
    """What the optimiser reads of the cart and the offers."""

    lines: list[CartLine]
    offers: dict[int, Any]  # offer id → suppliers.models.Offer (part, supplier loaded)
    stock: dict[int, list[selectors.StockRow]]
    substitutes_of: dict[int, set[int]]  # cart part id → interchangeable part ids
    in_stock_of_part: dict[int, list[Any]] = field(default_factory=dict)  # part id → offers with stock, cheapest first


def _read(*, workshop: Workshop, allow_substitutes: bool) -> _Read:
    lines = selectors.cart_line_list(workshop=workshop)
    if not lines:
        raise CartEmpty()
    part_ids = {line.offer.part_id for line in lines}
    substitutes_of: dict[int, set[int]] = {}
    if allow_substitutes:
        for line in lines:
            part = line.offer.part
            if part.pk not in substitutes_of:
                lookup = catalog_selectors.part_substitutes(part=part)
                substitutes_of[part.pk] = {m.part.pk for m in lookup.matches} - {part.pk}
    every_part = part_ids | {p for parts in substitutes_of.values() for p in parts}
    offers = {o.pk: o for o in selectors.offers_buyable_of_parts(part_ids=sorted(every_part))}
    stock = selectors.offer_stock_rows(offer_ids=sorted(offers))
    in_stock_of_part: dict[int, list[Any]] = defaultdict(list)
    for offer in sorted(offers.values(), key=lambda o: (o.price, o.pk)):
        if sum(r.available for r in stock.get(offer.pk, [])) > 0:
            in_stock_of_part[offer.part_id].append(offer)
    return _Read(lines=lines, offers=offers, stock=stock, substitutes_of=substitutes_of,
                 in_stock_of_part=in_stock_of_part)


def _candidates(read: _Read, line: CartLine, *, per_part: int) -> tuple[list[int], set[int]]:
    """The offers that may serve a line: the line's own (when still buyable), and the cheapest
    `per_part` in stock of its part and of each interchangeable part; and which are substitutes."""
    chosen, substitutes = [], set()
    if line.offer_id in read.offers:
        chosen.append(line.offer_id)
    for part_id in [line.offer.part_id, *sorted(read.substitutes_of.get(line.offer.part_id, ()))]:
        for offer in read.in_stock_of_part.get(part_id, [])[:per_part]:
            if offer.pk not in chosen:
                chosen.append(offer.pk)
            if part_id != line.offer.part_id:
                substitutes.add(offer.pk)
    return chosen, substitutes


def _band_weights(max_weight_g: int) -> list[int]:
    kilos = max(1, math.ceil(max_weight_g / 1000))
    return sorted({max(1, math.ceil(kilos * share)) * 1000 for share in BAND_SHARES})


def _problem(*, read: _Read, address: Address, objective: str, latest_arrival: dt.date | None,
             now: dt.datetime) -> tuple[model.Problem, dict[int, dict[int, dt.date]], int]:
    """The model of the cart: demands, offers with stock and arrival per warehouse, origins with
    weight bands from the courier's quotes; and how many warehouses the courier did not quote in
    time (left out). Raises CartOptimiseNoStock for lines nothing can serve."""
    per_part = settings.CART_OPTIMISE_OFFERS_PER_PART
    demands, no_stock = [], []
    for line in read.lines:
        candidates, substitutes = _candidates(read, line, per_part=per_part)
        in_stock = [o for o in candidates if any(r.available > 0 for r in read.stock.get(o, []))]
        if line.locked:
            in_stock = [line.offer_id] if line.offer_id in in_stock else []
        if not in_stock:
            no_stock.append(f"{line.offer.part.number} {line.offer.part.name_id}".strip())
            continue
        demands.append(model.Demand(key=line.pk, part_id=line.offer.part_id, quantity=line.quantity,
                                    candidates=tuple(candidates), substitutes=frozenset(substitutes),
                                    current_offer=line.offer_id, locked=line.locked))
    if no_stock:
        raise CartOptimiseNoStock(f"No offer has stock for: {', '.join(no_stock)}.", extra={"parts": no_stock})
    used = sorted({o for d in demands for o in d.candidates})
    need_of_offer: dict[int, int] = defaultdict(int)
    for demand in demands:
        for offer_id in demand.candidates:
            need_of_offer[offer_id] += demand.quantity
    # Origins: every active warehouse holding a candidate, quoted at its band weights.
    heaviest: dict[int, int] = defaultdict(int)
    areas: dict[int, dict[str, str]] = {}
    supplier_of: dict[int, int] = {}
    for offer_id in used:
        offer = read.offers[offer_id]
        for row in read.stock.get(offer_id, []):
            if row.available <= 0:
                continue
            units = min(row.available, model.offer_quantity(needed=need_of_offer[offer_id],
                                                            min_qty=offer.min_order_qty, pack_size=offer.pack_size))
            heaviest[row.warehouse_id] += offer.part.weight_g * units
            areas[row.warehouse_id] = row.warehouse_area
            supplier_of[row.warehouse_id] = offer.supplier_id
    destination = courier_area(place=address)
    routes, route_of = [], []
    for warehouse_id in sorted(areas):
        for weight in _band_weights(heaviest[warehouse_id]):
            routes.append(logistics_services.QuoteRoute(origin=areas[warehouse_id], destination=destination,
                                                        weight_g=weight))
            route_of.append((warehouse_id, weight))
    # Waits at most CART_OPTIMISE_QUOTE_WAIT_SECONDS in all: on a cold cache a large cart asks for
    # hundreds of quotes, and a slow courier must not hold the page; the late ones are cached for
    # the next try, and the plan says it left warehouses out (QUOTES_INCOMPLETE).
    answers = logistics_services.shipping_quotes_many(
        routes=routes, wait_seconds=settings.CART_OPTIMISE_QUOTE_WAIT_SECONDS) if routes else []
    bands: dict[int, list[model.Band]] = defaultdict(list)
    eta: dict[int, int] = {}
    refused: set[int] = set()
    unanswered: set[int] = set()
    for (warehouse_id, weight), answer in zip(route_of, answers, strict=True):
        if isinstance(answer, ApplicationError) or not answer:
            refused.add(warehouse_id)  # no quote: checkout could not ship from it, so neither can a plan
            if isinstance(answer, CourierUnavailable):
                unanswered.add(warehouse_id)
            continue
        cheapest = answer[0]  # checkout's default choice: the cheapest, then the quickest
        bands[warehouse_id].append(model.Band(max_weight_g=weight, cost=cheapest.cost))
        eta[warehouse_id] = max(eta.get(warehouse_id, 0), cheapest.eta_days)
    origins = {}
    for warehouse_id, warehouse_bands in bands.items():
        if warehouse_id in refused:
            continue
        ordered = sorted(warehouse_bands, key=lambda b: b.max_weight_g)
        # Costs never fall with weight (a band is priced at its heaviest parcel).
        running, monotone = 0, []
        for band in ordered:
            running = max(running, band.cost)
            monotone.append(model.Band(max_weight_g=band.max_weight_g, cost=running))
        origins[warehouse_id] = model.Origin(key=warehouse_id, supplier_id=supplier_of[warehouse_id],
                                             bands=tuple(monotone))
    today = now.astimezone(JAKARTA).date()
    arrival_dates: dict[int, dict[int, dt.date]] = {}
    offers = {}
    for offer_id in used:
        offer = read.offers[offer_id]
        stock, arrival = {}, {}
        arrival_dates[offer_id] = {}
        for row in read.stock.get(offer_id, []):
            if row.warehouse_id not in origins or row.available <= 0:
                continue
            stock[row.warehouse_id] = row.available
            day = arrival_date(lead_time_days=offer.lead_time_days, courier_days=eta[row.warehouse_id], now=now)
            arrival_dates[offer_id][row.warehouse_id] = day
            arrival[row.warehouse_id] = (day - today).days
        offers[offer_id] = model.OfferOption(
            offer_id=offer_id, supplier_id=offer.supplier_id, part_id=offer.part_id, price=offer.price,
            min_qty=offer.min_order_qty, pack_size=offer.pack_size, weight_g=offer.part.weight_g,
            stock=stock, arrival=arrival)
    problem = model.Problem(demands=demands, offers=offers, origins=origins, objective=objective,
                            latest_arrival=None if latest_arrival is None else (latest_arrival - today).days)
    return problem, arrival_dates, len(unanswered)


def _exact_totals(*, lines: list[PlannedLine], read: _Read, address: Address) -> tuple[OrderTotals, bool, int]:
    """The plan priced the way checkout prices a cart (the same grouping, warehouse choice,
    quotes and order_totals); whether every supplier can ship (a warehouse and a quote); the
    number of parcels."""
    plan_lines = [PlanLine(line_id=-line.offer_id, offer_id=line.offer_id, sku=line.sku,
                           part_number=line.part_number, name=line.part_name, quantity=line.quantity,
                           price_seen=line.price, price=line.price,
                           available=sum(r.available for r in read.stock.get(line.offer_id, [])),
                           weight_g=read.offers[line.offer_id].part.weight_g, buyable=True,
                           supplier_id=line.supplier_id) for line in lines]
    groups = plan_groups(plan_lines=plan_lines, supplier_names={pl.supplier_id: pl.supplier_name for pl in lines},
                          rows={line.offer_id: read.stock.get(line.offer_id, []) for line in lines}, address=address)
    apply_choices(groups=groups, choices=None, strict=False)
    return plan_totals(groups), all(g.choice is not None for g in groups), len(groups)


def _as_is_ok(preview: CheckoutPreview) -> bool:
    return all(g.choice is not None for g in preview.groups) and not preview.has_changes


def _planned_lines(*, problem: model.Problem, evaluation: model.Evaluation, read: _Read) -> list[PlannedLine]:
    serves: dict[int, list[int]] = defaultdict(list)
    for (demand_key, offer_id), _units in sorted(evaluation.assignment.items()):
        serves[offer_id].append(demand_key)
    by_key = {d.key: d for d in problem.demands}
    lines = []
    for offer_id, quantity in sorted(evaluation.quantities.items()):
        offer = read.offers[offer_id]
        lines.append(PlannedLine(
            offer_id=offer_id, sku=offer.sku, supplier_id=offer.supplier_id, supplier_name=offer.supplier.legal_name,
            part_id=offer.part_id, part_number=offer.part.number, part_name=offer.part.name_id, quantity=quantity,
            price=offer.price, substitute=any(offer_id in by_key[d].substitutes for d in serves[offer_id]),
            serves=serves[offer_id], locked=any(by_key[d].locked for d in serves[offer_id])))
    return lines


def _changes(*, read: _Read, evaluation: model.Evaluation, substitutes: dict[int, frozenset[int]]) -> list[PlanChange]:
    needed: dict[int, int] = defaultdict(int)  # offer → the units the plan's lines take of it
    for (_demand, offer_id), units in evaluation.assignment.items():
        needed[offer_id] += units
    changes = []
    for line in read.lines:
        used = {o: n for (d, o), n in evaluation.assignment.items() if d == line.pk}
        if list(used) == [line.offer_id] and evaluation.quantities[line.offer_id] == line.quantity:
            continue
        kinds = []
        if len(used) > 1:
            kinds.append("split")
        if any(o in substitutes.get(line.pk, ()) for o in used):
            kinds.append("substitute")
        if any(o != line.offer_id and o not in substitutes.get(line.pk, ()) for o in used):
            kinds.append("moved")
        if any(needed[o] > n for o, n in used.items()):
            kinds.append("combined")  # the offer also serves another line: one cart line for both
        if any(evaluation.quantities[o] > needed[o] for o in used):
            kinds.append("quantity_rounded")
        changes.append(PlanChange(
            line_id=line.pk, kinds=kinds, part_number=line.offer.part.number, part_name=line.offer.part.name_id,
            before={"supplier": line.offer.supplier.legal_name, "sku": line.offer.sku, "quantity": line.quantity},
            after=[{"supplier": read.offers[o].supplier.legal_name, "sku": read.offers[o].sku,
                    "quantity": used[o], "offer_quantity": evaluation.quantities[o],
                    "substitute": o in substitutes.get(line.pk, ())}
                   for o in sorted(used)]))
    return changes


def cart_optimise(*, workshop: Workshop, address: Address | None = None, objective: str = "total",
                  allow_substitutes: bool = False, latest_arrival: dt.date | None = None,
                  now: dt.datetime | None = None, time_limit: float | None = None) -> CartPlan:
    """The best plan for the workshop's cart under `objective` ("total", "shipments", "arrival")
    and the constraints (stock, minimums, packs, locked lines, `latest_arrival`), with its exact
    totals, the cart's as it is, and what would change. Reads only: nothing is saved."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    if address is not None and address.workshop_id != workshop.pk:
        raise AddressNotFound(extra={"field": "address"})
    address = address or address_default(workshop=workshop)
    if address is None:
        raise AddressNotFound(extra={"field": "address"})
    now = now or timezone.now()
    read = _read(workshop=workshop, allow_substitutes=allow_substitutes)
    fingerprint = cart_fingerprint((line.pk, line.offer_id, line.quantity, line.locked) for line in read.lines)
    problem, arrival_dates, unquoted = _problem(read=read, address=address, objective=objective,
                                      latest_arrival=latest_arrival, now=now)
    result = model.solve(problem, time_limit=settings.CART_OPTIMISE_TIME_LIMIT_SECONDS if time_limit is None
                         else time_limit)
    if result.evaluation is None:
        raise CartOptimiseInfeasible(extra={"latest_arrival": latest_arrival.isoformat() if latest_arrival else None})
    evaluation = result.evaluation
    preview = cart_checkout_preview(workshop=workshop, address=address)
    as_is_ok = _as_is_ok(preview)
    lines = _planned_lines(problem=problem, evaluation=evaluation, read=read)
    totals, plan_ok, shipments = _exact_totals(lines=lines, read=read, address=address)
    notes = [QUOTES_INCOMPLETE] if unquoted else []
    substitutes = {d.key: d.substitutes for d in problem.demands}
    as_is_assignment = model.as_is_assignment(problem)
    as_is_eval = model.evaluate(problem, as_is_assignment) if as_is_assignment else None
    if as_is_ok and as_is_eval is not None and objective == "total" and (
            not plan_ok or totals.grand_total > preview.totals.grand_total):
        # Checkout chose other warehouses than the model (it prefers the destination's province):
        # the cart as it is turned out cheaper, so the plan is the cart as it is.
        notes.append(AS_IS_CHEAPER_AT_CHECKOUT)
        evaluation = as_is_eval
        lines = _planned_lines(problem=problem, evaluation=evaluation, read=read)
        totals, plan_ok, shipments = _exact_totals(lines=lines, read=read, address=address)

    def latest(ev: model.Evaluation | None) -> dt.date | None:
        if ev is None or not ev.quantities:
            return None
        return max(arrival_dates[o][ev.origins[problem.offers[o].supplier_id]] for o in ev.quantities)

    return CartPlan(
        fingerprint=fingerprint, objective=objective, lines=lines, totals=totals,
        as_is_totals=preview.totals if as_is_ok else None,
        changes=_changes(read=read, evaluation=evaluation, substitutes=substitutes),
        solver=result.solver, status=result.status, time_limit_hit=result.time_limit_hit,
        solve_ms=round(result.solve_seconds * 1000, 1), shipments=shipments, as_is_shipments=len(preview.groups),
        arrival=latest(evaluation), as_is_arrival=latest(as_is_eval), notes=notes)


@transaction.atomic
def cart_optimise_apply(*, workshop: Workshop, fingerprint: str, lines: list[tuple[int, int]]) -> list[CartLine]:
    """Replace the cart's lines with a plan's (offer, quantity) lines, all or nothing: refused
    (CartPlanStale) if the cart changed since the plan was computed, refused (CartPlanInvalid) if
    an offer comes twice or a locked line would change; each line is checked as cart_line_add
    checks it (buyable, minimum, pack, stock), and any failure leaves the cart as it was."""
    cart = cart_lock(workshop_id=workshop.pk)
    current = list(CartLine.objects.filter(cart=cart).order_by("pk"))
    if not current:
        raise CartEmpty()
    if cart_fingerprint((c.pk, c.offer_id, c.quantity, c.locked) for c in current) != fingerprint:
        raise CartPlanStale()
    wanted: dict[int, int] = {}
    for offer_id, quantity in lines:
        if offer_id in wanted:
            raise CartPlanInvalid("An offer appears twice in the plan.", extra={"offer": offer_id})
        wanted[offer_id] = quantity
    if not wanted:
        raise CartPlanInvalid("The plan has no lines.")
    for line in current:
        if line.locked and wanted.get(line.offer_id) != line.quantity:
            raise CartPlanInvalid("The plan changes a locked line.", extra={"line": line.pk})
    locked = {line.offer_id for line in current if line.locked}
    kept = {line.offer_id: line for line in current}
    CartLine.objects.filter(cart=cart).exclude(offer_id__in=list(wanted)).delete()
    result = []
    for offer_id, quantity in wanted.items():
        offer = buyable_offer(offer_id)
        line = kept.get(offer_id) or CartLine(cart=cart, offer=offer, locked=False)
        if offer_id not in locked:
            line.quantity = quantity_check(offer=offer, quantity=quantity)
            line.price_seen = offer.price
        line.save()
        result.append(line)
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return result
