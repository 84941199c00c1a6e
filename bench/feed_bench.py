"""Feed import benchmark: a 1,000,000-row feed against the 200,000-part catalog.

    .venv/bin/python bench/feed_bench.py            # --rows 1000000

Uses the bench database (run bench/generate_catalog.py, optionally generate_suppliers.py,
first). Creates (or empties) the supplier "PT Feed Bench" with warehouses FB1 and FB2, writes
a feed CSV (sku, brand, part_number, price, lead_time_days, stock_FB1, stock_FB2; 0.1% rows
with an unknown part number, 10% empty stock cells) to a temp folder, then in one run:

1. raw COPY of the same file into an UNLOGGED table of text columns (the floor);
2. import #1 (cold: every offer, stock row and ledger row is new, every event is written);
3. import #2 of the same file: must change nothing and emit no event;
4. import #3 of a daily update (same SKUs, 10% new prices, 30% new stock): informative.

Each import runs `suppliers.feeds.feed_import_run` in a fresh child process, which reports
its wall time, its peak RSS (resource.getrusage ru_maxrss) and its time per phase (as
suppliers.feeds logs it; `--statements N` adds the N slowest SQL statements). Prints a table
with targets and PASS/FAIL and exits non-zero on a FAIL.
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
WAREHOUSES = ["FB1", "FB2"]
TARGET_RATE = 50_000
TARGET_RATIO = 3.0
TARGET_RSS_MB = 500


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


def prepare_supplier(*, vacuum: bool = True):
    from django.db import connection, transaction

    from suppliers.models import Supplier, SupplierStatus, Warehouse
    from suppliers.services import part_best_offer_refresh

    supplier = Supplier.objects.filter(legal_name=SUPPLIER_NAME).first()
    if supplier is None:
        supplier = Supplier.objects.create(legal_name=SUPPLIER_NAME, npwp="0999999999999000",
                                           status=SupplierStatus.ACTIVE)
    for code in WAREHOUSES:
        Warehouse.objects.get_or_create(
            supplier=supplier, code=code,
            defaults={"name": f"Gudang {code}", "province": "Daerah Khusus Ibukota Jakarta",
                      "city": "Kota Administrasi Jakarta Selatan", "district": "Kebayoran Baru",
                      "postal_code": "12110", "region_code": "31.74.07"},
        )
    # A clean slate: the previous run's rows go, and the best offers of their parts with them.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM suppliers_stockmovement m USING suppliers_stock s, suppliers_offer o "
                       "WHERE m.stock_id = s.id AND s.offer_id = o.id AND o.supplier_id = %s", [supplier.pk])
        cursor.execute("DELETE FROM suppliers_stock s USING suppliers_offer o "
                       "WHERE s.offer_id = o.id AND o.supplier_id = %s", [supplier.pk])
        cursor.execute("DELETE FROM suppliers_offer WHERE supplier_id = %s RETURNING part_id", [supplier.pk])
        part_best_offer_refresh(part_ids=[row[0] for row in cursor.fetchall()])
        cursor.execute("DELETE FROM suppliers_feedimport WHERE supplier_id = %s", [supplier.pk])
        cursor.execute("DELETE FROM platform_outboxevent WHERE topic IN "
                       "('offer.price_changed_batch', 'stock.changed_batch') AND payload->>'source' = 'feed'")
    if vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE suppliers_offer")
            cursor.execute("VACUUM ANALYZE suppliers_stock")
    return supplier


def write_feed(path: Path, rows: int, *, seed: int, update_of: int | None = None) -> None:
    """The feed; with update_of, the same SKUs/parts with 10% new prices and 30% new stock."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT b.name, p.number FROM catalog_part p JOIN catalog_brand b ON b.id = p.brand_id "
                       "ORDER BY p.id")
        parts = cursor.fetchall()
    base = random.Random(seed)
    change = random.Random(seed + (update_of or 0))
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("sku,brand,part_number,price,lead_time_days," + ",".join(f"stock_{w}" for w in WAREHOUSES) + "\n")
        for n in range(rows):
            brand, number = parts[base.randrange(len(parts))]
            if base.random() < 0.001:
                number = f"NOPE-{n}"
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


