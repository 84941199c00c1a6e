"""Generate an operations history at scale for the operations view's benchmark (bench/ops_bench.py).

    .venv/bin/python bench/generate_catalog.py --parts 20000 --variants 2000 --fitments 200000 \
        --database-url postgres://postgres@127.0.0.1:5432/okto88_opsbench
    .venv/bin/python bench/generate_suppliers.py --offers 50000 --database-url …/okto88_opsbench
    .venv/bin/python bench/generate_ops_history.py      # 1,000,000 orders, 5,000,000 step runs, 30 days

Uses its own database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/okto88_opsbench):
creates and migrates it if needed, then REPLACES the rows of the order tables and of the rollups
(TRUNCATE … CASCADE) and of the workshops it made before. The orders' lines point at the stock
rows already there (run the two generators above first, at any scale).

Set-based SQL (generate_series, random() under setseed: the same --seed, the same history), no
ORM loops. The shape:
- orders over --days days (at most 35: what the rollups keep), busier in Jakarta's working hours;
  statuses by age: the old ones mostly completed, ~7 % expired, ~5 % cancelled, ~7.5 % failed,
  the last day's still moving (pending payment, in fulfilment, shipped); 45 % on terms;
- ~1.3 supplier orders per order, 1–3 lines each (price snapshot from the stock's offer), the
  order's totals adding up (the table's CHECK);
- a timeline of 2–6 events per order, by how far it got;
- step runs: the four steps for every order that was paid, the booking's retries geometric so
  that the total comes to --step-runs, failed orders ending in a failed booking; queue wait and
  run time log-normal per step (enqueued_at, error_code, trace_id filled when the columns exist:
  OPTIONAL_STEPRUN_COLUMNS);
- rollups (analytics_rollup, when the table exists): requests per route and partner calls per
  partner and operation, minute rows for the last ROLLUP_MINUTE_HOURS hours and hour rows before
  that, each with a histogram over okto88.recording's bucket bounds; "system" gauges (database
  connections, queue depth) per minute and hour likewise.

Secondary indexes and constraints of the big tables are dropped before the inserts and
recreated after (as generate_catalog.py does), then VACUUM ANALYZE. Prints each step's time.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate_catalog import Timer, database_create, django_setup, secondary_schema

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/okto88_opsbench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
BIG_TABLES = ("orders_order", "orders_supplierorder", "orders_orderline", "orders_orderevent", "orders_steprun")
WORKSHOP_PREFIX = "Bench bengkel "
ROLLUP_MINUTE_HOURS = 48  # minute rows are compacted into hour rows after 48 h
# Histogram bucket bounds in ms (okto88.recording.BUCKET_BOUNDS_MS; +Inf last). Kept here so the
# generator runs against a branch without the recording module too.
BUCKET_BOUNDS_MS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)

# Columns of orders_steprun written only when the table has them, with their SQL (names from the
# step-run query below: r = the run's row, o = its order).
OPTIONAL_STEPRUN_COLUMNS = {
    "enqueued_at": "r.enqueued_at",
    "error_code": "r.error_code",
    "trace_id": "CASE WHEN o.id % 2 = 0 THEN md5(o.id::text) ELSE '' END",
}

# Requests: (method, route, requests per minute at the busiest hour, median ms, share of 4xx, 5xx).
ROUTES = [
    ("GET", "api/v1/parts/", 120, 18, 0.02, 0.001),
    ("GET", "api/v1/parts/lookup/", 60, 8, 0.03, 0.001),
    ("GET", "api/v1/parts/<int:pk>/", 40, 12, 0.02, 0.001),
    ("GET", "bengkel/parts/<int:part_id>/", 30, 35, 0.01, 0.002),
    ("GET", "bengkel/cart/", 12, 40, 0.0, 0.002),
    ("POST", "bengkel/cart/add/", 8, 30, 0.03, 0.002),
    ("POST", "api/v1/orders/", 3, 260, 0.05, 0.01),
    ("GET", "api/v1/orders/", 10, 25, 0.01, 0.001),
    ("GET", "api/v1/orders/<str:number>/", 15, 15, 0.03, 0.001),
    ("POST", "api/v1/payments/notifications/", 3, 45, 0.01, 0.002),
    ("POST", "api/v1/logistics/notifications/", 6, 30, 0.01, 0.002),
    ("GET", "api/v1/suppliers/offers/", 20, 30, 0.02, 0.001),
    ("POST", "api/v1/suppliers/stock/", 10, 55, 0.04, 0.003),
    ("GET", "healthz", 4, 1, 0.0, 0.0),
    ("GET", "ops/", 0.3, 120, 0.0, 0.0),
]
# Partner calls: (partner, operation, calls per minute at the busiest hour, median ms, error, timeout, rejected).
PARTNER_CALLS = [
    ("gateway", "charge", 1.6, 240, 0.01, 0.005, 0.01),
    ("gateway", "status", 1.8, 110, 0.005, 0.002, 0.0),
    ("gateway", "cancel", 0.2, 150, 0.01, 0.002, 0.02),
    ("gateway", "refund", 0.15, 300, 0.02, 0.005, 0.01),
    ("courier", "rates", 6.0, 160, 0.02, 0.01, 0.0),
    ("courier", "shipment_create", 2.5, 280, 0.04, 0.02, 0.01),
    ("courier", "shipment_cancel", 0.2, 200, 0.02, 0.01, 0.0),
]
SYSTEM_GAUGES = [(("db_connections_in_use",), 9), (("celery_queue_depth", "okto88"), 3),
                 (("celery_queue_depth", "okto88.imports"), 0.2)]

EVENTS_BY_STATUS = {
    "pending_payment": ["placed", "payment.requested"],
    "paid": ["placed", "status.paid"],
    "in_fulfilment": ["placed", "status.paid", "stock_committed", "shipment_booked", "status.in_fulfilment"],
    "shipped": ["placed", "status.paid", "stock_committed", "shipment_booked", "status.in_fulfilment",
                "status.shipped"],
    "completed": ["placed", "status.paid", "stock_committed", "shipment_booked", "status.in_fulfilment",
                  "status.completed"],
    "expired": ["placed", "payment.requested", "status.expired"],
    "cancelled": ["placed", "status.paid", "status.cancelled"],
    "failed": ["placed", "status.paid", "stock_committed", "status.failed"],
}


def _normal() -> str:
    """A standard normal draw in SQL (Box–Muller; 1 - random() is never 0)."""
    return "(sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))"


def histogram_profile(median_ms: float, sigma: float = 0.6) -> list[float]:
    """The share of a log-normal's calls in each bucket (okto88.recording's bounds, +Inf last)."""
    def cdf(ms: float) -> float:
        return 0.5 * (1 + math.erf((math.log(ms) - math.log(median_ms)) / (sigma * math.sqrt(2))))
    shares, below = [], 0.0
    for bound in BUCKET_BOUNDS_MS:
        shares.append(cdf(bound) - below)
        below = cdf(bound)
    shares.append(1 - below)
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--step-runs", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--workshops", type=int, default=5_000)
    parser.add_argument("--seed", type=float, default=0.13, help="setseed() value, -1 … 1")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--derived-only", action="store_true",
                        help="keep the orders and step runs; rebuild only the step rollups and the read models")
    args = parser.parse_args()
    timer = Timer()
    print(f"generating into {args.database_url}: {args.orders:,} orders, ~{args.step_runs:,} step runs over "
          f"{args.days} days")
    with timer.step("database and migrations"):
        django_setup(args.database_url, args.redis_url)
        database_create(args.database_url)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    if args.derived_only:
        print("  rows: " + ", ".join(f"{table} {n:,}" for table, n in derived_generate(timer=timer).items()))
        print(f"done in {timer.total():.1f}s")
        return
    ops_history_generate(orders=args.orders, step_runs=args.step_runs, days=args.days, workshops=args.workshops,
                         seed=args.seed, timer=timer)
    print(f"done in {timer.total():.1f}s")


def _columns(cursor, table: str) -> set[str]:
    cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
    return {row[0] for row in cursor.fetchall()}


def ops_history_generate(*, orders: int, step_runs: int, days: int = 30, workshops: int = 5_000, seed: float = 0.13,
                         timer: Timer | None = None, vacuum: bool = True) -> dict[str, int]:
    """Generate into the database Django is set up on. Without `vacuum` (inside a transaction,
    as in a test) indexes stay in place and VACUUM is left out. Returns the row counts."""
    from django.db import connection

    if not 1 <= days <= 35:
        raise ValueError("days must be 1–35 (the rollups keep 35 days)")
    timer = timer or Timer()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM suppliers_stock")
        if not cursor.fetchone()[0]:
            raise SystemExit("no stock rows: run bench/generate_catalog.py and bench/generate_suppliers.py first")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SELECT setseed(%s)", [seed])
        with timer.step("truncate orders and rollups; drop secondary indexes and constraints"):
            cursor.execute("TRUNCATE " + ", ".join(BIG_TABLES) + " RESTART IDENTITY CASCADE")
            rollups = "analytics_rollup" in connection.introspection.table_names(cursor)
            if rollups:
                cursor.execute("TRUNCATE analytics_rollup RESTART IDENTITY")
            cursor.execute("DELETE FROM workshops_workshop WHERE name LIKE %s", [WORKSHOP_PREFIX + "%"])
            recreate = []
            if vacuum:
                for table in BIG_TABLES:
                    recreate += secondary_schema(cursor, table)
        with timer.step(f"workshops ({workshops:,}), the bench user, the stock to order from"):
            _reference_data(cursor, workshops=workshops)
        with timer.step(f"orders in a work table ({orders:,})"):
            _orders_work_table(cursor, orders=orders, days=days)
        with timer.step("supplier orders and lines in work tables"):
            _supplier_orders_work_tables(cursor)
        with timer.step("INSERT orders, supplier orders, lines"):
            _orders_insert(cursor)
        with timer.step("INSERT order events"):
            _events_insert(cursor)
        with timer.step(f"INSERT step runs (~{step_runs:,})"):
            _step_runs_insert(cursor, step_runs=step_runs, optional=_columns(cursor, "orders_steprun"))
        if rollups:
            with timer.step("INSERT rollups (requests, partner calls, system gauges)"):
                _rollups_insert(cursor, days=days)
        if recreate:
            with timer.step(f"recreate {len(recreate)} indexes and constraints"):
                cursor.execute("SET maintenance_work_mem = '1GB'")
                for statement in recreate:
                    cursor.execute(statement)
        for table in BIG_TABLES:
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our names
                           f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
        counts = {}
        for table in (*BIG_TABLES, *(("analytics_rollup",) if rollups else ())):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our names
            counts[table] = cursor.fetchone()[0]
    if vacuum:
        with timer.step("VACUUM ANALYZE"), connection.cursor() as cursor:
            for table in (*BIG_TABLES, *(("analytics_rollup",) if rollups else ())):
                cursor.execute(f"VACUUM ANALYZE {table}")
    if rollups:
        counts.update(derived_generate(timer=timer, vacuum=vacuum))
    print("  rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    return counts


def derived_generate(*, timer: Timer, vacuum: bool = True) -> dict[str, int]:
    """What the running system derives from the orders and step runs: the step_wait/step_run
    rollups (as orders.workflow records each finished attempt) and the analytics read models
    (SalesDay, FunnelHour: analytics.services.sales_days_rebuild)."""
    from django.db import connection

    from analytics.services import sales_days_rebuild

    with connection.cursor() as cursor:
        with timer.step("INSERT step rollups (step_wait, step_run) from the step runs"):
            _step_rollups_insert(cursor)
        if vacuum:
            cursor.execute("VACUUM ANALYZE analytics_rollup")
    with timer.step("analytics read models (sales_days_rebuild: SalesDay, FunnelHour)"):
        sales_days_rebuild()
    counts = {}
    with connection.cursor() as cursor:
        if vacuum:
            cursor.execute("VACUUM ANALYZE analytics_salesday")
            cursor.execute("VACUUM ANALYZE analytics_funnelhour")
        for table in ("analytics_salesday", "analytics_funnelhour"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our names
            counts[table] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM analytics_rollup WHERE kind IN ('step_wait', 'step_run')")
        counts["step rollups"] = cursor.fetchone()[0]
    return counts


def _step_rollups_insert(cursor) -> None:
    """One rollup row per kind, bucket, labels and status, as the recording leaves them: each
    finished attempt recorded at its end (minute rows for the last ROLLUP_MINUTE_HOURS hours,
    hour rows before), step_wait (step,) when it has an enqueue time, step_run (step,
    error_code); the histogram slot is the first bound ≥ the milliseconds (okto88.recording)."""
    cursor.execute("DELETE FROM analytics_rollup WHERE kind IN ('step_wait', 'step_run')")
    bounds = "ARRAY[" + ", ".join(f"{bound}::float8" for bound in BUCKET_BOUNDS_MS) + "]"
    slots = len(BUCKET_BOUNDS_MS) + 1
    histogram = "ARRAY[" + ", ".join(f"count(*) FILTER (WHERE slot = {i})" for i in range(slots)) + "]"
    boundary = f"date_trunc('hour', now() - interval '{ROLLUP_MINUTE_HOURS} hours')"
    for kind, labels, ms, where in (
        ("step_wait", "ARRAY[step]", "greatest(0, date_part('epoch', started_at - enqueued_at) * 1000)",
         "enqueued_at IS NOT NULL"),
        ("step_run", "ARRAY[step, error_code]", "date_part('epoch', finished_at - started_at) * 1000", "true"),
    ):
        cursor.execute(f"""
            INSERT INTO analytics_rollup (kind, bucket_seconds, bucket_start, labels, outcome, count, sum_ms, histogram)
            SELECT '{kind}', seconds, bucket_start, labels, status, count(*), sum(ms), {histogram}
            FROM (
                SELECT CASE WHEN finished_at >= {boundary} THEN 60 ELSE 3600 END AS seconds,
                       CASE WHEN finished_at >= {boundary} THEN date_trunc('minute', finished_at)
                            ELSE date_trunc('hour', finished_at) END AS bucket_start,
                       {labels}::text[] AS labels, status, ms,
                       -- bisect_left: the number of bounds below ms
                       width_bucket(ms, {bounds}) - (ms = ANY({bounds}))::int AS slot
                FROM (SELECT *, {ms} AS ms FROM orders_steprun WHERE finished_at IS NOT NULL AND {where}) r
            ) x
            GROUP BY seconds, bucket_start, labels, status
        """)  # noqa: S608 - built from constants


def _reference_data(cursor, *, workshops: int) -> None:
    cursor.execute(f"""
        INSERT INTO workshops_workshop (name, npwp, phone, credit_limit, is_active, created_at, updated_at)
        SELECT '{WORKSHOP_PREFIX}' || g, '', '', 100000000000, true, now(), now() FROM generate_series(1, %s) g
    """, [workshops])  # noqa: S608 - a constant prefix
    from okto88.models import User

    User.objects.get_or_create(email="ops-bench@okto88.id", defaults={"full_name": "Ops bench"})
    cursor.execute("DROP TABLE IF EXISTS bench_stock, bench_workshop, bench_province")
    cursor.execute("""
        CREATE TEMP TABLE bench_stock AS
        SELECT row_number() OVER (ORDER BY s.warehouse_id, s.id) AS n, s.id AS stock_id, o.id AS offer_id,
               s.warehouse_id, o.supplier_id, o.price, o.sku, p.number AS part_number, left(p.name_id, 200) AS name,
               CASE WHEN p.weight_g > 0 THEN p.weight_g ELSE 500 END AS weight_g
        FROM suppliers_stock s JOIN suppliers_offer o ON o.id = s.offer_id JOIN catalog_part p ON p.id = o.part_id
        WHERE o.price > 0
    """)
    cursor.execute("CREATE TEMP TABLE bench_workshop AS SELECT row_number() OVER (ORDER BY id) AS n, id "
                   "FROM workshops_workshop WHERE name LIKE %s", [WORKSHOP_PREFIX + "%"])
    cursor.execute("""
        CREATE TEMP TABLE bench_province (n int, province text, city text, postal_code text);
        INSERT INTO bench_province VALUES
          (0, 'DKI Jakarta', 'Jakarta Selatan', '12110'), (1, 'Jawa Barat', 'Kota Bandung', '40131'),
          (2, 'Jawa Barat', 'Kota Bekasi', '17148'), (3, 'Jawa Timur', 'Kota Surabaya', '60275'),
          (4, 'Jawa Tengah', 'Kota Semarang', '50131'), (5, 'Sumatera Utara', 'Kota Medan', '20211'),
          (6, 'Sulawesi Selatan', 'Kota Makassar', '90121'), (7, 'DI Yogyakarta', 'Kota Yogyakarta', '55231'),
          (8, 'Bali', 'Kota Denpasar', '80221'), (9, 'Banten', 'Kota Tangerang', '15111')
    """)


def _orders_work_table(cursor, *, orders: int, days: int) -> None:
    """One row per order: when, who, how it pays, how far it got (by age), how many suppliers."""
    cursor.execute("DROP TABLE IF EXISTS bench_o")
    cursor.execute(f"""
        CREATE TEMP TABLE bench_o AS
        WITH drawn AS (
            SELECT g::bigint AS id,
                   -- busier in working hours: four in five between 08:00 and 18:00 WIB (01:00–11:00 UTC)
                   date_trunc('day', now() - random() * interval '{days} days')
                     + interval '1 second' * (CASE WHEN random() < 0.8
                         THEN 3600 * (1 + 10 * random()) ELSE 86400 * random() END) AS created_at,
                   random() AS fate, random() AS r2, random() AS r3
            FROM generate_series(1, %s) g
        )
        SELECT id, CASE WHEN created_at > now() THEN created_at - interval '1 day' ELSE created_at END AS created_at,
               (SELECT count(*) FROM bench_workshop) AS workshops, fate, r2,
               CASE WHEN r3 < 0.45 THEN 'terms' WHEN r3 < 0.75 THEN 'virtual_account'
                    WHEN r3 < 0.9 THEN 'qris' ELSE 'ewallet' END AS payment_method,
               1 + (r2 < 0.25)::int + (r2 < 0.05)::int AS supplier_orders
        FROM drawn
    """, [orders])  # noqa: S608 - days is an int
    cursor.execute("""
        ALTER TABLE bench_o ADD COLUMN status text, ADD COLUMN workshop_id bigint, ADD COLUMN paid_at timestamptz;
        UPDATE bench_o o SET
            workshop_id = w.id,
            status = CASE
                WHEN o.payment_method <> 'terms' AND o.fate < 0.07
                    THEN CASE WHEN now() - o.created_at < interval '1 hour' THEN 'pending_payment' ELSE 'expired' END
                WHEN o.fate < 0.12 THEN 'cancelled'
                WHEN o.fate < 0.195 THEN 'failed'
                WHEN now() - o.created_at < interval '2 minutes' THEN 'paid'
                WHEN now() - o.created_at < interval '1 day' THEN
                    CASE WHEN o.r2 < 0.5 THEN 'in_fulfilment' WHEN o.r2 < 0.85 THEN 'shipped' ELSE 'completed' END
                WHEN now() - o.created_at < interval '3 days' THEN
                    CASE WHEN o.r2 < 0.3 THEN 'shipped' ELSE 'completed' END
                ELSE 'completed' END,
            paid_at = o.created_at + CASE WHEN o.payment_method = 'terms' THEN interval '0'
                                          ELSE interval '1 minute' * (1 + 44 * o.r2) END
        FROM bench_workshop w WHERE w.n = 1 + (o.id * 7919) % o.workshops;
        CREATE INDEX ON bench_o (id);
        ANALYZE bench_o;
    """)


def _supplier_orders_work_tables(cursor) -> None:
    cursor.execute("""
        DROP TABLE IF EXISTS bench_so, bench_line;
        CREATE TEMP TABLE bench_so AS
        SELECT row_number() OVER (ORDER BY o.id, k) AS id, o.id AS order_id, k,
               1 + ((o.id * 104729 + k * 7907) % (SELECT count(*) FROM bench_stock)) AS first_stock,
               1 + (random() * 2.2)::int AS lines
        FROM bench_o o CROSS JOIN LATERAL generate_series(1, o.supplier_orders) k;
        CREATE TEMP TABLE bench_line AS
        SELECT so.id AS supplier_order_id, s.stock_id, s.offer_id, s.warehouse_id, s.supplier_id, s.price,
               s.sku, s.part_number, s.name, s.weight_g, 1 + (random() < 0.3)::int + (random() < 0.1)::int AS quantity,
               j
        FROM bench_so so CROSS JOIN LATERAL generate_series(0, so.lines - 1) j
        JOIN bench_stock s ON s.n = 1 + ((so.first_stock + j - 1) % (SELECT count(*) FROM bench_stock));
        CREATE INDEX ON bench_line (supplier_order_id);
        ANALYZE bench_so; ANALYZE bench_line;
    """)


def _orders_insert(cursor) -> None:
    cursor.execute("""
        INSERT INTO orders_order (id, number, status, payment_method, idempotency_key, request_hash, delivery_address,
                                  subtotal, shipping_total, tax_rate_bp, tax_total, grand_total, failure_reason,
                                  expires_at, created_at, updated_at, workshop_id, placed_by_id)
        SELECT o.id, 'OB-' || lpad(o.id::text, 9, '0'), o.status, o.payment_method, 'bench-' || o.id, md5(o.id::text),
               jsonb_build_object('province', p.province, 'city', p.city,
                                  'postal_code', p.postal_code, 'recipient_name', 'Bench',
                                  'street', 'Jl. Bench ' || o.id, 'phone', '+628100000000'),
               t.subtotal, t.shipping, 1100, ((t.subtotal + t.shipping) * 11 / 100),
               t.subtotal + t.shipping + ((t.subtotal + t.shipping) * 11 / 100),
               CASE o.status WHEN 'failed' THEN 'No courier could take the shipment; the payment is returned.'
                             WHEN 'expired' THEN 'not paid in time'
                             WHEN 'cancelled' THEN 'cancelled by the workshop' ELSE '' END,
               CASE WHEN o.payment_method <> 'terms' THEN o.created_at + interval '24 hours' END,
               o.created_at, o.paid_at + interval '2 minutes', o.workshop_id,
               (SELECT id FROM platform_user ORDER BY id LIMIT 1)
        FROM bench_o o JOIN (
            SELECT so.order_id, sum(l.price * l.quantity) AS subtotal, sum(9000 + 1000 * so.k) AS shipping
            FROM bench_so so JOIN bench_line l ON l.supplier_order_id = so.id GROUP BY so.order_id
        ) t ON t.order_id = o.id
        JOIN bench_province p ON p.n = o.id % 10
    """)
    cursor.execute("""
        INSERT INTO orders_supplierorder (id, number, status, subtotal, shipping_cost, carrier_code, service_level,
                                          weight_g, order_id, supplier_id, warehouse_id)
        SELECT so.id, 'OB-' || lpad(so.order_id::text, 9, '0') || '-' || so.k,
               CASE o.status WHEN 'completed' THEN 'delivered' WHEN 'shipped' THEN 'shipped'
                             WHEN 'in_fulfilment' THEN 'confirmed' WHEN 'pending_payment' THEN 'pending'
                             WHEN 'paid' THEN 'pending' ELSE 'cancelled' END,
               t.subtotal, 9000 + 1000 * so.k, (ARRAY['jne', 'sicepat', 'jnt', 'anteraja'])[1 + so.id % 4], 'REG',
               t.weight_g, so.order_id, t.supplier_id, t.warehouse_id
        FROM bench_so so JOIN bench_o o ON o.id = so.order_id JOIN (
            SELECT supplier_order_id, sum(price * quantity) AS subtotal, sum(weight_g * quantity) AS weight_g,
                   min(supplier_id) AS supplier_id, min(warehouse_id) AS warehouse_id
            FROM bench_line GROUP BY supplier_order_id
        ) t ON t.supplier_order_id = so.id
    """)
    cursor.execute("""
        INSERT INTO orders_orderline (sku, part_number, name, quantity, unit_price, line_total, offer_id, stock_id,
                                      supplier_order_id)
        SELECT left(sku, 60), left(part_number, 60), name, quantity, price, price * quantity, offer_id, stock_id,
               supplier_order_id
        FROM bench_line ORDER BY supplier_order_id, j
    """)


def _events_insert(cursor) -> None:
    cases = " ".join(f"WHEN '{status}' THEN ARRAY{kinds!r}" for status, kinds in EVENTS_BY_STATUS.items())
    cursor.execute(f"""
        INSERT INTO orders_orderevent (kind, message, step, data, created_at, order_id)
        SELECT e.kind, '', split_part(e.kind, '.', 1), '{{}}'::jsonb,
               o.created_at + (e.position - 1) * CASE WHEN o.status IN ('completed', 'shipped')
                   THEN interval '9 hours' ELSE interval '20 seconds' END,
               o.id
        FROM bench_o o CROSS JOIN LATERAL unnest(CASE o.status {cases} END) WITH ORDINALITY AS e(kind, position)
        ORDER BY o.id, e.position
    """)  # noqa: S608 - constants only


def _step_runs_insert(cursor, *, step_runs: int, optional: set[str]) -> None:
    """Four steps for every order that was paid (a failed one stops at a failed booking); the
    booking's extra attempts geometric, their mean set so the total comes to `step_runs`."""
    cursor.execute("SELECT count(*) FILTER (WHERE status IN ('in_fulfilment', 'shipped', 'completed')), "
                   "count(*) FILTER (WHERE status = 'failed'), "
                   "count(*) FILTER (WHERE status = 'cancelled' AND id % 2 = 0) FROM bench_o")
    full, failed, cancelled = cursor.fetchone()
    base = 4 * (full + cancelled) + 7 * failed  # a failed order: commit_stock and six booking attempts
    chains = full + cancelled
    extra_mean = max(0.0, (step_runs - base) / chains) if chains else 0.0
    # Geometric: floor(ln(u) / ln(p)) has mean p / (1 - p).
    p = extra_mean / (1 + extra_mean)
    retries = f"floor(ln(1 - random()) / ln({p}))::int" if p > 0 else "0"
    wait = f"exp(-1.6 + 1.1 * {_normal()})"
    run = (f"exp(CASE s.step WHEN 'commit_stock' THEN -3.4 WHEN 'request_shipments' THEN -1.5 "
           f"WHEN 'notify' THEN -4.0 ELSE -4.5 END + 0.5 * {_normal()})")
    columns = ["order_id", "step", "attempt", "status", "task_id", "started_at", "finished_at", "error",
               *(name for name in OPTIONAL_STEPRUN_COLUMNS if name in optional)]
    values = ["o.id", "s.step", "r.attempt", "r.status", "'bench-' || o.id || '-' || s.pos || '-' || r.attempt",
              "r.started_at", "r.started_at + r.run_seconds * interval '1 second'", "r.error",
              *(sql for name, sql in OPTIONAL_STEPRUN_COLUMNS.items() if name in optional)]
    cursor.execute(f"""
        INSERT INTO orders_steprun ({", ".join(columns)})
        SELECT {", ".join(values)}
        FROM (SELECT o.*, CASE WHEN o.status = 'failed' THEN 5 ELSE {retries} END AS retries
              FROM bench_o o
              WHERE o.status IN ('in_fulfilment', 'shipped', 'completed', 'failed')
                 OR (o.status = 'cancelled' AND o.id % 2 = 0)) o
        CROSS JOIN LATERAL (VALUES (1, 'commit_stock'), (2, 'request_shipments'), (3, 'notify'),
                                   (4, 'mark_in_fulfilment')) s(pos, step)
        CROSS JOIN LATERAL (
            SELECT a AS attempt, w.enqueued_at, w.enqueued_at + w.wait_seconds * interval '1 second' AS started_at,
                   w.run_seconds,
                   CASE WHEN s.step <> 'request_shipments' OR a = 1 + o.retries
                        THEN CASE WHEN o.status = 'failed' AND s.step = 'request_shipments' THEN 'failed'
                                  ELSE 'succeeded' END
                        ELSE 'retrying' END AS status,
                   CASE WHEN s.step = 'request_shipments' AND (a <= o.retries OR o.status = 'failed')
                        THEN CASE WHEN a % 3 = 0 THEN 'courier_timeout' ELSE 'courier_unavailable' END
                        ELSE '' END AS error_code,
                   CASE WHEN s.step = 'request_shipments' AND (a <= o.retries OR o.status = 'failed')
                        THEN 'The courier answered 500; try again later.' ELSE '' END AS error
            FROM generate_series(1, CASE WHEN s.step = 'request_shipments' THEN 1 + o.retries ELSE 1 END) a
            CROSS JOIN LATERAL (SELECT o.paid_at + (s.pos - 1) * interval '3 seconds'
                                       + (power(2, a) - 2) * interval '2 seconds' AS enqueued_at,
                                       {wait} AS wait_seconds, {run} AS run_seconds) w
        ) r
        WHERE o.status <> 'failed' OR s.pos <= 2
    """)  # noqa: S608 - built from constants


