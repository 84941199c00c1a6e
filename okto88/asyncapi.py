"""The event contract as an AsyncAPI 3.0.0 document, generated from the registry (okto88.events).

Served at /api/v1/events/asyncapi.json (partners/api_feed.py). A pure function of the topics:
one channel per topic partners may receive (a topic with an audience; the platform's own never
leave it), addressed by the topic's name, with one message per topic version whose payload is
the webhook body: the topic's JSON Schema under `data`. Two ways reach a partner, both described
here: okto88 sends each event to the partner's webhook endpoint (signed, Standard Webhooks), and
the partner may read the same events from the events feed (GET /api/v1/events/).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from okto88.events import EventTopic, audience_text

ASYNCAPI_VERSION = "3.0.0"
# The payload schemas use only keywords that mean the same in JSON Schema draft-07 and 2020-12
# (tests/platform/test_asyncapi.py holds them to it), so the document declares draft-07, the
# JSON Schema format every AsyncAPI 3 tool must read; the registry's own dialect is 2020-12.
PAYLOAD_SCHEMA_FORMAT = "application/schema+json;version=draft-07"
CONTRACT_VERSION = "1.0.0"

_WEBHOOK_HEADERS = {
    "type": "object",
    "required": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "properties": {
        "webhook-id": {"type": "string", "description": "The message's id: the same on every retry and replay of "
                                                        "one delivery. Deduplicate on it."},
        "webhook-timestamp": {"type": "string", "pattern": "^[0-9]+$",
                              "description": "When the attempt was signed, in Unix seconds. Refuse a message more "
                                             "than five minutes away from your clock (replays)."},
        "webhook-signature": {"type": "string",
                              "description": "Space-separated `v1,<base64 HMAC-SHA256>` signatures of "
                                             "`<webhook-id>.<webhook-timestamp>.<body>` with the endpoint's secret "
                                             "(the bytes after `whsec_`, base64-decoded); two during a secret "
                                             "rotation's overlap. Accept the message if any one verifies."},
    },
}


def _message_key(topic: EventTopic) -> str:
    return f"{topic.name}.v{topic.version}"


def webhook_body_schema(topic: EventTopic) -> dict[str, Any]:
    """The body okto88 POSTs to a webhook endpoint for one event of `topic` (Standard Webhooks'
    payload structure, built by partners.services.deliveries.delivery_body): the topic's payload
    under `data`. The events feed carries the same payload as each item's `payload`."""
    data = {key: value for key, value in topic.schema.items() if key != "$schema"}
    return {
        "type": "object",
        "title": f"{topic.name} v{topic.version} webhook body",
        "required": ["type", "timestamp", "data", "event_id", "schema_version"],
        "additionalProperties": False,
        "properties": {
            "type": {"const": topic.name, "description": "The event type."},
            "timestamp": {"type": "string", "format": "date-time",
                          "description": "When the event happened (UTC, ISO 8601)."},
            "data": data,
            "event_id": {"type": "integer", "description": "The event's id, the same for every endpoint that "
                                                           "receives it and in the events feed."},
            "schema_version": {"const": topic.version, "description": "The version of `data`'s shape."},
        },
    }


def _payload_schema(topic: EventTopic) -> dict[str, Any]:
    return {"schemaFormat": PAYLOAD_SCHEMA_FORMAT, "schema": webhook_body_schema(topic)}


def _description(topic: EventTopic) -> str:
    parts = [topic.summary, f"Audience: {audience_text(topic.audience)}."]
    if topic.batch_of:
        parts.append(f"Each item is exactly a `{topic.batch_of}` payload.")
    if topic.notes:
        parts.append(topic.notes)
    return "\n\n".join(parts)


def asyncapi_document(*, topics: Iterable[EventTopic]) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of `topics` that partners may receive (those with an
    audience), in name order."""
    shown = sorted((t for t in topics if t.audience is not None), key=lambda t: t.name)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in shown:
        key = _message_key(topic)
        messages[key] = {
            "name": topic.name,
            "title": f"{topic.name} v{topic.version}",
            "summary": topic.summary,
            "description": _description(topic),
            "contentType": "application/json",
            "payload": _payload_schema(topic),
            "traits": [{"$ref": "#/components/messageTraits/webhook"}],
            "x-okto88-schema-version": topic.version,
            "x-okto88-aggregate-type": topic.aggregate_type,
            "x-okto88-audience": {"scope": topic.audience.scope, "supplier_field": topic.audience.supplier_field,
                                  "workshop_field": topic.audience.workshop_field},
        }
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "summary": topic.summary,
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
        }
        operations[f"{topic.name}.send"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{topic.name}"},
            "title": f"Send {topic.name}",
            "summary": f"okto88 sends each {topic.name} event to the endpoints subscribed to it.",
            "traits": [{"$ref": "#/components/operationTraits/webhook"}],
            "messages": [{"$ref": f"#/channels/{topic.name}/messages/{key}"}],
        }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "okto88 events",
            "version": CONTRACT_VERSION,
            "description": (
                "The events okto88 publishes to partners, one channel per event type (the channel's address is "
                "the type). Each message is the body of a webhook request, whose `data` is the event's "
                "payload (the events feed's item `payload`); a change of shape is a new "
                "version of the type (the message's title and `x-okto88-schema-version`). An API client "
                "receives a type's events if one of its live keys holds the type's audience scope and, for a "
                "supplier's or a workshop's type, only the events whose payload names the supplier or "
                "workshop the client is bound to.\n\n"
                "Two ways to receive them: a webhook endpoint (`/api/v1/webhooks/endpoints/`), to which "
                "okto88 POSTs each event signed by the Standard Webhooks scheme (server `webhook`), or the "
                "events feed `GET /api/v1/events/?after=<cursor>&type=<type>,…` (server `feed`), which "
                "returns the same events in publication order, kept 30 days, each with `id`, `type`, "
                "`schema_version`, `aggregate_type`, `aggregate_id`, `payload`, `created_at` and "
                "`position`. The catalogue with every field: docs/events.md."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "webhook": {
                "host": "partner.example",
                "protocol": "https",
                "title": "Your webhook endpoint",
                "description": (
                    "The URL of a webhook endpoint you register (https, a public address). okto88 POSTs one "
                    "event per request with the headers `webhook-id`, `webhook-timestamp` and "
                    "`webhook-signature` (Standard Webhooks); answer 2xx within 15 seconds. Timeouts, 429 "
                    "and 5xx are retried (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, "
                    "honouring Retry-After); 410 disables the endpoint."
                ),
            },
            "feed": {
                "host": "okto88.id",
                "pathname": "/api/v1/events/",
                "protocol": "https",
                "title": "The events feed",
                "description": (
                    "`GET /api/v1/events/?after=<cursor>&type=<type>,…&limit=` with `Authorization: Api-Key "
                    "<key>`: `{data, next_cursor, has_more}`. Page with `next_cursor` until `has_more` is "
                    "false, then poll with it. The same events as the webhooks, by the same rule."
                ),
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "messageTraits": {
                "webhook": {
                    "headers": _WEBHOOK_HEADERS,
                    "description": "As a webhook: these HTTP headers sign the body. In the events feed the "
                                   "body's `data` comes as the item's `payload`, unsigned (the feed is read over "
                                   "the authenticated API).",
                },
            },
            "operationTraits": {
                "webhook": {
                    "bindings": {"http": {"method": "POST", "bindingVersion": "0.3.0"}},
                },
            },
        },
    }
