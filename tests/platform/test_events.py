"""The event contract: the registry, its schemas and the outbox's use of it."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils.module_loading import import_string

from okto88 import events, services
from okto88.errors import InvalidEventPayload, UnknownEventTopic
from okto88.services import outbox_consumers_for


def test_each_topics_consumers_are_those_the_outbox_hands_it_to(settings):
    registry = events.event_topics()
    assert set(settings.OUTBOX_CONSUMERS) <= set(registry), "OUTBOX_CONSUMERS names a topic the contract lacks"
    for name, topic in registry.items():
        assert list(topic.consumers) == outbox_consumers_for(topic=name), name


def test_each_topic_names_its_builder_and_a_valid_schema():
    from jsonschema import Draft202012Validator

    for name, topic in events.event_topics().items():
        assert callable(import_string(topic.builder)), name
        Draft202012Validator.check_schema(topic.schema)
        assert topic.schema["additionalProperties"] is False
        assert all(field.get("description") for field in topic.payload.values()), name


def test_a_batch_topics_items_are_exactly_the_single_topics_payloads():
    registry = events.event_topics()
    batches = [topic for topic in registry.values() if topic.batch_of]
    assert {t.name for t in batches} == {"stock.changed_batch", "offer.price_changed_batch"}
    for batch in batches:
        (items,) = [f for f in batch.payload.values() if f["type"] == "array"]
        assert items["items"] == registry[batch.batch_of].item_schema()


def test_payload_errors_name_what_is_wrong():
    from suppliers.events import stock_changed_payload

    good = stock_changed_payload(stock_id=1, offer_id=2, supplier_id=4, warehouse_id=3, on_hand=5, reserved=2)
    assert events.event_payload_errors(topic="stock.changed", payload=good, version=2) == []
    assert good["available"] == 3
    assert events.event_payload_errors(topic="stock.changed", payload=good, version=1) == [
        "stock.changed is at version 2, the event says 1"]
    assert events.event_payload_errors(topic="stock.changed", payload={**good, "extra": 1})
    (missing,) = events.event_payload_errors(topic="stock.changed", payload={k: v for k, v in good.items()
                                                                             if k != "stock"})
    assert "'stock' is a required property" in missing
    assert events.event_payload_errors(topic="no.such_topic", payload={})
    with pytest.raises(InvalidEventPayload):
        events.event_payload_validate(topic="stock.changed", payload={**good, "on_hand": "5"})


@pytest.mark.django_db
def test_the_outbox_refuses_a_topic_outside_the_contract_and_records_the_version_of_the_others():
    with transaction.atomic():
        with pytest.raises(UnknownEventTopic), transaction.atomic():
            services.outbox_event_write(topic="stock.moved", aggregate_type="stock", aggregate_id=1, payload={})
        event = services.outbox_event_write(topic="payment.voided", aggregate_type="payment", aggregate_id=1,
                                            payload={"reference": "OK-1", "intent_id": 1, "amount": 10,
                                                     "status": "voided", "method": "qris"})
    assert event.schema_version == events.event_topic("payment.voided").version == 1
    assert services._event_message(event)["schema_version"] == "1"
