"""The event contract: every outbox topic with its version, JSON Schema, producer and consumers.

Partners read the outbox's events, so each topic is a published contract. The app that emits
a topic declares it in its own `events.py`, next to the one function that builds its payload,
and registers it here. okto88 imports no app: the registry loads the apps' `events` modules
the first time it is asked. A change of a topic's shape is a new version, never a silent edit.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule

from okto88.errors import InvalidEventPayload, UnknownEventTopic

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Every event also goes to the Redis stream settings.OUTBOX_STREAM (inside the platform); the
# topics with an audience go to partners too, by webhook and in the events feed (partners/).
STREAM_CONSUMER = "the Redis stream `OUTBOX_STREAM`"
PARTNER_CONSUMER = "partners (webhooks and the events feed, within the audience)"


# --- Building schemas ---------------------------------------------------------------------

def prop(type_: str | list[str], description: str, **extra: Any) -> dict[str, Any]:
    """A payload field's schema: a JSON type (or types) and what the field means."""
    return {"type": type_, "description": description, **extra}


def nullable(type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return prop([type_, "null"], description, **extra)


def id_list(description: str) -> dict[str, Any]:
    return prop("array", description, items={"type": "integer"})


def closed_object(properties: dict[str, dict[str, Any]], description: str = "") -> dict[str, Any]:
    """An object with exactly these fields, all present (a value may be null where its schema says)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": list(properties),
                              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


@dataclass(frozen=True)
class Audience:
    """Which partners may see a topic's events, by webhook or in the events feed (partners.selectors).

    A partner's API client must hold `scope` on a live key. Then a topic with neither field is
    seen by every such client (catalog changes); otherwise an event is seen by the client bound
    to the supplier whose id is in the payload's `supplier_field`, or to the workshop whose id
    is in its `workshop_field`. A topic without an audience is the platform's own (payments and
    shipments, which the order events already tell partners about)."""

    scope: str
    supplier_field: str = ""
    workshop_field: str = ""

    @property
    def everyone(self) -> bool:
        return not (self.supplier_field or self.workshop_field)


@dataclass(frozen=True)
class EventTopic:
    """One topic of the contract. `payload` maps each top-level field to its schema (with a
    description); every field is present in every event of the topic."""

    name: str
    version: int
    summary: str
    producer: str  # the module and function(s) that write it
    aggregate_type: str  # what the outbox row's aggregate_id names
    payload: dict[str, dict[str, Any]]
    consumers: tuple[str, ...] = ()  # the Celery tasks settings.OUTBOX_CONSUMERS hands it to
    batch_of: str = ""  # a batch topic: the topic whose payloads its items are
    notes: str = ""
    audience: Audience | None = None  # None: the platform's own, never sent to partners
    builder: str = field(default="", compare=False)  # the payload builder, for the documentation

    @property
    def schema(self) -> dict[str, Any]:
        return {"$schema": JSON_SCHEMA_DIALECT, "$id": f"urn:okto88:event:{self.name}:v{self.version}",
                "title": f"{self.name} v{self.version}", **closed_object(self.payload, self.summary)}

    def item_schema(self) -> dict[str, Any]:
        """The payload's schema without the document keywords, to nest in a batch topic."""
        return closed_object(self.payload, f"A `{self.name}` v{self.version} payload.")


# --- The registry -------------------------------------------------------------------------

_topics: dict[str, EventTopic] = {}
_lock = threading.Lock()
_loaded = False


def event_topics_register(*topics: EventTopic) -> None:
    """Called by each app's events module at import. Registering the same topic twice with
    another definition is a programming error."""
    with _lock:
        for topic in topics:
            known = _topics.get(topic.name)
            if known is not None and known != topic:
                raise RuntimeError(f"event topic {topic.name} is registered twice with different definitions")
            _topics[topic.name] = topic


def event_topic_unregister(*, name: str) -> None:
    """For tests that register a topic of their own."""
    with _lock:
        _topics.pop(name, None)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    base = Path(settings.BASE_DIR).resolve()
    for config in apps.get_app_configs():
        # Only the project's own apps (packages at the project's root) declare topics.
        if Path(config.path).resolve().parent == base and module_has_submodule(config.module, "events"):
            importlib.import_module(f"{config.name}.events")
    _loaded = True


def event_topics() -> dict[str, EventTopic]:
    """Every registered topic by name, sorted by name."""
    _load()
    return dict(sorted(_topics.items()))


def event_topic(name: str) -> EventTopic:
    _load()
    try:
        return _topics[name]
    except KeyError:
        raise UnknownEventTopic(f"No event topic {name!r} is registered.", extra={"topic": name}) from None


_validators: dict[str, tuple[EventTopic, Any]] = {}


def event_payload_errors(*, topic: str, payload: Any, version: int | None = None) -> list[str]:
    """What is wrong with `payload` as an event of `topic` (at `version`, if given): [] if nothing."""
    from jsonschema import Draft202012Validator  # only the tests and checks validate, not the write path

    try:
        definition = event_topic(topic)
    except UnknownEventTopic as exc:
        return [str(exc)]
    if version is not None and version != definition.version:
        return [f"{topic} is at version {definition.version}, the event says {version}"]
    cached = _validators.get(topic)
    if cached is None or cached[0] is not definition:
        cached = _validators[topic] = (definition, Draft202012Validator(definition.schema))
    validator = cached[1]
    return [f"{'/'.join(map(str, error.absolute_path)) or '(payload)'}: {error.message}"
            for error in validator.iter_errors(payload)]


