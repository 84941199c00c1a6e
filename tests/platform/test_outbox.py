"""Outbox: published only after commit, in order, exactly once even with concurrent relays."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from okto88 import events, services
from okto88.models import OutboxEvent
from okto88.redis_connection import redis_client


@pytest.fixture(autouse=True)
def _test_topic():
    # outbox_events_write takes only the topics of the event contract: these tests write their own.
    events.event_topics_register(TEST_TOPIC)
    yield
    events.event_topic_unregister(name=TEST_TOPIC.name)


TEST_TOPIC = events.EventTopic(
    name="test.happened", version=1, aggregate_type="test", producer="tests.platform.test_outbox",
    summary="A test's event.", payload={"n": events.prop("integer", "The test's number.")},
)


@pytest.fixture
def stream(settings):
    settings.OUTBOX_STREAM = f"test:events:{uuid.uuid4().hex}"
    yield settings.OUTBOX_STREAM
    redis_client().delete(settings.OUTBOX_STREAM)


def published_ids(stream_name: str) -> list[int]:
    return [int(fields[b"id"]) for _, fields in redis_client().xrange(stream_name)]


def write_event(n: int = 0) -> OutboxEvent:
    with transaction.atomic():
        return services.outbox_event_write(
            topic="test.happened", aggregate_type="test", aggregate_id=n, payload={"n": n}
        )


@pytest.mark.django_db(transaction=True)
def test_an_event_written_in_a_rolled_back_transaction_is_never_published(stream):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        services.outbox_event_write(topic="test.happened", aggregate_type="test", aggregate_id=1, payload={})
        raise Boom

    assert services.outbox_relay() == 0
    assert OutboxEvent.objects.count() == 0
    assert published_ids(stream) == []


@pytest.mark.django_db(transaction=True)
def test_writing_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        services.outbox_event_write(topic="test.happened", aggregate_type="test", aggregate_id=1, payload={})


@pytest.mark.django_db(transaction=True)
def test_two_relays_at_the_same_time_publish_each_event_once_and_in_order(stream):
    events = [write_event(n) for n in range(60)]
    barrier = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def relay():
        try:
            barrier.wait()
            counts.append(services.outbox_relay(batch_size=7))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not errors
    # Whichever relay lost the race may have run after the winner finished: mop up, then count.
    services.outbox_relay()
    ids = published_ids(stream)
    assert ids == [e.pk for e in events]
    assert sum(counts) <= len(events)
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_second_relay_run_publishes_nothing_again(stream):
    event = write_event()
    assert services.outbox_relay() == 1
    assert services.outbox_relay() == 0
    assert published_ids(stream) == [event.pk]


@pytest.mark.django_db(transaction=True)
def test_a_failed_publish_keeps_the_event_and_everything_after_it(stream, settings):
    first, second = write_event(1), write_event(2)
    settings.OUTBOX_STREAM = "not-a-stream"
    redis_client().set("not-a-stream", "a string, so XADD fails")
    try:
        with pytest.raises(Exception, match="WRONGTYPE"):
            services.outbox_relay()
    finally:
        redis_client().delete("not-a-stream")
    first.refresh_from_db()
    assert first.published_at is None and first.publish_attempts == 1
    settings.OUTBOX_STREAM = stream
    assert services.outbox_relay() == 2
    assert published_ids(stream) == [first.pk, second.pk]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_worker_relays_an_event_after_commit(celery_worker):
    token = uuid.uuid4().hex
    with transaction.atomic():
        event = services.outbox_event_write(
            topic="test.happened", aggregate_type="test", aggregate_id=token, payload={"n": 0}
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        event.refresh_from_db()
        if event.published_at:
            break
        time.sleep(0.2)
    assert event.published_at is not None, celery_worker.log_text()[-3000:]
    # The worker publishes to the stream its own settings name.
    entries = redis_client().xrevrange(celery_worker.outbox_stream, count=500)
    assert [f[b"aggregate_id"] for _, f in entries].count(token.encode()) == 1


@pytest.mark.django_db
def test_large_writes_go_in_one_binary_insert_with_the_same_rows(monkeypatch, django_assert_num_queries):
    # Above OUTBOX_BINARY_INSERT_BYTES of payload the rows skip bulk_create's client-side quoting.
    monkeypatch.setattr(services, "OUTBOX_BINARY_INSERT_BYTES", 0)
    with transaction.atomic(), django_assert_num_queries(1):
        written = services.outbox_events_write(events=[
            services.NewOutboxEvent(topic="test.happened", aggregate_type="test", aggregate_id=n,
                                    payload={"n": n}, version=n + 1)
            for n in (3, 1, 2)])
    stored = list(OutboxEvent.objects.filter(pk__in=[e.pk for e in written]).order_by("pk"))
    assert [e.pk for e in written] == [e.pk for e in stored] == sorted(e.pk for e in written)
    assert [(e.aggregate_id, e.version, e.schema_version, e.payload, e.created_at) for e in stored] == [
        ("3", 4, 1, {"n": 3}, written[0].created_at), ("1", 2, 1, {"n": 1}, written[1].created_at),
        ("2", 3, 1, {"n": 2}, written[2].created_at)]
    assert all(not e._state.adding for e in written)


@pytest.mark.django_db(transaction=True)
def test_published_events_get_positions_in_publication_order_which_ids_do_not_promise(stream):
    """An event whose transaction took a smaller id but committed later is published later: its
    position comes after, so a reader following positions (the events feed) cannot skip it."""
    written, commit = threading.Event(), threading.Event()
    box: list[int] = []

    def slow_writer():
        try:
            with transaction.atomic():
                box.append(services.outbox_event_write(topic="test.happened", aggregate_type="test",
                                                       aggregate_id=1, payload={"n": 1}).pk)
                written.set()
                commit.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    written.wait(timeout=30)
    fast = write_event(2).pk
    assert services.outbox_relay() == 1  # only the committed one
    commit.set()
    thread.join()
    assert services.outbox_relay() == 1
    (slow,) = box
    positions = dict(OutboxEvent.objects.values_list("pk", "position"))
    assert slow < fast and positions[fast] < positions[slow]


@pytest.mark.django_db(transaction=True)
def test_batch_consumers_get_every_published_batch_and_a_failed_send_publishes_it_again(stream, settings,
                                                                                       monkeypatch):
    settings.OUTBOX_BATCH_CONSUMERS = ["test.batch_consumer"]
    sent: list[tuple[str, dict]] = []
    fail = {"now": True}

    def send_task(name, kwargs=None, **options):
        if fail["now"]:
            raise ConnectionError("broker down")
        sent.append((name, kwargs))

    monkeypatch.setattr(services.app, "send_task", send_task)
    written = [write_event(n).pk for n in range(3)]
    with pytest.raises(ConnectionError):
        services.outbox_relay(batch_size=10)
    assert not OutboxEvent.objects.filter(published_at__isnull=False).exists()
    fail["now"] = False
    assert services.outbox_relay(batch_size=2) == 3
    assert sent == [("test.batch_consumer", {"event_ids": written[:2]}),
                    ("test.batch_consumer", {"event_ids": written[2:]})]
    assert not OutboxEvent.objects.filter(position__isnull=True).exists()
