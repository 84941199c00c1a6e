"""Cart optimiser benchmark: solve time of carts of 5, 15 and 30 lines over the 300-supplier data
set, and what the optimiser saves against the greedy plan and against the cart as it is.

    .venv/bin/python bench/cart_optimiser_bench.py   # --carts 1000 --time-limit 0.2

Needs a database made by bench/generate_catalog.py and bench/generate_suppliers.py (default
postgres://postgres@127.0.0.1:5432/okto88_bench_optimiser, `--database-url`); bench/README.md
§12 gives the commands (a small catalog is enough: the carts only need parts with offers).

What it does: one query reads every buyable offer with stock in an active warehouse (the
suppliers' data as generated); the bench then builds each cart's model in memory exactly as
orders.services.optimise builds it (the same candidates: the line's own offer and the
CART_OPTIMISE_OFFERS_PER_PART cheapest in stock of its part; the same weight bands,
orders.services.optimise._band_weights), with shipping from the fake courier's own rate
function (logistics.fake_courier.rate_price, the cheapest courier and service per band, its days
plus the zone's extra days), not over HTTP, so the time measured is the solve's:
orders.cart_optimiser.solve (the greedy plan, the cart as it is, the model built and HiGHS under
the time limit). The generated offers all sell by one; the bench gives a seeded 20% of them a
pack size of 2-6 and 10% a minimum of 2-5, so the pack and minimum rules are exercised.

Carts (seeded): --carts carts, a third each of 5, 15 and 30 lines, each line a random part with
offers in stock from at least two suppliers, bought from one of them (half the time its cheapest
offer, else a random one) at 1-4 units rounded to that offer's pack and minimum; the objective
is "total". Delivered to one of four workshop cities. A cart that could not be checked out as it
is (two lines of one supplier in different warehouses: checkout ships each supplier's lines from
one warehouse) is drawn again, as the cart page would show it as unshippable.

Prints per size p50/p95/max solve time, the time-limit hits, and over all carts the saving of
the optimiser against the cart as it is and against the greedy plan (goods + shipping, before
PPN: rupiah and percent, p50/p90/max), with PASS/FAIL per target; non-zero exit on a FAIL.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_catalog import django_setup

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_bench_optimiser"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
SIZES = (5, 15, 30)
P95_TARGET_MS = 200.0
DESTINATIONS = [
    {"province": "Jawa Barat", "city": "Kota Bekasi", "district": "Bekasi Timur", "postal_code": "17111"},
    {"province": "Jawa Timur", "city": "Kota Surabaya", "district": "Genteng", "postal_code": "60275"},
    {"province": "Sumatera Utara", "city": "Kota Medan", "district": "Medan Kota", "postal_code": "20212"},
    {"province": "Bali", "city": "Kota Denpasar", "district": "Denpasar Barat", "postal_code": "80112"},
]

_OFFERS_SQL = """
SELECT o.id, o.supplier_id, o.part_id, o.price, o.min_order_qty, o.pack_size, o.lead_time_days, p.weight_g,
       s.warehouse_id, GREATEST(s.on_hand - s.reserved, 0), w.province, w.city, w.district, w.postal_code
FROM suppliers_offer o
JOIN suppliers_supplier su ON su.id = o.supplier_id
JOIN catalog_part p ON p.id = o.part_id
JOIN suppliers_stock s ON s.offer_id = o.id
JOIN suppliers_warehouse w ON w.id = s.warehouse_id
WHERE o.is_active AND su.status = %(active)s AND w.is_active AND s.on_hand - s.reserved > 0
"""


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


class Data:
    """The offers with stock, by part, and each warehouse's area."""

    def __init__(self, rows, rng: random.Random):
        self.offers: dict[int, dict] = {}
        self.areas: dict[int, dict] = {}
        for (offer_id, supplier_id, part_id, price, min_qty, pack, lead, weight, warehouse_id, available,
             province, city, district, postal_code) in rows:
            offer = self.offers.get(offer_id)
            if offer is None:
                offer = self.offers[offer_id] = {"id": offer_id, "supplier": supplier_id, "part": part_id,
                                                 "price": price, "min": min_qty, "pack": pack, "lead": lead,
                                                 "weight": weight, "stock": {}}
            offer["stock"][warehouse_id] = available
            self.areas[warehouse_id] = {"province": province, "city": city, "district": district,
                                        "postal_code": postal_code}
        for offer_id in sorted(self.offers):  # seeded packs and minimums (the generator sells by one)
            offer = self.offers[offer_id]
            if rng.random() < 0.2:
                offer["pack"] = rng.choice([2, 4, 5, 6])
            if rng.random() < 0.1:
                offer["min"] = rng.randint(2, 5)
        self.by_part: dict[int, list[dict]] = defaultdict(list)
        for offer in self.offers.values():
            if max(offer["stock"].values()) >= max(offer["min"], offer["pack"]):
                self.by_part[offer["part"]].append(offer)
        self.parts = sorted(p for p, offers in self.by_part.items() if len({o["supplier"] for o in offers}) >= 2)


