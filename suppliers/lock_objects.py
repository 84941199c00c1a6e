"""Row locks for supplier data, always taken in primary-key order.

Two transactions that lock the same stock rows lock them in the same order, so they wait
for each other instead of deadlocking (an order reserving A then B and a feed setting B then
A would otherwise deadlock). Every helper must run inside a transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import QuerySet

from suppliers.models import Offer, Stock, Supplier, SupplierApiClient


def stock_lock(*, stock_ids: Iterable[int]) -> dict[int, Stock]:
    """Lock these stock rows (FOR UPDATE, pk order) and return them fresh, by id."""
    ids = sorted(set(stock_ids))
    if not ids:
        return {}
    rows = Stock.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


def stock_lock_queryset(queryset: QuerySet[Stock]) -> list[Stock]:
    """Lock the stock rows of a queryset in pk order."""
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


def offer_lock(*, offer_ids: Iterable[int]) -> dict[int, Offer]:
    """Lock these offer rows (FOR UPDATE, pk order) and return them fresh, by id."""
    ids = sorted(set(offer_ids))
    if not ids:
        return {}
    rows = Offer.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


# Creates the missing rows and locks them all, in part order, in one statement: INSERT …
# ON CONFLICT DO UPDATE takes the row lock of an existing row as it goes, and its WHERE false
# keeps it from writing a new version of the row (a feed locks ~200,000 rows: rewriting each,
# with its index entry and WAL, cost more than the lock). Such rows are not RETURNed, so the
# part ids come from the `wanted` set the statement locked.
_PART_BEST_OFFER_LOCK_SQL = """
WITH wanted AS MATERIALIZED (
    SELECT DISTINCT part_id FROM (
        SELECT unnest(%(parts)s::bigint[])
        UNION ALL SELECT part_id FROM suppliers_offer WHERE id = ANY(%(offers)s::bigint[])
        UNION ALL SELECT part_id FROM suppliers_offer WHERE supplier_id = %(supplier)s
        UNION ALL SELECT o.part_id FROM suppliers_stock s JOIN suppliers_offer o ON o.id = s.offer_id
                  WHERE s.warehouse_id = %(warehouse)s
    ) AS given(part_id)
    WHERE part_id IS NOT NULL
), locked AS (
    INSERT INTO suppliers_partbestoffer (part_id, available, total_available, supplier_count)
    SELECT part_id, 0, 0, 0 FROM wanted ORDER BY part_id
    ON CONFLICT (part_id) DO UPDATE SET supplier_count = suppliers_partbestoffer.supplier_count WHERE false
    RETURNING part_id
)
SELECT part_id FROM wanted
"""


def part_best_offer_lock(*, part_ids: Iterable[int] = (), offer_ids: Iterable[int] = (),
                         supplier_id: int | None = None, warehouse_id: int | None = None) -> list[int]:
    """Lock (creating them if missing) the best-offer rows of these parts, of the parts of
    `offer_ids`, of every part `supplier_id` offers and of every part stocked in `warehouse_id`;
    in part order. Returns the part ids, sorted.

    Taken after the stock or offer locks of the same change (those come first in every
    service), so two changes of one part queue on it instead of deadlocking."""
    parts, offers = sorted(set(part_ids)), sorted(set(offer_ids))
    if not (parts or offers or supplier_id or warehouse_id):
        return []
    with connection.cursor() as cursor:
        cursor.execute(_PART_BEST_OFFER_LOCK_SQL, {"parts": parts, "offers": offers, "supplier": supplier_id,
                                                   "warehouse": warehouse_id})
        return sorted(row[0] for row in cursor.fetchall())


def supplier_api_client_binding_lock_or_create(*, api_client_id: int, supplier: Supplier) -> SupplierApiClient:
    """The API client's supplier binding, locked (created for `supplier` when it has none)."""
    binding, _created = SupplierApiClient.objects.select_for_update().get_or_create(
        api_client_id=api_client_id, defaults={"supplier": supplier})
    return binding
