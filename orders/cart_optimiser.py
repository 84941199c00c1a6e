"""The cart optimiser's model and solvers, pure: no Django, no database, no courier. The service
(orders.services.optimise) reads the cart, the offers, the stock and the shipping quotes, builds a
`Problem`, calls `solve` and turns the answer into a plan; the benchmark and the property tests
call this module directly. docs/cart-optimiser.md explains the model in words.

The model (one mixed-integer program, solved by HiGHS under a time limit):

- A demand is one cart line: a part and the quantity the workshop wants. Its candidates are the
  offers of that part and, when the workshop allows it, of interchangeable parts (substitutes).
  A locked demand keeps its offer and its quantity.
- An origin is one warehouse of a supplier. Checkout ships one parcel per supplier from one
  warehouse that can serve every line of that supplier (orders.selectors.supplier_warehouse_choose),
  so the model uses at most one origin per supplier and takes every unit of that supplier from it.
- Quantities: an offer is bought in whole packs, at least its minimum, never more than the
  origin has available. THE QUANTITY RULE: of each offer the plan buys the smallest quantity that
  is a multiple of the pack size, at least the minimum, and covers what the demands assigned to it
  need (`offer_quantity`); more than needed only when a pack or the minimum forces it.
- Shipping per origin is a step function of the parcel's weight: bands (max weight, cost), the
  courier's cheapest quote at each band's upper weight, so a band never under-states the cost of
  a parcel inside it. The chosen plan's exact totals are recomputed afterwards the way checkout
  computes them.
- Arrival: each (offer, origin) has an arrival day (a number of days from today, computed by the
  caller with okto88.working_hours.arrival_date); with a latest arrival day, later pairs are out.
- Objectives: "total" (goods + shipping), "shipments" (number of parcels, then the total) and
  "arrival" (the latest arrival among the lines, then the total). The secondary total is folded
  into one objective: primary × M + total, with M above any total, so it is exact in integers.

When HiGHS hits the time limit without proving the optimum, its incumbent is used if it is
feasible and better than the greedy plan; otherwise the greedy plan (cheapest delivered offer per
line, one origin per supplier). The cart as it is, when feasible, is a candidate as well, so a
plan never costs more than the cart as it is.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

OBJECTIVES = ("total", "shipments", "arrival")


@dataclass(frozen=True)
class Band:
    max_weight_g: int
    cost: int


@dataclass(frozen=True)
class Origin:
    key: int  # the warehouse id
    supplier_id: int
    bands: tuple[Band, ...]  # ascending max weight, non-decreasing cost

    def shipping(self, weight_g: int) -> int | None:
        """The cost of a parcel of `weight_g`, or None when no band takes it."""
        for band in self.bands:
            if weight_g <= band.max_weight_g:
                return band.cost
        return None


@dataclass(frozen=True)
class OfferOption:
    offer_id: int
    supplier_id: int
    part_id: int
    price: int
    min_qty: int
    pack_size: int
    weight_g: int
    stock: Mapping[int, int]  # origin key → units available there
    arrival: Mapping[int, int]  # origin key → arrival day (days from today)


@dataclass(frozen=True)
class Demand:
    key: int  # the cart line's id
    part_id: int
    quantity: int
    candidates: tuple[int, ...]  # offer ids (the line's own offer among them when it is buyable)
    substitutes: frozenset[int] = frozenset()  # the candidates that are of another part
    current_offer: int | None = None
    locked: bool = False  # a locked demand is served by current_offer with exactly `quantity`


@dataclass
class Problem:
    demands: list[Demand]
    offers: dict[int, OfferOption]
    origins: dict[int, Origin]
    objective: str = "total"
    latest_arrival: int | None = None

    def pair_allowed(self, offer_id: int, origin_key: int) -> bool:
        offer = self.offers[offer_id]
        if offer.stock.get(origin_key, 0) <= 0 or origin_key not in self.origins:
            return False
        return self.latest_arrival is None or offer.arrival.get(origin_key, math.inf) <= self.latest_arrival


@dataclass
class Evaluation:
    """A plan's figures in the model: which origin ships each supplier's parcel and what it costs."""

    quantities: dict[int, int]  # offer id → units bought
    assignment: dict[tuple[int, int], int]  # (demand key, offer id) → units serving that demand
    origins: dict[int, int]  # supplier id → origin key
    goods: int
    shipping: int
    arrival: int  # the latest arrival day among the plan's offers (0 for an empty plan)

    @property
    def total(self) -> int:
        return self.goods + self.shipping

    @property
    def shipments(self) -> int:
        return len(self.origins)

    def score(self, objective: str) -> tuple[int, int]:
        primary = {"total": 0, "shipments": self.shipments, "arrival": self.arrival}[objective]
        return primary, self.total


@dataclass
class Result:
    evaluation: Evaluation | None
    solver: str  # "highs", "greedy" or "as_is" (nothing beat the cart as it is)
    status: str  # "optimal", "time_limit", "infeasible"
    time_limit_hit: bool
    solve_seconds: float
    highs_evaluation: Evaluation | None = None
    greedy_evaluation: Evaluation | None = None
    notes: list[str] = field(default_factory=list)


def offer_quantity(*, needed: int, min_qty: int, pack_size: int) -> int:
    """THE QUANTITY RULE: the smallest multiple of `pack_size` that is ≥ `needed` and ≥ `min_qty`
    (0 when nothing is needed)."""
    if needed <= 0:
        return 0
    base = max(needed, min_qty)
    return -(-base // pack_size) * pack_size


def _usable_stock(offer: OfferOption, origin_key: int) -> int:
    """Units of `offer` that can leave `origin_key` in whole packs."""
    stock = offer.stock.get(origin_key, 0)
    return stock - stock % offer.pack_size


def evaluate(problem: Problem, assignment: Mapping[tuple[int, int], int]) -> Evaluation | None:
    """The plan that serves each demand as `assignment` says, in the model's terms, or None if it
    breaks a rule: a demand not covered exactly, an offer not among a demand's candidates, a
    locked line moved, no origin of a supplier that can ship all its units (stock, arrival
    date, a weight band), and the origin per supplier chosen best for the objective."""
    served: dict[int, int] = defaultdict(int)
    needed: dict[int, int] = defaultdict(int)
    by_key = {d.key: d for d in problem.demands}
    clean = {}
    for (demand_key, offer_id), units in assignment.items():
        if units <= 0:
            continue
        demand = by_key.get(demand_key)
        if demand is None or offer_id not in demand.candidates or offer_id not in problem.offers:
            return None
        if demand.locked and offer_id != demand.current_offer:
            return None
        served[demand_key] += units
        needed[offer_id] += units
        clean[(demand_key, offer_id)] = units
    for demand in problem.demands:
        if served[demand.key] != demand.quantity:
            return None
    locked_offers = {d.current_offer for d in problem.demands if d.locked}
    quantities = {}
    for offer_id, units in needed.items():
        offer = problem.offers[offer_id]
        quantities[offer_id] = offer_quantity(needed=units, min_qty=offer.min_qty, pack_size=offer.pack_size)
        if offer_id in locked_offers and quantities[offer_id] != units:
            return None  # a locked line keeps its quantity: nothing else may share its offer
    by_supplier: dict[int, list[int]] = defaultdict(list)
    for offer_id in quantities:
        by_supplier[problem.offers[offer_id].supplier_id].append(offer_id)
    # Per supplier, each origin that can ship every unit: (arrival, shipping).
    options: dict[int, list[tuple[int, int, int]]] = {}
    for supplier_id, offer_ids in by_supplier.items():
        weight = max(sum(problem.offers[o].weight_g * quantities[o] for o in offer_ids), 1)
        rows = []
        for origin in problem.origins.values():
            if origin.supplier_id != supplier_id:
                continue
            if not all(problem.pair_allowed(o, origin.key) and quantities[o] <= problem.offers[o].stock[origin.key]
                       for o in offer_ids):
                continue
            cost = origin.shipping(weight)
            if cost is None:
                continue
            arrival = max(problem.offers[o].arrival[origin.key] for o in offer_ids)
            rows.append((arrival, cost, origin.key))
        if not rows:
            return None
        options[supplier_id] = rows
    if problem.objective == "arrival" and options:
        # The latest arrival is the max over suppliers of their quickest origin; under it, cheapest.
        horizon = max(min(r[0] for r in rows) for rows in options.values())
        chosen = {s: min((r for r in rows if r[0] <= horizon), key=lambda r: (r[1], r[2]))
                  for s, rows in options.items()}
    else:
        chosen = {s: min(rows, key=lambda r: (r[1], r[0], r[2])) for s, rows in options.items()}
    goods = sum(problem.offers[o].price * q for o, q in quantities.items())
    return Evaluation(quantities=quantities, assignment=clean, origins={s: r[2] for s, r in chosen.items()},
                      goods=goods, shipping=sum(r[1] for r in chosen.values()),
                      arrival=max((r[0] for r in chosen.values()), default=0))


def as_is_assignment(problem: Problem) -> dict[tuple[int, int], int] | None:
    """The cart as it is: each line served by its own offer (None when a line's offer is gone)."""
    assignment = {}
    for demand in problem.demands:
        if demand.current_offer is None or demand.current_offer not in problem.offers:
            return None
        assignment[(demand.key, demand.current_offer)] = demand.quantity
    return assignment


# --- the greedy plan ------------------------------------------------------------------------

def greedy(problem: Problem) -> Evaluation | None:
    """Cheapest delivered offer per line, in order of the lines: locked lines first as they are;
    then each line from the offer whose goods plus the shipping it adds (the supplier's cheapest
    origin, at the parcel's weight with the line in it) is lowest, split over offers only when no
    single offer has enough. Suppliers already shipping are preferred by that very cost."""
    assignment: dict[tuple[int, int], int] = {}
    taken: dict[int, int] = defaultdict(int)  # offer id → units assigned
    origin_of: dict[int, int] = {}  # supplier id → origin key, once chosen
    locked_offers = {d.current_offer for d in problem.demands if d.locked}

    supplier_weight: dict[int, int] = defaultdict(int)  # the parcel's weight so far, per supplier
    origins_of: dict[int, list[int]] = defaultdict(list)
    for key, origin in problem.origins.items():
        origins_of[origin.supplier_id].append(key)

    def bought_of(offer: OfferOption, units: int) -> int:
        return offer_quantity(needed=units, min_qty=offer.min_qty, pack_size=offer.pack_size)

    def weight_of(supplier_id: int, extra_offer: int, extra_units: int) -> int:
        offer = problem.offers[extra_offer]
        before = taken[extra_offer]
        change = offer.weight_g * (bought_of(offer, before + extra_units) - bought_of(offer, before))
        return max(supplier_weight[supplier_id] + change, 1)

    def room(offer_id: int, origin_key: int) -> int:
        if not problem.pair_allowed(offer_id, origin_key):
            return 0
        return _usable_stock(problem.offers[offer_id], origin_key) - taken[offer_id]

    def best_move(demand: Demand, units: int) -> tuple[int, int, int, int] | None:
        """(cost, offer, origin, units taken) of the cheapest candidate for up to `units`."""
        best = None
        for offer_id in demand.candidates:
            if offer_id in locked_offers and not demand.locked:
                continue
            offer = problem.offers[offer_id]
            origins = ([origin_of[offer.supplier_id]] if offer.supplier_id in origin_of else
                       origins_of[offer.supplier_id])
            for origin_key in origins:
                can = room(offer_id, origin_key)
                if can <= 0:
                    continue
                take = min(units, can)
                before = taken[offer_id]
                bought = offer_quantity(needed=before + take, min_qty=offer.min_qty, pack_size=offer.pack_size)
                if bought > offer.stock.get(origin_key, 0):
                    continue
                added_goods = offer.price * (bought - offer_quantity(needed=before, min_qty=offer.min_qty,
                                                                     pack_size=offer.pack_size))
                origin = problem.origins[origin_key]
                after = origin.shipping(weight_of(offer.supplier_id, offer_id, take))
                if after is None:
                    continue
                if offer.supplier_id in origin_of:
                    before_ship = origin.shipping(weight_of(offer.supplier_id, offer_id, 0)) or 0
                else:
                    before_ship = 0
                # Cost per unit covered, so a partial offer is not preferred for being small.
                cost = (added_goods + after - before_ship) / take
                key = (cost, -take, offer_id, origin_key)
                if best is None or key < best[0]:
                    best = (key, offer_id, origin_key, take)
        return None if best is None else best[1:]

    for demand in sorted(problem.demands, key=lambda d: (not d.locked, d.key)):
        left = demand.quantity
        if demand.locked:
            candidates = Demand(key=demand.key, part_id=demand.part_id, quantity=demand.quantity,
                                candidates=(demand.current_offer,), current_offer=demand.current_offer, locked=True)
        else:
            candidates = demand
        while left > 0:
            move = best_move(candidates, left)
            if move is None:
                return None
            offer_id, origin_key, take = move
            offer = problem.offers[offer_id]
            origin_of.setdefault(offer.supplier_id, origin_key)
            supplier_weight[offer.supplier_id] = weight_of(offer.supplier_id, offer_id, take)
            assignment[(demand.key, offer_id)] = assignment.get((demand.key, offer_id), 0) + take
            taken[offer_id] += take
            left -= take
    return evaluate(problem, assignment)


# --- the exact model ------------------------------------------------------------------------

def _dominated(problem: Problem) -> set[int]:
    """Offers no plan of least total uses, left out of the model to keep it small. For a line
    whose candidates serve no other line: an offer `o` is dominated when the least it can cost,
    price × its smallest quantity, is above what serving the whole line from a reliable candidate
    `c` costs at most: c's goods for the line plus a whole parcel from c's dearest origin (c has
    the stock at every origin of its supplier, within the arrival date). Swapping every unit of
    the line to `c` in a plan that uses `o` then saves money (shipping never rises when weight
    falls), so `o` is in no optimum."""
    shared = defaultdict(int)
    for demand in problem.demands:
        for offer_id in set(demand.candidates):
            shared[offer_id] += 1
    origins_of: dict[int, list[Origin]] = defaultdict(list)
    for origin in problem.origins.values():
        origins_of[origin.supplier_id].append(origin)
    dominated: set[int] = set()
    for demand in problem.demands:
        candidates = [o for o in demand.candidates if o in problem.offers]
        if demand.locked or any(shared[o] > 1 for o in candidates):
            continue
        best = math.inf
        for offer_id in candidates:
            offer = problem.offers[offer_id]
            quantity = offer_quantity(needed=demand.quantity, min_qty=offer.min_qty, pack_size=offer.pack_size)
            origins = origins_of[offer.supplier_id]
            if origins and all(problem.pair_allowed(offer_id, h.key) and offer.stock.get(h.key, 0) >= quantity
                               and h.bands for h in origins):
                best = min(best, offer.price * quantity + max(h.bands[-1].cost for h in origins))
        for offer_id in candidates:
            offer = problem.offers[offer_id]
            if offer.price * max(offer.min_qty, offer.pack_size, 1) > best:
                dominated.add(offer_id)
    return dominated


class _Model:
    """Columns and rows for highspy's low-level interface, built in Python lists."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[float, float, list[int], list[float]]] = []

    def var(self, *, cost: float = 0.0, lower: float = 0.0, upper: float = math.inf, integer: bool = True) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        if integer:
            self.integer.append(len(self.cost) - 1)
        return len(self.cost) - 1

    def row(self, lower: float, upper: float, terms: list[tuple[int, float]]) -> None:
        self.rows.append((lower, upper, terms))


def _highs(problem: Problem, *, time_limit: float, hint: Evaluation | None) -> tuple[Evaluation | None, str, bool]:
    # Loaded when a plan is first solved, not by every process that imports the quantity rule.
    import highspy
    import numpy as np

    inf = highspy.kHighsInf
    m = _Model()
    objective = problem.objective
    upper_total = 1 + sum(
        max((problem.offers[o].price * offer_quantity(needed=d.quantity, min_qty=problem.offers[o].min_qty,
                                                      pack_size=problem.offers[o].pack_size) for o in d.candidates),
            default=0) for d in problem.demands) + sum(max((b.cost for b in o.bands), default=0)
                                                       for o in problem.origins.values())
    weight_primary = upper_total if objective != "total" else 0
    locked_offers = {d.current_offer: d.quantity for d in problem.demands if d.locked}

    # Pairs (offer, origin) that may ship, with k (packs) and u (used) columns.
    dominated = _dominated(problem) if objective == "total" else set()
    used_offers = {o for d in problem.demands for o in d.candidates if o in problem.offers and o not in dominated}
    need_of: dict[int, int] = defaultdict(int)
    for demand in problem.demands:
        for offer_id in demand.candidates:
            need_of[offer_id] += demand.quantity
    k, u = {}, {}
    for offer_id in sorted(used_offers):
        offer = problem.offers[offer_id]
        for origin_key, origin in problem.origins.items():
            if origin.supplier_id != offer.supplier_id or not problem.pair_allowed(offer_id, origin_key):
                continue
            packs = _usable_stock(offer, origin_key) // offer.pack_size
            if packs <= 0 or packs * offer.pack_size < offer.min_qty:
                continue
            # Never more packs than every demand it may serve needs (the quantity rule): a tight
            # bound keeps the relaxation from buying a sliver of a pair's stock almost for free.
            packs = min(packs, offer_quantity(needed=need_of[offer_id], min_qty=offer.min_qty,
                                              pack_size=offer.pack_size) // offer.pack_size)
            k[(offer_id, origin_key)] = m.var(cost=offer.price * offer.pack_size, upper=packs)
            u[(offer_id, origin_key)] = m.var(upper=1)
    z = {key: m.var(cost=weight_primary if objective == "shipments" else 0, upper=1) for key in problem.origins}
    y = {(key, b): m.var(cost=band.cost, upper=1) for key, origin in problem.origins.items()
         for b, band in enumerate(origin.bands)}
    t = m.var(cost=weight_primary, integer=False) if objective == "arrival" else None
    a = {}
    for demand in problem.demands:
        for offer_id in demand.candidates:
            if offer_id not in used_offers:
                continue
            if offer_id in locked_offers and not (demand.locked and offer_id == demand.current_offer):
                continue  # a locked line's offer serves that line alone
            if demand.locked and offer_id != demand.current_offer:
                continue
            a[(demand.key, offer_id)] = m.var(upper=demand.quantity)
    # Each demand covered exactly (the assignment; what is bought may be more, in whole packs).
    for demand in problem.demands:
        m.row(demand.quantity, demand.quantity, [(a[(demand.key, o)], 1.0) for o in demand.candidates
                                                  if (demand.key, o) in a])
    k_of_offer: dict[int, list[int]] = defaultdict(list)
    k_of_origin: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (offer_id, origin_key), col in k.items():
        k_of_offer[offer_id].append(col)
        k_of_origin[origin_key].append((offer_id, col))
    a_of_offer: dict[int, list[int]] = defaultdict(list)
    u_of_offer: dict[int, list[int]] = defaultdict(list)
    for (offer_id, _origin_key), col in u.items():
        u_of_offer[offer_id].append(col)
    quantity_of = {d.key: d.quantity for d in problem.demands}
    for (demand_key, offer_id), col in a.items():
        a_of_offer[offer_id].append(col)
        # A demand is served by an offer only from a used pair (valid, and tight for the relaxation).
        m.row(-inf, 0, [(col, 1.0)] + [(used, -float(quantity_of[demand_key])) for used in u_of_offer[offer_id]])
    for offer_id in sorted(used_offers):
        offer = problem.offers[offer_id]
        bought = [(col, float(offer.pack_size)) for col in k_of_offer[offer_id]]
        serving = [(col, -1.0) for col in a_of_offer[offer_id]]
        if offer_id in locked_offers:
            # A locked line keeps its quantity: exactly that many bought, whatever the pack.
            m.row(locked_offers[offer_id], locked_offers[offer_id], bought)
        m.row(0, inf, bought + serving)
    for (offer_id, origin_key), col in k.items():
        offer = problem.offers[offer_id]
        used = u[(offer_id, origin_key)]
        packs = m.upper[col]
        m.row(-inf, 0, [(col, 1.0), (used, -packs)])  # bought only from a used pair
        m.row(0, inf, [(col, float(offer.pack_size)), (used, -float(offer.min_qty))])  # at least the minimum
        m.row(-inf, 0, [(used, 1.0), (z[origin_key], -1.0)])  # a pair ships only from a used origin
        if t is not None:
            m.row(0, inf, [(t, 1.0), (used, -float(offer.arrival[origin_key]))])
    by_supplier: dict[int, list[int]] = defaultdict(list)
    for key, origin in problem.origins.items():
        by_supplier[origin.supplier_id].append(key)
        # One band per used origin, and the parcel's weight within it.
        m.row(0, 0, [(y[(key, b)], 1.0) for b in range(len(origin.bands))] + [(z[key], -1.0)])
        weight = [(col, float(problem.offers[o].weight_g * problem.offers[o].pack_size))
                  for o, col in k_of_origin[key]]
        m.row(-inf, 0, weight + [(y[(key, b)], -float(band.max_weight_g)) for b, band in enumerate(origin.bands)])
    for keys in by_supplier.values():
        if len(keys) > 1:
            m.row(-inf, 1, [(z[key], 1.0) for key in keys])  # one parcel per supplier

    h = _highs_instance(highspy)
    for name, value in (("output_flag", False), ("time_limit", float(time_limit)), ("mip_rel_gap", 0.0),
                        ("mip_abs_gap", 0.5), ("threads", 1), ("random_seed", 0)):
        h.setOptionValue(name, value)
    n = len(m.cost)
    h.addCols(n, np.array(m.cost, dtype=np.float64), np.array(m.lower, dtype=np.float64),
              np.array([min(v, inf) for v in m.upper], dtype=np.float64), 0, np.array([], dtype=np.int32),
              np.array([], dtype=np.int32), np.array([], dtype=np.float64))
    if m.integer:
        h.changeColsIntegrality(len(m.integer), np.array(m.integer, dtype=np.int32),
                                np.array([1] * len(m.integer), dtype=np.uint8))
    starts, index, values = [], [], []
    for _, _, terms in m.rows:
        starts.append(len(index))
        for col, value in terms:
            index.append(col)
            values.append(value)
    h.addRows(len(m.rows), np.array([r[0] for r in m.rows], dtype=np.float64),
              np.array([r[1] for r in m.rows], dtype=np.float64), len(index), np.array(starts, dtype=np.int32),
              np.array(index, dtype=np.int32), np.array(values, dtype=np.float64))
    if hint is not None:
        _set_hint(h, highspy, n=n, hint=hint, a=a, k=k, u=u, z=z, y=y, t=t, problem=problem)
    h.run()
    status = h.getModelStatus()
    time_limit_hit = status == highspy.HighsModelStatus.kTimeLimit
    if status == highspy.HighsModelStatus.kInfeasible:
        return None, "infeasible", False
    if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kTimeLimit):
        return None, str(status).rsplit(".", 1)[-1], time_limit_hit
    values = h.getSolution().col_value
    if not len(values) or h.getInfo().primal_solution_status != 2:  # 2: a feasible solution
        return None, "time_limit" if time_limit_hit else "no_solution", time_limit_hit
    assignment = {key: round(values[col]) for key, col in a.items() if round(values[col]) > 0}
    return evaluate(problem, assignment), "time_limit" if time_limit_hit else "optimal", time_limit_hit


_local = threading.local()


def _highs_instance(highspy):
    """One HiGHS object per thread, emptied for each plan: creating one costs ~10 ms."""
    h = getattr(_local, "highs", None)
    if h is None:
        h = _local.highs = highspy.Highs()
    else:
        h.clearModel()
    return h


def _set_hint(h, highspy, *, n, hint, a, k, u, z, y, t, problem) -> None:
    """Start HiGHS from a known feasible plan (the greedy's), so a time limit still leaves it an
    incumbent at least that good."""
    values = [0.0] * n
    for key, col in a.items():
        values[col] = float(hint.assignment.get(key, 0))
    for supplier_id, origin_key in hint.origins.items():
        values[z[origin_key]] = 1.0
        origin = problem.origins[origin_key]
        weight = max(sum(problem.offers[o].weight_g * q for o, q in hint.quantities.items()
                         if problem.offers[o].supplier_id == supplier_id), 1)
        for b, band in enumerate(origin.bands):
            if weight <= band.max_weight_g:
                values[y[(origin_key, b)]] = 1.0
                break
    for offer_id, quantity in hint.quantities.items():
        origin_key = hint.origins[problem.offers[offer_id].supplier_id]
        if (offer_id, origin_key) in k:
            values[k[(offer_id, origin_key)]] = quantity / problem.offers[offer_id].pack_size
            values[u[(offer_id, origin_key)]] = 1.0
    if t is not None:
        values[t] = float(hint.arrival)
    solution = highspy.HighsSolution()
    solution.col_value = list(values)
    solution.value_valid = True
    h.setSolution(solution)


def solve(problem: Problem, *, time_limit: float = 0.2, use_highs: bool = True) -> Result:
    """The best plan under the problem's objective: HiGHS's, else greedy's, never worse than the
    cart as it is (when that is feasible). `use_highs=False` gives the greedy plan alone."""
    if problem.objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}")
    started = time.perf_counter()
    greedy_eval = greedy(problem)
    as_is = as_is_assignment(problem)
    as_is_eval = evaluate(problem, as_is) if as_is is not None else None
    highs_eval, status, hit = None, "skipped", False
    if use_highs:
        hint = min((e for e in (greedy_eval, as_is_eval) if e is not None),
                   key=lambda e: e.score(problem.objective), default=None)
        highs_eval, status, hit = _highs(problem, time_limit=time_limit, hint=hint)
    # Ties go to the first: HiGHS when it proved its plan optimal; after a time limit the greedy
    # plan, so HiGHS's incumbent is used only when it is better.
    order = ((highs_eval, "highs"), (greedy_eval, "greedy")) if not hit else ((greedy_eval, "greedy"),
                                                                               (highs_eval, "highs"))
    candidates = [(e, name) for e, name in (*order, (as_is_eval, "as_is")) if e is not None]
    elapsed = time.perf_counter() - started
    if not candidates:
        return Result(evaluation=None, solver="highs" if use_highs else "greedy", status="infeasible",
                      time_limit_hit=hit, solve_seconds=elapsed)
    best, solver = min(candidates, key=lambda c: c[0].score(problem.objective))
    return Result(evaluation=best, solver=solver, status=status if use_highs else "greedy",
                  time_limit_hit=hit, solve_seconds=elapsed, highs_evaluation=highs_eval,
                  greedy_evaluation=greedy_eval)
