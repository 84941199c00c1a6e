"""The best offer per part (read model `PartBestOffer`): refreshed set-based in the transaction of
every change of offers, stock, warehouses or suppliers; rebuilt from scratch after bulk loads."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from catalog.services import best_offer_cache_version_bump
from suppliers.lock_objects import part_best_offer_lock
from suppliers.models import SupplierStatus
from suppliers.read_models import PART_BEST_OFFER_COLUMNS, PART_BEST_OFFER_ROWS_SQL

# The rows come from suppliers.read_models.PART_BEST_OFFER_ROWS_SQL, the read model's one rule
# (which its check uses too): for a refresh, over the offers of the given parts; a part left
# without visible offers keeps its row, emptied. A row that already holds its fresh values is not
# written again (a feed refreshes ~200,000 parts, most of them unchanged when it re-sends a file).
_BEST_OFFER_UPDATE_SQL = f"""
UPDATE suppliers_partbestoffer b
SET offer_id = fresh.offer_id, supplier_id = fresh.supplier_id, price = fresh.price,
    lead_time_days = fresh.lead_time_days, available = coalesce(fresh.available, 0),
    total_available = coalesce(fresh.total_available, 0), supplier_count = coalesce(fresh.supplier_count, 0)
FROM unnest(%(parts)s::bigint[]) AS t(part_id)
LEFT JOIN ({PART_BEST_OFFER_ROWS_SQL.format(where="AND o.part_id = ANY(%(parts)s)")}) AS fresh
    ON fresh.part_id = t.part_id
WHERE b.part_id = t.part_id
  AND (b.offer_id, b.supplier_id, b.price, b.lead_time_days, b.available, b.total_available, b.supplier_count)
      IS DISTINCT FROM (fresh.offer_id, fresh.supplier_id, fresh.price, fresh.lead_time_days,
                        coalesce(fresh.available, 0), coalesce(fresh.total_available, 0),
                        coalesce(fresh.supplier_count, 0))
"""  # noqa: S608 - fixed fragments only; every value is a parameter
_BEST_OFFER_INSERT_SQL = (f"INSERT INTO suppliers_partbestoffer ({', '.join(PART_BEST_OFFER_COLUMNS)})\n"
                          + PART_BEST_OFFER_ROWS_SQL.format(where=""))


def part_best_offer_refresh(*, part_ids: Iterable[int] = (), offer_ids: Iterable[int] = (),
                            supplier_id: int | None = None, warehouse_id: int | None = None) -> int:
    """Recompute the best offer of these parts: `part_ids`, the parts of `offer_ids`, every part
    `supplier_id` offers, every part with stock in `warehouse_id`. Set-based (three statements
    however many parts); call it in the transaction of the change, after the change. Returns
    how many parts it refreshed.

    The parts' rows are locked first (lock_objects, part order) and only then computed, in a
    statement of its own: under READ COMMITTED its snapshot is taken after the lock, so it sees
    every change committed by a concurrent refresher of the same part, and the last one to
    commit wrote what the offers and stock now say."""
    if not connection.in_atomic_block:
        raise RuntimeError("part_best_offer_refresh must run inside the transaction of the change")
    locked = part_best_offer_lock(part_ids=part_ids, offer_ids=offer_ids, supplier_id=supplier_id,
                                  warehouse_id=warehouse_id)
    if locked:
        with connection.cursor() as cursor:
            cursor.execute(_BEST_OFFER_UPDATE_SQL, {"parts": locked, "active": SupplierStatus.ACTIVE})
        best_offer_cache_version_bump()
    return len(locked)


def part_best_offer_rebuild() -> int:
    """Every part's best offer from scratch (after a bulk load that bypassed the services, e.g.
    bench/generate_suppliers.py). Takes an exclusive lock on the table for its transaction."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE suppliers_partbestoffer IN ACCESS EXCLUSIVE MODE")
        cursor.execute("DELETE FROM suppliers_partbestoffer")
        cursor.execute(_BEST_OFFER_INSERT_SQL, {"active": SupplierStatus.ACTIVE})
        best_offer_cache_version_bump()
        return cursor.rowcount
