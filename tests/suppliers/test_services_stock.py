"""Stock services and the ledger: on_hand and reserved always equal the ledger's sums."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum

from okto88.errors import InvalidQuantity
from okto88.models import OutboxEvent
from suppliers import services
from suppliers.errors import InsufficientStock, StockRowsInvalid
from suppliers.models import MovementReason, Stock, StockMovement
from tests.suppliers.factories import OfferFactory, StockFactory, WarehouseFactory


def assert_ledger_matches(stocks) -> None:
    for stock in stocks:
        stock.refresh_from_db()
        sums = StockMovement.objects.filter(stock=stock).aggregate(o=Sum("on_hand_delta"), r=Sum("reserved_delta"))
        assert stock.on_hand == (sums["o"] or 0), stock
        assert stock.reserved == (sums["r"] or 0), stock
        # The ledger's running totals end where the row is (0 ≤ reserved ≤ on_hand is the
        # database's CHECK constraint: asserting it here could never fail).
        last = StockMovement.objects.filter(stock=stock).order_by("-pk").first()
        assert last is None or (last.on_hand_after, last.reserved_after) == (stock.on_hand, stock.reserved), stock


def snapshot(stocks):
    return [(s.pk, *Stock.objects.values_list("on_hand", "reserved").get(pk=s.pk)) for s in stocks], \
        StockMovement.objects.count(), OutboxEvent.objects.filter(topic="stock.changed").count()


@pytest.mark.django_db
def test_a_random_sequence_of_operations_keeps_stock_equal_to_its_ledger():
    # given a few stock rows of one offer in several warehouses
    offer = OfferFactory()
    stocks = [StockFactory(offer=offer, warehouse=WarehouseFactory(supplier=offer.supplier), on_hand=n)
              for n in (0, 3, 10)]
    rng = random.Random(20240604)
    refused = 0
    # when ~200 random operations run, some of which must be refused
    for _ in range(200):
        stock = rng.choice(stocks)
        op = rng.choice(["adjust", "set", "reserve", "release", "ship", "return", "reserve_many"])
        qty = rng.randint(1, 8)
        before = snapshot(stocks)
        try:
            if op == "adjust":
                services.stock_adjust(stock=stock, delta=rng.randint(-8, 8), reason=MovementReason.ADJUSTMENT)
            elif op == "set":
                services.stock_set_on_hand(stock=stock, on_hand=rng.randint(0, 15))
            elif op == "reserve":
                services.stock_reserve(lines=[(stock.pk, qty)])
            elif op == "reserve_many":
                services.stock_reserve(lines=[(s.pk, rng.randint(1, 4)) for s in rng.sample(stocks, 2)])
            elif op == "release":
                services.stock_release(lines=[((offer, stock.warehouse), qty)])
            elif op == "ship":
                services.stock_commit_shipment(lines=[(stock, qty)])
            else:
                services.stock_return(stock=stock, quantity=qty)
        except (InsufficientStock, InvalidQuantity):
            refused += 1
            # then a refused operation changed nothing: no stock, no ledger row, no event
            assert snapshot(stocks) == before
    # then every row equals its ledger and respects 0 ≤ reserved ≤ on_hand
    assert refused > 10
    assert_ledger_matches(stocks)


@pytest.mark.django_db
def test_reserve_is_all_or_nothing():
    a, b = StockFactory(on_hand=5), StockFactory(on_hand=1)
    with pytest.raises(InsufficientStock):
        services.stock_reserve(lines=[(a.pk, 2), (b.pk, 2)])
    a.refresh_from_db()
    assert a.reserved == 0
    assert not StockMovement.objects.filter(reason=MovementReason.RESERVATION).exists()


@pytest.mark.django_db
def test_moving_several_lines_writes_a_ledger_row_and_an_event_per_line_in_stock_order():
    a, b = StockFactory(on_hand=5), StockFactory(on_hand=3)
    last_event = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    services.stock_reserve(lines=[(b.pk, 2), (a.pk, 1)], reference="OK-1")

    rows = StockMovement.objects.filter(reason=MovementReason.RESERVATION).order_by("pk")
    assert [(m.stock_id, m.reserved_delta, m.on_hand_after, m.reserved_after, m.reference) for m in rows] == [
        (a.pk, 1, 5, 1, "OK-1"), (b.pk, 2, 3, 2, "OK-1")]
    events = OutboxEvent.objects.filter(pk__gt=last_event, topic="stock.changed").order_by("pk")
    assert [(e.aggregate_id, e.payload["reserved"], e.payload["available"]) for e in events] == [
        (str(a.pk), 1, 4), (str(b.pk), 2, 1)]
    # Each names the supplier of its offer (v2), the field its audience scopes by.
    assert [e.payload["supplier"] for e in events] == [a.offer.supplier_id, b.offer.supplier_id]
    assert a.offer.supplier_id != b.offer.supplier_id


@pytest.mark.django_db
def test_set_on_hand_below_reserved_is_refused():
    stock = StockFactory(on_hand=5, reserved=3)
    with pytest.raises(InsufficientStock) as exc:
        services.stock_set_on_hand(stock=stock, on_hand=2)
    assert exc.value.code == "insufficient_stock"
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (5, 3)


@pytest.mark.django_db
def test_on_hand_above_the_offer_limit_is_refused_by_the_service_not_the_database():
    from suppliers.offer_limits import STOCK_MAX

    stock = StockFactory(on_hand=5)
    with pytest.raises(InvalidQuantity) as exc:
        services.stock_set_on_hand(stock=stock, on_hand=STOCK_MAX + 1)
    assert exc.value.extra["field"] == "on_hand"
    with pytest.raises(InvalidQuantity) as exc:
        services.stock_adjust(stock=stock, delta=STOCK_MAX)
    assert exc.value.extra["field"] == "delta"
    stock.refresh_from_db()
    assert stock.on_hand == 5
    assert services.stock_set_on_hand(stock=stock, on_hand=STOCK_MAX).on_hand == STOCK_MAX


@pytest.mark.django_db
def test_changes_publish_stock_changed_and_no_op_publishes_nothing():
    stock = StockFactory(on_hand=5)
    services.stock_set_on_hand(stock=stock, on_hand=7, reference="count")
    event = OutboxEvent.objects.get(topic="stock.changed")
    assert event.aggregate_type == "stock" and event.aggregate_id == str(stock.pk)
    assert event.schema_version == 2
    assert event.payload == {"stock": stock.pk, "offer": stock.offer_id, "supplier": stock.offer.supplier_id,
                             "warehouse": stock.warehouse_id, "on_hand": 7, "reserved": 0, "available": 7}
    services.stock_set_on_hand(stock=stock, on_hand=7)  # unchanged
    services.stock_adjust(stock=stock, delta=0)
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == 1
    assert StockMovement.objects.filter(stock=stock).count() == 2  # factory import + the one change


@pytest.mark.django_db
def test_shipment_moves_reserved_out_of_on_hand():
    stock = StockFactory(on_hand=5)
    services.stock_reserve(lines=[(stock, 3)], reference="order-1")
    services.stock_commit_shipment(lines=[(stock.pk, 2)], reference="order-1")
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved) == (3, 1)
    with pytest.raises(InsufficientStock):
        services.stock_commit_shipment(lines=[(stock.pk, 2)])
    assert_ledger_matches([stock])


@pytest.mark.django_db
def test_the_database_refuses_reserved_above_on_hand_even_via_raw_orm():
    stock = StockFactory(on_hand=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(reserved=F("on_hand") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Stock.objects.filter(pk=stock.pk).update(reserved=-1)


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_oversell():
    stock = StockFactory(on_hand=5)
    results: list[str] = []
    barrier = threading.Barrier(12)

    def reserve_one():
        try:
            barrier.wait(timeout=10)
            services.stock_reserve(lines=[(stock.pk, 1)], reference="race")
            results.append("ok")
        except InsufficientStock:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve_one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stock.refresh_from_db()
    assert results.count("ok") == 5 and results.count("refused") == 7
    assert (stock.on_hand, stock.reserved) == (5, 5)
    assert_ledger_matches([stock])


# --- bulk set --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_bulk_set_writes_ledger_rows_for_deltas_only():
    offer = OfferFactory(sku="A-1")
    jkt = WarehouseFactory(supplier=offer.supplier, code="JKT1")
    sby = WarehouseFactory(supplier=offer.supplier, code="SBY1")
    other = OfferFactory(supplier=offer.supplier, sku="B-2")
    StockFactory(offer=offer, warehouse=jkt, on_hand=4)
    result = services.stock_bulk_set(supplier=offer.supplier, rows=[
        {"sku": "A-1", "warehouse": "JKT1", "on_hand": 4},  # unchanged
        {"sku": "A-1", "warehouse": "sby1", "on_hand": 6},  # new row
        {"sku": "B-2", "warehouse": "JKT1", "on_hand": 0},  # new and empty: nothing
    ], reference="erp")
    assert (result.rows, result.changed, result.created) == (3, 1, 1)
    stock = Stock.objects.get(offer=offer, warehouse=sby)
    assert stock.on_hand == 6
    assert not Stock.objects.filter(offer=other).exists()
    assert OutboxEvent.objects.filter(topic="stock.changed").count() == 1
    assert_ledger_matches(Stock.objects.all())


@pytest.mark.django_db
def test_bulk_set_with_a_bad_row_changes_nothing_and_names_each_row():
    offer = OfferFactory(sku="A-1")
    WarehouseFactory(supplier=offer.supplier, code="JKT1")
    foreign = OfferFactory(sku="X-9")  # another supplier's SKU is unknown here
    before = snapshot(list(Stock.objects.all()))
    with pytest.raises(StockRowsInvalid) as exc:
        services.stock_bulk_set(supplier=offer.supplier, rows=[
            {"sku": "A-1", "warehouse": "JKT1", "on_hand": 3},
            {"sku": "nope", "warehouse": "JKT1", "on_hand": 1},
            {"sku": "A-1", "warehouse": "XXX", "on_hand": 1},
            {"sku": "A-1", "warehouse": "JKT1", "on_hand": -1},
            {"sku": "A-1", "warehouse": "JKT1", "on_hand": "7"},
            {"sku": "A-1", "warehouse": "JKT1", "on_hand": 4},
            {"sku": foreign.sku, "warehouse": "JKT1", "on_hand": 1},
        ])
    codes = {(e["field"], e["code"]) for e in exc.value.errors}
    assert codes == {("rows.1.sku", "unknown_sku"), ("rows.2.warehouse", "unknown_warehouse"),
                     ("rows.3.on_hand", "negative"), ("rows.4.on_hand", "invalid_integer"),
                     ("rows.5", "duplicate_row"), ("rows.6.sku", "unknown_sku")}
    assert snapshot(list(Stock.objects.all())) == before
    assert not Stock.objects.filter(offer=offer).exists()


@pytest.mark.django_db
def test_bulk_set_refuses_below_reserved():
    stock = StockFactory(on_hand=5, reserved=4)
    with pytest.raises(StockRowsInvalid) as exc:
        services.stock_bulk_set(supplier=stock.offer.supplier, rows=[
            {"sku": stock.offer.sku, "warehouse": stock.warehouse.code, "on_hand": 3}])
    assert exc.value.errors[0]["code"] == "insufficient_stock"
    stock.refresh_from_db()
    assert stock.on_hand == 5
