"""The body a webhook endpoint receives is the one the AsyncAPI document describes for its topic
(okto88.asyncapi.webhook_body_schema), so the published contract and the sender cannot drift."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft7Validator

from okto88 import services as platform_services
from okto88.asyncapi import webhook_body_schema
from okto88.events import event_topic
from partners.models import WebhookDelivery
from partners.services import deliveries
from tests.partners.deliveries_support import webhook_settings_apply
from tests.partners.factories import supplier_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    webhook_settings_apply(settings)  # no endpoints cached from another test


def test_a_delivered_body_validates_against_its_topics_message_and_a_test_message_does_not_pretend_to_be_one():
    endpoint, _secret = supplier_endpoint(url="http://127.0.0.1:9/hook")
    supplier = endpoint.api_client.supplier_access.supplier_id
    event = platform_services.outbox_event_write(
        topic="offer.price_changed", aggregate_type="offer", aggregate_id=1,
        payload={"offer": 1, "part": 2, "sku": "S", "old_price": 10, "price": 12, "supplier": supplier})
    deliveries.webhooks_fanout(event_ids=[event.pk])
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event=event)
    body = json.loads(deliveries.delivery_body(delivery=delivery, event=event))
    validator = Draft7Validator(webhook_body_schema(event_topic("offer.price_changed")))
    assert list(validator.iter_errors(body)) == []
    assert list(validator.iter_errors({**body, "data": {**body["data"], "price": "12"}}))
    test_message = deliveries.delivery_test_create(endpoint=endpoint)
    test_body = json.loads(deliveries.delivery_body(delivery=test_message, event=None))
    assert list(validator.iter_errors(test_body))
