"""The catalog's events: one payload builder per topic, used by catalog.services (single
changes) and catalog.imports (the bulk import) alike, and the topics' contract."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from catalog.models import Part, PartStatus
from okto88.events import Audience, EventTopic, closed_object, event_topics_register, id_list, nullable, prop

AGGREGATE_TYPE = "part"
# What changed a part: a single change (admin, API, a service call) or the bulk import.
SOURCE_SERVICE, SOURCE_IMPORT = "service", "import"

PART_FIELDS = ("id", "brand_id", "number", "number_key", "category_id", "name_id", "name_en", "status",
               "superseded_by_id", "version")


def part_fields(part: Part | Mapping[str, Any]) -> dict[str, Any]:
    """The part's own fields every part event carries, from a Part or from its values."""
    if isinstance(part, Mapping):
        return {name: part[name] for name in PART_FIELDS}
    return {name: getattr(part, name) for name in PART_FIELDS}


def _origin(source: str, actor_id: int | None) -> dict[str, Any]:
    return {"source": source, "actor_id": actor_id}


def part_created_payload(*, part: Part | Mapping[str, Any], source: str = SOURCE_SERVICE,
                         actor_id: int | None = None) -> dict[str, Any]:
    return {**part_fields(part), **_origin(source, actor_id)}


def part_updated_payload(*, part: Part | Mapping[str, Any], changed: Iterable[str], source: str = SOURCE_SERVICE,
                         actor_id: int | None = None, cross_reference: Mapping[str, Any] | None = None,
                         cross_reference_removed: Mapping[str, Any] | None = None,
                         cross_reference_ids: Iterable[int] = ()) -> dict[str, Any]:
    return {**part_fields(part), "changed": sorted(changed),
            "cross_reference": dict(cross_reference) if cross_reference is not None else None,
            "cross_reference_removed": dict(cross_reference_removed) if cross_reference_removed is not None else None,
            "cross_reference_ids": sorted(cross_reference_ids), **_origin(source, actor_id)}


def part_superseded_payload(*, part: Part | Mapping[str, Any], new_part_id: int, new_number: str,
                            changed: Iterable[str], source: str = SOURCE_SERVICE,
                            actor_id: int | None = None) -> dict[str, Any]:
    return {**part_fields(part), "new_part_id": new_part_id, "new_number": new_number, "changed": sorted(changed),
            **_origin(source, actor_id)}


def part_fitment_changed_payload(*, part: Part | Mapping[str, Any], variant_ids: Iterable[int],
                                 added_variant_ids: Iterable[int], changed_variant_ids: Iterable[int],
                                 removed_variant_ids: Iterable[int], source: str = SOURCE_SERVICE,
                                 actor_id: int | None = None) -> dict[str, Any]:
    return {**part_fields(part), "variant_ids": sorted(set(variant_ids)),
            "added_variant_ids": sorted(set(added_variant_ids)),
            "changed_variant_ids": sorted(set(changed_variant_ids)),
            "removed_variant_ids": sorted(set(removed_variant_ids)), **_origin(source, actor_id)}


# --- The contract -------------------------------------------------------------------------

_PART = {
    "id": prop("integer", "The part's id (also the event's aggregate_id)."),
    "brand_id": prop("integer", "Its brand's id."),
    "number": prop("string", "The part number as the brand writes it."),
    "number_key": prop("string", "The number normalised for matching (upper case, letters and digits only)."),
    "category_id": prop("integer", "Its category's id."),
    "name_id": prop("string", "Its name in Indonesian."),
    "name_en": prop("string", "Its name in English."),
    "status": prop("string", "Its status after the change.", enum=list(PartStatus.values)),
    "superseded_by_id": nullable("integer", "The part that replaces it, if it is superseded."),
    "version": prop("integer", "The part's version after the change (also the outbox row's version)."),
}
_ORIGIN = {
    "source": prop("string", "`service` for a single change (admin, API), `import` for the bulk import.",
                   enum=[SOURCE_SERVICE, SOURCE_IMPORT]),
    "actor_id": nullable("integer", "The user who ran the import; null for a single change."),
}
_CHANGED = prop("array", "The names of the fields that changed (`cross_references` for cross references).",
                items={"type": "string"})
_REFERENCE = {
    "brand_name": prop("string", "The interchangeable part's brand."),
    "number": prop("string", "Its number as written."),
    "number_key": prop("string", "Its number normalised for matching."),
}
_PRODUCER = "catalog.services, catalog.imports"

# Catalog changes: every partner that reads the catalog.
CATALOG_AUDIENCE = Audience(scope="catalog:read")

PART_CREATED = EventTopic(
    name="part.created", version=1,
    audience=CATALOG_AUDIENCE, aggregate_type=AGGREGATE_TYPE, producer=_PRODUCER,
    builder="catalog.events.part_created_payload",
    summary="A part was added to the catalog (one at a time or by the import).",
    payload={**_PART, **_ORIGIN},
)
PART_UPDATED = EventTopic(
    name="part.updated", version=1,
    audience=CATALOG_AUDIENCE, aggregate_type=AGGREGATE_TYPE, producer=_PRODUCER,
    builder="catalog.events.part_updated_payload",
    summary="A part's fields or its cross references changed.",
    payload={
        **_PART, "changed": _CHANGED,
        "cross_reference": {**closed_object({**_REFERENCE, "is_oe": prop("boolean", "An original-equipment number.")}),
                            "type": ["object", "null"],
                            "description": "The cross reference a single change added or changed; else null."},
        "cross_reference_removed": {**closed_object(_REFERENCE), "type": ["object", "null"],
                                    "description": "The cross reference a single change removed; else null."},
        "cross_reference_ids": id_list("The ids of the cross references added or changed (none if only removed)."),
        **_ORIGIN,
    },
)
PART_SUPERSEDED = EventTopic(
    name="part.superseded", version=1,
    audience=CATALOG_AUDIENCE, aggregate_type=AGGREGATE_TYPE, producer=_PRODUCER,
    builder="catalog.events.part_superseded_payload",
    summary="A part was replaced by another (its status is now `superseded`).",
    payload={
        **_PART,
        "new_part_id": prop("integer", "The part that replaces it."),
        "new_number": prop("string", "The replacing part's number."),
        "changed": _CHANGED,
        **_ORIGIN,
    },
)
PART_FITMENT_CHANGED = EventTopic(
    name="part.fitment_changed", version=1,
    audience=CATALOG_AUDIENCE, aggregate_type=AGGREGATE_TYPE, producer=_PRODUCER,
    builder="catalog.events.part_fitment_changed_payload",
    summary="The vehicles a part fits changed.",
    payload={
        **_PART,
        "variant_ids": id_list("Every vehicle variant the part fits after the change."),
        "added_variant_ids": id_list("Variants it now fits that it did not."),
        "changed_variant_ids": id_list("Variants whose quantity or note changed."),
        "removed_variant_ids": id_list("Variants it no longer fits (the import never removes fitment)."),
        **_ORIGIN,
    },
)

event_topics_register(PART_CREATED, PART_UPDATED, PART_SUPERSEDED, PART_FITMENT_CHANGED)
