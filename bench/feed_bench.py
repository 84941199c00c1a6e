"""Feed import benchmark: a 1,000,000-row feed against the 200,000-part catalog, each import
measured against a floor that writes the same rows, in the same run.

    .venv/bin/python bench/feed_bench.py            # --rows 1000000 --statements 0

Uses the bench database (run bench/generate_catalog.py, then generate_suppliers.py, first).
Creates (or empties) two suppliers with warehouses FB1 and FB2: "PT Feed Bench", which the
imports write to, and "PT Feed Bench (floor)", pending (so none of its offers is visible and no
read model depends on them), which the floors write to. Writes a feed CSV (sku, brand,
part_number, price, lead_time_days, stock_FB1, stock_FB2; 0.1% rows with an unknown part
number, 10% empty stock cells) and a daily update of it (same SKUs, 10% new prices, 30% new
stock) to a temp folder, with beside each the rows an import of it must apply, already resolved
(sku, part id, price, lead time, stock per warehouse) for the floors. Then in one run:

1. floor of the cold import, on the floors' supplier: the offers, stock and ledger rows of the
   feed, written by plain set-based SQL from a staging table (COPY of the resolved rows, not
   timed) into the real tables with their indexes and constraints, in one transaction, committed
   (the deferred foreign-key checks run at the commit and are timed); the floors' supplier is
   emptied again afterwards, so the imports run against the same tables as without it;
2. import #1 (cold: every offer, stock row and ledger row is new, every event is written);
3. import #2 of the same file: must change nothing and emit no event;
4. floor of the daily update, from the cold rows written again (not timed): only the changed
   offers, the changed or new stock rows and their ledger rows (which rows those are is worked
   out before the clock starts), then the floors' supplier is emptied again;
5. import #3 of the daily update;
6. the read-model check (analytics.read_models.read_models_check, what `manage.py
   check_read_models` runs): every read model must be exact.

Each import runs `suppliers.feeds.feed_import_run` in a fresh child process, which reports its
wall time, its peak RSS (resource.getrusage ru_maxrss) and its time per phase (as
suppliers.feeds logs it; `--statements N` adds the N slowest SQL statements). A CHECKPOINT
before each floor and import keeps the previous step's dirty pages from being written out during
it. Prints a
line per target ending in PASS or FAIL and exits non-zero on a FAIL.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_catalog import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, django_setup

SUPPLIER_NAME = "PT Feed Bench"
FLOOR_SUPPLIER_NAME = "PT Feed Bench (floor)"
WAREHOUSES = ["FB1", "FB2"]
TARGET_FLOOR_RATIO = 2.0  # cold import and daily update, each against its own floor
TARGET_DAILY_RATE = 100_000  # rows of the file per second
TARGET_SAME_FILE_SECONDS = 5.0
TARGET_RSS_MB = 300
# The floors' session gets the settings an import's session runs with (suppliers.feeds.run).
FLOOR_WORK_MEM = "256MB"


def setup(args) -> None:
    os.environ.setdefault("MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "okto88-bench-media"))
    django_setup(args.database_url, args.redis_url)


class _PhaseCapture(logging.Handler):
    """Keeps the per-phase timings the import logs with its summary line."""

    phases: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(getattr(record, "phases", None), dict):
            _PhaseCapture.phases = record.phases


def _statement_timer(statements: list):
    """A connection.execute_wrapper that records each SQL statement's wall time."""

    def wrapper(execute, sql, params, many, context):
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.monotonic() - started, " ".join(sql.split())[:150]))

    return wrapper


def child_import(feed_import_id: int, top_statements: int = 0) -> None:
    """Run one import (in this fresh process) and print its figures as JSON."""
    from django.db import connection

    from suppliers import feeds
    from suppliers.models import FeedImport

    feeds_logger = logging.getLogger("suppliers.feeds")
    feeds_logger.addHandler(_PhaseCapture())
    feeds_logger.setLevel(logging.INFO)
    feed_import = FeedImport.objects.get(pk=feed_import_id)
    statements: list[tuple[float, str]] = []
    started = time.monotonic()
    with connection.execute_wrapper(_statement_timer(statements)):
        feed_import = feeds.feed_import_run(feed_import=feed_import)
    seconds = time.monotonic() - started
    print(json.dumps({
        "seconds": seconds, "status": feed_import.status, "error": feed_import.error,
        "rows": feed_import.rows_total, "rejected": feed_import.rows_rejected,
        "offers_changed": feed_import.offers_changed, "stock_changed": feed_import.stock_changed,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "phases": _PhaseCapture.phases,
        "statements": sorted(statements, reverse=True)[:top_statements],
    }))


