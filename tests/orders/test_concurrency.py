"""Many workshops race for the same 30 units, each placement in its own thread and connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from orders import services
from orders.errors import OutOfStock
from orders.models import Order, OrderLine
from suppliers.models import MovementReason, StockMovement
from tests.orders.factories import buyer_make, carriers_ensure, cheapest_shipping, offer_in_stock

BUYERS = 100
UNITS = 30
# Connections open at once: below PostgreSQL's default max_connections (100) with room for
# the test's own and the server's; the other placements queue for a slot, as behind a pool.
CONNECTIONS = 40


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_never_oversell():
    carriers_ensure()
    offer, stock = offer_in_stock(on_hand=UNITS, price=75_000)
    buyers = [buyer_make() for _ in range(BUYERS)]
    for buyer in buyers:
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=1)
    shipping = cheapest_shipping(buyer=buyers[0])  # same supplier, same area: same quotes for all
    barrier = threading.Barrier(BUYERS)
    slots = threading.BoundedSemaphore(CONNECTIONS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(buyer):
        try:
            barrier.wait(timeout=30)
            with slots:
                _place(buyer)
            outcome = "placed"
        except OutOfStock:
            outcome = "out_of_stock"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    def _place(buyer):
        try:
            services.order_place(workshop=buyer.workshop, actor=buyer.user, address=buyer.address,
                                 payment_method="terms", shipping_choices=shipping,
                                 idempotency_key=f"race-{buyer.workshop.pk}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(b,)) for b in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    counts = Counter(outcomes)
    assert counts == {"placed": UNITS, "out_of_stock": BUYERS - UNITS}, counts
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (UNITS, UNITS)
    assert Order.objects.count() == UNITS
    assert OrderLine.objects.aggregate(q=Sum("quantity"))["q"] == UNITS
    sums = StockMovement.objects.filter(stock=stock).aggregate(o=Sum("on_hand_delta"), r=Sum("reserved_delta"))
    assert (sums["o"], sums["r"]) == (stock.on_hand, stock.reserved)
    # One reservation in the ledger per placed order, and none for a refused one. (No stock row
    # below zero, asserted here before, is the database's CHECK constraint: it could not fail.)
    reserved_for = StockMovement.objects.filter(stock=stock, reason=MovementReason.RESERVATION).values_list(
        "reference", flat=True)
    assert sorted(reserved_for) == sorted(Order.objects.values_list("number", flat=True))
