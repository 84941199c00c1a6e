"""Row locks for catalog data, always taken in primary-key order. Must run inside a transaction.

A part's row is locked before its version is bumped, so concurrent changes of one part bump
it one by one; two parts are locked in pk order, so two supersessions of the same pair wait
for each other instead of deadlocking. The facet counts of a variant (catalog_variantfacet)
are guarded by an advisory lock per variant, taken in variant order by every writer.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from catalog.models import Part

# Advisory lock class of the variant_facet rows; the second key is the variant id.
VARIANT_FACET_LOCK_CLASS = 0x0C88F


def part_lock(*, part_id: int) -> Part:
    """Lock one part row (FOR UPDATE) and return it fresh."""
    return Part.objects.select_for_update().get(pk=part_id)


def parts_lock(*, part_ids: Iterable[int]) -> dict[int, Part]:
    """Lock these part rows (FOR UPDATE, pk order) and return them fresh, by id."""
    ids = sorted(set(part_ids))
    if not ids:
        return {}
    return {p.pk: p for p in Part.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def variant_facet_lock(*, variant_ids: Iterable[int]) -> list[int]:
    """Every writer of a variant's facet rows takes its lock first, in variant order (so two
    writers queue instead of deadlocking); what it computes after that, in a statement of
    its own, sees every change committed by the writer before it. Returns the ids, sorted."""
    ids = sorted(set(variant_ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, v::int) FROM unnest(%s::bigint[]) AS t(v) ORDER BY v",
                           [VARIANT_FACET_LOCK_CLASS, ids])
    return ids