def _supplier_emptied(*, name: str, status: str, refresh: bool = True):
    """The supplier `name` (created if missing) with its warehouses, without any offer, stock,
    ledger row or feed import; the best offers of the parts its offers were on are refreshed
    (`refresh`: a pending supplier's offers never were in them)."""
    from django.db import connection, transaction

    from suppliers.models import Supplier, Warehouse
    from suppliers.services import part_best_offer_refresh

    supplier = Supplier.objects.filter(legal_name=name).first()
    if supplier is None:
        supplier = Supplier.objects.create(legal_name=name, npwp="0999999999999000", status=status)
    elif supplier.status != status:
        if not refresh:
            raise RuntimeError(f"{name} is {supplier.status}, not {status}: its offers may be in the best offers")
        Supplier.objects.filter(pk=supplier.pk).update(status=status)
    for code in WAREHOUSES:
        Warehouse.objects.get_or_create(
            supplier=supplier, code=code,
            defaults={"name": f"Gudang {code}", "province": "Daerah Khusus Ibukota Jakarta",
                      "city": "Kota Administrasi Jakarta Selatan", "district": "Kebayoran Baru",
                      "postal_code": "12110", "region_code": "31.74.07"},
        )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM suppliers_stockmovement m USING suppliers_stock s, suppliers_offer o "
                       "WHERE m.stock_id = s.id AND s.offer_id = o.id AND o.supplier_id = %s", [supplier.pk])
        cursor.execute("DELETE FROM suppliers_stock s USING suppliers_offer o "
                       "WHERE s.offer_id = o.id AND o.supplier_id = %s", [supplier.pk])
        cursor.execute("DELETE FROM suppliers_offer WHERE supplier_id = %s RETURNING part_id", [supplier.pk])
        part_ids = [row[0] for row in cursor.fetchall()]
        if refresh:
            part_best_offer_refresh(part_ids=part_ids)
        cursor.execute("DELETE FROM suppliers_feedimport WHERE supplier_id = %s", [supplier.pk])
    return supplier


def prepare_supplier(*, vacuum: bool = True):
    """A clean slate for the imports' supplier: the previous run's rows go, and the best offers
    of their parts with them; the feeds' outbox events of earlier runs go too."""
    from django.db import connection

    from suppliers.models import SupplierStatus

    supplier = _supplier_emptied(name=SUPPLIER_NAME, status=SupplierStatus.ACTIVE)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM platform_outboxevent WHERE topic IN "
                       "('offer.price_changed_batch', 'stock.changed_batch') AND payload->>'source' = 'feed'")
    if vacuum:
        _vacuum()
    return supplier


def prepare_floor_supplier(*, vacuum: bool = True):
    """A clean slate for the floors' supplier: pending, so its offers are never visible (no
    read model depends on them). Emptied after each floor too, so that the imports run against
    the same tables as without the benchmark's floors."""
    from suppliers.models import SupplierStatus

    supplier = _supplier_emptied(name=FLOOR_SUPPLIER_NAME, status=SupplierStatus.PENDING, refresh=False)
    if vacuum:
        _vacuum()
    return supplier