def event_payload_validate(*, topic: str, payload: Any, version: int | None = None) -> None:
    errors = event_payload_errors(topic=topic, payload=payload, version=version)
    if errors:
        raise InvalidEventPayload(f"{topic}: {'; '.join(errors[:5])}", extra={"topic": topic, "errors": errors[:20]})


# --- The document -------------------------------------------------------------------------

def _type_text(schema: dict[str, Any]) -> str:
    types = schema.get("type", "object")
    types = [types] if isinstance(types, str) else list(types)
    main = [t for t in types if t != "null"]
    text = " or ".join(main)
    if "array" in main and "items" in schema:
        items = schema["items"]
        text = f"array of {items.get('type', 'object')}" if items.get("type") != "object" else "array of object"
    if "enum" in schema:
        text += " (" + ", ".join(f"`{v}`" for v in schema["enum"] if v is not None) + ")"
    if "const" in schema:
        text += f" (always `{schema['const']}`)"
    if "null" in types:
        text += " or null"
    return text


def audience_text(audience: Audience | None) -> str:
    """Who may see a topic's events, in words: the scope and the field that scopes them."""
    if audience is None:
        return "platform only"
    text = f"`{audience.scope}`"
    bound = [f"the supplier in `{audience.supplier_field}`" if audience.supplier_field else "",
             f"the workshop in `{audience.workshop_field}`" if audience.workshop_field else ""]
    bound = [b for b in bound if b]
    return text + (", " + " or ".join(bound) if bound else ", every client")


def _code_list(names: str) -> str:
    return ", ".join(f"`{name.strip()}`" for name in names.split(","))


def events_markdown(topics: Iterable[EventTopic] | None = None) -> str:
    """docs/events.md, generated from the registry (`manage.py events_doc`)."""
    topics = list(topics if topics is not None else event_topics().values())
    lines = [
        "# Events",
        "",
        "<!-- Generated by `manage.py events_doc` from the payload builders' registry (okto88/events.py",
        "     and each app's events.py); tests/platform/test_events_doc.py checks it. -->",
        "",
        "Every change partners may follow is written to the transactional outbox in the transaction of",
        "the change and published after commit, at least once and in order, to the Redis stream",
        "`OUTBOX_STREAM` and to the Celery tasks that `OUTBOX_CONSUMERS` names. Each message",
        "carries `id` (deduplicate on it), `topic`, `schema_version` (the payload's shape, below),",
        "`aggregate_type`, `aggregate_id`, `version` (the aggregate's own version where it has one,",
        "else 1), `payload` (JSON), `created_at` and `request_id`. Publishing gives each event its",
        "`position`: the order of publication, which the events feed pages by.",
        "",
        "Partners receive a topic's events by signed webhook (`/api/v1/webhooks/endpoints/`) or read",
        "them from the events feed (`GET /api/v1/events/?after=<cursor>&type=<topic>,…`, 30 days kept),",
        "both under one rule (`partners/selectors.py`): each topic's **audience** says which API",
        "clients see it, the scope one of the client's live keys must hold and, for a supplier's or a",
        "workshop's topic, the payload field that must name the supplier or workshop the client is",
        "bound to (a supplier's ERP sees its own stock and offers, a workshop's system its own orders,",
        "any client with `catalog:read` the catalog). \"Platform only\" topics (payments, shipments) never",
        "leave the platform; the order events tell partners about them. The same contract is published",
        "as an AsyncAPI 3.0 document at `/api/v1/events/asyncapi.json` (generated from this registry by",
        "`okto88/asyncapi.py`; see [asyncapi.md](asyncapi.md)).",
        "",
        "Each topic is a contract: one payload builder in its app's `events.py` writes every event of",
        "the topic, whichever path emits it, and every field listed is present in every event (null",
        "where the table says so). A change of shape is a new version of the topic, never a silent",
        "edit. Events written before this contract carry no `schema_version`.",
        "",
        "Bulk paths: the catalog import writes the same per-part events as a single edit. A supplier",
        "feed import writes the batch topics (`stock.changed_batch`, `offer.price_changed_batch`),",
        "whose items are exactly the single-change payloads; partners following stock or prices",
        "read both the single topic and its batch topic.",
        "",
        "| Topic | Version | Audience | Producer | Consumers |",
        "|---|---|---|---|---|",
    ]
    for t in topics:
        consumers = ", ".join([*(["partners"] if t.audience else []), *(f"`{c}`" for c in t.consumers)]) or "—"
        lines.append(f"| `{t.name}` | {t.version} | {audience_text(t.audience)} | {_code_list(t.producer)} "
                     f"| {consumers} |")
    for t in topics:
        lines += ["", f"## `{t.name}` (version {t.version})", "", t.summary, ""]
        built = f"; payload built by `{t.builder}`" if t.builder else ""
        lines.append(f"- Producer: {_code_list(t.producer)}{built}")
        lines.append(f"- Aggregate: `{t.aggregate_type}`")
        lines.append(f"- Audience: {audience_text(t.audience)}")
        lines.append("- Consumers: " + ", ".join([*([PARTNER_CONSUMER] if t.audience else []), STREAM_CONSUMER,
                                                  *(f"`{c}`" for c in t.consumers)]))
        if t.batch_of:
            lines.append(f"- Batch of: `{t.batch_of}` (each item is exactly a `{t.batch_of}` payload)")
        if t.notes:
            lines += ["", t.notes]
        lines += ["", "| Field | Type | Meaning |", "|---|---|---|"]
        for name, schema in t.payload.items():
            meaning = schema.get("description", "").replace("|", "\\|")
            lines.append(f"| `{name}` | {_type_text(schema)} | {meaning} |")
    return "\n".join(lines) + "\n"