def _rollups_insert(cursor, *, days: int) -> None:
    """Minute rows for the last ROLLUP_MINUTE_HOURS hours, hour rows before that; per series a
    diurnal rate (Jakarta), outcomes by share, a histogram over the bucket bounds."""
    cursor.execute("DROP TABLE IF EXISTS bench_series")
    cursor.execute("CREATE TEMP TABLE bench_series (kind text, labels text[], outcome text, per_minute float8, "
                   "mean_ms float8, profile float8[])")
    rows = []
    for method, route, per_minute, median, share_4xx, share_5xx in ROUTES:
        profile = histogram_profile(median)
        mean = median * math.exp(0.18)
        for outcome, share in (("2xx", 1 - share_4xx - share_5xx), ("4xx", share_4xx), ("5xx", share_5xx)):
            if share > 0:
                rows.append(("request", [method, route], outcome, per_minute * share, mean, profile))
    for partner, operation, per_minute, median, error, timeout, rejected in PARTNER_CALLS:
        for outcome, share, ms in (("ok", 1 - error - timeout - rejected, median), ("error", error, median / 2),
                                   ("timeout", timeout, 5000), ("rejected", rejected, median)):
            if share > 0:
                rows.append(("partner", [partner, operation], outcome, per_minute * share, ms * math.exp(0.18),
                             histogram_profile(ms, 0.3 if outcome == "timeout" else 0.6)))
    cursor.executemany("INSERT INTO bench_series VALUES (%s, %s, %s, %s, %s, %s)", rows)
    slots = len(BUCKET_BOUNDS_MS) + 1
    # Requests per bucket: the series' rate × bucket minutes × a diurnal factor (Jakarta, UTC+7) × noise.
    diurnal = ("(0.15 + 0.85 * greatest(0, sin(pi() * (extract(hour FROM b.start AT TIME ZONE 'Asia/Jakarta') - 6)"
               " / 16)))")
    # Minute rows from the hour ROLLUP_MINUTE_HOURS ago to the last whole minute, hour rows before
    # it: every moment in exactly one row, as the compaction leaves them.
    boundary = f"date_trunc('hour', now() - interval '{ROLLUP_MINUTE_HOURS} hours')"
    for seconds, since, until in ((60, boundary, "now()"), (3600, f"now() - interval '{days} days'", boundary)):
        unit, width = ("minute" if seconds == 60 else "hour"), f"interval '{seconds} seconds'"
        cursor.execute(f"""
            INSERT INTO analytics_rollup (kind, bucket_seconds, bucket_start, labels, outcome, count, sum_ms, histogram)
            SELECT kind, {seconds}, start, labels, outcome, n, n * mean_ms * (0.9 + 0.2 * random()),
                   ARRAY(SELECT (floor(n * profile[i]) + CASE WHEN i = 1 + mode THEN n - floored ELSE 0 END)::bigint
                         FROM generate_series(1, {slots}) i)
            FROM (
                SELECT s.*, b.start, c.n,
                       (SELECT sum(floor(c.n * p)) FROM unnest(s.profile) p)::bigint AS floored,
                       (SELECT i - 1 FROM unnest(s.profile) WITH ORDINALITY u(p, i) ORDER BY p DESC LIMIT 1) AS mode
                FROM bench_series s
                CROSS JOIN generate_series(date_trunc('{unit}', {since}), {until} - {width}, {width}) b(start)
                CROSS JOIN LATERAL (SELECT round(s.per_minute * {seconds // 60} * {diurnal}
                                                 * (0.7 + 0.6 * random()))::bigint AS n) c
            ) x
            WHERE n > 0
        """)  # noqa: S608 - built from constants
        for labels, value in SYSTEM_GAUGES:
            samples = seconds // 60
            cursor.execute(f"""
                INSERT INTO analytics_rollup (kind, bucket_seconds, bucket_start, labels, outcome, count, sum_ms,
                                              histogram)
                SELECT 'system', {seconds}, b.start, %s, 'ok', {samples},
                       {samples} * %s * (0.5 + random()) * {diurnal}, '{{}}'
                FROM generate_series(date_trunc('{unit}', {since}), {until} - {width}, {width}) b(start)
            """, [list(labels), value])  # noqa: S608 - built from constants


if __name__ == "__main__":
    main()
