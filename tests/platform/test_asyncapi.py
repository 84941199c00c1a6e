"""The AsyncAPI 3.0.0 document of the event contract (okto88/asyncapi.py), as far as its rules
can be checked without the network or a Node toolchain: its shape, every partner-visible topic
with a payload that is valid JSON Schema, every reference resolving."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from rest_framework.test import APIClient

from okto88.asyncapi import PAYLOAD_SCHEMA_FORMAT, asyncapi_document
from okto88.events import event_topics

# AsyncAPI 3.0.0: component keys (and so message keys) match this.
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")
# JSON Schema keywords that mean the same in draft-07 and 2020-12: the payloads use only these,
# so the document may declare draft-07 (what every AsyncAPI 3 tool reads).
SHARED_KEYWORDS = {"$id", "title", "description", "type", "properties", "required", "additionalProperties",
                   "items", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "minItems", "maxLength",
                   "pattern", "format", "minLength", "maxItems"}


@pytest.fixture(scope="module")
def document() -> dict:
    return asyncapi_document(topics=event_topics().values())


def refs(node, found=None) -> list[str]:
    found = [] if found is None else found
    if isinstance(node, dict):
        if "$ref" in node:
            found.append(node["$ref"])
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)
    return found


def resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve at {part!r}"
        node = node[part]
    return node


def schema_keywords(schema, found=None) -> set[str]:
    found = set() if found is None else found
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    schema_keywords(sub, found)
            elif key in {"items", "additionalProperties"} and isinstance(value, dict):
                schema_keywords(value, found)
    return found


def test_the_document_is_asyncapi_3_with_its_required_members(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and re.fullmatch(r"\d+\.\d+\.\d+", document["info"]["version"])
    assert document["defaultContentType"] == "application/json"
    for name, server in document["servers"].items():
        assert server["host"] and server["protocol"] == "https", name
    webhook = document["servers"]["webhook"]["description"]
    for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert header in webhook
    assert "/api/v1/events/" in document["servers"]["feed"]["pathname"]
    headers = document["components"]["messageTraits"]["webhook"]["headers"]
    assert headers["required"] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    Draft7Validator.check_schema(headers)


def test_every_topic_partners_may_receive_is_a_channel_and_no_other(document):
    registry = event_topics()
    partner_topics = {name for name, topic in registry.items() if topic.audience is not None}
    assert partner_topics and set(document["channels"]) == partner_topics
    assert not {"payment.settled", "shipment.delivered"} & set(document["channels"])  # platform only
    for name, channel in document["channels"].items():
        assert channel["address"] == name
        (message_ref,) = channel["messages"].values()
        message = resolve(document, message_ref["$ref"])
        topic = registry[name]
        assert (message["name"], message["title"]) == (name, f"{name} v{topic.version}")
        assert message["x-okto88-schema-version"] == topic.version
        assert message["x-okto88-audience"]["scope"] == topic.audience.scope


def test_every_message_is_the_webhook_body_with_the_topics_json_schema_as_its_data(document):
    registry = event_topics()
    for key, message in document["components"]["messages"].items():
        assert COMPONENT_KEY.match(key), key
        payload = message["payload"]
        assert payload["schemaFormat"] == PAYLOAD_SCHEMA_FORMAT
        schema = payload["schema"]
        Draft202012Validator.check_schema(schema)
        Draft7Validator.check_schema(schema)
        assert schema_keywords(schema) <= SHARED_KEYWORDS, (key, schema_keywords(schema) - SHARED_KEYWORDS)
        topic = registry[message["name"]]
        assert schema["properties"]["type"] == {"const": topic.name, "description": "The event type."}
        assert schema["properties"]["schema_version"]["const"] == topic.version
        assert {**schema["properties"]["data"], "$schema": topic.schema["$schema"]} == topic.schema


def test_a_real_payload_validates_against_its_message_and_a_wrong_one_does_not(document):
    from suppliers.events import stock_changed_payload

    (ref,) = document["channels"]["stock.changed"]["messages"].values()
    schema = resolve(document, ref["$ref"])["payload"]["schema"]["properties"]["data"]
    good = stock_changed_payload(stock_id=1, offer_id=2, supplier_id=3, warehouse_id=4, on_hand=5, reserved=1)
    assert list(Draft7Validator(schema).iter_errors(good)) == []
    assert list(Draft7Validator(schema).iter_errors({k: v for k, v in good.items() if k != "supplier"}))


def test_every_operation_sends_its_channels_message_and_every_reference_resolves(document):
    for name, operation in document["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        channel_ref = operation["channel"]["$ref"]
        resolve(document, channel_ref)
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), name  # AsyncAPI 3: the channel's own
    found = refs(document)
    assert len(found) >= 3 * len(document["channels"])
    for ref in found:
        resolve(document, ref)


def test_the_document_is_a_pure_function_of_the_topics():
    topics = list(event_topics().values())
    assert asyncapi_document(topics=topics) == asyncapi_document(topics=reversed(topics))
    assert asyncapi_document(topics=[])["channels"] == {}


@pytest.mark.django_db
def test_it_is_served_publicly_at_the_events_address(document):
    response = APIClient().get("/api/v1/events/asyncapi.json")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == document


@pytest.mark.django_db
def test_the_api_docs_point_to_it():
    schema = APIClient().get("/api/v1/schema/?format=json").json()
    assert "/api/v1/events/asyncapi.json" in schema["info"]["description"]
    assert "/api/v1/events/" in schema["paths"]
