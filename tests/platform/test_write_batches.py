"""okto88.write_batches.rows_insert writes what QuerySet.bulk_create writes, in one statement."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models.functions import Now
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from okto88 import events
from okto88.models import OutboxEvent
from okto88.write_batches import _INSERT_SQL, ROWS_INSERT_MAX, rows_insert
from orders.models import SupplierOrder
from tests.orders.factories import order_row_make
from tests.suppliers.factories import WarehouseFactory

pytestmark = pytest.mark.django_db

TOPIC = events.EventTopic(
    name="test.rows_inserted", version=1, aggregate_type="test", producer="tests.platform.test_write_batches",
    summary="A test's row.", payload={"n": events.prop("integer", "The test's number.")},
)


@pytest.fixture(autouse=True)
def _test_topic():
    events.event_topics_register(TOPIC)
    yield
    events.event_topic_unregister(name=TOPIC.name)


def _events(tag: str) -> list[OutboxEvent]:
    return [OutboxEvent(topic=TOPIC.name, aggregate_type="test", aggregate_id=f"{tag}{n}", schema_version=1,
                        payload={"n": n}, request_id="r-1") for n in range(3)]


def _row(obj, *, without=("id", "created_at", "updated_at", "order", "number", "aggregate_id")) -> dict:
    return {k: v for k, v in model_to_dict(obj, fields=[f.name for f in type(obj)._meta.concrete_fields]).items()
            if k not in without}


def test_the_rows_and_the_instances_are_those_bulk_create_gives():
    with transaction.atomic():
        ours = rows_insert(_events("a"))
        theirs = OutboxEvent.objects.bulk_create(_events("b"))
    for mine, other in zip(ours, theirs, strict=True):
        assert mine.pk is not None and mine.pk != other.pk
        assert not mine._state.adding and mine._state.db == "default"
        assert mine.created_at is not None
        stored = OutboxEvent.objects.get(pk=mine.pk)
        assert _row(stored) == _row(OutboxEvent.objects.get(pk=other.pk))
        assert _row(stored) == _row(mine)
        assert stored.created_at == mine.created_at
    assert [e.aggregate_id for e in OutboxEvent.objects.filter(pk__in=[e.pk for e in ours])] == ["a0", "a1", "a2"]


def test_one_statement_whatever_the_number_of_rows():
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        rows_insert(_events("c"))
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]


def test_database_default_columns_are_read_back_and_foreign_keys_taken_from_the_related_instance():
    order, warehouse = order_row_make(), WarehouseFactory()
    new = SupplierOrder(order=order, supplier=warehouse.supplier, warehouse=warehouse, number=f"{order.number}-1",
                        subtotal=1, shipping_cost=2, carrier_code="jne", service_level="REG", weight_g=3)
    with transaction.atomic():
        (written,) = rows_insert([new])
    assert written is new and new.order_id == order.pk
    stored = SupplierOrder.objects.get(pk=new.pk)
    assert (stored.parcel_count, stored.rejection_reason, stored.updated_at) == (1, "", new.updated_at)


def test_what_it_does_not_write_itself_goes_to_bulk_create():
    events = _events("d")
    events[0].pk = 10**12  # a pk already set
    with transaction.atomic():
        assert rows_insert(events) == events
    assert OutboxEvent.objects.filter(pk=10**12).exists()
    assert all(e.pk and not e._state.adding for e in events)
    new = _events("e")
    new[1].created_at = Now()  # an expression: the compiler's job
    with transaction.atomic():
        rows_insert(new)
    assert OutboxEvent.objects.filter(pk__in=[e.pk for e in new]).count() == 3


def test_a_batch_above_the_bound_goes_to_bulk_create_and_builds_no_statement_of_its_own():
    many = [e for tag in "fghijklmnopqrstu" for e in _events(tag)][:ROWS_INSERT_MAX + 5]
    with transaction.atomic():
        assert rows_insert(many) == many
    assert OutboxEvent.objects.filter(pk__in=[e.pk for e in many]).count() == ROWS_INSERT_MAX + 5
    assert all(count <= ROWS_INSERT_MAX for _model, count in _INSERT_SQL)