def raw_copy_seconds(path: Path) -> float:
    from django.db import connection

    columns = ["sku", "brand", "part_number", "price", "lead_time_days"] + [f"stock_{w}" for w in WAREHOUSES]
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_feed_copy")
        cursor.execute(f"CREATE UNLOGGED TABLE bench_feed_copy ({', '.join(c + ' text' for c in columns)})")
        started = time.monotonic()
        with path.open("rb") as handle, cursor.copy("COPY bench_feed_copy FROM STDIN (FORMAT csv, HEADER)") as copy:
            while block := handle.read(1 << 20):
                copy.write(block)
        seconds = time.monotonic() - started
        cursor.execute("DROP TABLE bench_feed_copy")
    return seconds


def run_import(supplier, path: Path, top_statements: int = 0) -> dict:
    from django.core.files import File

    from okto88.models import OutboxEvent
    from suppliers import feeds
    from suppliers.models import StockMovement

    feeds.upload._enqueue = lambda feed_import_id: None  # no worker here: the child process runs it
    with path.open("rb") as handle:
        feed_import = feeds.feed_import_create(supplier=supplier, file=File(handle, name=path.name), actor=None)
    events_before = OutboxEvent.objects.count()
    ledger_before = StockMovement.objects.count()
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
    supplier = prepare_supplier()
    folder = Path(tempfile.mkdtemp(prefix="okto88-feed-bench-"))
    feed, update = folder / "feed.csv", folder / "feed-update.csv"
    started = time.monotonic()
    write_feed(feed, args.rows, seed=args.seed)
    write_feed(update, args.rows, seed=args.seed, update_of=1)
    print(f"feeds written in {time.monotonic() - started:.1f}s: {feed} ({feed.stat().st_size / 1e6:.0f} MB), "
          f"{args.rows:,} rows, supplier {supplier.pk}")

    copy_s = raw_copy_seconds(feed)
    print(f"raw COPY into an unlogged table: {copy_s:.2f}s ({args.rows / copy_s:,.0f} rows/s)")
    results = {}
    for label, path in [("#1 cold", feed), ("#2 same file", feed), ("#3 daily update", update)]:
        r = run_import(supplier, path, args.statements)
        results[label] = r
        print(f"import {label}: {r['seconds']:.2f}s, {r['rate']:,.0f} rows/s, peak RSS {r['maxrss_mb']:.0f} MB, "
              f"{r['rejected']:,} rejected, {r['offers_changed']:,} offers and {r['stock_changed']:,} stock rows "
              f"changed, {r['ledger']:,} ledger rows, {r['events']:,} events")
        for phase, seconds in r.get("phases", {}).items():
            print(f"    {phase:<45} {seconds:8.2f}s")
        for seconds, sql in r.get("statements", []):
            print(f"      {seconds:7.2f}s  {sql}")

    checks = []
    for label in ("#1 cold", "#3 daily update"):
        r = results[label]
        checks.append((f"import {label}: rows/s", f"≥ {TARGET_RATE:,}", f"{r['rate']:,.0f}", r["rate"] >= TARGET_RATE))
        ratio = r["seconds"] / copy_s
        checks.append((f"import {label}: time / raw COPY", f"≤ {TARGET_RATIO:.0f}×", f"{ratio:.2f}×",
                       ratio <= TARGET_RATIO))
    peak = max(r["maxrss_mb"] for r in results.values())
    checks.append(("peak memory of an import (ru_maxrss)", f"≤ {TARGET_RSS_MB} MB", f"{peak:.0f} MB",
                   peak <= TARGET_RSS_MB))
    second = results["#2 same file"]
    checks.append(("import #2 (same file): outbox events", "0", f"{second['events']:,}", second["events"] == 0))
    checks.append(("import #2 (same file): ledger rows, changes", "0",
                   f"{second['ledger']:,}, {second['offers_changed'] + second['stock_changed']:,}",
                   second["ledger"] == 0 and second["offers_changed"] + second["stock_changed"] == 0))
    width = max(len(c[0]) for c in checks)
    print(f"\n{'check':<{width}}  {'target':>9}  {'measured':>12}  result")
    for name, target, measured, ok in checks:
        print(f"{name:<{width}}  {target:>9}  {measured:>12}  {'PASS' if ok else 'FAIL'}")
    feed.unlink()
    update.unlink()
    folder.rmdir()
    if not all(ok for *_rest, ok in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
