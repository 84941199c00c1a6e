"""The analytics read model: order figures per day (analytics.models.SalesDay), its rule stated
once, as SQL, for the refresh (analytics.services) and for the check that recomputes it from
scratch (`manage.py check_read_models`), and every other app's read-model checks with it.

The rule (docs/business-figures.md says it for readers):
- an order's day is the date it was placed, in Asia/Jakarta;
- a line's goods value is its accepted units' total (ordered less what its supplier rejected)
  plus its PPN at the order's rate, rounded half up to whole rupiah per line (the order's own
  PPN is rounded once, on goods and shipping);
- GMV counts the accepted units of lines of orders that are paid and not closed without
  delivery (status paid, in_fulfilment, shipped or completed) whose supplier order is not
  cancelled or rejected: an order
  cancelled or failed after payment leaves GMV (its money went back), expired and unpaid
  orders never enter it;
- fill rate's units ordered are those of orders that were paid (a `status.paid` event on
  the timeline), whatever happened next; a line's accepted units are shipped when its supplier
  order is shipped or delivered (rejected units never are).
"""

from __future__ import annotations

from analytics.models import GMV_ORDER_STATUSES, LOST_ORDER_STATUSES, SHIPPED_SUPPLIER_ORDER_STATUSES
from analytics.selectors.workflow import FUNNEL_HOUR_ROWS_SQL
from okto88.read_models import ReadModelCheck, read_model_compare
from suppliers.read_models import read_models_check as suppliers_read_models_check

SALES_DAY_KEY = ("day", "grain", "supplier_id", "category_id", "offer_id", "province", "status", "supplier_status",
                 "reason")
SALES_DAY_MEASURES = ("orders", "supplier_orders", "gmv_orders", "gmv", "gmv_qty", "lines_ordered", "lines_shipped",
                      "qty_ordered", "qty_shipped", "cancelled", "failed", "expired")

_MEASURES_SQL = """
    count(DISTINCT order_id) AS orders,
    count(DISTINCT supplier_order_id) AS supplier_orders,
    count(DISTINCT order_id) FILTER (WHERE in_gmv) AS gmv_orders,
    coalesce(sum(goods) FILTER (WHERE in_gmv), 0)::bigint AS gmv,
    coalesce(sum(accepted) FILTER (WHERE in_gmv), 0)::bigint AS gmv_qty,
    count(*) FILTER (WHERE paid) AS lines_ordered,
    count(*) FILTER (WHERE paid AND shipped) AS lines_shipped,
    coalesce(sum(quantity) FILTER (WHERE paid), 0)::bigint AS qty_ordered,
    coalesce(sum(accepted) FILTER (WHERE paid AND shipped), 0)::bigint AS qty_shipped,
    count(DISTINCT order_id) FILTER (WHERE status = 'cancelled') AS cancelled,
    count(DISTINCT order_id) FILTER (WHERE status = 'failed') AS failed,
    count(DISTINCT order_id) FILTER (WHERE status = 'expired') AS expired"""

# The rows of analytics_salesday for the orders {where} selects (over `o`, orders_order; "true":
# all of them). One line of one supplier order of one order is a fact; each grain groups them.
SALES_DAY_ROWS_SQL = f"""
WITH facts AS MATERIALIZED (
    SELECT o.id AS order_id, (o.created_at AT TIME ZONE 'Asia/Jakarta')::date AS day, o.status,
           coalesce(o.delivery_address->>'province', '') AS province,
           CASE WHEN o.status IN {LOST_ORDER_STATUSES} THEN o.failure_reason ELSE '' END AS reason,
           paid.paid, so.id AS supplier_order_id, so.supplier_id, so.status AS supplier_status,
           part.category_id, l.offer_id, l.quantity::bigint AS quantity,
           (l.quantity - l.rejected_quantity)::bigint AS accepted,
           accepted_total.total + (2 * accepted_total.total * o.tax_rate_bp + 10000) / 20000 AS goods,
           (o.status IN {GMV_ORDER_STATUSES} AND so.status NOT IN ('cancelled', 'rejected')) AS in_gmv,
           so.status IN {SHIPPED_SUPPLIER_ORDER_STATUSES} AS shipped
    FROM orders_order o
    CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM orders_orderevent e
                                       WHERE e.order_id = o.id AND e.kind = 'status.paid') AS paid) paid
    JOIN orders_supplierorder so ON so.order_id = o.id
    JOIN orders_orderline l ON l.supplier_order_id = so.id
    CROSS JOIN LATERAL (SELECT l.line_total - l.rejected_quantity * l.unit_price AS total) accepted_total
    JOIN suppliers_offer offer ON offer.id = l.offer_id
    JOIN catalog_part part ON part.id = offer.part_id
    WHERE {{where}}
)
SELECT day, 'day'::varchar AS grain, 0::bigint AS supplier_id, 0::bigint AS category_id, 0::bigint AS offer_id,
       ''::varchar AS province, ''::varchar AS status, ''::varchar AS supplier_status, ''::varchar AS reason,
       {_MEASURES_SQL}
FROM facts GROUP BY day
UNION ALL
SELECT day, 'supplier', supplier_id, 0, 0, '', '', '', '', {_MEASURES_SQL}
FROM facts GROUP BY day, supplier_id
UNION ALL
SELECT day, 'category', 0, category_id, 0, '', '', '', '', {_MEASURES_SQL}
FROM facts GROUP BY day, category_id
UNION ALL
SELECT day, 'province', 0, 0, 0, province, '', '', '', {_MEASURES_SQL}
FROM facts GROUP BY day, province
UNION ALL
SELECT day, 'status', 0, 0, 0, '', status, '', reason, {_MEASURES_SQL}
FROM facts GROUP BY day, status, reason
UNION ALL
SELECT day, 'supplier_status', supplier_id, 0, 0, '', status, supplier_status, reason, {_MEASURES_SQL}
FROM facts GROUP BY day, supplier_id, status, supplier_status, reason
UNION ALL
SELECT day, 'supplier_offer', supplier_id, 0, offer_id, '', '', '', '', {_MEASURES_SQL}
FROM facts GROUP BY day, supplier_id, offer_id
"""  # noqa: S608 - fixed fragments only

