"""The best offer per part (read model `PartBestOffer`): refreshed set-based in the transaction of
every change of offers, stock, warehouses or suppliers; rebuilt from scratch after bulk loads."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from catalog.services import best_offer_cache_version_bump
from suppliers.lock_objects import part_best_offer_lock
from suppliers.models import SupplierStatus
from suppliers.read_models import PART_BEST_OFFER_COLUMNS, PART_BEST_OFFER_ROWS_SQL
from suppliers.selectors import BUYABLE_OFFER_SQL, OFFER_RANKING_SQL, VISIBLE_OFFERS_SQL, offer_ranking_key_sql

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


# --- Applying one writer's offer changes (bulk writers: supplier feeds) ----------------------------
#
# A feed changes one supplier's offers (up to a million) and leaves every other offer alone, so
# recomputing every touched part over all of its offers (the refresh above) redoes work whose
# result is already stored. What the rule (PART_BEST_OFFER_ROWS_SQL) gives instead, per part, from
# the stored row and the visible rows of the changed offers before and after the change:
# - total_available moves by the changed offers' available after minus before;
# - supplier_count moves only for a (part, supplier) whose changed offers were visible there on one
#   side and not on the other, and only if none of that supplier's other offers is visible there;
# - the best offer is the first, by the one ranking (OFFER_RANKING_SQL), of the stored best and the
#   changed offers as they are now: the stored best was first among all offers before, and every
#   offer that is not a changed one is as it was. That holds too when the stored best is itself a
#   changed offer that ranks as well as before or better (cheaper, more in stock): it stays ahead
#   of every offer that did not change. When it got worse (or left the part, or is no longer
#   visible), an unchanged offer may now come first: those parts are recomputed from scratch
#   (part_best_offer_refresh).
# Exact under concurrency because the parts' rows are locked before the "before" rows are read:
# whoever else changes an offer of those parts refreshes them after this transaction commits.
# `manage.py check_read_models` (and the feed benchmark, at a million rows) compares the result
# with the rule from scratch.

def part_best_offer_offers_keep(*, table: str, offers_sql: str) -> None:
    """Keep the visible rows (VISIBLE_OFFERS_SQL: id, part, supplier, price, lead time, available)
    of the offers `offers_sql` selects (one column of offer ids) in the session temp table `table`.
    Taken before a bulk change (its parts locked first, part_best_offer_lock) and after it."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
        cursor.execute(
            f"CREATE TEMP TABLE {table} AS "
            + VISIBLE_OFFERS_SQL.format(where=f"AND o.id IN ({offers_sql})"),
            {"active": SupplierStatus.ACTIVE},
        )
        cursor.execute(f"ANALYZE {table}")


_BEST_OFFER_APPLY_SQL = f"""
WITH moved AS (  -- the parts whose stored best is a changed offer that got worse or left: recomputed instead
    SELECT b.part_id FROM suppliers_partbestoffer b JOIN {{before}} o ON o.id = b.offer_id
    LEFT JOIN {{after}} n ON n.id = o.id
    WHERE n.id IS NULL OR n.part_id <> o.part_id OR {offer_ranking_key_sql("n")} > {offer_ranking_key_sql("o")}
), side AS (
    SELECT part_id, supplier_id, id, available, false AS now FROM {{before}}
    UNION ALL
    SELECT part_id, supplier_id, id, available, true FROM {{after}}
), pair AS (
    SELECT part_id, supplier_id, bool_or(NOT now) AS had, bool_or(now) AS has FROM side GROUP BY 1, 2
), pair_moved AS (  -- visible on one side only, and no other offer of that supplier visible there
    SELECT p.part_id, sum(CASE WHEN p.has THEN 1 ELSE -1 END) AS suppliers
    FROM pair p
    WHERE p.had <> p.has AND NOT EXISTS (
        SELECT 1 FROM suppliers_offer o JOIN suppliers_supplier su ON su.id = o.supplier_id
        WHERE o.part_id = p.part_id AND o.supplier_id = p.supplier_id AND {BUYABLE_OFFER_SQL}
          AND o.id NOT IN (SELECT id FROM side))
    GROUP BY p.part_id
), delta AS (
    SELECT part_id, sum(CASE WHEN now THEN available ELSE -available END) AS available
    FROM side GROUP BY part_id
), candidate AS (
    SELECT part_id, id, supplier_id, price, lead_time_days, available FROM {{after}}
    UNION ALL
    SELECT b.part_id, b.offer_id, b.supplier_id, b.price, b.lead_time_days, b.available
    FROM suppliers_partbestoffer b JOIN delta d ON d.part_id = b.part_id
    WHERE b.supplier_count > 0 AND b.offer_id NOT IN (SELECT id FROM side)
), best AS (
    SELECT DISTINCT ON (part_id) part_id, id, supplier_id, price, lead_time_days, available
    FROM candidate ORDER BY part_id, {OFFER_RANKING_SQL}
), fresh AS (
    SELECT d.part_id, best.id AS offer_id, best.supplier_id, best.price, best.lead_time_days,
           coalesce(best.available, 0) AS available,
           b.total_available + d.available AS total_available,
           b.supplier_count + coalesce(m.suppliers, 0) AS supplier_count
    FROM delta d JOIN suppliers_partbestoffer b ON b.part_id = d.part_id
    LEFT JOIN best ON best.part_id = d.part_id
    LEFT JOIN pair_moved m ON m.part_id = d.part_id
    WHERE d.part_id NOT IN (SELECT part_id FROM moved)
), written AS (
    UPDATE suppliers_partbestoffer b
    SET offer_id = f.offer_id, supplier_id = f.supplier_id, price = f.price, lead_time_days = f.lead_time_days,
        available = f.available, total_available = f.total_available, supplier_count = f.supplier_count
    FROM fresh f
    WHERE b.part_id = f.part_id
      AND (b.offer_id, b.supplier_id, b.price, b.lead_time_days, b.available, b.total_available, b.supplier_count)
          IS DISTINCT FROM (f.offer_id, f.supplier_id, f.price, f.lead_time_days, f.available, f.total_available,
                            f.supplier_count)
    RETURNING b.part_id
)
SELECT part_id, true FROM moved UNION ALL SELECT count(*), false FROM written
"""  # noqa: S608 - fixed fragments and the caller's table names only


def part_best_offer_apply(*, before: str, after: str) -> int:
    """Bring the best offers of the parts of the changed offers up to date from what
    part_best_offer_offers_keep kept before (`before`) and after (`after`) the change, in the
    transaction of the change. The parts must have been locked (part_best_offer_lock) before
    `before` was taken. Returns how many parts it refreshed."""
    if not connection.in_atomic_block:
        raise RuntimeError("part_best_offer_apply must run inside the transaction of the change")
    with connection.cursor() as cursor:
        cursor.execute(_BEST_OFFER_APPLY_SQL.format(before=before, after=after), {"active": SupplierStatus.ACTIVE})
        rows = cursor.fetchall()
    moved = [part_id for part_id, is_part in rows if is_part]
    written = sum(count for count, is_part in rows if not is_part)
    if moved:
        with connection.cursor() as cursor:
            cursor.execute(_BEST_OFFER_UPDATE_SQL, {"parts": sorted(moved), "active": SupplierStatus.ACTIVE})
    if moved or written:
        best_offer_cache_version_bump()
    return len(moved) + written