def _vacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("suppliers_offer", "suppliers_stock", "suppliers_stockmovement", "suppliers_partbestoffer"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def write_feed(path: Path, rows: int, *, seed: int, update_of: int | None = None,
               resolved: Path | None = None) -> None:
    """The feed; with update_of, the same SKUs/parts with 10% new prices and 30% new stock.
    `resolved` gets the rows an import applies (not the unknown part numbers), with their part
    ids: sku, part_id, price, lead_time_days, stock per warehouse (empty: not in the file)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT p.id, b.name, p.number FROM catalog_part p JOIN catalog_brand b ON b.id = p.brand_id "
                       "ORDER BY p.id")
        parts = cursor.fetchall()
    base = random.Random(seed)
    change = random.Random(seed + (update_of or 0))
    floor = resolved.open("w", encoding="utf-8", newline="") if resolved else None
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            out.write("sku,brand,part_number,price,lead_time_days," + ",".join(f"stock_{w}" for w in WAREHOUSES)
                      + "\n")
            for n in range(rows):
                part_id, brand, number = parts[base.randrange(len(parts))]
                if base.random() < 0.001:
                    number, part_id = f"NOPE-{n}", None
                price = base.randrange(20, 10_000) * 500
                lead = base.choice([1, 1, 2, 3, 7])
                stocks = [("" if base.random() < 0.1 else str(base.choice([0, 1, 2, 5, 10, 20, 50, 100])))
                          for _ in WAREHOUSES]
                if update_of is not None:
                    if change.random() < 0.10:
                        price += 500
                    if change.random() < 0.30:
                        stocks[0] = str(change.randrange(0, 200))
                out.write(f"FB-{n:07d},{brand},{number},{price},{lead},{','.join(stocks)}\n")
                if floor is not None and part_id is not None:
                    floor.write(f"FB-{n:07d},{part_id},{price},{lead},{','.join(stocks)}\n")
    finally:
        if floor is not None:
            floor.close()


# --- The floors ---------------------------------------------------------------------------------

def _floor_session(cursor) -> None:
    cursor.execute(f"SET work_mem = '{FLOOR_WORK_MEM}'")


def _floor_stage(cursor, *, resolved: Path, warehouse_ids: list[int]) -> None:
    """The resolved rows in a session temp table, one row per SKU, stock cells unpivoted into
    (warehouse id, qty) pairs the way the import's staging does it. Not timed."""
    stock_columns = ", ".join(f"q{i} int" for i in range(len(WAREHOUSES)))
    cursor.execute("DROP TABLE IF EXISTS pg_temp.floor_row, pg_temp.floor_cell")
    cursor.execute(f"CREATE TEMP TABLE floor_row (sku text, part_id bigint, price bigint, lead_time int, "
                   f"{stock_columns})")
    with resolved.open("rb") as handle, cursor.copy("COPY floor_row FROM STDIN (FORMAT csv)") as copy:
        while block := handle.read(1 << 20):
            copy.write(block)
    unpivot = ", ".join(f"({warehouse_id}, r.q{i})" for i, warehouse_id in enumerate(warehouse_ids))
    # Only integer warehouse ids and generated column names are interpolated.
    cursor.execute(
        f"CREATE TEMP TABLE floor_cell AS SELECT r.sku, v.warehouse_id, v.qty FROM floor_row r "  # noqa: S608
        f"CROSS JOIN LATERAL (VALUES {unpivot}) v(warehouse_id, qty) WHERE v.qty IS NOT NULL")
    cursor.execute("ANALYZE floor_row")
    cursor.execute("ANALYZE floor_cell")


_FLOOR_COLD_SQL = """
WITH offer AS (
    INSERT INTO suppliers_offer (supplier_id, part_id, sku, price, min_order_qty, pack_size, lead_time_days,
                                 is_active, created_at, updated_at)
    SELECT %(supplier)s, part_id, sku, price, 1, 1, lead_time, true, now(), now() FROM floor_row
    RETURNING id, sku
), stock AS (
    INSERT INTO suppliers_stock (offer_id, warehouse_id, on_hand, reserved, updated_at)
    SELECT offer.id, c.warehouse_id, c.qty, 0, now() FROM floor_cell c JOIN offer USING (sku)
    RETURNING id, on_hand
)
INSERT INTO suppliers_stockmovement (stock_id, reason, on_hand_delta, reserved_delta, on_hand_after, reserved_after,
                                     reference, actor_id, created_at)
SELECT id, 'import', on_hand, 0, on_hand, 0, 'floor', NULL, now() FROM stock WHERE on_hand <> 0
"""


def floor_cold(*, supplier, resolved: Path) -> dict:
    """The cold import's floor: insert every offer, stock row and ledger row, commit."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        _floor_session(cursor)
        _floor_stage(cursor, resolved=resolved, warehouse_ids=_warehouse_ids(supplier))
        cursor.execute("SELECT (SELECT count(*) FROM floor_row), (SELECT count(*) FROM floor_cell)")
        offers, stock = cursor.fetchone()
        cursor.execute("CHECKPOINT")
        started = time.monotonic()
        with transaction.atomic():
            cursor.execute(_FLOOR_COLD_SQL, {"supplier": supplier.pk})
            ledger = cursor.rowcount
        seconds = time.monotonic() - started
    return {"seconds": seconds, "offers": offers, "stock": stock, "ledger": ledger}


def floor_daily(*, supplier, resolved: Path) -> dict:
    """The daily update's floor: only the offers whose values differ, the stock rows whose on
    hand differs (or that are new) and their ledger rows; which rows those are is found first,
    off the clock."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        _floor_session(cursor)
        _floor_stage(cursor, resolved=resolved, warehouse_ids=_warehouse_ids(supplier))
        cursor.execute("DROP TABLE IF EXISTS pg_temp.floor_offer_diff, pg_temp.floor_stock_diff")
        cursor.execute(
            """
            CREATE TEMP TABLE floor_offer_diff AS
            SELECT o.id, r.part_id, r.price, r.lead_time FROM floor_row r
            JOIN suppliers_offer o ON o.supplier_id = %s AND o.sku = r.sku
            WHERE (o.part_id, o.price, o.lead_time_days) IS DISTINCT FROM (r.part_id, r.price, r.lead_time)
            """,
            [supplier.pk],
        )
        cursor.execute(
            """
            CREATE TEMP TABLE floor_stock_diff AS
            SELECT o.id AS offer_id, c.warehouse_id, c.qty, s.id AS stock_id, s.on_hand, s.reserved
            FROM floor_cell c JOIN suppliers_offer o ON o.supplier_id = %s AND o.sku = c.sku
            LEFT JOIN suppliers_stock s ON s.offer_id = o.id AND s.warehouse_id = c.warehouse_id
            WHERE s.id IS NULL OR s.on_hand <> c.qty
            """,
            [supplier.pk],
        )
        cursor.execute("ANALYZE floor_offer_diff")
        cursor.execute("ANALYZE floor_stock_diff")
        cursor.execute("SELECT count(*) FROM floor_stock_diff WHERE stock_id IS NULL")
        new_stock = cursor.fetchone()[0]
        cursor.execute("CHECKPOINT")
        started = time.monotonic()
        with transaction.atomic():
            cursor.execute(
                "UPDATE suppliers_offer o SET part_id = d.part_id, price = d.price, lead_time_days = d.lead_time, "
                "updated_at = now() FROM floor_offer_diff d WHERE o.id = d.id"
            )
            offers = cursor.rowcount
            cursor.execute(
                "UPDATE suppliers_stock s SET on_hand = d.qty, updated_at = now() FROM floor_stock_diff d "
                "WHERE s.id = d.stock_id"
            )
            stock = cursor.rowcount + new_stock
            cursor.execute(
                """
                INSERT INTO suppliers_stockmovement (stock_id, reason, on_hand_delta, reserved_delta, on_hand_after,
                                                     reserved_after, reference, actor_id, created_at)
                SELECT stock_id, 'import', qty - on_hand, 0, qty, reserved, 'floor', NULL, now()
                FROM floor_stock_diff WHERE stock_id IS NOT NULL
                """
            )
            ledger = cursor.rowcount
            cursor.execute(
                """
                WITH stock AS (
                    INSERT INTO suppliers_stock (offer_id, warehouse_id, on_hand, reserved, updated_at)
                    SELECT offer_id, warehouse_id, qty, 0, now() FROM floor_stock_diff WHERE stock_id IS NULL
                    RETURNING id, on_hand
                )
                INSERT INTO suppliers_stockmovement (stock_id, reason, on_hand_delta, reserved_delta, on_hand_after,
                                                     reserved_after, reference, actor_id, created_at)
                SELECT id, 'import', on_hand, 0, on_hand, 0, 'floor', NULL, now() FROM stock WHERE on_hand <> 0
                """
            )
            ledger += cursor.rowcount
        seconds = time.monotonic() - started
    return {"seconds": seconds, "offers": offers, "stock": stock, "ledger": ledger}


def _warehouse_ids(supplier) -> list[int]:
    from suppliers.models import Warehouse

    by_code = dict(Warehouse.objects.filter(supplier=supplier).values_list("code", "pk"))
    return [by_code[code] for code in WAREHOUSES]


# --- The imports --------------------------------------------------------------------------------

def run_import(supplier, path: Path, top_statements: int = 0) -> dict:
    from django.core.files import File
    from django.db import connection

    from okto88.models import OutboxEvent
    from suppliers import feeds
    from suppliers.models import StockMovement

    feeds.upload._enqueue = lambda feed_import_id: None  # no worker here: the child process runs it
    with path.open("rb") as handle:
        feed_import = feeds.feed_import_create(supplier=supplier, file=File(handle, name=path.name), actor=None)
    events_before = OutboxEvent.objects.count()
    ledger_before = StockMovement.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    child = subprocess.run([sys.executable, __file__, "--child", str(feed_import.pk),
                            "--statements", str(top_statements)], capture_output=True,
                           text=True, env=os.environ.copy(), check=False)
    if child.returncode:
        sys.exit(f"import child failed:\n{child.stderr[-4000:]}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    if result["status"] not in ("succeeded", "partial"):  # 0.1% of the rows are rejected on purpose
        sys.exit(f"import failed: {result['error']}")
    result["events"] = OutboxEvent.objects.count() - events_before
    result["ledger"] = StockMovement.objects.count() - ledger_before
    result["rate"] = result["rows"] / result["seconds"]
    feed_import.file.delete(save=False)
    return result


def _print_import(label: str, r: dict) -> None:
    print(f"import {label}: {r['seconds']:.2f}s, {r['rate']:,.0f} rows/s, peak RSS {r['maxrss_mb']:.0f} MB, "
          f"{r['rejected']:,} rejected, {r['offers_changed']:,} offers and {r['stock_changed']:,} stock rows "
          f"changed, {r['ledger']:,} ledger rows, {r['events']:,} events")
    for phase, seconds in r.get("phases", {}).items():
        print(f"    {phase:<45} {seconds:8.2f}s")
    for seconds, sql in r.get("statements", []):
        print(f"      {seconds:7.2f}s  {sql}")


def _print_floor(label: str, f: dict) -> None:
    rows = f["offers"] + f["stock"] + f["ledger"]
    print(f"floor {label}: {f['seconds']:.2f}s for {f['offers']:,} offers, {f['stock']:,} stock rows and "
          f"{f['ledger']:,} ledger rows ({rows:,} rows, {rows / f['seconds']:,.0f} rows/s)")


def _same_rows(label: str, floor: dict, imported: dict) -> None:
    """The floor must write what the import wrote, or the comparison says nothing."""
    if (floor["offers"], floor["ledger"]) != (imported["offers_changed"], imported["ledger"]):
        sys.exit(f"{label}: the floor wrote {floor['offers']:,} offers and {floor['ledger']:,} ledger rows, the "
                 f"import {imported['offers_changed']:,} and {imported['ledger']:,}: not the same rows")


def read_models_exact() -> tuple[bool, str]:
    from analytics.read_models import read_models_check

    checks = read_models_check()
    for check in checks:
        print(f"    {check}")
    inexact = [check.name for check in checks if not check.ok]
    return not inexact, (f"{len(inexact)} of {len(checks)} differ" if inexact else f"{len(checks)} of {len(checks)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--statements", type=int, default=0, help="also print the N slowest SQL statements")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    args = parser.parse_args()
    setup(args)
    if args.child:
        child_import(args.child, args.statements)
        return

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_part")
        if not cursor.fetchone()[0]:
            sys.exit("the catalog is empty: run bench/generate_catalog.py first")
    started = time.monotonic()
    supplier = prepare_supplier(vacuum=False)
    floor_supplier = prepare_floor_supplier()
    print(f"suppliers emptied in {time.monotonic() - started:.1f}s: imports {supplier.pk}, floors {floor_supplier.pk}")
    folder = Path(tempfile.mkdtemp(prefix="okto88-feed-bench-"))
    feed, update = folder / "feed.csv", folder / "feed-update.csv"
    feed_rows, update_rows = folder / "feed-resolved.csv", folder / "feed-update-resolved.csv"
    started = time.monotonic()
    write_feed(feed, args.rows, seed=args.seed, resolved=feed_rows)
    write_feed(update, args.rows, seed=args.seed, update_of=1, resolved=update_rows)
    print(f"feeds written in {time.monotonic() - started:.1f}s: {feed} ({feed.stat().st_size / 1e6:.0f} MB), "
          f"{args.rows:,} rows")

    floors, results = {}, {}
    floors["cold"] = floor_cold(supplier=floor_supplier, resolved=feed_rows)
    _print_floor("#1 cold", floors["cold"])
    prepare_floor_supplier()
    results["cold"] = run_import(supplier, feed, args.statements)
    _print_import("#1 cold", results["cold"])
    _same_rows("#1 cold", floors["cold"], results["cold"])
    results["same"] = run_import(supplier, feed, args.statements)
    _print_import("#2 same file", results["same"])
    # The daily floor starts where the daily import does: the cold feed's rows (written again,
    # off the clock), then only the changes are timed.
    floor_cold(supplier=floor_supplier, resolved=feed_rows)
    _vacuum()
    floors["daily"] = floor_daily(supplier=floor_supplier, resolved=update_rows)
    _print_floor("#3 daily update", floors["daily"])
    prepare_floor_supplier()
    results["daily"] = run_import(supplier, update, args.statements)
    _print_import("#3 daily update", results["daily"])
    _same_rows("#3 daily update", floors["daily"], results["daily"])
    print("read models:")
    started = time.monotonic()
    exact, exact_text = read_models_exact()
    print(f"    checked in {time.monotonic() - started:.1f}s")

    checks = []
    for key, label in (("cold", "import #1 cold"), ("daily", "import #3 daily update")):
        ratio = results[key]["seconds"] / floors[key]["seconds"]
        checks.append((f"{label}: time / its floor", f"≤ {TARGET_FLOOR_RATIO:.0f}×",
                       f"{results[key]['seconds']:.1f}/{floors[key]['seconds']:.1f}s = {ratio:.2f}×",
                       ratio <= TARGET_FLOOR_RATIO))
    daily = results["daily"]
    checks.append(("import #3 daily update: rows/s", f"≥ {TARGET_DAILY_RATE:,}", f"{daily['rate']:,.0f}",
                   daily["rate"] >= TARGET_DAILY_RATE))
    same = results["same"]
    checks.append(("import #2 same file: time", f"≤ {TARGET_SAME_FILE_SECONDS:.0f} s", f"{same['seconds']:.2f} s",
                   same["seconds"] <= TARGET_SAME_FILE_SECONDS))
    checks.append(("import #2 same file: outbox events", "0", f"{same['events']:,}", same["events"] == 0))
    checks.append(("import #2 same file: ledger rows, changes", "0",
                   f"{same['ledger']:,}, {same['offers_changed'] + same['stock_changed']:,}",
                   same["ledger"] == 0 and same["offers_changed"] + same["stock_changed"] == 0))
    peak = max(r["maxrss_mb"] for r in results.values())
    checks.append(("peak memory of an import (ru_maxrss)", f"≤ {TARGET_RSS_MB} MB", f"{peak:.0f} MB",
                   peak <= TARGET_RSS_MB))
    checks.append(("read models exact after the run (check_read_models)", "all", exact_text, exact))
    width = max(len(c[0]) for c in checks)
    print(f"\n{'check':<{width}}  {'target':>10}  {'measured':>22}  result")
    for name, target, measured, ok in checks:
        print(f"{name:<{width}}  {target:>10}  {measured:>22}  {'PASS' if ok else 'FAIL'}")
    for path in (feed, update, feed_rows, update_rows):
        path.unlink()
    folder.rmdir()
    if not all(ok for *_rest, ok in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
