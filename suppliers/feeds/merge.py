"""The merge: one transaction applies the good rows to offers, stock and its ledger, the best
offers and the outbox."""

from __future__ import annotations

from django.utils.translation import gettext as _

from suppliers.feeds.events import _write_events
from suppliers.feeds.session import OFFER_DIFFERS_SQL, _analyze, _Phases
from suppliers.lock_objects import part_best_offer_lock
from suppliers.models import FeedImport
from suppliers.services.best_offers import part_best_offer_apply, part_best_offer_offers_keep


def _merge(cursor, *, feed_import: FeedImport, phases: _Phases) -> dict[str, int]:
    supplier_id = feed_import.supplier_id
    reference = f"feed:{feed_import.pk}"
    actor_id = feed_import.created_by_id
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_ok, pg_temp.feed_stock, pg_temp.feed_new_offer, "
                   "pg_temp.feed_offer_changed, pg_temp.feed_stock_changed, pg_temp.feed_touched")
    # Good rows (validation paired each with the stored offer of its SKU, and dropped those equal
    # to it and to their stored stock), and whether the offer looks changed (values as of the
    # validation; the writes below re-check under their row locks).
    cursor.execute(
        f"""
        CREATE TEMP TABLE feed_ok AS
        SELECT r.row_no, r.sku, r.part_id, r.price, r.lead_time, r.offer_id,
               (r.offer_id IS NOT NULL AND {OFFER_DIFFERS_SQL}) AS differs
        FROM feed_row r
        WHERE NOT EXISTS (SELECT 1 FROM feed_error e WHERE e.row_no = r.row_no)
        """  # noqa: S608
    )
    # Only the cells that look like a change (a new stock row, or another on hand than stored).
    cursor.execute(
        """
        CREATE TEMP TABLE feed_stock AS
        -- MATERIALIZED: the cells of good rows only (all digits) are cast, never a wrong one.
        WITH c AS MATERIALIZED (
            SELECT c.row_no, k.offer_id, col.warehouse_id, c.value, c.stock_id, c.on_hand
            FROM feed_cell c JOIN feed_ok k USING (row_no) JOIN feed_column col USING (col)
        )
        SELECT row_no, offer_id, warehouse_id, value::int AS qty, stock_id, on_hand AS seen_on_hand FROM c
        WHERE stock_id IS NULL OR on_hand <> value::int
        """
    )
    _analyze(cursor, "feed_ok", "feed_stock")
    # What looks changed, in small tables of their own: the statements that lock, check and
    # write then visit only those rows (index lookups), not the supplier's whole catalogue.
    cursor.execute("DROP TABLE IF EXISTS pg_temp.feed_offer_diff, pg_temp.feed_stock_diff")
    cursor.execute("CREATE TEMP TABLE feed_offer_diff AS SELECT * FROM feed_ok WHERE differs")
    cursor.execute("CREATE TEMP TABLE feed_stock_diff AS SELECT * FROM feed_stock WHERE stock_id IS NOT NULL")
    _analyze(cursor, "feed_offer_diff", "feed_stock_diff")
    phases.mark("merge: pair rows with stored offers/stock")
    # Lock what looks changed, offers before stock, each in pk order (suppliers.lock_objects'
    # rule), so an order reserving the same stock waits instead of deadlocking. Values are
    # read again after the lock by the statements below. The offers whose stock changes are
    # locked too: they must not go away, nor move to another part, before the commit (their
    # parts' best offers are brought up to date from what they were and are).
    cursor.execute(
        """
        WITH locked AS (
            SELECT o.id FROM suppliers_offer o
            WHERE o.id IN (SELECT offer_id FROM feed_offer_diff
                           UNION SELECT offer_id FROM feed_stock WHERE offer_id IS NOT NULL)
            ORDER BY o.id FOR UPDATE OF o
        ) SELECT count(*) FROM locked
        """
    )
    cursor.execute(
        """
        WITH locked AS (
            SELECT s.id FROM suppliers_stock s JOIN feed_stock_diff f ON f.stock_id = s.id
            ORDER BY s.id FOR UPDATE OF s
        ) SELECT count(*) FROM locked
        """
    )
    phases.mark("merge: lock changed rows")
    # On hand may not go below what orders have reserved: refuse the row. (A row whose
    # quantity equals the stored on_hand cannot be below reserved; the others are locked.)
    cursor.execute(
        """
        INSERT INTO feed_error (row_no, col, value, message)
        SELECT f.row_no, 'stock_' || k.code, f.qty::text,
               replace(replace(%s, '{qty}', f.qty::text), '{reserved}', s.reserved::text)
        FROM feed_stock_diff f JOIN suppliers_stock s ON s.id = f.stock_id JOIN feed_column k
          ON k.warehouse_id = f.warehouse_id
        WHERE f.qty < s.reserved
        """,
        [_("Stock {qty} is below the {reserved} already reserved by orders; the row was not applied.")],
    )
    if cursor.rowcount:
        cursor.execute("""
            CREATE TEMP TABLE feed_refused AS SELECT DISTINCT f.row_no FROM feed_stock_diff f
            JOIN feed_error e ON e.row_no = f.row_no
        """)
        for table in ("feed_ok", "feed_stock", "feed_offer_diff", "feed_stock_diff"):
            cursor.execute(f"DELETE FROM {table} t USING feed_refused e WHERE e.row_no = t.row_no")  # noqa: S608
        cursor.execute("DROP TABLE feed_refused")

    # The best offers of the parts these offers are on, and will be on, lock last; then what the
    # changed offers look like before the writes (part_best_offer_apply's "before").
    cursor.execute(
        "CREATE TEMP TABLE feed_touched AS SELECT offer_id FROM feed_offer_diff "
        "UNION SELECT offer_id FROM feed_stock WHERE offer_id IS NOT NULL"
    )
    cursor.execute(
        """
        SELECT o.part_id FROM suppliers_offer o WHERE o.id IN (SELECT offer_id FROM feed_touched)
        UNION SELECT part_id FROM feed_offer_diff
        UNION SELECT part_id FROM feed_ok WHERE offer_id IS NULL
        """
    )
    part_best_offer_lock(part_ids=[row[0] for row in cursor.fetchall()])
    part_best_offer_offers_keep(table="feed_best_before", offers_sql="SELECT offer_id FROM feed_touched")
    phases.mark("merge: lock best offers, offers before")

    # New offers.
    cursor.execute("CREATE TEMP TABLE feed_new_offer (offer_id bigint, sku text)")
    cursor.execute(
        """
        WITH ins AS (
            INSERT INTO suppliers_offer (supplier_id, part_id, sku, price, min_order_qty, pack_size, lead_time_days,
                                   is_active, created_at, updated_at)
            SELECT %s, part_id, sku, price, 1, 1, coalesce(lead_time, 1), true, now(), now()
            FROM feed_ok WHERE offer_id IS NULL ORDER BY row_no
            RETURNING id, sku
        ) INSERT INTO feed_new_offer SELECT id, sku FROM ins
        """,
        [supplier_id],
    )
    new_offers = cursor.rowcount
    _analyze(cursor, "feed_new_offer")
    phases.mark("merge: insert offers")
    # Changed offers; `old` is read after the lock above, so previous_price is exact.
    cursor.execute(
        """
        CREATE TEMP TABLE feed_offer_changed AS
        WITH upd AS (
            UPDATE suppliers_offer o SET part_id = k.part_id, price = k.price,
                   lead_time_days = coalesce(k.lead_time, old.lead_time_days), updated_at = now()
            FROM feed_offer_diff k, suppliers_offer old
            WHERE k.offer_id = o.id AND old.id = o.id
              AND (old.part_id, old.price, old.lead_time_days) IS DISTINCT FROM
                  (k.part_id, k.price, coalesce(k.lead_time, old.lead_time_days))
            RETURNING o.id, o.sku, o.part_id, o.price, old.price AS previous_price, old.part_id AS previous_part_id
        ) SELECT * FROM upd
        """
    )
    updated_offers = cursor.rowcount
    cursor.execute(
        """
        INSERT INTO feed_offer_changed (id, sku, part_id, price, previous_price)
        SELECT n.offer_id, n.sku, k.part_id, k.price, NULL FROM feed_new_offer n JOIN feed_ok k ON k.sku = n.sku
        """
    )
    _analyze(cursor, "feed_offer_changed")
    phases.mark("merge: update offers")
    # Stock: existing rows that differ (values read after the lock), then new rows.
    cursor.execute(
        """
        CREATE TEMP TABLE feed_stock_changed AS
        WITH upd AS (
            UPDATE suppliers_stock s SET on_hand = f.qty, updated_at = now()
            FROM feed_stock_diff f, suppliers_stock old
            WHERE f.stock_id = s.id AND old.id = s.id AND old.on_hand <> f.qty
              AND old.reserved <= f.qty  -- re-checked at write time (the row is locked above)
            RETURNING s.id, s.offer_id, s.warehouse_id, f.qty - old.on_hand AS delta, s.on_hand, s.reserved
        ) SELECT * FROM upd
        """
    )
    cursor.execute(
        """
        WITH ins AS (
            INSERT INTO suppliers_stock (offer_id, warehouse_id, on_hand, reserved, updated_at)
            SELECT coalesce(f.offer_id, n.offer_id), f.warehouse_id, f.qty, 0, now()
            FROM feed_stock f JOIN feed_ok k ON k.row_no = f.row_no
            LEFT JOIN feed_new_offer n ON n.sku = k.sku
            WHERE f.stock_id IS NULL
            ORDER BY f.row_no, f.warehouse_id
            RETURNING id, offer_id, warehouse_id, on_hand, reserved
        ) INSERT INTO feed_stock_changed SELECT id, offer_id, warehouse_id, on_hand, on_hand, reserved
          FROM ins WHERE on_hand <> 0
        """
    )
    _analyze(cursor, "feed_stock_changed")
    phases.mark("merge: update/insert stock")
    cursor.execute(
        """
        INSERT INTO suppliers_stockmovement (stock_id, reason, on_hand_delta, reserved_delta, on_hand_after,
                                             reserved_after, reference, actor_id, created_at)
        SELECT id, 'import', delta, 0, on_hand, reserved, %s, %s, now() FROM feed_stock_changed ORDER BY id
        """,
        [reference, actor_id],
    )
    stock_changed = cursor.rowcount
    phases.mark("merge: ledger")
    # The best offers of the parts of new, repriced or re-pointed offers (both parts) and of
    # offers whose stock changed, from those offers as they were and are.
    part_best_offer_offers_keep(
        table="feed_best_after",
        offers_sql="SELECT offer_id FROM feed_touched UNION ALL SELECT offer_id FROM feed_new_offer")
    part_best_offer_apply(before="feed_best_before", after="feed_best_after")
    phases.mark("merge: best offers")
    events = _write_events(feed_import=feed_import)
    phases.mark("merge: outbox events")
    return {"offers": new_offers + updated_offers, "stock": stock_changed, "events": events}
