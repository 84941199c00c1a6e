"""Catalog writes: parts, supersession, cross references, fitment and the search document.

Every change to a part runs in one transaction that bumps `Part.version` and writes an
outbox event (`part.created`, `part.updated`, `part.superseded`, `part.fitment_changed`)
with that version, so consumers (supplier offers, search caches) can order and
deduplicate what they receive.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from catalog import events
from catalog.errors import (
    DuplicatePart,
    InvalidCategory,
    InvalidFitment,
    InvalidPartNumber,
    SupersessionCycle,
    UnknownVariant,
)
from catalog.lock_objects import part_lock, parts_lock, variant_facet_lock
from catalog.models import Brand, Category, CrossReference, Fitment, Part, PartStatus, Position
from catalog.normalise import part_number_normalise
from catalog.read_models import (
    FITMENT_PART_CATEGORY_REFRESH_SQL,
    PART_SEARCH_CATEGORY_WORDS_CTE,
    PART_SEARCH_DOCUMENT_ROWS_SQL,
    VARIANT_FACET_ROWS_SQL,
)
from catalog.selectors import BEST_OFFER_VERSION_KEY, CATALOG_VERSION_KEY, part_supersession_would_loop
from okto88.errors import ApplicationError
from okto88.redis_connection import redis_client
from okto88.services import outbox_event_write
from vehicles.models import VehicleVariant

AGGREGATE_TYPE = events.AGGREGATE_TYPE

logger = logging.getLogger(__name__)


# --- Search document --------------------------------------------------------------------

# One statement for any number of parts: the demo and the CSV import call it once for
# everything they loaded. The document's rule lives in catalog.read_models, which checks it.
# Rows that would not change are not written. New documents are written in (brand, category,
# part) order, so a bulk load lays each brand's and category's documents side by side
# (PartSearchDocument).
_SEARCH_DOCUMENT_SQL = (
    PART_SEARCH_CATEGORY_WORDS_CTE  # noqa: S608 - fixed fragments; the ids are a parameter
    + ", document AS (\n" + PART_SEARCH_DOCUMENT_ROWS_SQL + "{where}\n),\n"
    + """text_written AS (
    UPDATE catalog_part AS p SET search_text = document.search_text FROM document
    WHERE p.id = document.id AND p.search_text IS DISTINCT FROM document.search_text
),
document_written AS (
    INSERT INTO catalog_partsearchdocument AS d (id, category_id, brand_id, search_vector)
    SELECT id, category_id, brand_id, search_vector FROM document ORDER BY brand_id, category_id, id
    ON CONFLICT (id) DO UPDATE
    SET category_id = EXCLUDED.category_id, brand_id = EXCLUDED.brand_id, search_vector = EXCLUDED.search_vector
    WHERE (d.category_id, d.brand_id, d.search_vector)
          IS DISTINCT FROM (EXCLUDED.category_id, EXCLUDED.brand_id, EXCLUDED.search_vector)
)
SELECT count(*) FROM document
""")


def part_search_document_refresh(*, part_ids: Iterable[int] | None = None) -> int:
    """Rebuild the search documents (PartSearchDocument, `search_text`) of the given parts (all
    when None).

    Set-based: one statement however many parts. Returns the number of parts refreshed.
    """
    sql, params = _SEARCH_DOCUMENT_SQL.format(where=""), []
    if part_ids is not None:
        ids = sorted({int(pk) for pk in part_ids})
        if not ids:
            return 0
        sql, params = _SEARCH_DOCUMENT_SQL.format(where=" AND part.id = ANY(%s)"), [ids]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def category_search_document_refresh(*, category: Category) -> int:
    """Refresh the parts of `category` and of every category below it (names changed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE subtree(id) AS (
                SELECT %s::bigint
                UNION
                SELECT c.id FROM catalog_category c JOIN subtree s ON c.parent_id = s.id
            )
            SELECT p.id FROM catalog_part p WHERE p.category_id IN (SELECT id FROM subtree)
            """,
            [category.pk],
        )
        part_ids = [row[0] for row in cursor.fetchall()]
    return part_search_document_refresh(part_ids=part_ids)


# --- Search cache version ---------------------------------------------------------------

def _cache_versions_incr(*keys: str) -> None:
    """Move the counters at `keys` on, in one Redis round trip. A missing counter (first use, or
    the cache was flushed) starts from the clock (see selectors.cache_version) and then moves on
    like the others: SET … NX and INCR for every key, in one pipeline on the platform's shared
    client. (Django's cache.incr cost an EXISTS and an INCR, each on a client it builds per call:
    two round trips and ~1 ms of Python per counter, twice in every placement.)"""
    try:
        now = time.time_ns()
        pipe = redis_client().pipeline(transaction=False)
        for key in keys:
            cache_key = cache.make_key(key)
            pipe.set(cache_key, now, nx=True)
            pipe.incr(cache_key)
        pipe.execute()
    except Exception:  # cached search pages then expire on their own timeout
        logger.warning("cache version bump of %s failed", ", ".join(keys), exc_info=True)


def _cache_version_bump(key: str) -> None:
    # Moved on now and again after the commit: a reader between the two could see the first
    # new version but the old rows and cache them under it; the second bump drops that. (The
    # first also serves code that never commits, such as a test inside its transaction.)
    _cache_versions_incr(key)
    transaction.on_commit(lambda: _cache_versions_incr(key))


def catalog_cache_version_bump() -> None:
    """Make every cached catalog read stale (selectors.catalog_cache_version). Every catalog
    write calls it: part events, brands, categories, the CSV import, the bench generator."""
    _cache_version_bump(CATALOG_VERSION_KEY)


def best_offer_cache_version_bump() -> None:
    """Make every cached search page's best offers stale. Called by whoever changes what
    the registered best-offer source returns (suppliers.services.part_best_offer_refresh),
    in the transaction of the change."""
    _cache_version_bump(BEST_OFFER_VERSION_KEY)


# --- Events -----------------------------------------------------------------------------

def _part_event(*, topic: str, part: Part, payload: dict[str, Any]) -> None:
    # Every change to a part, its cross references or its fitment writes an event; the payload
    # comes from the topic's builder in catalog.events.
    catalog_cache_version_bump()
    outbox_event_write(
        topic=topic, aggregate_type=AGGREGATE_TYPE, aggregate_id=part.pk, payload=payload, version=part.version,
    )


def _version_bump(part: Part) -> None:
    Part.objects.filter(pk=part.pk).update(version=F("version") + 1)
    part.version += 1


# --- Facet counts per variant (read model) ------------------------------------------------



def _facet_contributions(cursor, part_ids: list[int]) -> Counter:
    cursor.execute(VARIANT_FACET_ROWS_SQL.format(where="part_id = ANY(%s)"), [part_ids])
    return Counter({(v, c, b): n for v, c, b, n in cursor.fetchall()})


@contextmanager
def variant_facet_follow(*, part_ids: Iterable[int]) -> Iterator[None]:
    """Keep the facet rows in step with what the block changes about these parts (their
    fitment, category or brand): their contributions before and after, the difference
    added. The caller holds the parts' row locks, so nobody else changes them meanwhile."""
    ids = sorted(set(part_ids))
    with connection.cursor() as cursor:
        before = _facet_contributions(cursor, ids)
    yield
    with connection.cursor() as cursor:
        delta = _facet_contributions(cursor, ids)
        delta.subtract(before)
        changes = sorted((key, n) for key, n in delta.items() if n)
        if not changes:
            return
        variants = variant_facet_lock(variant_ids=(key[0] for key, _n in changes))
        cursor.execute(
            """
            INSERT INTO catalog_variantfacet AS vf (variant_id, category_id, brand_id, parts)
            SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::int[]) ORDER BY 1, 2, 3
            ON CONFLICT (variant_id, category_id, brand_id) DO UPDATE SET parts = vf.parts + EXCLUDED.parts
            """,
            [[k[0] for k, _n in changes], [k[1] for k, _n in changes], [k[2] for k, _n in changes],
             [n for _k, n in changes]],
        )
        cursor.execute("DELETE FROM catalog_variantfacet WHERE variant_id = ANY(%s) AND parts <= 0", [variants])


def variant_facet_rebuild(*, variant_ids: Iterable[int] | None = None) -> int:
    """Recompute the facet rows of these variants (all of them when None) from fitment: after
    a write that bypassed the services (a bulk load, the import's set-based upserts).
    Returns how many rows it wrote."""
    with transaction.atomic(), connection.cursor() as cursor:
        if variant_ids is None:
            cursor.execute("LOCK TABLE catalog_variantfacet IN ACCESS EXCLUSIVE MODE")
            cursor.execute("DELETE FROM catalog_variantfacet")
            where, params = "true", []
        else:
            ids = variant_facet_lock(variant_ids=variant_ids)
            if not ids:
                return 0
            cursor.execute("DELETE FROM catalog_variantfacet WHERE variant_id = ANY(%s)", [ids])
            where, params = "variant_id = ANY(%s)", [ids]
        cursor.execute("INSERT INTO catalog_variantfacet (variant_id, category_id, brand_id, parts) "
                       + VARIANT_FACET_ROWS_SQL.format(where=where), params)
        return cursor.rowcount


# --- The part's category on fitment (read model) ------------------------------------------

def fitment_part_category_refresh(*, part_ids: Iterable[int]) -> int:
    """Copy these parts' categories onto their fitment rows (Fitment.part_category_id) where
    they differ: after a change of category (part_update, the parts import). The caller holds
    the parts' row locks, so no fitment is written for them meanwhile. Returns the rows changed."""
    ids = sorted({int(pk) for pk in part_ids})
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(FITMENT_PART_CATEGORY_REFRESH_SQL, {"parts": ids})
        return cursor.rowcount


# --- Parts ------------------------------------------------------------------------------

PART_EDITABLE_FIELDS = (
    "brand", "category", "number", "name_id", "name_en", "description", "attributes",
    "weight_g", "length_mm", "width_mm", "height_mm", "status",
)


def _number_key(number: str) -> str:
    key = part_number_normalise(number)
    if not key:
        raise InvalidPartNumber(extra={"number": number})
    return key


def _ensure_unique(*, brand: Brand, number_key: str, exclude_pk: int | None = None) -> None:
    clash = Part.objects.filter(brand=brand, number_key=number_key)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise DuplicatePart(
            f"{brand.name} already has part number {number_key}.",
            extra={"brand_id": brand.pk, "number_key": number_key},
        )


@transaction.atomic
def part_create(
    *,
    brand: Brand,
    category: Category,
    number: str,
    name_id: str,
    name_en: str = "",
    description: str = "",
    attributes: Mapping[str, Any] | None = None,
    weight_g: int = 0,
    length_mm: int = 0,
    width_mm: int = 0,
    height_mm: int = 0,
    status: str = PartStatus.ACTIVE,
) -> Part:
    number_key = _number_key(number)
    _ensure_unique(brand=brand, number_key=number_key)
    part = Part(
        brand=brand, category=category, number=number.strip(), number_key=number_key,
        name_id=name_id, name_en=name_en or name_id, description=description,
        attributes=dict(attributes or {}), weight_g=weight_g, length_mm=length_mm,
        width_mm=width_mm, height_mm=height_mm, status=status, version=1,
    )
    try:
        with transaction.atomic():
            part.save()
    except IntegrityError as exc:  # a concurrent create of the same number won the race
        raise DuplicatePart(extra={"brand_id": brand.pk, "number_key": number_key}) from exc
    part_search_document_refresh(part_ids=[part.pk])
    _part_event(topic="part.created", part=part, payload=events.part_created_payload(part=part))
    return part


@transaction.atomic
def part_update(*, part: Part, data: Mapping[str, Any]) -> Part:
    """Change the editable fields in `data`; a change that changes nothing writes no event."""
    unknown = sorted(set(data) - set(PART_EDITABLE_FIELDS))
    if unknown:
        raise ApplicationError(f"These fields cannot be changed here: {', '.join(unknown)}.",
                               extra={"fields": unknown})
    locked = part_lock(part_id=part.pk)
    changed: list[str] = []
    for field, value in data.items():
        if field == "number":
            value = value.strip()
        if field == "name_en" and not value:
            value = data.get("name_id") or locked.name_id
        attname = Part._meta.get_field(field).attname
        current = getattr(locked, attname)
        new = value.pk if isinstance(value, Brand | Category) else value
        if current != new:
            setattr(locked, field, value)
            changed.append(field)
    if not changed:
        return locked
    if "number" in changed:
        locked.number_key = _number_key(locked.number)
    if {"number", "brand"} & set(changed):
        _ensure_unique(brand=locked.brand, number_key=locked.number_key, exclude_pk=locked.pk)
    locked.version += 1
    if {"category", "brand"} & set(changed):
        with variant_facet_follow(part_ids=[locked.pk]):
            locked.save()
            if "category" in changed:
                fitment_part_category_refresh(part_ids=[locked.pk])
    else:
        locked.save()
    part_search_document_refresh(part_ids=[locked.pk])
    _part_event(topic="part.updated", part=locked, payload=events.part_updated_payload(part=locked, changed=changed))
    return locked


@transaction.atomic
def part_delete(*, part: Part) -> None:
    """Delete a part with its fitment and cross references (refused while offers or orders
    reference it), keeping the variants' facet counts in step."""
    locked = part_lock(part_id=part.pk)
    with variant_facet_follow(part_ids=[locked.pk]):
        locked.delete()
    catalog_cache_version_bump()


@transaction.atomic
def part_supersede(*, old: Part, new: Part) -> Part:
    """`new` replaces `old`: old becomes superseded and points at new. Refuses cycles."""
    if old.pk == new.pk:
        raise SupersessionCycle("A part cannot supersede itself.")
    # Lock both in primary-key order so two supersessions of the same pair never deadlock.
    locked = parts_lock(part_ids=[old.pk, new.pk])
    old, new = locked[old.pk], locked[new.pk]
    # If the chain from `new` reaches `old`, old would end up replacing itself.
    if part_supersession_would_loop(old_id=old.pk, new_id=new.pk):
        raise SupersessionCycle(
            f"{new} is already replaced (directly or not) by {old}.",
            extra={"old_id": old.pk, "new_id": new.pk},
        )
    if old.superseded_by_id == new.pk and old.status == PartStatus.SUPERSEDED:
        return old
    old.status = PartStatus.SUPERSEDED
    old.superseded_by = new
    old.version += 1
    old.save(update_fields=["status", "superseded_by", "version", "updated_at"])
    _part_event(topic="part.superseded", part=old, payload=events.part_superseded_payload(
        part=old, new_part_id=new.pk, new_number=new.number, changed=["status", "superseded_by"]))
    return old


@transaction.atomic
def cross_reference_add(*, part: Part, brand_name: str, number: str, is_oe: bool = False) -> CrossReference:
    """Record that `brand_name number` interchanges with `part` (idempotent)."""
    number_key = _number_key(number)
    locked = part_lock(part_id=part.pk)
    reference, created = CrossReference.objects.get_or_create(
        part=locked, brand_name=brand_name.strip(), number_key=number_key,
        defaults={"number": number.strip(), "is_oe": is_oe},
    )
    if not created and reference.is_oe == is_oe:
        return reference
    if not created:
        reference.is_oe = is_oe
        reference.save(update_fields=["is_oe"])
    _version_bump(locked)
    part.version = locked.version
    _part_event(topic="part.updated", part=locked, payload=events.part_updated_payload(
        part=locked, changed=["cross_references"], cross_reference_ids=[reference.pk],
        cross_reference={"brand_name": reference.brand_name, "number": reference.number,
                         "number_key": number_key, "is_oe": is_oe},
    ))
    return reference


@transaction.atomic
def cross_reference_remove(*, reference: CrossReference) -> None:
    locked = part_lock(part_id=reference.part.pk)
    deleted, _ = CrossReference.objects.filter(pk=reference.pk).delete()
    if not deleted:
        return
    _version_bump(locked)
    _part_event(topic="part.updated", part=locked, payload=events.part_updated_payload(
        part=locked, changed=["cross_references"],
        cross_reference_removed={"brand_name": reference.brand_name, "number": reference.number,
                                 "number_key": reference.number_key},
    ))


@dataclass(frozen=True)
class FitmentSpec:
    variant_id: int
    position: str = ""
    quantity: int = 1
    note: str = ""


def _fitment_specs(fitments: Iterable[FitmentSpec | Mapping[str, Any]]) -> list[FitmentSpec]:
    specs: dict[tuple[int, str], FitmentSpec] = {}
    for item in fitments:
        if isinstance(item, Mapping):
            variant = item.get("variant", item.get("variant_id"))
            item = FitmentSpec(
                variant_id=variant.pk if isinstance(variant, VehicleVariant) else int(variant),
                position=item.get("position", "") or "", quantity=int(item.get("quantity", 1)),
                note=item.get("note", "") or "",
            )
        if item.position not in Position.values:
            raise InvalidFitment(f"Unknown position {item.position!r}.", extra={"position": item.position})
        if item.quantity < 1:
            raise InvalidFitment("The quantity per vehicle must be at least 1.")
        specs[(item.variant_id, item.position)] = item
    return list(specs.values())


@transaction.atomic
def fitment_set(*, part: Part, fitments: Iterable[FitmentSpec | Mapping[str, Any]]) -> list[Fitment]:
    """Make `fitments` the complete list of vehicles `part` fits (replacing the old list).

    Each item is a FitmentSpec or a mapping with variant (or variant_id), position,
    quantity and note. Writes one `part.fitment_changed` event, or none if nothing changed.
    """
    specs = _fitment_specs(fitments)
    locked = part_lock(part_id=part.pk)
    variant_ids = {spec.variant_id for spec in specs}
    known = set(VehicleVariant.objects.filter(pk__in=variant_ids).values_list("pk", flat=True))
    if missing := sorted(variant_ids - known):
        raise UnknownVariant(f"Unknown vehicle variants: {missing}.", extra={"variant_ids": missing})

    existing = {(f.variant_id, f.position): f for f in Fitment.objects.filter(part=locked)}
    wanted = {(s.variant_id, s.position): s for s in specs}
    removed = [f.pk for key, f in existing.items() if key not in wanted]
    added = [Fitment(part=locked, variant_id=s.variant_id, position=s.position, quantity=s.quantity,
                     note=s.note, part_category_id=locked.category_id)
             for key, s in wanted.items() if key not in existing]
    changed = []
    for key, spec in wanted.items():
        row = existing.get(key)
        if row is not None and (row.quantity, row.note) != (spec.quantity, spec.note):
            row.quantity, row.note = spec.quantity, spec.note
            changed.append(row)
    if not (removed or added or changed):
        return list(existing.values())
    with variant_facet_follow(part_ids=[locked.pk]):
        Fitment.objects.filter(pk__in=removed).delete()
        Fitment.objects.bulk_create(added)
    Fitment.objects.bulk_update(changed, ["quantity", "note"])
    _version_bump(locked)
    part.version = locked.version
    _part_event(topic="part.fitment_changed", part=locked, payload=events.part_fitment_changed_payload(
        part=locked, variant_ids=variant_ids, added_variant_ids={f.variant_id for f in added},
        changed_variant_ids={row.variant_id for row in changed},
        removed_variant_ids={key[0] for key, f in existing.items() if key not in wanted},
    ))
    return list(Fitment.objects.filter(part=locked).order_by("variant_id", "position"))


# --- Brands and categories (master data without their own events) ------------------------

@transaction.atomic
def category_save(*, category: Category) -> Category:
    """Create or change a category, refusing loops, and refresh the parts it names."""
    ancestor_id = category.parent_id
    seen = set()
    while ancestor_id is not None:
        if ancestor_id == category.pk or ancestor_id in seen:
            raise InvalidCategory(extra={"category_id": category.pk})
        seen.add(ancestor_id)
        ancestor_id = Category.objects.filter(pk=ancestor_id).values_list("parent_id", flat=True).first()
    category.save()
    category_search_document_refresh(category=category)
    catalog_cache_version_bump()
    return category


@transaction.atomic
def brand_save(*, brand: Brand) -> Brand:
    """Create or rename a brand; its parts' search documents carry the name."""
    brand.save()
    part_search_document_refresh(part_ids=Part.objects.filter(brand=brand).values_list("pk", flat=True))
    catalog_cache_version_bump()
    return brand