# The orders placed on the days %(days)s (a date[], Asia/Jakarta), between %(start)s (the first
# day's midnight) and %(end)s (the midnight after the last), so a batch of days near each other
# reads a range of created_at.
SALES_DAYS_WHERE_SQL = """o.created_at >= %(start)s AND o.created_at < %(end)s
    AND (o.created_at AT TIME ZONE 'Asia/Jakarta')::date = ANY (%(days)s::date[])"""

# Days whose orders changed after the refresh last looked (analytics_salesrefresh): an order
# saved since its last run started, or with a timeline event it had not seen (a supplier
# order's move writes one; it does not save the order). The check leaves these days to the
# next run: they are due, not drifted.
SALES_DAYS_PENDING_SQL = """
SELECT DISTINCT (o.created_at AT TIME ZONE 'Asia/Jakarta')::date AS day
FROM orders_order o
WHERE o.updated_at >= coalesce((SELECT scanned_at FROM analytics_salesrefresh ORDER BY id LIMIT 1), '-infinity')
   OR o.id IN (SELECT e.order_id FROM orders_orderevent e
               WHERE e.id > coalesce((SELECT event_id FROM analytics_salesrefresh ORDER BY id LIMIT 1), 0))
"""

# The key's columns as text: the check orders its examples by an array of them.
_KEY_AS_TEXT = ", ".join(f"{column}::text AS {column}" for column in SALES_DAY_KEY)
_MEASURE_LIST = ", ".join(SALES_DAY_MEASURES)
# Fixed fragments only.
_SALES_DAY_STORED_SQL = f"""
SELECT {_KEY_AS_TEXT}, {_MEASURE_LIST} FROM analytics_salesday
WHERE day NOT IN (SELECT day FROM pending)
"""  # noqa: S608
_SALES_DAY_EXPECTED_SQL = f"""
SELECT {_KEY_AS_TEXT}, {_MEASURE_LIST} FROM ({SALES_DAY_ROWS_SQL.format(where="true")}) AS expected_rows
WHERE day NOT IN (SELECT day FROM pending)
"""  # noqa: S608


def sales_day_check() -> ReadModelCheck:
    """Every day's figures against a recomputation from orders, supplier orders and lines,
    leaving out the days with changes the refresh has not reached yet."""
    pending = f"WITH pending AS MATERIALIZED ({SALES_DAYS_PENDING_SQL}) "
    return read_model_compare(
        name="sales figures per day (analytics_salesday)",
        expected_sql=pending + _SALES_DAY_EXPECTED_SQL, stored_sql=pending + _SALES_DAY_STORED_SQL,
        key=SALES_DAY_KEY,
    )


# The order funnel (analytics.models.FunnelHour): its rule is
# analytics.selectors.workflow.FUNNEL_HOUR_ROWS_SQL, which the selector runs for part-hours.
FUNNEL_HOUR_KEY = ("hour", "level", "status", "failed_step", "error_code")
# The key's columns as text (the check orders its examples by an array of them); fixed fragments only.
_FUNNEL_HOUR_COLUMNS = ", ".join(f"{column}::text AS {column}" for column in FUNNEL_HOUR_KEY) + ", orders"
_FUNNEL_HOUR_STORED_SQL = f"""
SELECT {_FUNNEL_HOUR_COLUMNS} FROM analytics_funnelhour
WHERE (hour AT TIME ZONE 'Asia/Jakarta')::date NOT IN (SELECT day FROM pending)
"""  # noqa: S608
_FUNNEL_HOUR_EXPECTED_SQL = f"""
SELECT {_FUNNEL_HOUR_COLUMNS} FROM ({FUNNEL_HOUR_ROWS_SQL.format(where="true")})
    AS expected_rows
WHERE (hour AT TIME ZONE 'Asia/Jakarta')::date NOT IN (SELECT day FROM pending)
"""  # noqa: S608 - fixed fragments only


def funnel_hour_check() -> ReadModelCheck:
    """Every hour's funnel against a recomputation from orders, timelines and step runs, leaving
    out the days with changes the refresh has not reached yet (as sales_day_check)."""
    pending = f"WITH pending AS MATERIALIZED ({SALES_DAYS_PENDING_SQL}) "
    return read_model_compare(
        name="order funnel per hour (analytics_funnelhour)",
        expected_sql=pending + _FUNNEL_HOUR_EXPECTED_SQL, stored_sql=pending + _FUNNEL_HOUR_STORED_SQL,
        key=FUNNEL_HOUR_KEY,
    )


def read_models_check() -> list[ReadModelCheck]:
    """Every read model of every app, checked from scratch: what `manage.py check_read_models` prints."""
    return [*suppliers_read_models_check(), sales_day_check(), funnel_hour_check()]


__all__ = ["FUNNEL_HOUR_KEY", "SALES_DAYS_PENDING_SQL", "SALES_DAYS_WHERE_SQL",
           "SALES_DAY_KEY", "SALES_DAY_MEASURES", "SALES_DAY_ROWS_SQL",
           "funnel_hour_check", "read_models_check", "sales_day_check"]
