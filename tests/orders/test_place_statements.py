"""order_place's SQL statements for a typical order: two suppliers, three lines (issue 17: ≤ 20).

Counted in a transactional test, so that the statements are those production sends: BEGIN and
COMMIT of each transaction, every SAVEPOINT, the prepaid charge's own transaction after commit."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.models import OrderStatus
from suppliers.models import Stock, StockMovement
from tests.orders.factories import buyer_make, carriers_ensure, cheapest_shipping, offer_in_stock

MAX_STATEMENTS = 20
# A prepaid order's charge is a transaction of its own, committed before the intent is attached
# to the order in another (decision 0001: a cancel meanwhile always finds the intent to cancel it
# at the gateway): two BEGIN/COMMIT pairs more than one transaction would send.
MAX_STATEMENTS_PREPAID = 22


def typical_cart():
    """Two lines from one supplier's warehouse, one from another supplier."""
    buyer = buyer_make()
    first, first_stock = offer_in_stock(price=100_000)
    second, _ = offer_in_stock(price=50_000, warehouse=first_stock.warehouse)
    third, _ = offer_in_stock(price=70_000)
    for offer, quantity in ((first, 2), (second, 1), (third, 3)):
        services.cart_line_add(workshop=buyer.workshop, offer_id=offer.pk, quantity=quantity)
    return buyer, [first, second, third]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("method", "status", "most"), [("terms", OrderStatus.PAID, MAX_STATEMENTS),
                                                        ("virtual_account", OrderStatus.PENDING_PAYMENT,
                                                         MAX_STATEMENTS_PREPAID)])
def test_a_typical_placement_issues_at_most_20_statements(method, status, most):
    carriers_ensure()
    buyer, offers = typical_cart()
    shipping = cheapest_shipping(buyer=buyer)

    with CaptureQueriesContext(connection) as queries:
        order = services.order_place(workshop=buyer.workshop, actor=buyer.user, address=buyer.address,
                                     payment_method=method, shipping_choices=shipping,
                                     idempotency_key=uuid.uuid4().hex)

    statements = [q["sql"] for q in queries.captured_queries]
    listing = "\n".join(f"{n:3d} {sql[:160]}" for n, sql in enumerate(statements, start=1))
    assert len(statements) <= most, f"{len(statements)} statements:\n{listing}"
    # the placement did its work: split, reserved with the ledger, charged or paid
    order.refresh_from_db()
    assert order.status == status and order.payment_intent_id is not None
    assert order.supplier_orders.count() == 2
    assert sorted(Stock.objects.filter(offer__in=offers).values_list("reserved", flat=True)) == [1, 2, 3]
    assert StockMovement.objects.filter(reference=order.number, reason="reservation").count() == 3
    # its timeline: placed, then (terms) paid, in one INSERT in the placement's transaction
    timeline_inserts = [sql for sql in statements if sql.startswith('INSERT INTO "orders_orderevent"')]
    kinds = list(order.events.order_by("created_at", "id").values_list("kind", flat=True))
    assert kinds[0] == "placed"
    if method == "terms":
        assert kinds == ["placed", "status.paid"] and len(timeline_inserts) == 1


@pytest.mark.django_db(transaction=True)
def test_a_terms_placement_enqueues_its_first_step_once_after_commit(monkeypatch):
    from okto88.celery import app

    carriers_ensure()
    buyer, _offers = typical_cart()
    shipping = cheapest_shipping(buyer=buyer)
    sent = []

    def send_task(name, args=None, kwargs=None, **options):
        sent.append((name, kwargs, options))

    monkeypatch.setattr(app, "send_task", send_task)

    order = services.order_place(workshop=buyer.workshop, actor=buyer.user, address=buyer.address,
                                 payment_method="terms", shipping_choices=shipping, idempotency_key=uuid.uuid4().hex)

    steps = [sent_task for sent_task in sent if sent_task[0].startswith("orders.")]
    assert [(name, kwargs) for name, kwargs, _ in steps] == [
        ("orders.step_open_for_acceptance", {"order_id": order.pk})]
    assert not steps[0][2].get("chain")  # one step: nothing chained after it


@pytest.mark.django_db(transaction=True)
def test_order_events_batched_writes_the_blocks_events_in_one_insert_in_order():
    from django.db import transaction

    from orders.timeline import order_event_write, order_events_batched
    from tests.orders.factories import order_row_make

    order = order_row_make()
    before = order.events.count()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, order_events_batched():
        first = order_event_write(order=order, kind="placed", message="one")
        with order_events_batched():  # a nested block adds to the outer one
            order_event_write(order=order, kind="status.paid", step="order_place")
        assert first.pk is None and order.events.count() == before  # nothing written yet
    assert first.pk is not None
    assert len([q for q in queries.captured_queries if "orders_orderevent" in q["sql"]]) == 2  # the INSERT, the count
    events = list(order.events.order_by("created_at", "id"))[before:]
    assert [(e.kind, e.message, e.step) for e in events] == [("placed", "one", ""), ("status.paid", "", "order_place")]

    with pytest.raises(RuntimeError), transaction.atomic(), order_events_batched():
        order_event_write(order=order, kind="placed")
        raise RuntimeError("the caller failed")
    assert order.events.count() == before + 2


@pytest.mark.django_db(transaction=True)
def test_the_workshop_and_its_cart_are_locked_fresh_in_one_statement():
    from django.db import transaction

    from orders.lock_objects import workshop_cart_lock
    from orders.models import Cart
    from workshops.models import Workshop

    buyer = buyer_make()
    cart, _ = Cart.objects.get_or_create(workshop=buyer.workshop)
    Workshop.objects.filter(pk=buyer.workshop.pk).update(credit_limit=123_456, name="Bengkel Baru")

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        workshop, locked_cart = workshop_cart_lock(workshop_id=buyer.workshop.pk)

    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert sql.endswith('FOR UPDATE OF workshops_workshop, orders_cart')
    assert (workshop.pk, workshop.credit_limit, workshop.name) == (buyer.workshop.pk, 123_456, "Bengkel Baru")
    assert locked_cart.pk == cart.pk and not workshop._state.adding and workshop._state.db == "default"
    assert workshop.cart is locked_cart and locked_cart.workshop is workshop  # as select_related left them


@pytest.mark.django_db
def test_the_credit_check_has_an_index_of_its_own():
    """The credit check (placement._credit_exposure) reads the workshop's terms orders by status and
    their two amounts: `order_workshop_terms` holds exactly those, so it is read whatever the
    statistics say (without them the planner read every open order's entry of `order_status_age`)."""
    from orders.services.placement import _CREDIT_EXPOSURE_SQL

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'order_workshop_terms'")
        (definition,) = cursor.fetchone()
    assert definition.endswith("USING btree (workshop_id, status) INCLUDE (grand_total, refunded_total)"
                               " WHERE ((payment_method)::text = 'terms'::text)"), definition
    assert "WHERE workshop_id = %s AND payment_method = %s AND status = ANY(%s)" in _CREDIT_EXPOSURE_SQL