class Shipping:
    """The fake courier's cheapest rate per (warehouse, destination, weight), memoised."""

    def __init__(self, data: Data):
        from logistics import fake_courier

        self.fake = fake_courier
        self.data = data
        self.memo: dict[tuple[int, str, int], tuple[int, int]] = {}

    def quote(self, warehouse_id: int, destination: dict, weight_g: int) -> tuple[int, int]:
        key = (warehouse_id, destination["postal_code"], weight_g)
        if key not in self.memo:
            origin = self.data.areas[warehouse_id]
            zone = self.fake._zone(origin, destination)
            options = []
            for courier, (_name, _prefix, services) in self.fake.COURIERS.items():
                for service, (_first, _next, days) in services.items():
                    price = self.fake.rate_price(courier=courier, service=service, origin=origin,
                                                 destination=destination, weight_g=weight_g)
                    options.append((price, days + self.fake.ZONE_EXTRA_DAYS[zone]))
            self.memo[key] = min(options)
        return self.memo[key]


def cart_problem(*, data: Data, shipping: Shipping, rng: random.Random, size: int, per_part: int):
    """One random cart as orders.services.optimise models a cart."""
    from orders import cart_optimiser as model
    from orders.services.optimise import _band_weights

    destination = rng.choice(DESTINATIONS)
    demands = []
    parts = rng.sample(data.parts, size)
    for key, part_id in enumerate(parts, start=1):
        offers = data.by_part[part_id]
        cheapest = sorted(offers, key=lambda o: (o["price"], o["id"]))
        current = cheapest[0] if rng.random() < 0.5 else rng.choice(offers)
        best_stock = max(current["stock"].values())
        quantity = 0
        for _ in range(4):
            quantity = model.offer_quantity(needed=rng.randint(1, 4), min_qty=current["min"], pack_size=current["pack"])
            if quantity <= best_stock:
                break
        if quantity > best_stock:
            quantity = model.offer_quantity(needed=1, min_qty=current["min"], pack_size=current["pack"])
        candidates = [current["id"]] + [o["id"] for o in cheapest[:per_part] if o["id"] != current["id"]]
        demands.append(model.Demand(key=key, part_id=part_id, quantity=quantity, candidates=tuple(candidates),
                                    current_offer=current["id"]))
    used = sorted({o for d in demands for o in d.candidates})
    need: dict[int, int] = defaultdict(int)
    for demand in demands:
        for offer_id in demand.candidates:
            need[offer_id] += demand.quantity
    heaviest: dict[int, int] = defaultdict(int)
    supplier_of = {}
    for offer_id in used:
        offer = data.offers[offer_id]
        for warehouse_id, available in offer["stock"].items():
            units = min(available, model.offer_quantity(needed=need[offer_id], min_qty=offer["min"],
                                                        pack_size=offer["pack"]))
            heaviest[warehouse_id] += offer["weight"] * units
            supplier_of[warehouse_id] = offer["supplier"]
    origins, eta = {}, {}
    for warehouse_id in sorted(heaviest):
        bands, running = [], 0
        for weight in _band_weights(heaviest[warehouse_id]):
            cost, days = shipping.quote(warehouse_id, destination, weight)
            running = max(running, cost)
            bands.append(model.Band(max_weight_g=weight, cost=running))
            eta[warehouse_id] = max(eta.get(warehouse_id, 0), days)
        origins[warehouse_id] = model.Origin(key=warehouse_id, supplier_id=supplier_of[warehouse_id],
                                             bands=tuple(bands))
    offers = {}
    for offer_id in used:
        offer = data.offers[offer_id]
        offers[offer_id] = model.OfferOption(
            offer_id=offer_id, supplier_id=offer["supplier"], part_id=offer["part"], price=offer["price"],
            min_qty=offer["min"], pack_size=offer["pack"], weight_g=offer["weight"], stock=dict(offer["stock"]),
            arrival={w: offer["lead"] + eta[w] for w in offer["stock"]})
    return model.Problem(demands=demands, offers=offers, origins=origins, objective="total")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--carts", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=None, help="default: CART_OPTIMISE_TIME_LIMIT_SECONDS")
    parser.add_argument("--seed", type=int, default=88)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    django_setup(args.database_url, args.redis_url)
    from django.conf import settings
    from django.db import connection

    from orders import cart_optimiser as model
    from suppliers.models import SupplierStatus

    time_limit = settings.CART_OPTIMISE_TIME_LIMIT_SECONDS if args.time_limit is None else args.time_limit
    rng = random.Random(args.seed)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM suppliers_supplier")
        (n_suppliers,) = cursor.fetchone()
        cursor.execute(_OFFERS_SQL, {"active": SupplierStatus.ACTIVE})
        rows = cursor.fetchall()
    data = Data(rows, rng)
    print(f"{args.database_url}: {n_suppliers} suppliers, {len(data.offers):,} offers in stock, "
          f"{len(data.parts):,} parts offered by ≥ 2 suppliers (read in {time.perf_counter() - started:.1f}s); "
          f"time limit {time_limit * 1000:.0f} ms, {settings.CART_OPTIMISE_OFFERS_PER_PART} offers per part, "
          f"load average {os.getloadavg()[0]:.2f}")
    shipping = Shipping(data)
    model.solve(cart_problem(data=data, shipping=shipping, rng=random.Random(0), size=5, per_part=8),
                time_limit=time_limit)  # HiGHS's import and first call, untimed
    times: dict[int, list[float]] = defaultdict(list)
    hits: dict[int, int] = defaultdict(int)
    solvers: dict[str, int] = defaultdict(int)
    vs_cart, vs_cart_pct, vs_greedy, vs_greedy_pct = [], [], [], []
    worse = infeasible = redrawn = 0
    for index in range(args.carts):
        size = SIZES[index % len(SIZES)]
        # A cart that can be checked out as it is (one warehouse of each supplier has all its
        # lines), as the cart page's carts are: drawn again until it is.
        for _attempt in range(50):
            problem = cart_problem(data=data, shipping=shipping, rng=rng, size=size,
                                   per_part=settings.CART_OPTIMISE_OFFERS_PER_PART)
            if model.evaluate(problem, model.as_is_assignment(problem)) is not None:
                break
            redrawn += 1
        result = model.solve(problem, time_limit=time_limit)
        times[size].append(result.solve_seconds * 1000)
        hits[size] += result.time_limit_hit
        solvers[result.solver] += 1
        if result.evaluation is None:
            infeasible += 1
            continue
        total = result.evaluation.total
        as_is = model.as_is_assignment(problem)
        as_is_eval = model.evaluate(problem, as_is) if as_is else None
        greedy_eval = result.greedy_evaluation
        if as_is_eval is not None:
            vs_cart.append(as_is_eval.total - total)
            vs_cart_pct.append(100 * (as_is_eval.total - total) / as_is_eval.total)
            worse += total > as_is_eval.total
        if greedy_eval is not None:
            vs_greedy.append(greedy_eval.total - total)
            vs_greedy_pct.append(100 * (greedy_eval.total - total) / greedy_eval.total)
            worse += total > greedy_eval.total
    failed = False
    print(f"\n{'lines':>5} {'carts':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'limit hit':>10}")
    for size in SIZES:
        values = times[size]
        print(f"{size:>5} {len(values):>6} {percentile(values, .5):>8.1f} {percentile(values, .95):>8.1f} "
              f"{max(values):>8.1f} {hits[size]:>5} ({100 * hits[size] / len(values):.1f}%)")
    total_hits = sum(hits.values())
    print(f"time limit hit: {total_hits} of {args.carts} carts ({100 * total_hits / args.carts:.1f}%); "
          f"plans from: {dict(solvers)}; no plan: {infeasible}; carts drawn again because they could not be "
          f"checked out as they were: {redrawn}")

    def spread(name, rupiah, pct):
        print(f"saving vs {name:<18} over {len(rupiah)} carts: p50 Rp {percentile(rupiah, .5):>10,.0f} "
              f"({percentile(pct, .5):.1f}%)  p90 Rp {percentile(rupiah, .9):>10,.0f} ({percentile(pct, .9):.1f}%)  "
              f"max Rp {max(rupiah, default=0):>10,.0f} ({max(pct, default=0):.1f}%)  "
              f"mean {statistics.fmean(pct) if pct else 0:.1f}%  carts saving: "
              f"{sum(1 for r in rupiah if r > 0)}")

    print()
    spread("the cart as it is", vs_cart, vs_cart_pct)
    spread("the greedy plan", vs_greedy, vs_greedy_pct)
    print()
    p95 = percentile(times[30], .95)
    ok = p95 <= P95_TARGET_MS
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'}  p95 solve time, 30 lines: {p95:.1f} ms (target ≤ {P95_TARGET_MS:.0f} ms)")
    ok = worse == 0
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'}  the plan never costs more than the greedy plan or the cart as it is "
          f"({worse} carts where it did)")
    ok = infeasible == 0
    failed |= not ok
    print(f"{'PASS' if ok else 'FAIL'}  every cart got a plan ({infeasible} without)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}; {time.perf_counter() - started:.0f}s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
